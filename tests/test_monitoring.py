"""Monitoring component: encrypted alarm topic, alarms and their actions, the on-call dashboard."""

from __future__ import annotations

import fnmatch
import json
import re
from pathlib import Path
from typing import Any

import pytest

from stacks.aspects import Guardrails
from stacks.aws import (
    cloudwatch_dashboard,
    cloudwatch_metric_alarm,
    data_aws_caller_identity,
    data_aws_partition,
    kms_key,
    provider,
    sns_topic,
    sns_topic_policy,
    sns_topic_subscription,
)
from stacks.components.common import AwsContext
from stacks.components.monitoring import ALARM_KEYS, ROLLBACK_ALARM_KEYS, Monitoring, MonitoringTargets, deployment_event_pattern
from stacks.config import ConfigError, MonitoringConfig
from stacks.framework import App, Aspects, TerraformStack, Testing, Token
from tests.conftest import Synthesized, guardrail_violations

STACK = "monitoring-test"
PREFIX = "order-api-test"
TOPIC_REF = "${aws_sns_topic.monitoring_topic_631C3BE1.arn}"
ALARM = cloudwatch_metric_alarm.CloudwatchMetricAlarm.TF_RESOURCE_TYPE
TARGETS = MonitoringTargets(
    alb_arn_suffix="app/order-api-test-alb/50dc6c495c0c9188",
    blue_target_group_arn_suffix="targetgroup/order-api-test-blue/6d0ecf831eec9f09",
    green_target_group_arn_suffix="targetgroup/order-api-test-green/7e1fd0942ffd0a1a",
    cluster_name="order-api-test-cluster",
    service_name="order-api-test-service",
    db_cluster_identifier="order-api-test-db",
    web_acl_name="order-api-test-web-acl",
    min_tasks=2,
    pending_orders_namespace="OrderApi",
    pending_orders_metric="PendingOrders",
)
CONFIG = MonitoringConfig(
    alarm_emails=("oncall@example.com", "team@example.com"),
    alarm_https_endpoints=("https://events.pagerduty.example.com/integration/abc/enqueue",),
    db_connections=700,
)


@pytest.fixture(scope="module")
def mon(tmp_path_factory: pytest.TempPathFactory) -> tuple[Synthesized, Monitoring]:
    outdir = tmp_path_factory.mktemp("monitoring")
    app = App(outdir=str(outdir))
    stack = TerraformStack(app, STACK)
    provider.AwsProvider(stack, "aws", region="eu-west-1")
    identity = data_aws_caller_identity.DataAwsCallerIdentity(stack, "caller")
    partition = data_aws_partition.DataAwsPartition(stack, "partition")
    aws = AwsContext(account_id=identity.account_id, partition=partition.partition, region="eu-west-1")
    monitoring = Monitoring(stack, "monitoring", name_prefix=PREFIX, config=CONFIG, aws=aws, targets=TARGETS)
    Aspects.of(stack).add(Guardrails(production=False))
    app.synth()
    return Synthesized(Path(outdir)), monitoring


@pytest.fixture(scope="module")
def synth(mon: tuple[Synthesized, Monitoring]) -> Synthesized:
    return mon[0]


def alarms(synth: Synthesized) -> dict[str, dict[str, Any]]:
    return {body["alarm_name"]: body for body in synth.resources(STACK, ALARM).values()}


def alarm(synth: Synthesized, key: str) -> dict[str, Any]:
    return alarms(synth)[f"{PREFIX}-{key}"]


def dashboard(synth: Synthesized) -> dict[str, Any]:
    (body,) = synth.resources(STACK, cloudwatch_dashboard.CloudwatchDashboard.TF_RESOURCE_TYPE).values()
    return body


def widgets(synth: Synthesized) -> list[dict[str, Any]]:
    return json.loads(dashboard(synth)["dashboard_body"])["widgets"]


# ---------------------------------------------------------------- topic


def test_topic_is_encrypted_with_its_own_rotating_key(synth: Synthesized) -> None:
    (key_id,) = synth.resources(STACK, kms_key.KmsKey.TF_RESOURCE_TYPE)
    assert Testing.to_have_resource_with_properties(
        synth.text(STACK), sns_topic.SnsTopic.TF_RESOURCE_TYPE, {"name": f"{PREFIX}-alarms", "kms_master_key_id": f"${{aws_kms_key.{key_id}.arn}}"}
    )
    assert synth.resource(STACK, kms_key.KmsKey.TF_RESOURCE_TYPE, "topic_key/key")["enable_key_rotation"] is True


def test_key_lets_cloudwatch_and_eventbridge_of_this_account_use_it(synth: Synthesized) -> None:
    documents = synth.doc(STACK)["data"]["aws_iam_policy_document"]
    (policy,) = [d for d in documents.values() if d["//"]["metadata"]["path"].endswith("monitoring/topic_key/policy")]
    (service,) = [s for s in policy["statement"] if s.get("sid") == "ServiceUse"]
    assert service["principals"] == [{"type": "Service", "identifiers": ["cloudwatch.amazonaws.com", "events.amazonaws.com"]}]
    assert "kms:GenerateDataKey*" in service["actions"] and "kms:Decrypt*" in service["actions"]
    assert service["condition"] == [{"test": "StringEquals", "variable": "aws:SourceAccount", "values": ["${data.aws_caller_identity.caller.account_id}"]}]


def test_topic_policy_lets_only_this_environments_alarms_and_deployment_rule_publish(synth: Synthesized) -> None:
    assert Testing.to_have_resource_with_properties(synth.text(STACK), sns_topic_policy.SnsTopicPolicy.TF_RESOURCE_TYPE, {"arn": TOPIC_REF})
    documents = synth.doc(STACK)["data"]["aws_iam_policy_document"]
    (policy,) = [d for d in documents.values() if d["//"]["metadata"]["path"].endswith("monitoring/topic_policy_document")]
    allow, events, deny = policy["statement"]
    assert events["principals"] == [{"type": "Service", "identifiers": ["events.amazonaws.com"]}]
    assert (events["effect"], events["actions"], events["resources"]) == ("Allow", ["sns:Publish"], [TOPIC_REF])
    rule_arn = (
        f"arn:${{data.aws_partition.partition.partition}}:events:eu-west-1:${{data.aws_caller_identity.caller.account_id}}:rule/{PREFIX}-deployment-failed"
    )
    assert events["condition"] == [{"test": "ArnEquals", "variable": "aws:SourceArn", "values": [rule_arn]}]
    assert allow["effect"] == "Allow" and allow["actions"] == ["sns:Publish"] and allow["resources"] == [TOPIC_REF]
    assert allow["principals"] == [{"type": "Service", "identifiers": ["cloudwatch.amazonaws.com"]}]
    conditions = {c["variable"]: c["values"] for c in allow["condition"]}
    assert conditions["aws:SourceAccount"] == ["${data.aws_caller_identity.caller.account_id}"]
    assert conditions["aws:SourceArn"] == [
        f"arn:${{data.aws_partition.partition.partition}}:cloudwatch:eu-west-1:${{data.aws_caller_identity.caller.account_id}}:alarm:{PREFIX}-*"
    ]
    assert deny["effect"] == "Deny" and deny["condition"] == [{"test": "Bool", "variable": "aws:SecureTransport", "values": ["false"]}]


def test_subscriptions_come_from_config(synth: Synthesized) -> None:
    subscriptions = synth.resources(STACK, sns_topic_subscription.SnsTopicSubscription.TF_RESOURCE_TYPE).values()
    got = sorted((s["protocol"], s["endpoint"]) for s in subscriptions)
    assert got == [
        ("email", "oncall@example.com"),
        ("email", "team@example.com"),
        ("https", "https://events.pagerduty.example.com/integration/abc/enqueue"),
    ]
    assert all(s["topic_arn"] == TOPIC_REF for s in subscriptions)


# ---------------------------------------------------------------- alarms


def test_every_alarm_exists_with_a_deterministic_name(mon: tuple[Synthesized, Monitoring]) -> None:
    synth, monitoring = mon
    expected = [f"{PREFIX}-{key}" for key in ALARM_KEYS]
    assert sorted(alarms(synth)) == sorted(expected)
    assert monitoring.alarm_names == expected


@pytest.mark.parametrize("key", ALARM_KEYS)
def test_alarm_notifies_the_topic_on_alarm_and_recovery(synth: Synthesized, key: str) -> None:
    body = alarm(synth, key)
    assert body["alarm_actions"] == [TOPIC_REF]
    assert body["ok_actions"] == [TOPIC_REF]
    assert (body["evaluation_periods"], body["datapoints_to_alarm"]) == (3, 3)


@pytest.mark.parametrize(
    ("key", "treatment"),
    [
        ("alb-5xx-rate", "notBreaching"),
        ("target-5xx", "notBreaching"),
        ("unhealthy-hosts-blue", "notBreaching"),
        ("unhealthy-hosts-green", "notBreaching"),
        ("latency-p99", "notBreaching"),
        ("running-tasks-low", "breaching"),
        ("ecs-cpu-high", "notBreaching"),
        ("ecs-memory-high", "notBreaching"),
        ("db-cpu-high", "notBreaching"),
        ("db-connections-high", "notBreaching"),
        ("db-connections-zero", "breaching"),
        ("db-replica-lag", "notBreaching"),
        ("pending-orders-backlog", "notBreaching"),
    ],
)
def test_missing_data_treatment_is_deliberate(synth: Synthesized, key: str, treatment: str) -> None:
    assert alarm(synth, key)["treat_missing_data"] == treatment


def test_alb_5xx_rate_is_metric_math_over_requests(synth: Synthesized) -> None:
    body = alarm(synth, "alb-5xx-rate")
    assert (body["comparison_operator"], body["threshold"]) == ("GreaterThanThreshold", 5)
    assert "metric_name" not in body
    queries = {q["id"]: q for q in body["metric_query"]}
    assert queries["rate"]["expression"] == "100 * FILL(errors, 0) / FILL(requests, 1)"
    assert queries["rate"]["return_data"] is True
    for id_, name in (("errors", "HTTPCode_ELB_5XX_Count"), ("requests", "RequestCount")):
        metric = queries[id_]["metric"]
        assert queries[id_]["return_data"] is False
        assert (metric["namespace"], metric["metric_name"], metric["stat"], metric["period"]) == ("AWS/ApplicationELB", name, "Sum", 60)
        assert metric["dimensions"] == {"LoadBalancer": TARGETS.alb_arn_suffix}


def test_target_5xx_counts_application_errors(synth: Synthesized) -> None:
    assert Testing.to_have_resource_with_properties(
        synth.text(STACK),
        ALARM,
        {
            "alarm_name": f"{PREFIX}-target-5xx",
            "namespace": "AWS/ApplicationELB",
            "metric_name": "HTTPCode_Target_5XX_Count",
            "statistic": "Sum",
            "comparison_operator": "GreaterThanOrEqualToThreshold",
            "threshold": 10,
            "dimensions": {"LoadBalancer": TARGETS.alb_arn_suffix},
        },
    )


@pytest.mark.parametrize(("colour", "suffix"), [("blue", TARGETS.blue_target_group_arn_suffix), ("green", TARGETS.green_target_group_arn_suffix)])
def test_unhealthy_hosts_per_target_group(synth: Synthesized, colour: str, suffix: str) -> None:
    body = alarm(synth, f"unhealthy-hosts-{colour}")
    assert body["metric_name"] == "UnHealthyHostCount"
    assert body["dimensions"] == {"TargetGroup": suffix, "LoadBalancer": TARGETS.alb_arn_suffix}
    assert (body["comparison_operator"], body["threshold"]) == ("GreaterThanOrEqualToThreshold", 1)


def test_latency_alarm_uses_p99_in_seconds(synth: Synthesized) -> None:
    body = alarm(synth, "latency-p99")
    assert (body["metric_name"], body["extended_statistic"], body["threshold"]) == ("TargetResponseTime", "p99", 2)
    assert "statistic" not in body


def test_running_tasks_below_the_minimum(synth: Synthesized) -> None:
    assert Testing.to_have_resource_with_properties(
        synth.text(STACK),
        ALARM,
        {
            "alarm_name": f"{PREFIX}-running-tasks-low",
            "namespace": "ECS/ContainerInsights",
            "metric_name": "RunningTaskCount",
            "comparison_operator": "LessThanThreshold",
            "threshold": 2,
            "dimensions": {"ClusterName": TARGETS.cluster_name, "ServiceName": TARGETS.service_name},
        },
    )


@pytest.mark.parametrize(("key", "metric", "threshold"), [("ecs-cpu-high", "CPUUtilization", 85), ("ecs-memory-high", "MemoryUtilization", 85)])
def test_ecs_utilisation_alarms(synth: Synthesized, key: str, metric: str, threshold: int) -> None:
    body = alarm(synth, key)
    assert (body["namespace"], body["metric_name"], body["statistic"], body["threshold"]) == ("AWS/ECS", metric, "Average", threshold)
    assert body["dimensions"] == {"ClusterName": TARGETS.cluster_name, "ServiceName": TARGETS.service_name}


@pytest.mark.parametrize(
    ("key", "metric", "comparison", "threshold"),
    [
        ("db-cpu-high", "CPUUtilization", "GreaterThanThreshold", 80),
        ("db-connections-high", "DatabaseConnections", "GreaterThanThreshold", 700),
        ("db-connections-zero", "DatabaseConnections", "LessThanThreshold", 1),
        ("db-replica-lag", "AuroraReplicaLag", "GreaterThanThreshold", 1000),
    ],
)
def test_database_alarms(synth: Synthesized, key: str, metric: str, comparison: str, threshold: int) -> None:
    body = alarm(synth, key)
    assert (body["namespace"], body["metric_name"], body["comparison_operator"], body["threshold"]) == ("AWS/RDS", metric, comparison, threshold)
    assert body["dimensions"]["DBClusterIdentifier"] == TARGETS.db_cluster_identifier


def test_replica_lag_watches_the_readers(synth: Synthesized) -> None:
    assert alarm(synth, "db-replica-lag")["dimensions"] == {"DBClusterIdentifier": TARGETS.db_cluster_identifier, "Role": "READER"}


def test_pending_orders_backlog_uses_the_custom_metric(synth: Synthesized) -> None:
    body = alarm(synth, "pending-orders-backlog")
    assert (body["namespace"], body["metric_name"], body["threshold"]) == ("OrderApi", "PendingOrders", 1000)
    assert body["dimensions"] == {"ServiceName": TARGETS.service_name}


def test_rollback_alarm_names_are_references_not_literals(mon: tuple[Synthesized, Monitoring]) -> None:
    # Resolved in the real stacks by tests/test_stack_wiring.py: each names an alarm resource.
    _, monitoring = mon
    assert len(monitoring.rollback_alarm_names) == len(ROLLBACK_ALARM_KEYS) == 4
    assert all(Token.is_unresolved(name) for name in monitoring.rollback_alarm_names)
    assert ROLLBACK_ALARM_KEYS == ("alb-5xx-rate", "target-5xx", "unhealthy-hosts-blue", "unhealthy-hosts-green")
    assert ROLLBACK_ALARM_KEYS == ("alb-5xx-rate", "target-5xx", "unhealthy-hosts-blue", "unhealthy-hosts-green")


def test_alarm_resources_pass_every_guardrail_rule(synth: Synthesized) -> None:
    assert guardrail_violations(synth.doc(STACK)) == []


# ------------------------------------------------------------- dashboard


def test_dashboard_is_named_for_the_environment(mon: tuple[Synthesized, Monitoring]) -> None:
    synth, monitoring = mon
    assert dashboard(synth)["dashboard_name"] == f"{PREFIX}-on-call"
    assert monitoring.dashboard_url == f"https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#dashboards:name={PREFIX}-on-call"


def test_dashboard_body_is_deterministic_json(synth: Synthesized) -> None:
    raw = dashboard(synth)["dashboard_body"]
    assert raw == json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":"))


def _metric_names(widget: dict[str, Any]) -> set[str]:
    return {m[1] for m in widget["properties"].get("metrics", []) if isinstance(m[0], str)}


@pytest.mark.parametrize(
    ("title", "namespace", "metrics"),
    [
        ("ALB requests", "AWS/ApplicationELB", {"RequestCount"}),
        ("ALB 4xx / 5xx", "AWS/ApplicationELB", {"HTTPCode_ELB_4XX_Count", "HTTPCode_ELB_5XX_Count", "HTTPCode_Target_4XX_Count", "HTTPCode_Target_5XX_Count"}),
        ("Target response time p50 / p99 (s)", "AWS/ApplicationELB", {"TargetResponseTime"}),
        ("Healthy / unhealthy hosts", "AWS/ApplicationELB", {"HealthyHostCount", "UnHealthyHostCount"}),
        ("ECS CPU / memory % (Container Insights)", "ECS/ContainerInsights", {"CpuUtilized", "CpuReserved", "MemoryUtilized", "MemoryReserved"}),
        ("Running vs desired tasks", "ECS/ContainerInsights", {"RunningTaskCount", "DesiredTaskCount"}),
        ("Aurora CPU %", "AWS/RDS", {"CPUUtilization"}),
        ("Aurora connections", "AWS/RDS", {"DatabaseConnections"}),
        ("Aurora replica lag (ms)", "AWS/RDS", {"AuroraReplicaLag"}),
        ("Aurora freeable memory (bytes)", "AWS/RDS", {"FreeableMemory"}),
        ("WAF allowed vs blocked requests", "AWS/WAFV2", {"AllowedRequests", "BlockedRequests"}),
        ("PendingOrders (order backlog)", "OrderApi", {"PendingOrders"}),
    ],
)
def test_dashboard_has_widget(synth: Synthesized, title: str, namespace: str, metrics: set[str]) -> None:
    (widget,) = [w for w in widgets(synth) if w["properties"].get("title") == title]
    assert widget["type"] == "metric"
    assert _metric_names(widget) == metrics
    assert {m[0] for m in widget["properties"]["metrics"] if isinstance(m[0], str)} == {namespace}
    assert widget["properties"]["region"] == "eu-west-1"


def test_dashboard_response_time_shows_p50_and_p99(synth: Synthesized) -> None:
    (widget,) = [w for w in widgets(synth) if w["properties"].get("title") == "Target response time p50 / p99 (s)"]
    assert [m[-1]["stat"] for m in widget["properties"]["metrics"]] == ["p50", "p99"]


def test_dashboard_waf_widget_watches_the_web_acl(synth: Synthesized) -> None:
    (widget,) = [w for w in widgets(synth) if w["properties"].get("title") == "WAF allowed vs blocked requests"]
    for metric in widget["properties"]["metrics"]:
        assert metric[2:] == ["WebACL", TARGETS.web_acl_name, "Region", "eu-west-1", "Rule", "ALL"]


def test_dashboard_shows_every_alarm_first(synth: Synthesized) -> None:
    alarm_widget = next(w for w in widgets(synth) if w["type"] == "alarm")
    assert [a.rsplit(":", 1)[1] for a in alarm_widget["properties"]["alarms"]] == [f"{PREFIX}-{key}" for key in ALARM_KEYS]
    assert alarm_widget["y"] < min(w["y"] for w in widgets(synth) if w["type"] == "metric")


def test_dashboard_widgets_fit_the_grid_without_overlap(synth: Synthesized) -> None:
    cells: set[tuple[int, int]] = set()
    for w in widgets(synth):
        assert w["x"] >= 0 and w["x"] + w["width"] <= 24
        area = {(x, y) for x in range(w["x"], w["x"] + w["width"]) for y in range(w["y"], w["y"] + w["height"])}
        assert not cells & area
        cells |= area


# --------------------------------------------------------------- inputs


def test_fails_targets_without_a_minimum_task_count() -> None:
    with pytest.raises(ConfigError) as excinfo:
        MonitoringTargets(**{**TARGETS.__dict__, "min_tasks": 0})
    assert excinfo.value.field_name == "service.min_tasks"


def test_no_subscriptions_by_default(tmp_path) -> None:
    app = App(outdir=str(tmp_path))
    stack = TerraformStack(app, "quiet")
    provider.AwsProvider(stack, "aws", region="us-east-1")
    aws = AwsContext(account_id="111122223333", partition="aws", region="us-east-1")
    Monitoring(stack, "monitoring", name_prefix=PREFIX, config=MonitoringConfig(), aws=aws, targets=TARGETS)
    app.synth()
    assert Synthesized(tmp_path).resources("quiet", sns_topic_subscription.SnsTopicSubscription.TF_RESOURCE_TYPE) == {}


def test_an_existing_topic_receives_every_alarm_too(tmp_path: Path) -> None:
    app = App(outdir=str(tmp_path))
    stack = TerraformStack(app, "external")
    provider.AwsProvider(stack, "aws", region="eu-west-1")
    aws = AwsContext(account_id="${data.aws_caller_identity.caller.account_id}", partition="aws", region="eu-west-1")
    paging = "arn:aws:sns:eu-west-1:123456789012:paging"
    Monitoring(stack, "monitoring", name_prefix=PREFIX, config=MonitoringConfig(alarm_topic_arn=paging), aws=aws, targets=TARGETS)
    doc = json.loads(Testing.synth(stack))
    topic = next(f"${{aws_sns_topic.{name}.arn}}" for name in doc["resource"]["aws_sns_topic"])
    for body in doc["resource"][ALARM].values():
        assert body["alarm_actions"] == [topic, paging]
        assert body["ok_actions"] == [topic, paging]
    assert "aws_sns_topic_subscription" not in doc["resource"]


def test_failed_and_rolled_back_deployments_of_the_service_reach_the_topic(synth: Synthesized) -> None:
    (rule,) = synth.resources(STACK, "aws_cloudwatch_event_rule").values()
    assert rule["name"] == f"{PREFIX}-deployment-failed"
    pattern = json.loads(rule["event_pattern"])
    account = "${data.aws_caller_identity.caller.account_id}"
    service_arn = f"arn:${{data.aws_partition.partition.partition}}:ecs:eu-west-1:{account}:service/order-api-test-cluster/order-api-test-service"
    assert (pattern["source"], pattern["detail-type"], pattern["resources"]) == (["aws.ecs"], ["ECS Deployment State Change"], [service_arn])
    assert pattern["detail"]["$or"] == [
        {"eventName": ["SERVICE_DEPLOYMENT_FAILED"]},
        {"eventName": ["SERVICE_DEPLOYMENT_IN_PROGRESS"], "reason": [{"wildcard": "*rolling back*"}]},
    ]
    (target,) = synth.resources(STACK, "aws_cloudwatch_event_target").values()
    assert target["arn"] == TOPIC_REF and target["rule"] == synth.ref(STACK, "aws_cloudwatch_event_rule", "monitoring/deployment_failed_rule", "name")
    transformer = target["input_transformer"]
    assert set(re.findall(r"<(\w+)>", transformer["input_template"])) == set(transformer["input_paths"])
    assert transformer["input_paths"]["reason"] == "$.detail.reason" and transformer["input_paths"]["service"] == "$.resources[0]"


@pytest.mark.parametrize(
    ("event_name", "reason", "matches"),
    [
        ("SERVICE_DEPLOYMENT_FAILED", "ECS deployment circuit breaker: tasks failed to start.", True),
        ("SERVICE_DEPLOYMENT_IN_PROGRESS", "ECS deployment detected triggered alarm(s): rolling back to deploymentId ecs-svc/1.", True),
        ("SERVICE_DEPLOYMENT_IN_PROGRESS", "ECS deployment ecs-svc/2 in progress.", False),
        ("SERVICE_DEPLOYMENT_COMPLETED", "ECS deployment ecs-svc/2 completed.", False),
    ],
)
def test_the_pattern_picks_failures_and_rollbacks_only(event_name: str, reason: str, matches: bool) -> None:
    """The pattern's $or and wildcard, evaluated as EventBridge documents them, on the events ECS sends."""
    pattern = deployment_event_pattern("arn:svc")
    event: dict[str, Any] = {
        "source": "aws.ecs",
        "detail-type": "ECS Deployment State Change",
        "resources": ["arn:svc"],
        "detail": {"eventName": event_name, "reason": reason},
    }

    def field_matches(values: list[Any], value: str) -> bool:
        return any(fnmatch.fnmatchcase(value, v["wildcard"]) if isinstance(v, dict) else v == value for v in values)

    def detail_matches(part: dict[str, Any]) -> bool:
        return all(field_matches(values, event["detail"][name]) for name, values in part.items())

    top = all(field_matches(pattern[k], event[k] if isinstance(event[k], str) else event[k][0]) for k in ("source", "detail-type", "resources"))
    assert (top and any(detail_matches(part) for part in pattern["detail"]["$or"])) is matches
