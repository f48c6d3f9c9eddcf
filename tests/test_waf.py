"""WAF component: rate limit with 429, managed rule groups, metrics, logging, association."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path
from typing import Any

import pytest

from stacks.aspects import Guardrails
from stacks.aws import (
    cloudwatch_log_group,
    cloudwatch_log_resource_policy,
    data_aws_caller_identity,
    data_aws_partition,
    provider,
    wafv2_web_acl,
    wafv2_web_acl_association,
    wafv2_web_acl_logging_configuration,
)
from stacks.components.common import AwsContext, EncryptionKey
from stacks.components.waf import MANAGED_RULE_ORDER, Waf, greater_than_regex
from stacks.config import WAF_MANAGED_RULE_GROUPS, EdgeConfig
from stacks.framework import App, Aspects, TerraformOutput, TerraformStack, Testing
from tests.conftest import Synthesized, guardrail_violations

STACK = "waf-test"
PREFIX = "order-api-test"
ALB_ARN = "arn:aws:elasticloadbalancing:us-east-1:111122223333:loadbalancer/app/order-api-test-alb/0123456789abcdef"
ACL = wafv2_web_acl.Wafv2WebAcl.TF_RESOURCE_TYPE


def build(outdir: str, config: EdgeConfig, stack_name: str = STACK) -> Synthesized:
    app = App(outdir=outdir)
    stack = TerraformStack(app, stack_name)
    provider.AwsProvider(stack, "aws", region="us-east-1")
    identity = data_aws_caller_identity.DataAwsCallerIdentity(stack, "caller")
    partition = data_aws_partition.DataAwsPartition(stack, "partition")
    aws = AwsContext(account_id=identity.account_id, partition=partition.partition, region="us-east-1")
    logs_key = EncryptionKey(
        stack,
        "logs_key",
        alias=f"{PREFIX}-logs",
        description="logs",
        aws=aws,
        service_principals=["logs.us-east-1.amazonaws.com"],
        encryption_context={"aws:logs:arn": aws.arn("logs", "log-group:*")},
    )
    Waf(stack, "waf", name_prefix=PREFIX, config=config, load_balancer_arn=ALB_ARN, log_retention_days=14, log_key_arn=logs_key.arn)
    Aspects.of(stack).add(Guardrails(production=False))
    app.synth()
    return Synthesized(outdir=Path(outdir))


@pytest.fixture(scope="module")
def waf(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return build(str(tmp_path_factory.mktemp("waf")), EdgeConfig())


@pytest.fixture(scope="module")
def waf_counting(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    config = EdgeConfig(
        rate_limit=2000,
        rate_limit_window_seconds=60,
        managed_rules_count_only=("AWSManagedRulesSQLiRuleSet", "AWSManagedRulesCommonRuleSet"),
        max_body_bytes=16384,
    )
    return build(str(tmp_path_factory.mktemp("waf-counting")), config)


def acl(synth: Synthesized) -> dict[str, Any]:
    (body,) = synth.resources(STACK, ACL).values()
    return body


def rules(synth: Synthesized) -> dict[str, dict[str, Any]]:
    return {rule["name"]: rule for rule in acl(synth)["rule"]}


def test_regional_web_acl_allows_by_default(waf: Synthesized) -> None:
    assert Testing.to_have_resource_with_properties(waf.text(STACK), ACL, {"name": f"{PREFIX}-web-acl", "scope": "REGIONAL", "default_action": {"allow": {}}})


def test_rate_rule_limits_each_ip_to_100_per_5_minutes(waf: Synthesized) -> None:
    statement = rules(waf)["rate-limit"]["statement"]["rate_based_statement"]
    assert statement == {"limit": 100, "evaluation_window_sec": 300, "aggregate_key_type": "IP"}


def test_rate_rule_blocks_with_429_and_a_json_body(waf: Synthesized) -> None:
    response = rules(waf)["rate-limit"]["action"]["block"]["custom_response"]
    assert response["response_code"] == 429
    bodies = {b["key"]: b for b in acl(waf)["custom_response_body"]}
    body = bodies[response["custom_response_body_key"]]
    assert body["content_type"] == "APPLICATION_JSON"
    assert "too_many_requests" in body["content"]
    assert response["response_header"] == [{"name": "Retry-After", "value": "300"}]


def test_rate_limit_and_window_come_from_config(waf_counting: Synthesized) -> None:
    statement = rules(waf_counting)["rate-limit"]["statement"]["rate_based_statement"]
    assert (statement["limit"], statement["evaluation_window_sec"]) == (2000, 60)


@pytest.mark.parametrize("group", WAF_MANAGED_RULE_GROUPS)
def test_managed_rule_group_blocks_by_default(waf: Synthesized, group: str) -> None:
    rule = rules(waf)[group]
    statement = rule["statement"]["managed_rule_group_statement"]
    assert (statement["vendor_name"], statement["name"]) == ("AWS", group)
    assert rule["override_action"] == {"none": {}}
    assert "action" not in rule


def test_only_the_8_kb_body_rule_of_the_common_set_counts(waf: Synthesized) -> None:
    overrides = {
        name: rule["statement"]["managed_rule_group_statement"].get("rule_action_override") for name, rule in rules(waf).items() if name.startswith("AWS")
    }
    assert overrides.pop("AWSManagedRulesCommonRuleSet") == [{"name": "SizeRestrictions_BODY", "action_to_use": {"count": {}}}]
    assert set(overrides.values()) == {None}


def test_body_size_rule_answers_413_above_the_configured_content_length(waf: Synthesized) -> None:
    rule = rules(waf)["body-size"]
    response = rule["action"]["block"]["custom_response"]
    assert response["response_code"] == 413
    body = {b["key"]: b for b in acl(waf)["custom_response_body"]}[response["custom_response_body_key"]]
    assert body["content_type"] == "APPLICATION_JSON" and "payload_too_large" in body["content"]
    match = rule["statement"]["regex_match_statement"]
    assert match["field_to_match"] == {"single_header": {"name": "content-length"}}
    assert match["text_transformation"] == [{"priority": 0, "type": "NONE"}]
    pattern = re.compile(match["regex_string"])
    assert [n for n in (0, 8193, 65535, 65536, 65537, 100000, 10**9) if pattern.match(str(n))] == [65537, 100000, 10**9]


def test_body_size_limit_comes_from_config(waf_counting: Synthesized) -> None:
    pattern = re.compile(rules(waf_counting)["body-size"]["statement"]["regex_match_statement"]["regex_string"])
    assert pattern.match("16385") and not pattern.match("16384")


@pytest.mark.parametrize("limit", [1024, 8192, 65536, 99999, 100000, 104857600])
def test_greater_than_regex_matches_exactly_the_larger_numbers(limit: int) -> None:
    pattern = re.compile(greater_than_regex(limit))
    samples = {0, 1, limit - 1, limit, limit + 1, limit * 10, 10 ** len(str(limit)), 10 ** (len(str(limit)) - 1)} | set(range(limit - 300, limit + 300))
    assert {n for n in samples if pattern.match(str(n))} == {n for n in samples if n > limit}
    assert pattern.match("000" + str(limit + 1)) and not pattern.match("00" + str(limit))
    assert not pattern.match("") and not pattern.match(f"{limit + 1}x") and len(pattern.pattern) <= 512


def test_managed_rule_groups_count_only_when_configured(waf_counting: Synthesized) -> None:
    overrides = {name: rule.get("override_action") for name, rule in rules(waf_counting).items()}
    assert overrides["AWSManagedRulesSQLiRuleSet"] == {"count": {}}
    assert overrides["AWSManagedRulesCommonRuleSet"] == {"count": {}}
    assert overrides["AWSManagedRulesKnownBadInputsRuleSet"] == {"none": {}}
    assert overrides["AWSManagedRulesAmazonIpReputationList"] == {"none": {}}


def test_rule_order_puts_ip_reputation_and_rate_limit_first(waf: Synthesized) -> None:
    by_priority = sorted(acl(waf)["rule"], key=lambda r: r["priority"])
    assert [r["name"] for r in by_priority] == ["AWSManagedRulesAmazonIpReputationList", "rate-limit", "body-size", *MANAGED_RULE_ORDER[1:]]
    assert [r["priority"] for r in by_priority] == list(range(len(by_priority)))
    assert sorted(MANAGED_RULE_ORDER) == sorted(WAF_MANAGED_RULE_GROUPS)


def test_every_rule_and_the_acl_publish_metrics_and_samples(waf: Synthesized) -> None:
    configs = [rule["visibility_config"] for rule in acl(waf)["rule"]] + [acl(waf)["visibility_config"]]
    assert len(configs) == 7
    for config in configs:
        assert config["cloudwatch_metrics_enabled"] is True
        assert config["sampled_requests_enabled"] is True
        assert config["metric_name"].startswith(PREFIX)
    assert len({c["metric_name"] for c in configs}) == 7


def test_web_acl_is_associated_with_the_load_balancer(waf: Synthesized) -> None:
    assert Testing.to_have_resource_with_properties(
        waf.text(STACK),
        wafv2_web_acl_association.Wafv2WebAclAssociation.TF_RESOURCE_TYPE,
        {"resource_arn": ALB_ARN, "web_acl_arn": "${aws_wafv2_web_acl.waf_web_acl_82D6288C.arn}"},
    )


def test_log_group_has_the_waf_prefix_kms_and_retention(waf: Synthesized) -> None:
    assert Testing.to_have_resource_with_properties(
        waf.text(STACK), cloudwatch_log_group.CloudwatchLogGroup.TF_RESOURCE_TYPE, {"name": f"aws-waf-logs-{PREFIX}", "retention_in_days": 14}
    )
    group = waf.resource(STACK, cloudwatch_log_group.CloudwatchLogGroup.TF_RESOURCE_TYPE, "log_group")
    assert group["kms_key_id"].startswith("${aws_kms_key.logs_key_")


def test_logging_goes_to_the_log_group_with_credentials_redacted(waf: Synthesized) -> None:
    assert Testing.to_have_resource_with_properties(
        waf.text(STACK),
        wafv2_web_acl_logging_configuration.Wafv2WebAclLoggingConfiguration.TF_RESOURCE_TYPE,
        {
            "resource_arn": "${aws_wafv2_web_acl.waf_web_acl_82D6288C.arn}",
            "log_destination_configs": ["${aws_cloudwatch_log_group.waf_log_group_0895F38B.arn}"],
        },
    )
    logging = waf.resource(STACK, wafv2_web_acl_logging_configuration.Wafv2WebAclLoggingConfiguration.TF_RESOURCE_TYPE, "logging")
    redacted = sorted(field["single_header"]["name"] for field in logging["redacted_fields"])
    assert redacted == ["authorization", "cookie"]


def test_no_environment_makes_its_own_log_resource_policy(waf: Synthesized, synth: Synthesized) -> None:
    """An account holds 10 CloudWatch Logs resource policies per region: the account stack's
    one policy covers every environment's WAF log group."""
    assert waf.resources(STACK, cloudwatch_log_resource_policy.CloudwatchLogResourcePolicy.TF_RESOURCE_TYPE) == {}
    for stack in synth.stack_names():
        policies = synth.resources(stack, cloudwatch_log_resource_policy.CloudwatchLogResourcePolicy.TF_RESOURCE_TYPE)
        assert (stack, len(policies)) == (stack, 1 if stack == "order-api-account" else 0)


def test_the_account_policy_covers_every_environments_waf_and_event_logs_only(synth: Synthesized) -> None:
    (policy,) = synth.resources("order-api-account", cloudwatch_log_resource_policy.CloudwatchLogResourcePolicy.TF_RESOURCE_TYPE).values()
    assert policy["policy_name"] == "order-api-log-delivery"
    (document,) = synth.doc("order-api-account")["data"]["aws_iam_policy_document"].values()
    waf_statement, streams, writes = document["statement"]
    account = "${data.aws_caller_identity.caller.account_id}"
    logs = f"arn:${{data.aws_partition.partition.partition}}:logs:us-east-1:{account}:log-group"
    assert waf_statement["principals"] == [{"type": "Service", "identifiers": ["delivery.logs.amazonaws.com"]}]
    assert waf_statement["actions"] == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert waf_statement["resources"] == [f"{logs}:aws-waf-logs-order-api-*:*"]
    conditions = {c["variable"]: (c["test"], c["values"]) for c in waf_statement["condition"]}
    assert conditions["aws:SourceAccount"] == ("StringEquals", [account])
    assert conditions["aws:SourceArn"][0] == "ArnLike"
    events = [{"type": "Service", "identifiers": ["events.amazonaws.com", "delivery.logs.amazonaws.com"]}]
    assert (streams["actions"], streams["resources"], streams["principals"]) == (["logs:CreateLogStream"], [f"{logs}:/aws/events/order-api-*:*"], events)
    assert (writes["actions"], writes["resources"], writes["principals"]) == (["logs:PutLogEvents"], [f"{logs}:/aws/events/order-api-*:*"], events)
    rules = f"arn:${{data.aws_partition.partition.partition}}:events:us-east-1:{account}:rule/order-api-*"
    assert writes["condition"] == [{"test": "ArnLike", "variable": "aws:SourceArn", "values": [rules]}]
    for stack in ("order-api-dev", "order-api-prod", "order-api-dev-pr42"):
        names = [g["name"] for g in synth.resources(stack, "aws_cloudwatch_log_group").values()]
        (waf_group,) = [n for n in names if n.startswith("aws-waf-logs-")]
        (event_group,) = [n for n in names if n.startswith("/aws/events/")]
        assert fnmatch.fnmatchcase(waf_group, "aws-waf-logs-order-api-*") and fnmatch.fnmatchcase(event_group, "/aws/events/order-api-*")
        rule_names = [r["name"] for r in synth.resources(stack, "aws_cloudwatch_event_rule").values()]
        assert rule_names and all(fnmatch.fnmatchcase(r, "order-api-*") for r in rule_names)


def test_resources_pass_every_guardrail_rule(waf: Synthesized) -> None:
    assert guardrail_violations(waf.doc(STACK)) == []
    assert len(waf.resources(STACK, cloudwatch_log_group.CloudwatchLogGroup.TF_RESOURCE_TYPE)) == 1


def test_attributes_name_the_acl(tmp_path) -> None:
    app = App(outdir=str(tmp_path))
    stack = TerraformStack(app, "attributes")
    provider.AwsProvider(stack, "aws", region="us-east-1")
    waf = Waf(
        stack,
        "waf",
        name_prefix=PREFIX,
        config=EdgeConfig(),
        load_balancer_arn=ALB_ARN,
        log_retention_days=7,
        log_key_arn="arn:aws:kms:us-east-1:111122223333:key/k",
    )
    TerraformOutput(stack, "arn", value=waf.web_acl_arn)
    TerraformOutput(stack, "id", value=waf.web_acl_id)
    app.synth()
    outputs = Synthesized(tmp_path).doc("attributes")["output"]
    assert waf.web_acl_name == f"{PREFIX}-web-acl"
    assert outputs["arn"]["value"] == "${aws_wafv2_web_acl.waf_web_acl_82D6288C.arn}"
    assert outputs["id"]["value"] == "${aws_wafv2_web_acl.waf_web_acl_82D6288C.id}"
