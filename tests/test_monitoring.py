"""Monitoring component: two encrypted alert topics, alarms and their channels, the on-call dashboard."""

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
from stacks.components.monitoring import (
    ALARM_KEYS,
    BURN_ALARM_KEYS,
    EVENTS_NAMESPACE,
    PAGE_KEY,
    PAGING_ALARM_KEYS,
    RESTORE_TEST_EVENT_FIELDS,
    ROLLBACK_ALARM_KEYS,
    SPOT_ALARM_KEYS,
    TARGET_GROUP_ALARM_KEYS,
    TICKET_ALARM_KEYS,
    Monitoring,
    MonitoringTargets,
    deployment_event_pattern,
    restore_test_failure_pattern,
    spot_interruption_pattern,
    spot_placement_failure_pattern,
)
from stacks.components.slo import BURN_PAIRS, SLO_PERIOD_DAYS, fits_alarm_limits
from stacks.config import ConfigError, MonitoringConfig
from stacks.framework import App, Aspects, TerraformStack, Testing, Token
from tests.conftest import Synthesized, guardrail_violations
from tests.event_patterns import matches

STACK = "monitoring-test"
PREFIX = "order-api-test"
TOPIC_REF = "${aws_sns_topic.monitoring_topic_631C3BE1.arn}"
TICKET_REF = "${aws_sns_topic.monitoring_ticket_topic_8DB7A571.arn}"
#: Each channel: the construct id prefix of its resources, its topic's name, its topic's reference.
CHANNELS = {"page": ("", f"{PREFIX}-alarms", TOPIC_REF), "ticket": ("ticket_", f"{PREFIX}-tickets", TICKET_REF)}
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
LOG_KEY = "arn:aws:kms:eu-west-1:111122223333:key/0b3e1c55-logs"
LOGS: dict[str, Any] = {"log_retention_days": 14, "log_key_arn": LOG_KEY}
CONFIG = MonitoringConfig(
    alarm_emails=("oncall@example.com", "team@example.com"),
    alarm_https_endpoints=("https://events.pagerduty.example.com/integration/abc/enqueue",),
    ticket_emails=("orders-team@example.com",),
    ticket_https_endpoints=("https://tickets.example.com/hooks/orders", "https://chat.example.com/hooks/orders"),
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
    monitoring = Monitoring(stack, "monitoring", name_prefix=PREFIX, config=CONFIG, aws=aws, targets=TARGETS, **LOGS)
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


# ---------------------------------------------------------------- topics


def _document(synth: Synthesized, path_end: str) -> dict[str, Any]:
    documents = synth.doc(STACK)["data"]["aws_iam_policy_document"]
    (found,) = [d for d in documents.values() if d["//"]["metadata"]["path"].endswith(path_end)]
    return found


@pytest.mark.parametrize("channel", sorted(CHANNELS))
def test_each_topic_is_encrypted_with_its_own_rotating_key(synth: Synthesized, channel: str) -> None:
    prefix, name, _ = CHANNELS[channel]
    key_id = synth.logical_id(STACK, kms_key.KmsKey.TF_RESOURCE_TYPE, f"monitoring/{prefix}topic_key/key")
    assert Testing.to_have_resource_with_properties(
        synth.text(STACK), sns_topic.SnsTopic.TF_RESOURCE_TYPE, {"name": name, "kms_master_key_id": f"${{aws_kms_key.{key_id}.arn}}"}
    )
    assert synth.resource(STACK, kms_key.KmsKey.TF_RESOURCE_TYPE, f"{prefix}topic_key/key")["enable_key_rotation"] is True
    assert synth.resource(STACK, "aws_kms_alias", f"{prefix}topic_key/alias")["name"] == f"alias/{name}"
    assert len(synth.resources(STACK, sns_topic.SnsTopic.TF_RESOURCE_TYPE)) == 2


@pytest.mark.parametrize(("channel", "services"), [("page", ["cloudwatch.amazonaws.com", "events.amazonaws.com"]), ("ticket", ["cloudwatch.amazonaws.com"])])
def test_each_key_lets_only_its_publishers_of_this_account_use_it(synth: Synthesized, channel: str, services: list[str]) -> None:
    """CloudWatch publishes to both topics; EventBridge only to the page (the ticket topic has no event rule)."""
    policy = _document(synth, f"monitoring/{CHANNELS[channel][0]}topic_key/policy")
    (service,) = [s for s in policy["statement"] if s.get("sid") == "ServiceUse"]
    assert service["principals"] == [{"type": "Service", "identifiers": services}]
    assert "kms:GenerateDataKey*" in service["actions"] and "kms:Decrypt*" in service["actions"]
    assert service["condition"] == [{"test": "StringEquals", "variable": "aws:SourceAccount", "values": ["${data.aws_caller_identity.caller.account_id}"]}]


def _alarms_statement(statement: dict[str, Any], topic: str) -> None:
    assert statement["sid"] == "CloudWatchAlarmsOfThisEnvironment"
    assert statement["effect"] == "Allow" and statement["actions"] == ["sns:Publish"] and statement["resources"] == [topic]
    assert statement["principals"] == [{"type": "Service", "identifiers": ["cloudwatch.amazonaws.com"]}]
    conditions = {c["variable"]: c["values"] for c in statement["condition"]}
    assert conditions["aws:SourceAccount"] == ["${data.aws_caller_identity.caller.account_id}"]
    assert conditions["aws:SourceArn"] == [
        f"arn:${{data.aws_partition.partition.partition}}:cloudwatch:eu-west-1:${{data.aws_caller_identity.caller.account_id}}:alarm:{PREFIX}-*"
    ]


def _deny_statement(statement: dict[str, Any], topic: str) -> None:
    assert statement["effect"] == "Deny" and statement["resources"] == [topic]
    assert statement["condition"] == [{"test": "Bool", "variable": "aws:SecureTransport", "values": ["false"]}]


def test_topic_policy_lets_only_this_environments_alarms_and_event_rules_publish(synth: Synthesized) -> None:
    assert Testing.to_have_resource_with_properties(synth.text(STACK), sns_topic_policy.SnsTopicPolicy.TF_RESOURCE_TYPE, {"arn": TOPIC_REF})
    allow, events, deny = _document(synth, "monitoring/topic_policy_document")["statement"]
    assert events["sid"] == "EventRulesOfThisEnvironment"
    assert events["principals"] == [{"type": "Service", "identifiers": ["events.amazonaws.com"]}]
    assert (events["effect"], events["actions"], events["resources"]) == ("Allow", ["sns:Publish"], [TOPIC_REF])
    rule_arn = (
        f"arn:${{data.aws_partition.partition.partition}}:events:eu-west-1:${{data.aws_caller_identity.caller.account_id}}:rule/{PREFIX}-deployment-failed"
    )
    assert events["condition"] == [{"test": "ArnEquals", "variable": "aws:SourceArn", "values": [rule_arn]}]
    _alarms_statement(allow, TOPIC_REF)
    _deny_statement(deny, TOPIC_REF)


def test_ticket_topic_policy_lets_only_this_environments_alarms_publish(synth: Synthesized) -> None:
    assert Testing.to_have_resource_with_properties(synth.text(STACK), sns_topic_policy.SnsTopicPolicy.TF_RESOURCE_TYPE, {"arn": TICKET_REF})
    allow, deny = _document(synth, "monitoring/ticket_topic_policy_document")["statement"]
    _alarms_statement(allow, TICKET_REF)
    _deny_statement(deny, TICKET_REF)


def test_subscriptions_come_from_config(synth: Synthesized) -> None:
    subscriptions = synth.resources(STACK, sns_topic_subscription.SnsTopicSubscription.TF_RESOURCE_TYPE).values()
    got = sorted((s["topic_arn"], s["protocol"], s["endpoint"]) for s in subscriptions)
    assert got == sorted(
        [
            (TOPIC_REF, "email", "oncall@example.com"),
            (TOPIC_REF, "email", "team@example.com"),
            (TOPIC_REF, "https", "https://events.pagerduty.example.com/integration/abc/enqueue"),
            (TICKET_REF, "email", "orders-team@example.com"),
            (TICKET_REF, "https", "https://tickets.example.com/hooks/orders"),
            (TICKET_REF, "https", "https://chat.example.com/hooks/orders"),
        ]
    )


# ---------------------------------------------------------------- alarms


METRIC_ALARM_KEYS = (*BURN_ALARM_KEYS, *ALARM_KEYS, *TARGET_GROUP_ALARM_KEYS, *SPOT_ALARM_KEYS)


def test_every_alarm_exists_with_a_deterministic_name(mon: tuple[Synthesized, Monitoring]) -> None:
    synth, monitoring = mon
    assert sorted(alarms(synth)) == sorted(f"{PREFIX}-{key}" for key in METRIC_ALARM_KEYS)
    (composite,) = synth.resources(STACK, "aws_cloudwatch_composite_alarm").values()
    assert composite["alarm_name"] == f"{PREFIX}-{PAGE_KEY}"
    # The page first, then its windows, the threshold alarms and the Spot alarms.
    assert monitoring.alarm_names == [f"{PREFIX}-{key}" for key in (PAGE_KEY, *METRIC_ALARM_KEYS)]


#: Which channel each metric alarm notifies.  The SLO page replaces the request-error alarms;
#: what the availability SLO cannot see pages too: slow answers, an order backlog, and
#: Fargate Spot capacity.  The causes (errors, hosts, tasks, CPU, memory, database, the new
#: revision's own signal) open tickets.  The burn-rate windows notify nobody: the page does.
CHANNEL_OF: dict[str, str | None] = {
    "latency-p99": "page",
    "pending-orders-backlog": "page",
    "spot-interruptions": "page",
    "spot-placement-failed": "page",
    **dict.fromkeys(BURN_ALARM_KEYS, None),
    **dict.fromkeys(
        (
            "alb-5xx-rate",
            "target-5xx",
            "unhealthy-hosts-blue",
            "unhealthy-hosts-green",
            "running-tasks-low",
            "ecs-cpu-high",
            "ecs-memory-high",
            "db-cpu-high",
            "db-connections-high",
            "db-connections-zero",
            "db-replica-lag",
            "target-5xx-rate-blue",
            "target-5xx-rate-green",
            "target-latency-p99-blue",
            "target-latency-p99-green",
        ),
        "ticket",
    ),
}


def test_the_channel_table_covers_every_metric_alarm() -> None:
    assert sorted(CHANNEL_OF) == sorted(METRIC_ALARM_KEYS)
    assert sorted(PAGING_ALARM_KEYS) == sorted([PAGE_KEY, *(key for key, channel in CHANNEL_OF.items() if channel == "page")])
    assert sorted(TICKET_ALARM_KEYS) == sorted(key for key, channel in CHANNEL_OF.items() if channel == "ticket")


@pytest.mark.parametrize(("key", "channel"), [(k, CHANNEL_OF[k]) for k in sorted(CHANNEL_OF)])
def test_each_alarm_notifies_its_channel(synth: Synthesized, key: str, channel: str | None) -> None:
    body = alarm(synth, key)
    if channel is None:
        assert "alarm_actions" not in body and "ok_actions" not in body
        assert body["alarm_description"].endswith("Dashboard only.")
        return
    topic = CHANNELS[channel][2]
    assert body["alarm_actions"] == [topic]
    assert body["ok_actions"] == [topic]
    assert body["alarm_description"].endswith(" Ticket (non-paging).") is (channel == "ticket")
    assert not body["alarm_description"].endswith("Dashboard only.")


@pytest.mark.parametrize("key", ALARM_KEYS)
def test_threshold_alarms_evaluate_the_configured_periods(synth: Synthesized, key: str) -> None:
    body = alarm(synth, key)
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
        *((key, "notBreaching") for key in BURN_ALARM_KEYS),
        *((key, "notBreaching") for key in TARGET_GROUP_ALARM_KEYS),
        ("spot-interruptions", "notBreaching"),
        ("spot-placement-failed", "notBreaching"),
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


COLOURS = (("blue", TARGETS.blue_target_group_arn_suffix), ("green", TARGETS.green_target_group_arn_suffix))


@pytest.mark.parametrize(("colour", "suffix"), COLOURS)
def test_the_5xx_rate_of_each_target_group_above_a_floor_of_requests(synth: Synthesized, colour: str, suffix: str) -> None:
    """The new revision's own errors: its target group's 5xx answers over its requests, 0 below
    the floor of requests (so one failed request of a quiet period cannot roll back)."""
    body = alarm(synth, f"target-5xx-rate-{colour}")
    assert (body["comparison_operator"], body["threshold"]) == ("GreaterThanThreshold", CONFIG.rollback_5xx_rate_percent)
    assert (body["evaluation_periods"], body["datapoints_to_alarm"]) == (3, 2)
    queries = _queries(body)
    assert queries["rate"]["expression"] == "IF(FILL(requests, 0) >= 50, 100 * FILL(errors, 0) / FILL(requests, 1), 0)"
    assert [q["id"] for q in body["metric_query"] if q["return_data"]] == ["rate"]
    for id_, name in (("requests", "RequestCount"), ("errors", "HTTPCode_Target_5XX_Count")):
        metric = queries[id_]["metric"]
        assert (metric["namespace"], metric["metric_name"], metric["stat"], metric["period"]) == ("AWS/ApplicationELB", name, "Sum", 60)
        assert metric["dimensions"] == {"TargetGroup": suffix, "LoadBalancer": TARGETS.alb_arn_suffix}


@pytest.mark.parametrize(("colour", "suffix"), COLOURS)
def test_the_p99_of_each_target_group_above_a_floor_of_requests(synth: Synthesized, colour: str, suffix: str) -> None:
    body = alarm(synth, f"target-latency-p99-{colour}")
    assert (body["comparison_operator"], body["threshold"]) == ("GreaterThanThreshold", 2)
    assert (body["evaluation_periods"], body["datapoints_to_alarm"]) == (3, 2)
    queries = _queries(body)
    assert queries["p99"]["expression"] == "IF(FILL(requests, 0) >= 50, FILL(latency, 0), 0)"
    assert (queries["latency"]["metric"]["metric_name"], queries["latency"]["metric"]["stat"]) == ("TargetResponseTime", "p99")
    assert (queries["requests"]["metric"]["metric_name"], queries["requests"]["metric"]["stat"]) == ("RequestCount", "Sum")
    assert {q["metric"]["period"] for q in queries.values() if "metric" in q} == {60}
    assert all(q["metric"]["dimensions"] == {"TargetGroup": suffix, "LoadBalancer": TARGETS.alb_arn_suffix} for q in queries.values() if "metric" in q)


def test_the_target_group_alarms_follow_the_rollback_settings() -> None:
    config = MonitoringConfig(
        rollback_5xx_rate_percent=4,
        rollback_latency_p99_ms=1500,
        rollback_min_requests=200,
        rollback_period_seconds=120,
        rollback_evaluation_periods=5,
        rollback_datapoints_to_alarm=3,
    )
    app = Testing.app()
    stack = TerraformStack(app, "rollback")
    provider.AwsProvider(stack, "aws", region="eu-west-1")
    aws = AwsContext(account_id="111122223333", partition="aws", region="eu-west-1")
    Monitoring(stack, "monitoring", name_prefix=PREFIX, config=config, aws=aws, targets=TARGETS, **LOGS)
    bodies = {b["alarm_name"]: b for b in json.loads(Testing.synth(stack))["resource"][ALARM].values()}
    rate, latency = bodies[f"{PREFIX}-target-5xx-rate-green"], bodies[f"{PREFIX}-target-latency-p99-blue"]
    assert (rate["threshold"], latency["threshold"]) == (4, 1.5)
    for body in (rate, latency):
        assert (body["evaluation_periods"], body["datapoints_to_alarm"]) == (5, 3)
        assert {q["metric"]["period"] for q in body["metric_query"] if "metric" in q} == {120}
        assert ">= 200," in next(q["expression"] for q in body["metric_query"] if q["return_data"])
    # The threshold alarms keep their own settings.
    assert (bodies[f"{PREFIX}-target-5xx"]["period"], bodies[f"{PREFIX}-target-5xx"]["datapoints_to_alarm"]) == (60, 3)


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
    assert len(monitoring.rollback_alarm_names) == len(ROLLBACK_ALARM_KEYS) == 7
    assert all(Token.is_unresolved(name) for name in monitoring.rollback_alarm_names)


def test_deployments_roll_back_on_the_fast_burn_unhealthy_hosts_and_the_new_revisions_own_signal(synth: Synthesized) -> None:
    """The fast pair's short window (the new revision failing requests; it resets within
    minutes, unlike the long windows), unhealthy targets of either colour, and either
    colour's own 5xx rate and p99: metric alarms only, as ECS takes them.  Each says so."""
    assert ROLLBACK_ALARM_KEYS == (
        "slo-fast-5m",
        "unhealthy-hosts-blue",
        "unhealthy-hosts-green",
        "target-5xx-rate-blue",
        "target-5xx-rate-green",
        "target-latency-p99-blue",
        "target-latency-p99-green",
    )
    fast_short = BURN_PAIRS[0].short
    assert fast_short.key == "slo-fast-5m" and fast_short.minutes == 5
    for key in METRIC_ALARM_KEYS:
        assert ("Rolls back an ECS deployment." in alarm(synth, key)["alarm_description"]) is (key in ROLLBACK_ALARM_KEYS)


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
        ("Blue / green: 5xx % of requests (rollback above)", "AWS/ApplicationELB", {"RequestCount", "HTTPCode_Target_5XX_Count"}),
        ("Blue / green: p99 response time (s)", "AWS/ApplicationELB", {"RequestCount", "TargetResponseTime"}),
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


@pytest.mark.parametrize(
    ("title", "expression", "threshold"), [("5xx %", "IF(FILL(requests_{c}, 0) >= 50, 100 * FILL(errors_{c}, 0)", 2), ("p99", "FILL(latency_{c}, 0)", 2)]
)
def test_dashboard_shows_each_colour_as_its_rollback_alarms_see_it(synth: Synthesized, title: str, expression: str, threshold: float) -> None:
    (widget,) = [w for w in widgets(synth) if str(w["properties"].get("title", "")).startswith(f"Blue / green: {title}")]
    props = widget["properties"]
    shown = {m[0]["id"]: m[0]["expression"] for m in props["metrics"] if isinstance(m[0], dict)}
    assert sorted(shown) == ["value_blue", "value_green"]
    for colour, suffix in COLOURS:
        assert expression.format(c=colour) in shown[f"value_{colour}"]
        assert {m[3] for m in props["metrics"] if isinstance(m[0], str) and m[-1]["id"].endswith(f"_{colour}")} == {suffix}
    assert props["annotations"]["horizontal"] == [{"label": "rollback", "value": threshold}]
    assert props["period"] == 60


def test_dashboard_waf_widget_watches_the_web_acl(synth: Synthesized) -> None:
    (widget,) = [w for w in widgets(synth) if w["properties"].get("title") == "WAF allowed vs blocked requests"]
    for metric in widget["properties"]["metrics"]:
        assert metric[2:] == ["WebACL", TARGETS.web_acl_name, "Region", "eu-west-1", "Rule", "ALL"]


def test_dashboard_shows_every_alarm_first(synth: Synthesized) -> None:
    alarm_widget = next(w for w in widgets(synth) if w["type"] == "alarm")
    assert [a.rsplit(":", 1)[1] for a in alarm_widget["properties"]["alarms"]] == [f"{PREFIX}-{key}" for key in (PAGE_KEY, *METRIC_ALARM_KEYS)]
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
    Monitoring(stack, "monitoring", name_prefix=PREFIX, config=MonitoringConfig(), aws=aws, targets=TARGETS, **LOGS)
    app.synth()
    assert Synthesized(tmp_path).resources("quiet", sns_topic_subscription.SnsTopicSubscription.TF_RESOURCE_TYPE) == {}


@pytest.mark.parametrize(("channel", "keys"), [("alarm", PAGING_ALARM_KEYS), ("ticket", TICKET_ALARM_KEYS)])
def test_an_existing_topic_receives_its_channels_alarms_too(channel: str, keys: tuple[str, ...]) -> None:
    """``alarm_topic_arn`` gets the pages, ``ticket_topic_arn`` the cause alarms; neither the other's."""
    app = Testing.app()
    stack = TerraformStack(app, "external")
    provider.AwsProvider(stack, "aws", region="eu-west-1")
    aws = AwsContext(account_id="${data.aws_caller_identity.caller.account_id}", partition="aws", region="eu-west-1")
    existing = f"arn:aws:sns:eu-west-1:123456789012:{channel}"
    config = MonitoringConfig(alarm_topic_arn=existing) if channel == "alarm" else MonitoringConfig(ticket_topic_arn=existing)
    Monitoring(stack, "monitoring", name_prefix=PREFIX, config=config, aws=aws, targets=TARGETS, **LOGS)
    doc = json.loads(Testing.synth(stack))
    topic = next(f"${{aws_sns_topic.{name}.arn}}" for name, body in doc["resource"]["aws_sns_topic"].items() if body["name"].endswith(f"-{channel}s"))
    bodies = [body for section in (ALARM, "aws_cloudwatch_composite_alarm") for body in doc["resource"][section].values()]
    notifying = [body for body in bodies if existing in body.get("alarm_actions", [])]
    assert sorted(body["alarm_name"].removeprefix(f"{PREFIX}-") for body in notifying) == sorted(keys)
    for body in notifying:
        assert body["alarm_actions"] == [topic, existing]
        assert body["ok_actions"] == [topic, existing]
    assert "aws_sns_topic_subscription" not in doc["resource"]


def test_failed_and_rolled_back_deployments_of_the_service_reach_the_topic(synth: Synthesized) -> None:
    rule = synth.resource(STACK, "aws_cloudwatch_event_rule", "monitoring/deployment_failed_rule")
    assert rule["name"] == f"{PREFIX}-deployment-failed"
    pattern = json.loads(rule["event_pattern"])
    account = "${data.aws_caller_identity.caller.account_id}"
    service_arn = f"arn:${{data.aws_partition.partition.partition}}:ecs:eu-west-1:{account}:service/order-api-test-cluster/order-api-test-service"
    assert (pattern["source"], pattern["detail-type"], pattern["resources"]) == (["aws.ecs"], ["ECS Deployment State Change"], [service_arn])
    assert pattern["detail"]["$or"] == [
        {"eventName": ["SERVICE_DEPLOYMENT_FAILED"]},
        {"eventName": ["SERVICE_DEPLOYMENT_IN_PROGRESS"], "reason": [{"wildcard": "*rolling back*"}]},
    ]
    target = synth.resource(STACK, "aws_cloudwatch_event_target", "monitoring/deployment_failed_target")
    assert target["arn"] == TOPIC_REF and target["rule"] == synth.ref(STACK, "aws_cloudwatch_event_rule", "monitoring/deployment_failed_rule", "name")
    transformer = target["input_transformer"]
    assert set(re.findall(r"<(\w+)>", transformer["input_template"])) == set(transformer["input_paths"])
    assert transformer["input_paths"]["reason"] == "$.detail.reason" and transformer["input_paths"]["service"] == "$.resources[0]"


@pytest.mark.parametrize(
    ("event_name", "reason", "expected"),
    [
        ("SERVICE_DEPLOYMENT_FAILED", "ECS deployment circuit breaker: tasks failed to start.", True),
        ("SERVICE_DEPLOYMENT_IN_PROGRESS", "ECS deployment detected triggered alarm(s): rolling back to deploymentId ecs-svc/1.", True),
        ("SERVICE_DEPLOYMENT_IN_PROGRESS", "ECS deployment ecs-svc/2 in progress.", False),
        ("SERVICE_DEPLOYMENT_COMPLETED", "ECS deployment ecs-svc/2 completed.", False),
    ],
)
def test_the_pattern_picks_failures_and_rollbacks_only(event_name: str, reason: str, expected: bool) -> None:
    """The pattern's $or and wildcard, evaluated as EventBridge documents them, on the events ECS sends."""
    pattern = deployment_event_pattern("arn:svc")
    event: dict[str, Any] = {
        "source": "aws.ecs",
        "detail-type": "ECS Deployment State Change",
        "resources": ["arn:svc"],
        "detail": {"eventName": event_name, "reason": reason},
    }
    assert matches(pattern, event) is expected


# -------------------------------------------------------------- SLO page

#: The SRE Workbook's page for a 30-day SLO: (window key, minutes, burn factor).
WORKBOOK_WINDOWS = [("slo-fast-1h", 60, 14.4), ("slo-fast-5m", 5, 14.4), ("slo-slow-6h", 360, 6), ("slo-slow-30m", 30, 6)]


def test_the_windows_are_the_workbooks() -> None:
    assert SLO_PERIOD_DAYS == 30
    assert [(w.key, w.minutes, float(w.factor)) for p in BURN_PAIRS for w in (p.long, p.short)] == WORKBOOK_WINDOWS
    # The factor is the pair's share of the budget, spent within the long window.
    assert [(float(p.budget_share), float(p.factor * p.long_minutes / (SLO_PERIOD_DAYS * 24 * 60))) for p in BURN_PAIRS] == [(0.02, 0.02), (0.05, 0.05)]
    assert tuple(key for key, _, _ in WORKBOOK_WINDOWS) == BURN_ALARM_KEYS


def _queries(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {q["id"]: q for q in body["metric_query"]}


@pytest.mark.parametrize(("key", "minutes", "factor"), WORKBOOK_WINDOWS)
def test_each_window_is_one_period_of_its_length_above_its_factor(synth: Synthesized, key: str, minutes: int, factor: float) -> None:
    body = alarm(synth, key)
    assert (body["comparison_operator"], body["threshold"]) == ("GreaterThanThreshold", factor)
    assert (body["evaluation_periods"], body["datapoints_to_alarm"]) == (1, 1)
    queries = _queries(body)
    assert [q["id"] for q in body["metric_query"] if q["return_data"]] == ["burn"]
    expected = {"requests": "RequestCount", "elb_5xx": "HTTPCode_ELB_5XX_Count", "target_5xx": "HTTPCode_Target_5XX_Count"}
    for id_, name in expected.items():
        metric = queries[id_]["metric"]
        assert (metric["namespace"], metric["metric_name"], metric["stat"], metric["period"]) == ("AWS/ApplicationELB", name, "Sum", minutes * 60)
        assert metric["dimensions"] == {"LoadBalancer": TARGETS.alb_arn_suffix}
    assert fits_alarm_limits(minutes * 60, body["evaluation_periods"])


@pytest.mark.parametrize("key", BURN_ALARM_KEYS)
def test_the_burn_rate_is_the_5xx_share_of_requests_over_the_slos_budget(synth: Synthesized, key: str) -> None:
    # CONFIG keeps the default SLO, 99.9 %: a budget of 0.1 % of requests.
    assert CONFIG.availability_slo_percent == 99.9
    assert _queries(alarm(synth, key))["burn"]["expression"] == "(FILL(elb_5xx, 0) + FILL(target_5xx, 0)) / FILL(requests, 1) / 0.001"


@pytest.mark.parametrize(("slo", "budget"), [(99.5, "0.005"), (99.0, "0.01"), (99.95, "0.0005"), (95, "0.05")])
def test_the_budget_follows_the_configured_slo(slo: float, budget: str) -> None:
    app = Testing.app()
    stack = TerraformStack(app, "slo")
    provider.AwsProvider(stack, "aws", region="eu-west-1")
    aws = AwsContext(account_id="111122223333", partition="aws", region="eu-west-1")
    Monitoring(stack, "monitoring", name_prefix=PREFIX, config=MonitoringConfig(availability_slo_percent=slo), aws=aws, targets=TARGETS, **LOGS)
    doc = json.loads(Testing.synth(stack))
    expressions = {q["expression"] for body in doc["resource"][ALARM].values() for q in body.get("metric_query", []) if q.get("return_data")}
    burn = {e for e in expressions if "FILL(elb_5xx" in e}
    assert burn == {f"(FILL(elb_5xx, 0) + FILL(target_5xx, 0)) / FILL(requests, 1) / {budget}"}
    (page,) = doc["resource"]["aws_cloudwatch_composite_alarm"].values()
    assert f"availability SLO {slo} %" in page["alarm_description"]


def test_the_page_ors_the_two_anded_window_pairs(synth: Synthesized) -> None:
    (page,) = synth.resources(STACK, "aws_cloudwatch_composite_alarm").values()
    ref = {key: synth.ref(STACK, ALARM, f"monitoring/{key.replace('-', '_')}", "alarm_name") for key in BURN_ALARM_KEYS}
    assert page["alarm_rule"] == (
        f'(ALARM("{ref["slo-fast-1h"]}") AND ALARM("{ref["slo-fast-5m"]}")) OR (ALARM("{ref["slo-slow-6h"]}") AND ALARM("{ref["slo-slow-30m"]}"))'
    )
    assert page["alarm_actions"] == [TOPIC_REF] and page["ok_actions"] == [TOPIC_REF]
    assert page["tags"] == {"Name": f"{PREFIX}-{PAGE_KEY}"}


@pytest.mark.parametrize(
    ("period", "periods", "fits"), [(300, 1, True), (21600, 1, True), (3600, 168, True), (3600, 169, False), (1800, 49, False), (90, 1, False)]
)
def test_alarm_limits(period: int, periods: int, fits: bool) -> None:
    """CloudWatch: periods of whole minutes; at most a day in all below an hour, a week from an hour."""
    assert fits_alarm_limits(period, periods) is fits


# ------------------------------------------------------------ Fargate Spot

ACCOUNT = "${data.aws_caller_identity.caller.account_id}"
CLUSTER_ARN = f"arn:${{data.aws_partition.partition.partition}}:ecs:eu-west-1:{ACCOUNT}:cluster/{TARGETS.cluster_name}"
SERVICE_ARN = f"arn:${{data.aws_partition.partition.partition}}:ecs:eu-west-1:{ACCOUNT}:service/{TARGETS.cluster_name}/{TARGETS.service_name}"


def _events_group_arn(synth: Synthesized) -> str:
    return synth.ref(STACK, "aws_cloudwatch_log_group", "monitoring/events_log_group", "arn")


@pytest.mark.parametrize(
    ("rule_id", "name", "pattern"),
    [
        ("spot_interruptions", f"{PREFIX}-spot-interruptions", spot_interruption_pattern(CLUSTER_ARN)),
        ("spot_placement_failures", f"{PREFIX}-spot-placement-failures", spot_placement_failure_pattern(SERVICE_ARN)),
    ],
)
def test_spot_events_of_this_service_go_to_its_event_log(synth: Synthesized, rule_id: str, name: str, pattern: dict[str, Any]) -> None:
    rule = synth.resource(STACK, "aws_cloudwatch_event_rule", f"monitoring/{rule_id}_rule")
    assert rule["name"] == name
    assert json.loads(rule["event_pattern"]) == pattern
    target = synth.resource(STACK, "aws_cloudwatch_event_target", f"monitoring/{rule_id}_target")
    assert target["arn"] == _events_group_arn(synth)
    assert target["rule"] == synth.ref(STACK, "aws_cloudwatch_event_rule", f"monitoring/{rule_id}_rule", "name")
    assert "input_transformer" not in target  # the whole event is the record
    # The account stack's log resource policy (applied before any environment) lets it write.
    assert fnmatch.fnmatchcase(name, "order-api-*")


def _task_event(**detail: Any) -> dict[str, Any]:
    """An ECS task state change as ECS sends it (the developer guide's example, trimmed)."""
    base = {"clusterArn": "arn:aws:ecs:eu-west-1:111122223333:cluster/c", "lastStatus": "STOPPED", "stopCode": "SpotInterruption", "group": "service:s"}
    return {"source": "aws.ecs", "detail-type": "ECS Task State Change", "resources": ["arn:aws:ecs:eu-west-1:111122223333:task/c/1"], "detail": base | detail}


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (_task_event(), True),
        # The two-minute warning and the states between carry the stop code too: counted once, at STOPPED.
        (_task_event(lastStatus="RUNNING"), False),
        (_task_event(lastStatus="DEPROVISIONING"), False),
        (_task_event(stopCode="EssentialContainerExited"), False),
        (_task_event(clusterArn="arn:aws:ecs:eu-west-1:111122223333:cluster/other"), False),
    ],
)
def test_an_interruption_counts_once_per_task_of_this_cluster(event: dict[str, Any], expected: bool) -> None:
    assert matches(spot_interruption_pattern("arn:aws:ecs:eu-west-1:111122223333:cluster/c"), event) is expected


def _placement_event(capacity_provider: str, event_name: str = "SERVICE_TASK_PLACEMENT_FAILURE", service: str = "s") -> dict[str, Any]:
    return {
        "source": "aws.ecs",
        "detail-type": "ECS Service Action",
        "resources": [f"arn:aws:ecs:eu-west-1:111122223333:service/c/{service}"],
        "detail": {
            "eventType": "ERROR",
            "eventName": event_name,
            "clusterArn": "arn:aws:ecs:eu-west-1:111122223333:cluster/c",
            "capacityProviderArns": [f"arn:aws:ecs:eu-west-1:111122223333:capacity-provider/{capacity_provider}"],
            "reason": "RESOURCE:FARGATE",
        },
    }


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (_placement_event("FARGATE_SPOT"), True),
        (_placement_event("FARGATE"), False),
        (_placement_event("FARGATE_SPOT", event_name="SERVICE_STEADY_STATE"), False),
        (_placement_event("FARGATE_SPOT", service="other"), False),
    ],
)
def test_placement_failures_count_when_spot_capacity_is_missing(event: dict[str, Any], expected: bool) -> None:
    assert matches(spot_placement_failure_pattern("arn:aws:ecs:eu-west-1:111122223333:service/c/s"), event) is expected


def test_the_event_log_is_encrypted_kept_and_writable_by_these_rules_only(synth: Synthesized) -> None:
    group = synth.resource(STACK, "aws_cloudwatch_log_group", "monitoring/events_log_group")
    assert (group["name"], group["retention_in_days"], group["kms_key_id"]) == (f"/aws/events/{PREFIX}-ecs", 14, LOG_KEY)
    # No resource policy of its own: the account stack's one covers /aws/events/order-api-*.
    assert synth.resources(STACK, "aws_cloudwatch_log_resource_policy") == {}
    assert fnmatch.fnmatchcase(group["name"], "/aws/events/order-api-*")


@pytest.mark.parametrize(
    ("filter_id", "metric", "pattern"),
    [
        ("spot_interruptions_filter", "SpotInterruptions", '{ $.detail.stopCode = "SpotInterruption" }'),
        ("spot_placement_failures_filter", "SpotPlacementFailures", '{ $.detail.eventName = "SERVICE_TASK_PLACEMENT_FAILURE" }'),
    ],
)
def test_metric_filters_count_the_events_per_cluster(synth: Synthesized, filter_id: str, metric: str, pattern: str) -> None:
    body = synth.resource(STACK, "aws_cloudwatch_log_metric_filter", f"monitoring/{filter_id}")
    assert body["log_group_name"] == synth.ref(STACK, "aws_cloudwatch_log_group", "monitoring/events_log_group", "name")
    assert body["pattern"] == pattern
    assert body["metric_transformation"] == {
        "name": metric,
        "namespace": EVENTS_NAMESPACE,
        "value": "1",
        "unit": "Count",
        "dimensions": {"ClusterArn": "$.detail.clusterArn"},
    }


@pytest.mark.parametrize(
    ("key", "metric", "period", "threshold"),
    [("spot-interruptions", "SpotInterruptions", 3600, CONFIG.spot_interruptions_per_hour), ("spot-placement-failed", "SpotPlacementFailures", 900, 1)],
)
def test_spot_alarms_on_the_counted_events(synth: Synthesized, key: str, metric: str, period: int, threshold: int) -> None:
    body = alarm(synth, key)
    assert (body["namespace"], body["metric_name"], body["statistic"], body["period"]) == (EVENTS_NAMESPACE, metric, "Sum", period)
    assert body["dimensions"] == {"ClusterArn": CLUSTER_ARN}
    assert (body["comparison_operator"], body["threshold"], body["evaluation_periods"]) == ("GreaterThanOrEqualToThreshold", threshold, 1)


def test_the_interruption_rate_comes_from_the_config(tmp_path: Path) -> None:
    app = App(outdir=str(tmp_path))
    stack = TerraformStack(app, "rate")
    provider.AwsProvider(stack, "aws", region="eu-west-1")
    aws = AwsContext(account_id="111122223333", partition="aws", region="eu-west-1")
    Monitoring(stack, "monitoring", name_prefix=PREFIX, config=MonitoringConfig(spot_interruptions_per_hour=7), aws=aws, targets=TARGETS, **LOGS)
    app.synth()
    (body,) = [b for b in Synthesized(tmp_path).resources("rate", ALARM).values() if b["alarm_name"] == f"{PREFIX}-spot-interruptions"]
    assert body["threshold"] == 7


# --------------------------------------------------------- restore tests


PLAN_ARN = "arn:aws:backup:eu-west-1:111122223333:restore-testing-plan:order_api_test_database-1a2b3c4d"


@pytest.fixture(scope="module")
def restore_tested(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    outdir = tmp_path_factory.mktemp("restore")
    app = App(outdir=str(outdir))
    stack = TerraformStack(app, "restore")
    provider.AwsProvider(stack, "aws", region="eu-west-1")
    aws = AwsContext(account_id="111122223333", partition="aws", region="eu-west-1")
    targets = MonitoringTargets(**{**TARGETS.__dict__, "restore_testing_plan_arn": PLAN_ARN})
    Monitoring(stack, "monitoring", name_prefix=PREFIX, config=CONFIG, aws=aws, targets=targets, **LOGS)
    app.synth()
    return Synthesized(Path(outdir))


def test_no_restore_test_rule_without_restore_tests(synth: Synthesized) -> None:
    assert not [r for r in synth.resources(STACK, "aws_cloudwatch_event_rule").values() if r["name"].endswith("restore-test-failed")]


def test_failed_restore_tests_of_the_plan_reach_the_paging_topic(restore_tested: Synthesized) -> None:
    rule = restore_tested.resource("restore", "aws_cloudwatch_event_rule", "monitoring/restore_test_failed_rule")
    assert rule["name"] == f"{PREFIX}-restore-test-failed"
    assert json.loads(rule["event_pattern"]) == restore_test_failure_pattern(PLAN_ARN)
    target = restore_tested.resource("restore", "aws_cloudwatch_event_target", "monitoring/restore_test_failed_target")
    assert target["arn"] == restore_tested.ref("restore", "aws_sns_topic", "monitoring/topic", "arn")
    transformer = target["input_transformer"]
    assert set(re.findall(r"<(\w+)>", transformer["input_template"])) == set(transformer["input_paths"])
    assert transformer["input_template"].startswith(f'"{TARGETS.db_cluster_identifier}: restore test <job>')
    # The topic policy admits this rule as well as the deployment rule.
    documents = restore_tested.doc("restore")["data"]["aws_iam_policy_document"]
    (policy,) = [d for d in documents.values() if d["//"]["metadata"]["path"].endswith("monitoring/topic_policy_document")]
    (events,) = [s for s in policy["statement"] if s.get("sid") == "EventRulesOfThisEnvironment"]
    assert events["condition"][0]["values"] == [
        f"arn:aws:events:eu-west-1:111122223333:rule/{PREFIX}-{n}" for n in ("deployment-failed", "restore-test-failed")
    ]


#: AWS Backup's documented "Restore Job State Change" events (the FAILED and COMPLETED
#: examples of https://docs.aws.amazon.com/aws-backup/latest/devguide/eventbridge.html).
RESTORE_EVENTS = json.loads((Path(__file__).parent / "fixtures" / "restore_job_events.json").read_text())


def _restore_test(example: str, plan: str | None = PLAN_ARN, **detail: Any) -> dict[str, Any]:
    """A documented example as a restore testing plan's job: AWS Backup adds the plan's ARN then."""
    event = json.loads(json.dumps(RESTORE_EVENTS[example]))
    if plan is not None:
        event["detail"]["restoreTestingPlanArn"] = plan
    event["detail"].update(detail)
    return event


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (_restore_test("FAILED"), True),
        (_restore_test("FAILED", status="ABORTED"), True),
        (_restore_test("FAILED", resourceType="Aurora"), True),
        (_restore_test("COMPLETED"), False),
        (_restore_test("COMPLETED", status="RUNNING"), False),
        # Another plan's failed job, and a failed restore no plan started.
        (_restore_test("FAILED", plan="arn:aws:backup:eu-west-1:111122223333:restore-testing-plan:other-5e6f7a8b"), False),
        (_restore_test("FAILED", plan=None), False),
    ],
)
def test_only_failed_restore_tests_of_this_plan_match(event: dict[str, Any], expected: bool) -> None:
    assert matches(restore_test_failure_pattern(PLAN_ARN), event) is expected


def test_the_documented_failed_event_has_every_field_the_message_reads() -> None:
    """The message's input paths are all in the documented FAILED event: a missing one would
    leave a blank where the reader expects the job, the status or the reason."""
    event = _restore_test("FAILED")
    for path in RESTORE_TEST_EVENT_FIELDS.values():
        value: Any = event
        for part in path.removeprefix("$.").split("."):
            assert isinstance(value, dict) and part in value, path
            value = value[part]
        assert value not in ("", None), path
    # The old rule's field: documented only for a completed job, never for a failed one.
    assert "sourceResourceArn" not in RESTORE_EVENTS["FAILED"]["detail"] and "sourceResourceArn" in RESTORE_EVENTS["COMPLETED"]["detail"]


# ---------------------------------------------------- dashboard: SLO row


def _widget(synth: Synthesized, title_start: str) -> dict[str, Any]:
    (found,) = [w for w in widgets(synth) if str(w["properties"].get("title", "")).startswith(title_start)]
    return found


def test_the_dashboard_shows_the_error_budget_left_over_the_slo_period(synth: Synthesized) -> None:
    props = _widget(synth, "Error budget left")["properties"]
    assert (props["view"], props["start"], props["setPeriodToTimeRange"]) == ("singleValue", "-P30D", True)
    expressions = {m[0]["id"]: m[0]["expression"] for m in props["metrics"] if isinstance(m[0], dict)}
    assert expressions == {
        "budget_left": "100 * (1 - burn_total)",
        "burn_total": "(FILL(elb_5xx_total, 0) + FILL(target_5xx_total, 0)) / FILL(requests_total, 1) / 0.001",
    }
    metrics = {m[-1]["id"]: m[1] for m in props["metrics"] if isinstance(m[0], str)}
    assert metrics == {"requests_total": "RequestCount", "elb_5xx_total": "HTTPCode_ELB_5XX_Count", "target_5xx_total": "HTTPCode_Target_5XX_Count"}
    # A period of their own would show its last value instead of the whole range's.
    assert not [m for m in props["metrics"] if isinstance(m[0], str) and "period" in m[-1]]


def test_the_dashboard_shows_the_burn_rate_against_the_page_factors(synth: Synthesized) -> None:
    props = _widget(synth, "SLO burn rate")["properties"]
    assert [a["value"] for a in props["annotations"]["horizontal"]] == [14.4, 6]
    visible = [m[0]["id"] for m in props["metrics"] if isinstance(m[0], dict)]
    assert visible == ["burn_5m", "burn_1h"]
    periods = {m[-1]["id"]: m[-1]["period"] for m in props["metrics"] if isinstance(m[0], str)}
    assert {k: v for k, v in periods.items() if k.endswith("_5m")} == dict.fromkeys(("requests_5m", "elb_5xx_5m", "target_5xx_5m"), 300)
    assert {k: v for k, v in periods.items() if k.endswith("_1h")} == dict.fromkeys(("requests_1h", "elb_5xx_1h", "target_5xx_1h"), 3600)


def test_the_dashboard_shows_the_counted_spot_events(synth: Synthesized) -> None:
    props = _widget(synth, "Fargate Spot")["properties"]
    assert props["metrics"] == [[EVENTS_NAMESPACE, m, "ClusterArn", CLUSTER_ARN] for m in ("SpotInterruptions", "SpotPlacementFailures")]
    assert props["stat"] == "Sum"
