"""Service component: cluster, capacity, task definition, IAM, blue/green, auto scaling, SSM."""

from __future__ import annotations

import json
from typing import Any

import pytest

from stacks.aws import appautoscaling_policy, ecs_cluster, ecs_service, ssm_parameter
from stacks.components.service import capacity_weights
from stacks.framework import Testing
from tests.conftest import Synthesized

DEV, PROD, STAGING = "order-api-dev", "order-api-prod", "order-api-staging"


def service(synth: Synthesized, stack: str) -> dict:
    return synth.resource(stack, ecs_service.EcsService.TF_RESOURCE_TYPE, "service/service")


def container(synth: Synthesized, stack: str) -> dict:
    body = synth.resource(stack, "aws_ecs_task_definition", "task_definition")
    (definition,) = json.loads(body["container_definitions"])
    return definition


def policy_statements(synth: Synthesized, stack: str, path_suffix: str) -> list[dict]:
    docs = synth.doc(stack)["data"]["aws_iam_policy_document"]
    (doc,) = [d for d in docs.values() if d["//"]["metadata"]["path"].endswith(path_suffix)]
    return doc["statement"]


@pytest.mark.parametrize(("share", "weights"), [(50, (1, 1)), (0, (1, 0)), (100, (0, 1)), (75, (1, 3)), (30, (7, 3))])
def test_capacity_weights_realize_the_spot_share(share: int, weights: tuple[int, int]) -> None:
    assert capacity_weights(share) == weights


def test_cluster_has_container_insights_and_audited_exec(synth: Synthesized) -> None:
    assert Testing.to_have_resource_with_properties(
        synth.text(DEV), ecs_cluster.EcsCluster.TF_RESOURCE_TYPE, {"setting": [{"name": "containerInsights", "value": "enabled"}]}
    )
    assert Testing.to_have_resource_with_properties(
        synth.text(PROD), ecs_cluster.EcsCluster.TF_RESOURCE_TYPE, {"setting": [{"name": "containerInsights", "value": "enhanced"}]}
    )
    exec_cfg = synth.resource(DEV, "aws_ecs_cluster", "cluster")["configuration"]["execute_command_configuration"]
    assert exec_cfg["logging"] == "OVERRIDE"
    assert exec_cfg["log_configuration"]["cloud_watch_encryption_enabled"] is True
    assert "aws_kms_key.service_key" in exec_cfg["kms_key_id"]


def test_half_of_the_tasks_on_spot_with_an_on_demand_base_in_prod(synth: Synthesized) -> None:
    strategy = service(synth, PROD)["capacity_provider_strategy"]
    assert strategy == [
        {"capacity_provider": "FARGATE", "base": 1, "weight": 1},
        {"capacity_provider": "FARGATE_SPOT", "weight": 1},
    ]
    assert service(synth, DEV)["capacity_provider_strategy"][0]["base"] == 0


def test_cluster_offers_both_capacity_providers(synth: Synthesized) -> None:
    body = synth.resource(DEV, "aws_ecs_cluster_capacity_providers", "capacity_providers")
    assert body["capacity_providers"] == ["FARGATE", "FARGATE_SPOT"]


def test_blue_green_deployment_with_green_alternate_and_rollbacks(synth: Synthesized) -> None:
    body = service(synth, PROD)
    assert body["deployment_configuration"]["strategy"] == "CANARY"
    assert body["deployment_circuit_breaker"] == {"enable": True, "rollback": True}
    assert body["alarms"]["rollback"] is True and body["alarms"]["alarm_names"]
    (lb,) = body["load_balancer"]
    assert "blue_target_group" in lb["target_group_arn"]
    advanced = lb["advanced_configuration"]
    assert "green_target_group" in advanced["alternate_target_group_arn"]
    assert "production_rule" in advanced["production_listener_rule"]
    assert "test_rule" in advanced["test_listener_rule"]
    assert "blue_green_role" in advanced["role_arn"]


def test_blue_green_role_may_shift_alb_traffic(synth: Synthesized) -> None:
    attachment = synth.resource(DEV, "aws_iam_role_policy_attachment", "blue_green_role_policy")
    assert attachment["policy_arn"].endswith(":iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers")
    (statement,) = policy_statements(synth, DEV, "service/blue_green_role_trust")
    assert statement["principals"] == [{"type": "Service", "identifiers": ["ecs.amazonaws.com"]}]


@pytest.mark.parametrize("stack", [DEV, STAGING, PROD, "order-api-dev-pr42"])
def test_a_deploy_never_moves_the_image(synth: Synthesized, stack: str) -> None:
    """Terraform creates the service with its first task definition, then leaves it to releases."""
    assert service(synth, stack)["lifecycle"]["ignore_changes"] == ["desired_count", "load_balancer", "task_definition"]


def _hook(synth: Synthesized, stack: str) -> dict:
    function = synth.ref(stack, "aws_lambda_function", "smoke_test/function", "arn")
    role = synth.ref(stack, "aws_iam_role", "smoke_test/hook_role", "arn")
    return {"hook_target_arn": function, "role_arn": role, "lifecycle_stages": ["POST_TEST_TRAFFIC_SHIFT"]}


@pytest.mark.parametrize(
    ("stack", "expected"),
    [
        (DEV, {"strategy": "BLUE_GREEN", "bake_time_in_minutes": "1"}),
        (STAGING, {"strategy": "BLUE_GREEN", "bake_time_in_minutes": "5"}),
        (
            PROD,
            {"strategy": "CANARY", "bake_time_in_minutes": "10", "canary_configuration": {"canary_percent": 10, "canary_bake_time_in_minutes": "5"}},
        ),
    ],
)
def test_each_environment_deploys_with_its_strategy_and_the_smoke_test_first(synth: Synthesized, stack: str, expected: dict) -> None:
    assert service(synth, stack)["deployment_configuration"] == {**expected, "lifecycle_hook": [_hook(synth, stack)]}


def test_linear_strategy_and_no_smoke_test_as_configured() -> None:
    from stacks.components.service import deployment_configuration
    from stacks.config import DeploymentConfig

    linear = deployment_configuration(DeploymentConfig(strategy="LINEAR", linear_step_percent=20, linear_step_minutes=3, smoke_test=False), None)
    assert (linear.strategy, linear.bake_time_in_minutes, linear.lifecycle_hook, linear.canary_configuration) == ("LINEAR", "5", None, None)
    steps = linear.linear_configuration
    assert steps is not None and (steps.step_percent, steps.step_bake_time_in_minutes) == (20, "3")


def test_service_waits_for_the_capacity_providers(synth: Synthesized) -> None:
    assert any("aws_ecs_cluster_capacity_providers.service_capacity_providers" in d for d in service(synth, DEV)["depends_on"])


def test_blue_green_role_trust_is_as_aws_documents_it(synth: Synthesized) -> None:
    (statement,) = policy_statements(synth, DEV, "service/blue_green_role_trust")
    assert "condition" not in statement


def test_tasks_run_in_private_subnets_without_public_ip(synth: Synthesized) -> None:
    network = service(synth, DEV)["network_configuration"]
    assert network["assign_public_ip"] is False
    assert all("private_subnet" in s for s in network["subnets"])


def test_fargate_task_size_and_roles(synth: Synthesized) -> None:
    body = synth.resource(PROD, "aws_ecs_task_definition", "task_definition")
    assert (body["cpu"], body["memory"], body["network_mode"]) == ("1024", "2048", "awsvpc")
    assert body["requires_compatibilities"] == ["FARGATE"]
    assert "execution_role" in body["execution_role_arn"] and "task_role" in body["task_role_arn"]


def test_container_is_hardened(synth: Synthesized) -> None:
    c = container(synth, DEV)
    assert c["readonlyRootFilesystem"] is True
    assert c["stopTimeout"] < 120
    assert c["healthCheck"]["command"][1].startswith("curl -fsS http://localhost:8080/health")
    assert c["logConfiguration"]["logDriver"] == "awslogs"
    assert c["image"].endswith(":latest")
    assert container(synth, PROD)["image"].endswith(":1.0.0")


@pytest.mark.parametrize("stack", [DEV, STAGING, PROD, "order-api-dev-pr42"])
def test_configuration_arrives_from_ssm_and_no_database_secret_at_all(synth: Synthesized, stack: str) -> None:
    c = container(synth, stack)
    secrets = {s["name"]: s["valueFrom"] for s in c["secrets"]}
    assert set(secrets) == {"DB_HOST", "DB_READER_HOST", "DB_PORT", "DB_NAME", "DB_USER", "LOG_LEVEL", "FEATURE_ORDERS_MAX_BATCH_SIZE"}
    parameters = {body["name"]: name for name, body in synth.resources(stack, "aws_ssm_parameter").items()}
    prefix = synth.doc(stack)["output"]["ssm_parameter_prefix"]["value"]
    assert secrets["DB_USER"] == "${aws_ssm_parameter." + parameters[f"{prefix}database/user"] + ".arn}"
    assert all(v.startswith("${aws_ssm_parameter.") and v.endswith(".arn}") for v in secrets.values())
    # Nothing from Secrets Manager: no password reaches the task.
    assert "secretsmanager" not in json.dumps(c) and "master_user_secret" not in json.dumps(c)
    assert {e["name"]: e["value"] for e in c["environment"]} == {"PORT": "8080", "METRICS_NAMESPACE": "OrderApi", "DB_AUTH": "iam"}


def test_the_user_parameter_names_the_app_user(synth: Synthesized) -> None:
    parameter = synth.resource(DEV, "aws_ssm_parameter", "service/parameters/database_user")
    assert (parameter["name"], parameter["value"], parameter["type"]) == ("/order-api/dev/database/user", "orders_app", "SecureString")


def test_parameters_are_kms_encrypted_under_the_environment_prefix(synth: Synthesized) -> None:
    params = synth.resources(DEV, ssm_parameter.SsmParameter.TF_RESOURCE_TYPE).values()
    names = sorted(p["name"] for p in params)
    assert "/order-api/dev/database/host" in names and "/order-api/dev/log-level" in names
    assert all(p["type"] == "SecureString" and "aws_kms_key.service_key" in p["key_id"] for p in params)
    assert all(n.startswith("/order-api/dev-pr42/") for n in (p["name"] for p in synth.resources("order-api-dev-pr42", "aws_ssm_parameter").values()))


def test_execution_role_is_least_privilege(synth: Synthesized) -> None:
    statements = {s["sid"]: s for s in policy_statements(synth, DEV, "service/execution_policy")}
    assert set(statements) == {"EcrLogin", "PullImage", "WriteLogs", "ReadParameters", "DecryptParameters"}
    assert statements["EcrLogin"]["resources"] == ["*"]  # GetAuthorizationToken cannot be scoped
    for sid in ("PullImage", "WriteLogs", "ReadParameters", "DecryptParameters"):
        assert "*" not in statements[sid]["resources"], sid
    assert statements["ReadParameters"]["resources"][0].endswith(":parameter/order-api/dev/*")
    assert statements["PullImage"]["resources"] == [synth.ref(DEV, "aws_ecr_repository", "registry", "arn", data=True)]
    assert statements["DecryptParameters"]["resources"] == [synth.ref(DEV, "aws_kms_key", "service_key/key", "arn")]


@pytest.mark.parametrize("stack", [DEV, STAGING, PROD, "order-api-dev-pr42"])
def test_no_role_of_the_service_can_read_the_master_secret_or_its_key(synth: Synthesized, stack: str) -> None:
    secret = synth.ref(stack, "aws_rds_cluster", "database/cluster", "master_user_secret[0].secret_arn")
    database_key = synth.ref(stack, "aws_kms_key", "database/key/key", "arn")
    for document in ("service/execution_policy", "service/task_policy"):
        text = json.dumps(policy_statements(synth, stack, document))
        assert secret not in text and "master_user_secret" not in text and "secretsmanager:" not in text
        assert database_key not in text


def test_task_role_may_connect_as_the_app_user_and_publish_its_metrics(synth: Synthesized) -> None:
    statements = {s["sid"]: s for s in policy_statements(synth, DEV, "service/task_policy")}
    assert set(statements) == {"ConnectToDatabase", "PublishMetrics"}
    assert statements["PublishMetrics"]["actions"] == ["cloudwatch:PutMetricData"]
    assert statements["PublishMetrics"]["condition"] == [{"test": "StringEquals", "variable": "cloudwatch:namespace", "values": ["OrderApi"]}]
    resource_id = synth.ref(DEV, "aws_rds_cluster", "database/cluster", "cluster_resource_id")
    assert statements["ConnectToDatabase"]["actions"] == ["rds-db:connect"]
    assert statements["ConnectToDatabase"]["resources"][0].endswith(f":dbuser:{resource_id}/orders_app")


def test_service_security_group_accepts_only_the_alb(synth: Synthesized) -> None:
    rule = synth.resource(DEV, "aws_vpc_security_group_ingress_rule", "service/ingress_from_alb")
    assert (rule["from_port"], rule["to_port"]) == (8080, 8080)
    assert "load_balancer_security_group" in rule["referenced_security_group_id"]
    assert "cidr_ipv4" not in rule


def test_cpu_target_tracking_at_70_percent(synth: Synthesized) -> None:
    assert Testing.to_have_resource_with_properties(
        synth.text(DEV),
        appautoscaling_policy.AppautoscalingPolicy.TF_RESOURCE_TYPE,
        {
            "policy_type": "TargetTrackingScaling",
            "target_tracking_scaling_policy_configuration": {
                "target_value": 70,
                "predefined_metric_specification": {"predefined_metric_type": "ECSServiceAverageCPUUtilization"},
                "scale_in_cooldown": 300,
                "scale_out_cooldown": 60,
            },
        },
    )


def test_pending_orders_backlog_per_task_scaling(synth: Synthesized) -> None:
    body = synth.resource(DEV, "aws_appautoscaling_policy", "pending_orders_scaling")
    tracking = body["target_tracking_scaling_policy_configuration"]
    assert tracking["target_value"] == 100
    metrics = {m["id"]: m for m in tracking["customized_metric_specification"]["metrics"]}
    load, tasks = metrics["load"]["metric_stat"], metrics["tasks"]["metric_stat"]
    assert (load["metric"]["namespace"], load["metric"]["metric_name"], load["stat"]) == ("OrderApi", "PendingOrders", "Average")
    assert load["metric"]["dimensions"] == [{"name": "ServiceName", "value": "order-api-dev-api"}]
    assert (tasks["metric"]["namespace"], tasks["metric"]["metric_name"], tasks["stat"]) == ("ECS/ContainerInsights", "RunningTaskCount", "Average")
    assert tasks["metric"]["dimensions"] == [{"name": "ClusterName", "value": "order-api-dev"}, {"name": "ServiceName", "value": "order-api-dev-api"}]
    # Minutes without PendingOrders count as no backlog: never a scale-out, never a blocked scale-in.
    assert metrics["per_task"] == {"id": "per_task", "label": "Pending orders per task", "expression": "FILL(load, 0) / tasks", "return_data": True}
    assert [m["return_data"] for m in tracking["customized_metric_specification"]["metrics"]].count(True) == 1


def test_scalable_target_bounds_follow_config(synth: Synthesized) -> None:
    target = synth.resource(PROD, "aws_appautoscaling_target", "scaling_target")
    assert (target["min_capacity"], target["max_capacity"]) == (3, 20)
    assert target["scalable_dimension"] == "ecs:service:DesiredCount"


@pytest.fixture(scope="module")
def variant(run_tmp) -> Synthesized:
    """Dev with ECS Exec and request-count scaling switched on."""
    from dataclasses import replace

    from stacks.config import StateConfig, catalogue
    from stacks.framework import App
    from stacks.order_api_stack import OrderApiStack

    dev = catalogue("us-east-1")["dev"]
    env = replace(dev, service=replace(dev.service, enable_execute_command=True, requests_per_target=500))
    app = App(outdir=str(run_tmp / "service-variant"))
    OrderApiStack(app, "variant", config=env, state=StateConfig(backend="local"), state_region="us-east-1")
    app.synth()
    return Synthesized(run_tmp / "service-variant")


def test_exec_gets_writable_agent_paths_under_the_read_only_root(variant: Synthesized) -> None:
    body = variant.resource("variant", "aws_ecs_task_definition", "task_definition")
    (c,) = json.loads(body["container_definitions"])
    assert c["readonlyRootFilesystem"] is True
    assert {m["containerPath"] for m in c["mountPoints"]} == {"/tmp", "/managed-agents", "/var/lib/amazon/ssm", "/var/log/amazon/ssm"}
    assert {v["name"] for v in body["volume"]} == {m["sourceVolume"] for m in c["mountPoints"]}
    assert variant.resource("variant", "aws_ecs_service", "service/service")["enable_execute_command"] is True


def test_exec_permissions_only_when_enabled(variant: Synthesized, synth: Synthesized) -> None:
    docs = variant.doc("variant")["data"]["aws_iam_policy_document"]
    (doc,) = [d for d in docs.values() if d["//"]["metadata"]["path"].endswith("service/task_policy")]
    assert "EcsExec" in {s["sid"] for s in doc["statement"]}
    assert "EcsExec" not in {s["sid"] for s in policy_statements(synth, DEV, "service/task_policy")}


def test_request_scaling_counts_requests_per_task_not_per_target_group(variant: Synthesized) -> None:
    body = variant.resource("variant", "aws_appautoscaling_policy", "requests_scaling")
    tracking = body["target_tracking_scaling_policy_configuration"]
    assert tracking["target_value"] == 500
    metrics = {m["id"]: m for m in tracking["customized_metric_specification"]["metrics"]}
    load = metrics["load"]["metric_stat"]
    assert (load["metric"]["namespace"], load["metric"]["metric_name"], load["stat"]) == ("AWS/ApplicationELB", "RequestCount", "Sum")
    assert load["metric"]["dimensions"] == [{"name": "LoadBalancer", "value": variant.ref("variant", "aws_lb", "load_balancer/alb", "arn_suffix")}]
    assert metrics["per_task"]["expression"] == "FILL(load, 0) / tasks"
    assert "predefined_metric_specification" not in tracking


def test_service_waits_for_the_blue_green_role_policy_and_the_capacity_providers(synth: Synthesized) -> None:
    """Created after, destroyed before: ECS can shift traffic on the first deployment and
    never hangs DRAINING without its permissions (the provider's aws_ecs_service warning)."""
    body = service(synth, DEV)
    attachment = synth.logical_id(DEV, "aws_iam_role_policy_attachment", "service/blue_green_role_policy")
    capacity = synth.logical_id(DEV, "aws_ecs_cluster_capacity_providers", "service/capacity_providers")
    hook_policy = synth.logical_id(DEV, "aws_iam_role_policy", "smoke_test/hook_role_policy")
    assert sorted(body["depends_on"]) == sorted(
        [f"aws_iam_role_policy_attachment.{attachment}", f"aws_ecs_cluster_capacity_providers.{capacity}", f"aws_iam_role_policy.{hook_policy}"]
    )
    role = synth.ref(DEV, "aws_iam_role", "service/blue_green_role", "arn")
    assert body["load_balancer"][0]["advanced_configuration"]["role_arn"] == role
    policy = synth.resource(DEV, "aws_iam_role_policy_attachment", "service/blue_green_role_policy")
    assert policy["role"] == synth.ref(DEV, "aws_iam_role", "service/blue_green_role", "name")


def test_task_definition_waits_for_the_execution_role_policy(synth: Synthesized) -> None:
    body = synth.resource(DEV, "aws_ecs_task_definition", "task_definition")
    policy = synth.logical_id(DEV, "aws_iam_role_policy", "service/execution_role_policy")
    assert body["depends_on"] == [f"aws_iam_role_policy.{policy}"]
    assert body["execution_role_arn"] == synth.ref(DEV, "aws_iam_role", "service/execution_role", "arn")
    assert body["task_role_arn"] == synth.ref(DEV, "aws_iam_role", "service/task_role", "arn")


def test_service_security_group_egress_is_https_out_and_mysql_inside_the_vpc(synth: Synthesized) -> None:
    rules = {
        name: body
        for name, body in synth.resources(DEV, "aws_vpc_security_group_egress_rule").items()
        if body["security_group_id"] == synth.ref(DEV, "aws_security_group", "service/security_group", "id")
    }
    assert sorted((r["ip_protocol"], r["from_port"], r["to_port"], r.get("cidr_ipv4")) for r in rules.values()) == [
        ("tcp", 443, 443, "0.0.0.0/0"),
        ("tcp", 3306, 3306, "10.10.0.0/16"),
    ]


def test_cluster_default_capacity_strategy_realizes_the_spot_share(synth: Synthesized) -> None:
    prod = synth.resource(PROD, "aws_ecs_cluster_capacity_providers", "service/capacity_providers")["default_capacity_provider_strategy"]
    assert prod == [{"capacity_provider": "FARGATE", "base": 1, "weight": 1}, {"capacity_provider": "FARGATE_SPOT", "weight": 1}]
    dev = synth.resource(DEV, "aws_ecs_cluster_capacity_providers", "service/capacity_providers")["default_capacity_provider_strategy"]
    assert dev == [{"capacity_provider": "FARGATE", "base": 0, "weight": 1}, {"capacity_provider": "FARGATE_SPOT", "weight": 1}]


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("wget -q -O /dev/null http://127.0.0.1:{port}{path}", ["CMD-SHELL", "wget -q -O /dev/null http://127.0.0.1:8080/health"]),
        (None, None),
    ],
)
def test_the_container_health_check_is_configurable_or_left_to_the_load_balancer(command: str | None, expected: list[str] | None) -> None:
    from dataclasses import replace

    from stacks.config import catalogue

    dev = catalogue("us-east-1")["dev"]
    env = replace(dev, service=replace(dev.service, container_health_check=command))
    check = _container_of(env).get("healthCheck")
    assert (check or {}).get("command") == expected


@pytest.mark.parametrize("command", ["curl {host}", "curl {0}", "curl {port", "line one\nline two", "", "x" * 1025])
def test_fails_a_container_health_check_that_cannot_be_run(command: str) -> None:
    from stacks.config import ConfigError, ServiceConfig

    with pytest.raises(ConfigError) as excinfo:
        ServiceConfig(container_health_check=command)
    assert excinfo.value.field_name == "service.container_health_check"


@pytest.mark.parametrize("stack", [DEV, PROD])
def test_only_the_cpu_policy_scales_in(synth: Synthesized, stack: str) -> None:
    """The per-task policies only scale out: scale-in never waits on a metric the
    application may never publish (missing data blocks a policy both ways)."""
    prefix = f"{stack}-api-"
    policies = {
        p["name"].removeprefix(prefix): p["target_tracking_scaling_policy_configuration"]
        for p in synth.resources(stack, "aws_appautoscaling_policy").values()
        if p["name"].startswith(prefix)
    }
    assert set(policies) == {"cpu", "pending-orders"}
    assert "disable_scale_in" not in policies["cpu"]
    assert policies["pending-orders"]["disable_scale_in"] is True


def test_the_request_policy_only_scales_out_too(variant: Synthesized) -> None:
    body = variant.resource("variant", "aws_appautoscaling_policy", "requests_scaling")
    assert body["target_tracking_scaling_policy_configuration"]["disable_scale_in"] is True


def _container_of(env: Any) -> dict[str, Any]:
    """The container definition of one environment's stack, synthesized on its own."""
    import tempfile
    from pathlib import Path

    from stacks.config import StateConfig
    from stacks.framework import App
    from stacks.order_api_stack import OrderApiStack

    outdir = tempfile.mkdtemp(prefix="service-health-")
    app = App(outdir=outdir)
    OrderApiStack(app, "health", config=env, state=StateConfig(backend="local"), state_region="us-east-1")
    app.synth()
    (task,) = json.loads((Path(outdir) / "stacks" / "health" / "cdk.tf.json").read_text())["resource"]["aws_ecs_task_definition"].values()
    (definition,) = json.loads(task["container_definitions"])
    return dict(definition)
