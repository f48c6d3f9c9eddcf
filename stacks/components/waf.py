"""Regional WAFv2 web ACL in front of the ALB: rate limit, AWS managed rules, logging."""

from __future__ import annotations

import json
from typing import Any

from stacks.aws import wafv2_web_acl, wafv2_web_acl_association, wafv2_web_acl_logging_configuration
from stacks.components.common import log_group
from stacks.config import EdgeConfig
from stacks.framework import Construct

Acl = wafv2_web_acl
Logging = wafv2_web_acl_logging_configuration

#: Managed rule groups (:data:`stacks.config.WAF_MANAGED_RULE_GROUPS`) in evaluation order, after the IP reputation list and the
#: rate limit.  Together with the rate rule they use about 1,130 of the 1,500
#: web ACL capacity units WAF includes in the base price.
MANAGED_RULE_ORDER = (
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesSQLiRuleSet",
)

#: Headers that carry credentials: never written to the WAF logs.
REDACTED_HEADERS = ("authorization", "cookie")

#: Key of the response body the rate rule returns with its 429.
RATE_LIMIT_BODY_KEY = "too-many-requests"
RATE_LIMIT_BODY = json.dumps({"error": "too_many_requests", "message": "Rate limit exceeded, retry later."}, separators=(",", ":"))
#: Key of the response body the body-size rule returns with its 413.
BODY_SIZE_BODY_KEY = "payload-too-large"
BODY_SIZE_BODY = json.dumps({"error": "payload_too_large", "message": "Request body too large."}, separators=(",", ":"))
#: Rules of AWSManagedRulesCommonRuleSet that only count: SizeRestrictions_BODY blocks any
#: body over 8 KB, which an order with many lines exceeds; the body-size rule replaces it.
COMMON_RULES_COUNT_ONLY = ("SizeRestrictions_BODY",)


def greater_than_regex(limit: int) -> str:
    """A regular expression matching exactly the decimal integers greater than ``limit``
    (leading zeros allowed), for the ``Content-Length`` header.  WAF compares header
    values as text, and on an ALB it inspects only the first 8 KB of a body, so the
    declared length is what can be checked against a larger limit."""
    digits = str(limit)
    width = len(digits)
    longer = f"[1-9][0-9]{{{width},}}"

    def any_digits(count: int) -> str:
        return "" if count == 0 else "[0-9]" if count == 1 else f"[0-9]{{{count}}}"

    same_width = [f"{digits[:i]}[{int(d) + 1}-9]{any_digits(width - i - 1)}".replace("[9-9]", "9") for i, d in enumerate(digits) if d != "9"]
    return "^0*(" + "|".join([longer, *same_width]) + ")$"


def _visibility(metric_name: str, cls: Any = Acl.Wafv2WebAclRuleVisibilityConfig) -> Any:
    """CloudWatch metrics and sampled requests on, under ``metric_name``."""
    return cls(cloudwatch_metrics_enabled=True, metric_name=metric_name, sampled_requests_enabled=True)


def _rule_overrides(group: str) -> dict[str, Any]:
    """Rules of a managed group that only count (see :data:`COMMON_RULES_COUNT_ONLY`)."""
    if group != "AWSManagedRulesCommonRuleSet":
        return {}
    return {"rule_action_override": [{"name": name, "action_to_use": {"count": {}}} for name in COMMON_RULES_COUNT_ONLY]}


class Waf(Construct):
    """A regional web ACL associated with the load balancer.

    Default action allow; rules in this order:

    0. ``AWSManagedRulesAmazonIpReputationList`` (known malicious sources);
    1. ``rate-limit``: more than ``config.rate_limit`` requests from one client IP
       within ``config.rate_limit_window_seconds`` are blocked with ``429`` and a
       small JSON body until the rate drops again;
    2. ``body-size``: a ``Content-Length`` above ``config.max_body_bytes`` is
       blocked with ``413`` and a small JSON body (whatever the rate);
    3-5. ``AWSManagedRulesCommonRuleSet`` (its ``SizeRestrictions_BODY`` rule only
       counts: it blocks bodies over 8 KB), ``AWSManagedRulesKnownBadInputsRuleSet``
       (Log4j and other exploit patterns), ``AWSManagedRulesSQLiRuleSet``.

    A managed group named in ``config.managed_rules_count_only`` only counts.
    Every rule and the ACL publish CloudWatch metrics and sampled requests.
    Full request logs go to the log group ``aws-waf-logs-<name_prefix>`` (the
    prefix WAF requires), encrypted with ``log_key_arn``, with the
    ``authorization`` and ``cookie`` headers redacted.  Log delivery may write
    there through the account stack's one resource policy for every
    environment's ``aws-waf-logs-order-api-*`` group (``stacks/account_stack.py``),
    so WAF neither grows the account-wide ``AWSWAF-LOGS`` policy nor uses up the
    account's 10 resource policies.

    Attributes: ``web_acl_arn``, ``web_acl_name``, ``web_acl_id``,
    ``log_group_name``.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        name_prefix: str,
        config: EdgeConfig,
        load_balancer_arn: str,
        log_retention_days: int,
        log_key_arn: str,
    ) -> None:
        super().__init__(scope, id_)
        self.web_acl_name = f"{name_prefix}-web-acl"
        rules = [self._managed_rule("AWSManagedRulesAmazonIpReputationList", 0, name_prefix, config)]
        rules.append(self._rate_rule(1, name_prefix, config))
        rules.append(self._body_size_rule(2, name_prefix, config))
        rules += [self._managed_rule(name, priority, name_prefix, config) for priority, name in enumerate(MANAGED_RULE_ORDER[1:], start=3)]

        self.web_acl = Acl.Wafv2WebAcl(
            self,
            "web_acl",
            name=self.web_acl_name,
            description=f"{name_prefix}: rate limit and AWS managed rules in front of the load balancer",
            scope="REGIONAL",
            default_action=Acl.Wafv2WebAclDefaultAction(allow=Acl.Wafv2WebAclDefaultActionAllow()),
            custom_response_body=[
                Acl.Wafv2WebAclCustomResponseBody(key=key, content=content, content_type="APPLICATION_JSON")
                for key, content in ((RATE_LIMIT_BODY_KEY, RATE_LIMIT_BODY), (BODY_SIZE_BODY_KEY, BODY_SIZE_BODY))
            ],
            rule=rules,
            visibility_config=_visibility(self.web_acl_name, Acl.Wafv2WebAclVisibilityConfig),
            tags={"Name": self.web_acl_name},
        )
        self.web_acl_arn = self.web_acl.arn
        self.web_acl_id = self.web_acl.id

        wafv2_web_acl_association.Wafv2WebAclAssociation(self, "association", resource_arn=load_balancer_arn, web_acl_arn=self.web_acl.arn)
        self._logging(name_prefix, log_retention_days, log_key_arn)

    @staticmethod
    def _rate_rule(priority: int, name_prefix: str, config: EdgeConfig) -> Acl.Wafv2WebAclRule:
        # The statement block is untyped in the binding (WAF statements nest
        # arbitrarily deep), so it is a dict with the provider's argument names.
        return Acl.Wafv2WebAclRule(
            name="rate-limit",
            priority=priority,
            action=Acl.Wafv2WebAclRuleAction(
                block=Acl.Wafv2WebAclRuleActionBlock(
                    custom_response=Acl.Wafv2WebAclRuleActionBlockCustomResponse(
                        response_code=429,
                        custom_response_body_key=RATE_LIMIT_BODY_KEY,
                        response_header=[
                            Acl.Wafv2WebAclRuleActionBlockCustomResponseResponseHeader(name="Retry-After", value=str(config.rate_limit_window_seconds))
                        ],
                    )
                )
            ),
            statement={
                "rate_based_statement": {
                    "limit": config.rate_limit,
                    "evaluation_window_sec": config.rate_limit_window_seconds,
                    "aggregate_key_type": "IP",
                }
            },
            visibility_config=_visibility(f"{name_prefix}-rate-limit"),
        )

    @staticmethod
    def _body_size_rule(priority: int, name_prefix: str, config: EdgeConfig) -> Acl.Wafv2WebAclRule:
        """413 for a declared body larger than ``config.max_body_bytes`` (chunked bodies
        declare none: the application enforces its own limit on them)."""
        return Acl.Wafv2WebAclRule(
            name="body-size",
            priority=priority,
            action=Acl.Wafv2WebAclRuleAction(
                block=Acl.Wafv2WebAclRuleActionBlock(
                    custom_response=Acl.Wafv2WebAclRuleActionBlockCustomResponse(response_code=413, custom_response_body_key=BODY_SIZE_BODY_KEY)
                )
            ),
            statement={
                "regex_match_statement": {
                    "regex_string": greater_than_regex(config.max_body_bytes),
                    "field_to_match": {"single_header": {"name": "content-length"}},
                    "text_transformation": [{"priority": 0, "type": "NONE"}],
                }
            },
            visibility_config=_visibility(f"{name_prefix}-body-size"),
        )

    @staticmethod
    def _managed_rule(group: str, priority: int, name_prefix: str, config: EdgeConfig) -> Acl.Wafv2WebAclRule:
        count_only = group in config.managed_rules_count_only
        override = (
            Acl.Wafv2WebAclRuleOverrideAction(count=Acl.Wafv2WebAclRuleOverrideActionCount())
            if count_only
            else Acl.Wafv2WebAclRuleOverrideAction(none=Acl.Wafv2WebAclRuleOverrideActionNone())
        )
        return Acl.Wafv2WebAclRule(
            name=group,
            priority=priority,
            override_action=override,
            statement={"managed_rule_group_statement": {"vendor_name": "AWS", "name": group, **_rule_overrides(group)}},
            visibility_config=_visibility(f"{name_prefix}-{group}"),
        )

    def _logging(self, name_prefix: str, retention_days: int, key_arn: str) -> None:
        group = log_group(self, "log_group", name=f"aws-waf-logs-{name_prefix}", retention_days=retention_days, kms_key_arn=key_arn)
        self.log_group_name = group.name
        # Log delivery may write here by the account stack's resource policy (one for all environments).
        Logging.Wafv2WebAclLoggingConfiguration(
            self,
            "logging",
            resource_arn=self.web_acl.arn,
            log_destination_configs=[group.arn],
            redacted_fields=[
                Logging.Wafv2WebAclLoggingConfigurationRedactedFields(single_header=Logging.Wafv2WebAclLoggingConfigurationRedactedFieldsSingleHeader(name=h))
                for h in REDACTED_HEADERS
            ],
        )
