"""How ``OrderApiStack`` wires its components together, checked on the real stacks.

The component tests build each component alone; these read the synthesized
environment stacks and check that every connection points at the intended
resource: outputs, rollback alarms, alarm thresholds and dimensions, listener
rules, the service's target groups, security group peers, trust conditions.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from stacks.components.monitoring import ROLLBACK_ALARM_KEYS
from stacks.config import build_app_config
from tests.conftest import PAGING_TOPIC, SUFFIX, Synthesized

CONFIGS = {e.stack_name: e for e in build_app_config({"ENVIRONMENT_SUFFIX": SUFFIX}).environments}
STACKS = sorted(CONFIGS)
ALARM = "aws_cloudwatch_metric_alarm"

#: output -> (resource type, construct path suffix, attribute[, data source]): the output must be exactly that reference.
REFERENCE_OUTPUTS: dict[str, tuple[Any, ...]] = {
    "vpc_id": ("aws_vpc", "network/vpc", "id"),
    "database_writer_endpoint": ("aws_rds_cluster", "database/cluster", "endpoint"),
    "database_reader_endpoint": ("aws_rds_cluster", "database/cluster", "reader_endpoint"),
    "database_cluster_arn": ("aws_rds_cluster", "database/cluster", "arn"),
    "database_secret_arn": ("aws_rds_cluster", "database/cluster", "master_user_secret[0].secret_arn"),
    "alb_dns_name": ("aws_lb", "load_balancer/alb", "dns_name"),
    "alb_arn": ("aws_lb", "load_balancer/alb", "arn"),
    "production_listener_arn": ("aws_lb_listener", "load_balancer/production_listener", "arn"),
    "test_listener_arn": ("aws_lb_listener", "load_balancer/test_listener", "arn"),
    "blue_target_group_arn": ("aws_lb_target_group", "load_balancer/blue_target_group", "arn"),
    "green_target_group_arn": ("aws_lb_target_group", "load_balancer/green_target_group", "arn"),
    "ecs_cluster_arn": ("aws_ecs_cluster", "service/cluster", "arn"),
    "ecs_service_arn": ("aws_ecs_service", "service/service", "arn"),
    "task_definition_arn": ("aws_ecs_task_definition", "service/task_definition", "arn"),
    "ecr_repository_url": ("aws_ecr_repository", "registry", "repository_url", True),
    "waf_web_acl_arn": ("aws_wafv2_web_acl", "waf/web_acl", "arn"),
    "alarm_topic_arn": ("aws_sns_topic", "monitoring/topic", "arn"),
    "ticket_topic_arn": ("aws_sns_topic", "monitoring/ticket_topic", "arn"),
}


def outputs(synth: Synthesized, stack: str) -> dict[str, Any]:
    return {name: body["value"] for name, body in synth.doc(stack)["output"].items()}


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("output", sorted(REFERENCE_OUTPUTS))
def test_output_references_the_intended_attribute(synth: Synthesized, stack: str, output: str) -> None:
    resource_type, path, attribute, *data = REFERENCE_OUTPUTS[output]
    assert outputs(synth, stack)[output] == synth.ref(stack, resource_type, path, attribute, data=bool(data))


@pytest.mark.parametrize("stack", STACKS)
def test_subnet_outputs_list_each_tier_in_zone_order(synth: Synthesized, stack: str) -> None:
    values = outputs(synth, stack)
    for tier in ("public", "private", "isolated"):
        assert values[f"{tier}_subnet_ids"] == [synth.ref(stack, "aws_subnet", f"network/{tier}_subnet_{i}", "id") for i in range(3)]


@pytest.mark.parametrize("stack", STACKS)
def test_literal_outputs_match_the_resources_they_describe(synth: Synthesized, stack: str) -> None:
    config = CONFIGS[stack]
    values = outputs(synth, stack)
    cluster = synth.resource(stack, "aws_ecs_cluster", "service/cluster")
    service = synth.resource(stack, "aws_ecs_service", "service/service")
    database = synth.resource(stack, "aws_rds_cluster", "database/cluster")
    acl = synth.resource(stack, "aws_wafv2_web_acl", "waf/web_acl")
    dashboard = synth.resource(stack, "aws_cloudwatch_dashboard", "monitoring/dashboard")
    assert values["ecs_cluster_name"] == cluster["name"] == stack
    assert values["ecs_service_name"] == service["name"] == f"{stack}-api"
    assert values["database_cluster_identifier"] == database["cluster_identifier"] == f"{stack}-aurora"
    assert values["database_name"] == database["database_name"] == config.database.database_name
    assert values["database_port"] == str(database["port"]) == "3306"
    assert values["database_app_username"] == config.database.app_username
    assert values["waf_web_acl_name"] == acl["name"]
    assert values["dashboard_url"].endswith(f"#dashboards:name={dashboard['dashboard_name']}")
    parameters = sorted(body["name"] for body in synth.resources(stack, "aws_ssm_parameter").values())
    assert sorted(values["ssm_parameter_names"]) == parameters
    assert all(name.startswith(values["ssm_parameter_prefix"]) for name in parameters)
    (task,) = synth.resources(stack, "aws_ecs_task_definition").values()
    assert values["container_image"] == json.loads(task["container_definitions"])[0]["image"]


@pytest.mark.parametrize("stack", STACKS)
def test_rollback_alarms_are_alarms_of_the_same_stack(synth: Synthesized, stack: str) -> None:
    names = synth.resource(stack, "aws_ecs_service", "service/service")["alarms"]["alarm_names"]
    expected = [synth.ref(stack, ALARM, f"monitoring/{key.replace('-', '_')}", "alarm_name") for key in ROLLBACK_ALARM_KEYS]
    assert names == expected
    # And the page they belong to (the fast burn) notifies the stack's own topic.
    topic = synth.ref(stack, "aws_sns_topic", "monitoring/topic", "arn")
    page = synth.resource(stack, "aws_cloudwatch_composite_alarm", "monitoring/slo_burn")
    assert topic in page["alarm_actions"]
    assert synth.ref(stack, ALARM, "monitoring/slo_fast_5m", "alarm_name") in page["alarm_rule"]


#: What every service must roll back on, spelled out (not derived from ROLLBACK_ALARM_KEYS):
#: the load balancer's fast burn, and per target group its unhealthy hosts and the new
#: revision's own 5xx rate and p99.
ROLLS_BACK_ON = (
    "slo_fast_5m",
    "unhealthy_hosts_blue",
    "unhealthy_hosts_green",
    "target_5xx_rate_blue",
    "target_5xx_rate_green",
    "target_latency_p99_blue",
    "target_latency_p99_green",
)


def missing_rollback_alarms(synth: Synthesized, stack: str, doc: dict[str, Any]) -> list[str]:
    """The alarms of :data:`ROLLS_BACK_ON` that the service of ``doc`` does not roll back on, or
    that do not watch this stack's load balancer (and, per colour, that colour's target group)."""
    (service,) = doc["resource"]["aws_ecs_service"].values()
    names = service.get("alarms", {}).get("alarm_names", [])
    alb = synth.ref(stack, "aws_lb", "load_balancer/alb", "arn_suffix")
    missing = []
    for key in ROLLS_BACK_ON:
        body = synth.resource(stack, ALARM, f"monitoring/{key}")
        dimensions = [q["metric"]["dimensions"] for q in body.get("metric_query", []) if "metric" in q] or [body.get("dimensions", {})]
        colour = key.rsplit("_", 1)[-1]
        group = synth.ref(stack, "aws_lb_target_group", f"load_balancer/{colour}_target_group", "arn_suffix") if colour in ("blue", "green") else None
        watches = all(d.get("LoadBalancer") == alb and d.get("TargetGroup") == group for d in dimensions)
        if synth.ref(stack, ALARM, f"monitoring/{key}", "alarm_name") not in names or not watches:
            missing.append(key)
    return missing


@pytest.mark.parametrize("stack", STACKS)
def test_every_service_rolls_back_on_the_new_revisions_own_signal(synth: Synthesized, stack: str) -> None:
    assert missing_rollback_alarms(synth, stack, synth.doc(stack)) == []
    enabled = synth.resource(stack, "aws_ecs_service", "service/service")["alarms"]
    assert (enabled["enable"], enabled["rollback"]) == (True, True)


@pytest.mark.parametrize("key", ["target_5xx_rate_green", "target_latency_p99_blue"])
def test_a_service_without_a_target_group_alarm_is_found(synth: Synthesized, key: str) -> None:
    """Planted defect: one per-target-group alarm taken out of prod's rollback list."""
    stack = "order-api-prod"
    doc = synth.doc(stack)
    (service,) = doc["resource"]["aws_ecs_service"].values()
    service["alarms"]["alarm_names"].remove(synth.ref(stack, ALARM, f"monitoring/{key}", "alarm_name"))
    assert missing_rollback_alarms(synth, stack, doc) == [key]


def _topic_refs(doc: dict[str, Any], stack: str) -> dict[str, str]:
    """``page`` and ``ticket``: the references of the stack's own two topics, by their names."""
    topics = {body["name"]: f"${{aws_sns_topic.{name}.arn}}" for name, body in doc["resource"]["aws_sns_topic"].items()}
    return {"page": topics[f"{stack}-alarms"], "ticket": topics[f"{stack}-tickets"]}


def unreached_alarms(doc: dict[str, Any], stack: str) -> list[str]:
    """Every alarm of ``doc`` that reaches nobody, by name.  The rule: an alarm (metric or
    composite) reaches people when

    1. its ``alarm_actions`` hold the stack's paging topic (``<stack>-alarms``) or its
       ticket topic (``<stack>-tickets``), and its ``ok_actions`` are the same, so the
       recovery reaches whoever the alarm reached; or
    2. it is a metric alarm named (by reference) in the ``alarm_rule`` of a composite alarm
       that reaches people by 1. through the paging topic: the page notifies for it (the
       burn-rate windows, among them the rollback alarm ``slo-fast-5m``).

    A rollback alarm gets no exception: ECS acting on it tells nobody why (the deployment
    rule says that it rolled back), so it must reach people by 1. or 2. as well.  And each
    alarm's name is ``<stack>-...``, the only names the topics' policies let publish."""
    topics = _topic_refs(doc, stack)
    resources = doc["resource"]
    composites = resources.get("aws_cloudwatch_composite_alarm", {})
    metric = resources.get(ALARM, {})

    def notifies(body: dict[str, Any], channels: tuple[str, ...] = ("page", "ticket")) -> bool:
        actions = body.get("alarm_actions") or []
        return any(topics[c] in actions for c in channels) and body.get("ok_actions") == actions

    paged_for = {
        name
        for composite in composites.values()
        if notifies(composite, ("page",))
        for name in re.findall(r"\$\{aws_cloudwatch_metric_alarm\.([A-Za-z0-9_]+)\.alarm_name\}", composite["alarm_rule"])
    }
    unreached = [body["alarm_name"] for body in composites.values() if not notifies(body)]
    unreached += [body["alarm_name"] for name, body in metric.items() if not notifies(body) and name not in paged_for]
    unreached += [body["alarm_name"] for body in [*composites.values(), *metric.values()] if not body["alarm_name"].startswith(f"{stack}-")]
    return sorted(unreached)


@pytest.mark.parametrize("stack", STACKS)
def test_every_alarm_reaches_people_one_way_or_the_other(synth: Synthesized, stack: str) -> None:
    doc = synth.doc(stack)
    assert unreached_alarms(doc, stack) == []
    # Both channels carry alarms: the causes are no longer dashboard-only.
    topics = _topic_refs(doc, stack)
    for channel in ("page", "ticket"):
        assert any(topics[channel] in body.get("alarm_actions", []) for body in doc["resource"][ALARM].values()), channel


def test_every_alarm_reaches_people_with_an_existing_paging_topic_too(synth_prod_digest: Synthesized) -> None:
    """Prod as promoted (pages also to ALARM_TOPIC_ARN): the same rule holds."""
    doc = synth_prod_digest.doc("order-api-prod")
    assert unreached_alarms(doc, "order-api-prod") == []
    (page,) = doc["resource"]["aws_cloudwatch_composite_alarm"].values()
    assert page["alarm_actions"][1:] == [PAGING_TOPIC]


def _planted(synth: Synthesized, stack: str, plant: Any) -> list[str]:
    doc = synth.doc(stack)
    plant(doc["resource"])
    return unreached_alarms(doc, stack)


def test_an_alarm_that_reaches_nobody_is_found(synth: Synthesized) -> None:
    """Planted defects on prod: a cause alarm without actions; an alarm notifying only on
    firing; a planted alarm with no action; the page silenced (its windows then reach nobody)."""
    stack = "order-api-prod"
    lid = synth.logical_id

    def no_actions(resources: dict[str, Any]) -> None:
        body = resources[ALARM][lid(stack, ALARM, "monitoring/db_cpu_high")]
        body.pop("alarm_actions"), body.pop("ok_actions")

    def alarm_only(resources: dict[str, Any]) -> None:
        resources[ALARM][lid(stack, ALARM, "monitoring/target_5xx_rate_green")].pop("ok_actions")

    def planted(resources: dict[str, Any]) -> None:
        resources[ALARM]["planted"] = {"alarm_name": f"{stack}-planted", "metric_name": "CPUUtilization"}

    def silent_page(resources: dict[str, Any]) -> None:
        page = resources["aws_cloudwatch_composite_alarm"][lid(stack, "aws_cloudwatch_composite_alarm", "monitoring/slo_burn")]
        page["alarm_actions"] = page["ok_actions"] = []

    assert _planted(synth, stack, no_actions) == [f"{stack}-db-cpu-high"]
    assert _planted(synth, stack, alarm_only) == [f"{stack}-target-5xx-rate-green"]
    assert _planted(synth, stack, planted) == [f"{stack}-planted"]
    assert _planted(synth, stack, silent_page) == sorted(f"{stack}-{key}" for key in ("slo-burn", "slo-fast-1h", "slo-fast-5m", "slo-slow-6h", "slo-slow-30m"))


@pytest.mark.parametrize("stack", STACKS)
def test_alarm_thresholds_and_dimensions_follow_the_service(synth: Synthesized, stack: str) -> None:
    config = CONFIGS[stack]
    cluster = synth.resource(stack, "aws_ecs_cluster", "service/cluster")["name"]
    service = synth.resource(stack, "aws_ecs_service", "service/service")["name"]
    low = synth.resource(stack, ALARM, "monitoring/running_tasks_low")
    assert low["threshold"] == config.service.min_tasks
    assert low["dimensions"] == {"ClusterName": cluster, "ServiceName": service}
    for key in ("ecs_cpu_high", "ecs_memory_high"):
        assert synth.resource(stack, ALARM, f"monitoring/{key}")["dimensions"] == {"ClusterName": cluster, "ServiceName": service}
    backlog = synth.resource(stack, ALARM, "monitoring/pending_orders_backlog")
    assert (backlog["namespace"], backlog["metric_name"]) == (config.service.pending_orders_namespace, config.service.pending_orders_metric)
    assert backlog["dimensions"] == {"ServiceName": service}
    database = synth.resource(stack, "aws_rds_cluster", "database/cluster")["cluster_identifier"]
    for key in ("db_cpu_high", "db_connections_high", "db_connections_zero"):
        assert synth.resource(stack, ALARM, f"monitoring/{key}")["dimensions"] == {"DBClusterIdentifier": database}


@pytest.mark.parametrize("stack", STACKS)
def test_load_balancer_alarms_watch_this_alb_and_its_target_groups(synth: Synthesized, stack: str) -> None:
    alb = synth.ref(stack, "aws_lb", "load_balancer/alb", "arn_suffix")
    for colour in ("blue", "green"):
        body = synth.resource(stack, ALARM, f"monitoring/unhealthy_hosts_{colour}")
        group = synth.ref(stack, "aws_lb_target_group", f"load_balancer/{colour}_target_group", "arn_suffix")
        assert body["dimensions"] == {"TargetGroup": group, "LoadBalancer": alb}
    for key in ("target_5xx", "latency_p99"):
        assert synth.resource(stack, ALARM, f"monitoring/{key}")["dimensions"] == {"LoadBalancer": alb}
    rate = synth.resource(stack, ALARM, "monitoring/alb_5xx_rate")["metric_query"]
    assert {q["id"]: q.get("metric", {}).get("dimensions") for q in rate} == {"rate": None, "errors": {"LoadBalancer": alb}, "requests": {"LoadBalancer": alb}}


@pytest.mark.parametrize("stack", STACKS)
def test_each_listener_rule_sits_on_its_listener_and_starts_on_blue(synth: Synthesized, stack: str) -> None:
    https = CONFIGS[stack].load_balancer.https
    production = synth.resource(stack, "aws_lb_listener", "load_balancer/production_listener")
    test = synth.resource(stack, "aws_lb_listener", "load_balancer/test_listener")
    assert (production["port"], production["protocol"]) == ((443, "HTTPS") if https else (80, "HTTP"))
    assert (test["port"], test["protocol"]) == (9443, "HTTPS" if https else "HTTP")
    for rule, listener in (("production_rule", "production_listener"), ("test_rule", "test_listener")):
        body = synth.resource(stack, "aws_lb_listener_rule", f"load_balancer/{rule}")
        assert body["listener_arn"] == synth.ref(stack, "aws_lb_listener", f"load_balancer/{listener}", "arn")
        (action,) = body["action"]
        weights = {group["arn"]: group["weight"] for group in action["forward"]["target_group"]}
        blue = synth.ref(stack, "aws_lb_target_group", "load_balancer/blue_target_group", "arn")
        green = synth.ref(stack, "aws_lb_target_group", "load_balancer/green_target_group", "arn")
        assert weights == {blue: 100, green: 0}
    for body in (production, test):
        assert body["load_balancer_arn"] == synth.ref(stack, "aws_lb", "load_balancer/alb", "arn")


@pytest.mark.parametrize("stack", STACKS)
def test_service_deploys_blue_green_through_the_stack_listener_rules(synth: Synthesized, stack: str) -> None:
    (lb,) = synth.resource(stack, "aws_ecs_service", "service/service")["load_balancer"]
    assert lb["target_group_arn"] == synth.ref(stack, "aws_lb_target_group", "load_balancer/blue_target_group", "arn")
    advanced = lb["advanced_configuration"]
    assert advanced["alternate_target_group_arn"] == synth.ref(stack, "aws_lb_target_group", "load_balancer/green_target_group", "arn")
    assert advanced["production_listener_rule"] == synth.ref(stack, "aws_lb_listener_rule", "load_balancer/production_rule", "arn")
    assert advanced["test_listener_rule"] == synth.ref(stack, "aws_lb_listener_rule", "load_balancer/test_rule", "arn")
    assert (lb["container_name"], lb["container_port"]) == ("order-api", CONFIGS[stack].service.container_port)


@pytest.mark.parametrize("stack", STACKS)
def test_waf_protects_this_stacks_load_balancer(synth: Synthesized, stack: str) -> None:
    (association,) = synth.resources(stack, "aws_wafv2_web_acl_association").values()
    assert association["resource_arn"] == synth.ref(stack, "aws_lb", "load_balancer/alb", "arn")
    assert association["web_acl_arn"] == synth.ref(stack, "aws_wafv2_web_acl", "waf/web_acl", "arn")


@pytest.mark.parametrize("stack", STACKS)
def test_security_groups_chain_alb_to_tasks_to_database(synth: Synthesized, stack: str) -> None:
    alb_sg = synth.ref(stack, "aws_security_group", "load_balancer/security_group", "id")
    service_sg = synth.ref(stack, "aws_security_group", "service/security_group", "id")
    database_sg = synth.ref(stack, "aws_security_group", "database/security_group", "id")
    port = CONFIGS[stack].service.container_port
    to_tasks = synth.resource(stack, "aws_vpc_security_group_egress_rule", "load_balancer/egress_to_targets")
    assert (to_tasks["security_group_id"], to_tasks["referenced_security_group_id"], to_tasks["from_port"], to_tasks["to_port"]) == (
        alb_sg,
        service_sg,
        port,
        port,
    )
    from_alb = synth.resource(stack, "aws_vpc_security_group_ingress_rule", "service/ingress_from_alb")
    assert (from_alb["security_group_id"], from_alb["referenced_security_group_id"], from_alb["from_port"]) == (service_sg, alb_sg, port)
    mysql = synth.resource(stack, "aws_vpc_security_group_ingress_rule", "database/mysql_ingress_0")
    assert (mysql["security_group_id"], mysql["referenced_security_group_id"], mysql["from_port"], mysql["to_port"]) == (database_sg, service_sg, 3306, 3306)
    database_rules = [b for b in synth.resources(stack, "aws_vpc_security_group_ingress_rule").values() if b["security_group_id"] == database_sg]
    assert len(database_rules) == 1
    assert [b for b in synth.resources(stack, "aws_vpc_security_group_egress_rule").values() if b["security_group_id"] == database_sg] == []


@pytest.mark.parametrize("stack", STACKS)
def test_service_runs_in_the_private_subnets_of_this_vpc(synth: Synthesized, stack: str) -> None:
    network = synth.resource(stack, "aws_ecs_service", "service/service")["network_configuration"]
    assert network["subnets"] == [synth.ref(stack, "aws_subnet", f"network/private_subnet_{i}", "id") for i in range(3)]
    assert network["security_groups"] == [synth.ref(stack, "aws_security_group", "service/security_group", "id")]
    assert network["assign_public_ip"] is False
    subnet_group = synth.resource(stack, "aws_db_subnet_group", "database/subnet_group")
    assert subnet_group["subnet_ids"] == [synth.ref(stack, "aws_subnet", f"network/isolated_subnet_{i}", "id") for i in range(3)]
    alb = synth.resource(stack, "aws_lb", "load_balancer/alb")
    assert alb["subnets"] == [synth.ref(stack, "aws_subnet", f"network/public_subnet_{i}", "id") for i in range(3)]


#: Roles and whether their trust carries ``aws:SourceAccount`` (AWS documents the others without conditions).
TRUST = {
    "service/execution_role_trust": True,
    "service/task_role_trust": True,
    "network/flow_log_role_trust": True,
    "database/monitoring_role_trust": True,
    "service/blue_green_role_trust": False,
}


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize(("document", "conditioned"), sorted(TRUST.items()))
def test_trust_policies_pin_the_calling_account_where_the_service_sends_it(synth: Synthesized, stack: str, document: str, conditioned: bool) -> None:
    docs = synth.doc(stack)["data"]["aws_iam_policy_document"]
    (trust,) = [d for d in docs.values() if d["//"]["metadata"]["path"].endswith("/" + document)]
    (statement,) = trust["statement"]
    assert statement["actions"] == ["sts:AssumeRole"]
    if conditioned:
        assert statement["condition"] == [
            {"test": "StringEquals", "variable": "aws:SourceAccount", "values": ["${data.aws_caller_identity.caller.account_id}"]}
        ]
    else:
        assert "condition" not in statement


def test_prod_alarm_threshold_is_its_own_minimum(synth: Synthesized) -> None:
    # Not a copy of dev's: the alarm follows each environment's service settings.
    assert synth.resource("order-api-prod", ALARM, "monitoring/running_tasks_low")["threshold"] == 3
    assert synth.resource("order-api-dev", ALARM, "monitoring/running_tasks_low")["threshold"] == 2


def test_dashboard_url_is_in_the_stack_region(synth: Synthesized) -> None:
    url = outputs(synth, "order-api-dev")["dashboard_url"]
    assert re.match(r"^https://us-east-1\.console\.aws\.amazon\.com/cloudwatch/home\?region=us-east-1#dashboards:name=order-api-dev-on-call$", url)


@pytest.mark.parametrize("stack", STACKS)
def test_the_slo_page_watches_this_alb_with_this_environments_budget(synth: Synthesized, stack: str) -> None:
    config = CONFIGS[stack].monitoring
    alb = synth.ref(stack, "aws_lb", "load_balancer/alb", "arn_suffix")
    budget = f"{config.error_budget:f}"
    assert {"dev": "0.01", "staging": "0.005", "prod": "0.001"}[CONFIGS[stack].name] == budget
    for key in ("slo_fast_1h", "slo_fast_5m", "slo_slow_6h", "slo_slow_30m"):
        queries = {q["id"]: q for q in synth.resource(stack, ALARM, f"monitoring/{key}")["metric_query"]}
        assert queries["burn"]["expression"].endswith(f"/ FILL(requests, 1) / {budget}")
        assert {q["metric"]["dimensions"]["LoadBalancer"] for q in queries.values() if "metric" in q} == {alb}


@pytest.mark.parametrize("stack", STACKS)
def test_spot_events_are_this_clusters_and_services(synth: Synthesized, stack: str) -> None:
    cluster = synth.resource(stack, "aws_ecs_cluster", "service/cluster")["name"]
    service = synth.resource(stack, "aws_ecs_service", "service/service")["name"]
    arn = "arn:${data.aws_partition.partition.partition}:ecs:us-east-1:${data.aws_caller_identity.caller.account_id}"
    interruptions = json.loads(synth.resource(stack, "aws_cloudwatch_event_rule", "monitoring/spot_interruptions_rule")["event_pattern"])
    assert interruptions["detail"]["clusterArn"] == [f"{arn}:cluster/{cluster}"]
    placement = json.loads(synth.resource(stack, "aws_cloudwatch_event_rule", "monitoring/spot_placement_failures_rule")["event_pattern"])
    assert placement["resources"] == [f"{arn}:service/{cluster}/{service}"]
    for key in ("spot_interruptions", "spot_placement_failed"):
        assert synth.resource(stack, ALARM, f"monitoring/{key}")["dimensions"] == {"ClusterArn": f"{arn}:cluster/{cluster}"}
    assert synth.resource(stack, "aws_cloudwatch_log_group", "monitoring/events_log_group")["kms_key_id"] == synth.ref(
        stack, "aws_kms_key", "logs_key/key", "arn"
    )


@pytest.mark.parametrize("stack", STACKS)
def test_restore_tests_run_where_aws_backup_runs_and_their_failures_reach_the_topic(synth: Synthesized, stack: str) -> None:
    tested = CONFIGS[stack].database.restore_testing
    assert tested is (CONFIGS[stack].name == "prod")
    rules = [r["name"] for r in synth.resources(stack, "aws_cloudwatch_event_rule").values()]
    assert (f"{stack}-restore-test-failed" in rules) is tested
    assert bool(synth.resources(stack, "aws_backup_restore_testing_selection")) is tested
    if not tested:
        return
    selection = synth.resource(stack, "aws_backup_restore_testing_selection", "database/restore_testing_selection")
    assert selection["protected_resource_arns"] == [synth.ref(stack, "aws_rds_cluster", "database/cluster", "arn")]
    assert selection["restore_testing_plan_name"] == synth.ref(stack, "aws_backup_restore_testing_plan", "database/restore_testing_plan", "name")
    assert selection["restore_metadata_overrides"] == {
        "dbSubnetGroupName": synth.ref(stack, "aws_db_subnet_group", "database/subnet_group", "name"),
        "vpcSecurityGroupIds": json.dumps([synth.ref(stack, "aws_security_group", "database/security_group", "id")]),
    }
    plan = synth.resource(stack, "aws_backup_restore_testing_plan", "database/restore_testing_plan")
    assert plan["recovery_point_selection"][0]["include_vaults"] == [synth.ref(stack, "aws_backup_vault", "database/backup_vault", "arn")]
    cluster = synth.resource(stack, "aws_rds_cluster", "database/cluster")["cluster_identifier"]
    rule = synth.resource(stack, "aws_cloudwatch_event_rule", "monitoring/restore_test_failed_rule")
    # The plan's restore jobs: the failed job's event names its plan, not the cluster.
    assert json.loads(rule["event_pattern"])["detail"]["restoreTestingPlanArn"] == [
        synth.ref(stack, "aws_backup_restore_testing_plan", "database/restore_testing_plan", "arn")
    ]
    transformer = synth.resource(stack, "aws_cloudwatch_event_target", "monitoring/restore_test_failed_target")["input_transformer"]
    assert transformer["input_template"].startswith(f'"{cluster}: restore test')
    target = synth.resource(stack, "aws_cloudwatch_event_target", "monitoring/restore_test_failed_target")
    assert target["arn"] == synth.ref(stack, "aws_sns_topic", "monitoring/topic", "arn")
