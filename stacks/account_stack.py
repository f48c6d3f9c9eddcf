"""Account-wide singletons: created once per account and region, before any environment."""

from __future__ import annotations

from stacks.aws import cloudwatch_log_resource_policy
from stacks.backend import configure_backend
from stacks.components.common import Condition, Principal, Statement, account_context, policy_document
from stacks.config import PROJECT, StateConfig
from stacks.framework import Construct, TerraformOutput, TerraformStack
from stacks.provider import aws_provider

STACK_NAME = f"{PROJECT}-account"
#: Every environment's WAF log group is named ``aws-waf-logs-<name prefix>`` (WAF requires the prefix).
WAF_LOG_GROUPS = f"aws-waf-logs-{PROJECT}-*"
WAF_LOG_POLICY_NAME = f"{PROJECT}-waf-log-delivery"


class AccountStack(TerraformStack):
    """What exists once per account and region, whatever the number of environments.

    - The CloudWatch Logs resource policy that lets WAF log delivery write to every
      environment's ``aws-waf-logs-order-api-*`` log group.  An account holds at most
      10 such policies per region, so one per environment (dev, staging, prod and a
      few pull-request copies) would run out; one for all of them never does.

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
        aws_provider(self, region=region, tags=tags, endpoint_url=endpoint_url)
        configure_backend(self, state=state, stack_name=STACK_NAME, region=state_region, endpoint_url=endpoint_url)
        aws = account_context(self, region)
        groups = aws.arn("logs", f"log-group:{WAF_LOG_GROUPS}")
        policy = cloudwatch_log_resource_policy.CloudwatchLogResourcePolicy(
            self,
            "waf_log_delivery_policy",
            policy_name=WAF_LOG_POLICY_NAME,
            policy_document=policy_document(
                self,
                "waf_log_delivery_document",
                [
                    Statement(
                        sid="WafLogDelivery",
                        effect="Allow",
                        principals=[Principal(type="Service", identifiers=["delivery.logs.amazonaws.com"])],
                        actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                        resources=[f"{groups}:*"],
                        condition=[
                            Condition(test="StringEquals", variable="aws:SourceAccount", values=[aws.account_id]),
                            Condition(test="ArnLike", variable="aws:SourceArn", values=[aws.arn("logs", "*")]),
                        ],
                    )
                ],
            ),
        )
        TerraformOutput(
            self, "waf_log_delivery_policy_name", value=policy.policy_name, description="CloudWatch Logs resource policy for every environment's WAF logs"
        )
