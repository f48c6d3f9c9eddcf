"""The smoke test in the stacks: function, package, roles, network path."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from stacks.app import build_app
from stacks.components.smoke_test import HOOK_STAGE, WARMUP_SCHEDULE, function_timeout, package, package_bytes, source_code_hash
from stacks.config import AppConfig, DeploymentConfig, StateConfig, catalogue
from stacks.functions import smoke_test as handler_module
from tests.conftest import Synthesized

DEV, STAGING, PROD, COPY = "order-api-dev", "order-api-staging", "order-api-prod", "order-api-dev-pr42"
SOURCE = Path(handler_module.__file__)


def function(synth: Synthesized, stack: str) -> dict:
    return synth.resource(stack, "aws_lambda_function", "smoke_test/function")


def statements(synth: Synthesized, stack: str, path_suffix: str) -> list[dict]:
    docs = synth.doc(stack)["data"]["aws_iam_policy_document"]
    (doc,) = [d for d in docs.values() if d["//"]["metadata"]["path"].endswith(path_suffix)]
    return list(doc["statement"])


def test_the_hook_runs_after_the_test_traffic_shift() -> None:
    assert HOOK_STAGE == "POST_TEST_TRAFFIC_SHIFT"


@pytest.mark.parametrize(
    ("stack", "base_url"),
    [
        (PROD, "https://api.orders.example.com:9443"),
        (STAGING, "https://api.staging.orders.example.com:9443"),
        (DEV, "http://${aws_lb.load_balancer_alb_027FD642.dns_name}:9443"),
    ],
)
def test_the_function_requests_the_test_listener(synth: Synthesized, stack: str, base_url: str) -> None:
    body = function(synth, stack)
    variables = body["environment"]["variables"]
    assert variables == {"SMOKE_BASE_URL": base_url, "SMOKE_PATHS": '["/health"]', "SMOKE_TIMEOUT_SECONDS": "5", "SMOKE_RETRY_SECONDS": "60"}
    assert (body["handler"], body["runtime"]) == ("smoke_test.handler", "python3.13")
    assert body["timeout"] == 60 + 1 * 5 + 10


@pytest.mark.parametrize(
    ("config", "paths", "seconds"),
    [
        (DeploymentConfig(), 1, 75),
        (DeploymentConfig(smoke_retry_seconds=0), 3, 25),
        (DeploymentConfig(smoke_retry_seconds=300, smoke_timeout_seconds=30), 11, 640),
    ],
)
def test_the_function_outlives_its_retry_window_within_lambdas_limit(config: DeploymentConfig, paths: int, seconds: int) -> None:
    """Every path may get one attempt after the window: the timeout covers them, and even the
    largest configuration stays under Lambda's 900 s."""
    assert function_timeout(config, paths) == seconds
    assert config.smoke_retry_seconds + paths * config.smoke_timeout_seconds < function_timeout(config, paths) <= 900


def test_a_weekly_schedule_keeps_the_function_warm_and_only_that_rule_may_invoke_it(synth: Synthesized) -> None:
    rule = synth.resource(PROD, "aws_cloudwatch_event_rule", "smoke_test/warmup_rule")
    assert (rule["name"], rule["schedule_expression"]) == ("order-api-prod-smoke-test-warmup", "rate(7 days)") and WARMUP_SCHEDULE == "rate(7 days)"
    assert "event_pattern" not in rule
    target = synth.resource(PROD, "aws_cloudwatch_event_target", "smoke_test/warmup_target")
    assert target["arn"] == synth.ref(PROD, "aws_lambda_function", "smoke_test/function", "arn")
    assert json.loads(target["input"]) == handler_module.WARMUP_EVENT == {"warmup": True}
    assert target["rule"] == synth.ref(PROD, "aws_cloudwatch_event_rule", "smoke_test/warmup_rule", "name")
    permission = synth.resource(PROD, "aws_lambda_permission", "smoke_test/warmup_permission")
    assert (permission["action"], permission["principal"]) == ("lambda:InvokeFunction", "events.amazonaws.com")
    assert permission["source_arn"] == synth.ref(PROD, "aws_cloudwatch_event_rule", "smoke_test/warmup_rule", "arn")
    assert permission["function_name"] == synth.ref(PROD, "aws_lambda_function", "smoke_test/function", "function_name")
    assert permission["source_account"] == "${data.aws_caller_identity.caller.account_id}"


def test_the_function_lets_out_the_test_port_and_https_only(synth: Synthesized) -> None:
    group = synth.ref(DEV, "aws_security_group", "smoke_test/security_group", "id")
    egress = [r for r in synth.resources(DEV, "aws_vpc_security_group_egress_rule").values() if r["security_group_id"] == group]
    assert sorted((r["from_port"], r["to_port"], r["ip_protocol"]) for r in egress) == [(443, 443, "tcp"), (9443, 9443, "tcp")]
    ingress = [r for r in synth.resources(DEV, "aws_vpc_security_group_ingress_rule").values() if r["security_group_id"] == group]
    assert ingress == []


def test_the_function_runs_in_the_private_subnets_behind_its_own_group(synth: Synthesized) -> None:
    vpc = function(synth, DEV)["vpc_config"]
    assert vpc["subnet_ids"] == [synth.ref(DEV, "aws_subnet", f"network/private_subnet_{i}", "id") for i in range(3)]
    assert vpc["security_group_ids"] == [synth.ref(DEV, "aws_security_group", "smoke_test/security_group", "id")]


def test_the_package_is_the_handler_alone_and_pinned_by_its_hash(synth: Synthesized) -> None:
    body = function(synth, DEV)
    asset = synth.stacks_dir / DEV / body["filename"]
    data = asset.read_bytes()
    assert data == package_bytes(SOURCE)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.namelist() == ["smoke_test.py"]
        assert archive.read("smoke_test.py") == SOURCE.read_bytes()
    assert body["source_code_hash"] == base64.b64encode(hashlib.sha256(data).digest()).decode() == source_code_hash(asset)


def test_packaging_is_deterministic(tmp_path: Path) -> None:
    copy = tmp_path / "smoke_test.py"
    copy.write_bytes(SOURCE.read_bytes())
    assert package_bytes(copy) == package_bytes(SOURCE)
    first = package(SOURCE)
    assert package(SOURCE) == first
    first.unlink()
    # A removed package (a finished synth cleans its temporary directory) is written again.
    assert package(SOURCE).read_bytes() == package_bytes(SOURCE)


def test_every_environment_ships_the_same_package(synth: Synthesized) -> None:
    hashes = {function(synth, stack)["source_code_hash"] for stack in (DEV, STAGING, PROD, COPY)}
    files = {function(synth, stack)["filename"] for stack in (DEV, STAGING, PROD, COPY)}
    assert len(hashes) == 1 and len(files) == 1


def test_logs_are_kept_encrypted_and_written_only_to_the_functions_group(synth: Synthesized) -> None:
    group = synth.resource(PROD, "aws_cloudwatch_log_group", "smoke_test/log_group")
    assert group["name"] == "/aws/lambda/order-api-prod-smoke-test"
    assert group["retention_in_days"] == 365 and "logs_key" in group["kms_key_id"]
    assert function(synth, PROD)["logging_config"]["log_group"] == synth.ref(PROD, "aws_cloudwatch_log_group", "smoke_test/log_group", "name")
    (logs,) = [s for s in statements(synth, PROD, "smoke_test/role_policy_document") if s["sid"] == "WriteLogs"]
    assert logs["resources"] == [synth.ref(PROD, "aws_cloudwatch_log_group", "smoke_test/log_group", "arn") + ":*"]


def test_the_functions_role_reaches_no_data(synth: Synthesized) -> None:
    by_sid = {s["sid"]: s for s in statements(synth, DEV, "smoke_test/role_policy_document")}
    assert set(by_sid) == {"WriteLogs", "VpcNetworkInterfaces", "DescribeNetwork", "Tracing", "DecryptEnvironment", "RevisionsOfTheService"}
    assert all(r.startswith("arn:${data.aws_partition.partition.partition}:ec2:us-east-1:") for r in by_sid["VpcNetworkInterfaces"]["resources"])
    assert by_sid["DecryptEnvironment"]["resources"] == [synth.ref(DEV, "aws_kms_key", "service_key/key", "arn")]
    actions = {a for s in by_sid.values() for a in s["actions"]}
    assert not any(a.split(":")[0] in ("s3", "rds", "rds-db", "secretsmanager", "ssm", "iam") for a in actions)
    # ECS: one read, of this environment's service's revisions (the image digest under test).
    assert {a for a in actions if a.startswith("ecs:")} == {"ecs:DescribeServiceRevisions"}
    prefix = "arn:${data.aws_partition.partition.partition}:ecs:us-east-1:${data.aws_caller_identity.caller.account_id}:"
    assert by_sid["RevisionsOfTheService"]["resources"] == [
        f"{prefix}service-revision/order-api-dev/order-api-dev-api/*",
        f"{prefix}service/order-api-dev/order-api-dev-api",
    ]
    (trust,) = statements(synth, DEV, "smoke_test/role_trust")
    assert trust["principals"] == [{"type": "Service", "identifiers": ["lambda.amazonaws.com"]}]


def test_ecs_may_invoke_the_smoke_test_and_nothing_else(synth: Synthesized) -> None:
    (invoke,) = statements(synth, DEV, "smoke_test/hook_role_policy_document")
    assert (invoke["actions"], invoke["resources"]) == (["lambda:InvokeFunction"], [synth.ref(DEV, "aws_lambda_function", "smoke_test/function", "arn")])
    (trust,) = statements(synth, DEV, "smoke_test/hook_role_trust")
    assert trust["principals"] == [{"type": "Service", "identifiers": ["ecs.amazonaws.com"]}]
    assert "condition" not in trust


def test_no_smoke_test_no_function_and_no_test_port_opening(tmp_path: Path) -> None:
    dev = catalogue("us-east-1")["dev"]
    dev = replace(dev, deployment=replace(dev.deployment, smoke_test=False))
    build_app(AppConfig(environments=(dev,), state=StateConfig(), region="us-east-1"), outdir=str(tmp_path)).synth()
    doc = json.loads((tmp_path / "stacks" / DEV / "cdk.tf.json").read_text())
    assert "aws_lambda_function" not in doc["resource"] and "aws_lambda_permission" not in doc["resource"]
    assert not [r for r in doc["resource"]["aws_cloudwatch_event_rule"].values() if "schedule_expression" in r]
    assert not [r for r in doc["resource"]["aws_vpc_security_group_ingress_rule"].values() if r["from_port"] == 9443]
    service = next(iter(doc["resource"]["aws_ecs_service"].values()))
    assert "lifecycle_hook" not in service["deployment_configuration"]
