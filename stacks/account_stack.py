"""Account-wide singletons: created once per account and region, before any environment."""

from __future__ import annotations

from stacks.aws import cloudwatch_log_resource_policy
from stacks.components.common import Condition, Principal, Statement, policy_document
from stacks.config import PROJECT, StateConfig
from stacks.config.names import ACCOUNT_STACK, LOG_DELIVERY_POLICY_NAME
from stacks.framework import Construct, TerraformOutput, TerraformStack
from stacks.provider import remote_stack

STACK_NAME = ACCOUNT_STACK
#: Every environment's WAF log group is named ``aws-waf-logs-<name prefix>`` (WAF requires the prefix).
WAF_LOG_GROUPS = f"aws-waf-logs-{PROJECT}-*"
#: Every environment's ECS event log (Spot interruptions, placement failures) is ``/aws/events/<name prefix>-ecs``.
EVENT_LOG_GROUPS = f"/aws/events/{PROJECT}-*"


class AccountStack(TerraformStack):
    """What exists once per account and region, whatever the number of environments.

    - The CloudWatch Logs resource policy that lets WAF log delivery write to every
      environment's ``aws-waf-logs-order-api-*`` log group, and EventBridge (the ECS
      event rules of the environments) to every ``/aws/events/order-api-*`` group.  An
      account holds at most 10 such policies per region, so one or two per environment
      (dev, staging, prod and a few pull-request copies) would run out; one for all of
      them never does.

    Its state lives with the environments' (key ``order-api-account/...``).
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        region: str,
        state: StateConfig,
        state_region: str,
        tags: dict[str, str],
        endpoint_url: str | None = None,
    ) -> None:
        super().__init__(scope, id_)
        aws = remote_stack(self, stack_name=STACK_NAME, region=region, tags=tags, state=state, state_region=state_region, endpoint_url=endpoint_url)
        waf_groups = aws.arn("logs", f"log-group:{WAF_LOG_GROUPS}")
        event_groups = aws.arn("logs", f"log-group:{EVENT_LOG_GROUPS}")
        event_writers = [Principal(type="Service", identifiers=["events.amazonaws.com", "delivery.logs.amazonaws.com"])]
        policy = cloudwatch_log_resource_policy.CloudwatchLogResourcePolicy(
            self,
            "log_delivery_policy",
            policy_name=LOG_DELIVERY_POLICY_NAME,
            policy_document=policy_document(
                self,
                "log_delivery_document",
                [
                    Statement(
                        sid="WafLogDelivery",
                        effect="Allow",
                        principals=[Principal(type="Service", identifiers=["delivery.logs.amazonaws.com"])],
                        actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                        resources=[f"{waf_groups}:*"],
                        condition=[
                            Condition(test="StringEquals", variable="aws:SourceAccount", values=[aws.account_id]),
                            Condition(test="ArnLike", variable="aws:SourceArn", values=[aws.arn("logs", "*")]),
                        ],
                    ),
                    Statement(
                        sid="EventBridgeCreatesStreams",
                        effect="Allow",
                        principals=event_writers,
                        actions=["logs:CreateLogStream"],
                        resources=[f"{event_groups}:*"],
                    ),
                    # EventBridge sends the rule as aws:SourceArn with PutLogEvents only, so
                    # only the writes carry the condition (as AWS's own samples do).
                    Statement(
                        sid="EventRulesOfTheEnvironments",
                        effect="Allow",
                        principals=event_writers,
                        actions=["logs:PutLogEvents"],
                        resources=[f"{event_groups}:*"],
                        condition=[Condition(test="ArnLike", variable="aws:SourceArn", values=[aws.arn("events", f"rule/{PROJECT}-*")])],
                    ),
                ],
            ),
        )
        TerraformOutput(
            self,
            "log_delivery_policy_name",
            value=policy.policy_name,
            description="CloudWatch Logs resource policy for every environment's WAF and ECS event logs",
        )
