"""Project-wide names and the limits physical names must fit."""

from __future__ import annotations

PROJECT = "order-api"

#: Longest part appended to ``<name_prefix>-`` in a physical name that AWS
#: limits to 32 characters (ALB and target group names).
LONGEST_32_CHAR_PART = "green"
NAME_LIMIT_32 = 32

STANDING_ENVIRONMENTS = ("dev", "staging", "prod")

#: The stack of the state bucket (deployed first, by make bootstrap).
STATE_STACK = f"{PROJECT}-state"
#: The account-wide stack and its one CloudWatch Logs resource policy for every environment.
ACCOUNT_STACK = f"{PROJECT}-account"
LOG_DELIVERY_POLICY_NAME = f"{PROJECT}-log-delivery"
#: The stack of the pipeline's identities, once per account.
IDENTITY_STACK = f"{PROJECT}-identity"

#: The environment's two alert topics, ``<name_prefix>-<suffix>``: the page, and the
#: cause alarms that need a person in working hours (tickets).
PAGING_TOPIC_SUFFIX = "alarms"
TICKET_TOPIC_SUFFIX = "tickets"
