"""What a release checks just before the deployment starts (rollback alarms, the smoke test
function's state), every page of ListServiceDeployments, and ROLLBACK_REQUESTED as a
deployment under way: against botocore's Stubber, no network."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3  # type: ignore[import-untyped]
import pytest
from botocore.exceptions import ClientError  # type: ignore[import-untyped]
from botocore.stub import Stubber  # type: ignore[import-untyped]

from tests.conftest import Clock
from tests.test_release import (
    DEPLOYMENT,
    NEW,
    NOW,
    PROD,
    REVISION,
    SINCE,
    TASK_DEFINITION,
    expect_found,
    expect_image,
    expect_record,
    expect_register_and_update,
    expect_scan,
    expect_service,
    expect_states,
    releaser,
)
from tools.common.ecs_deployments import DeploymentFailed, Service, deployments, find_deployment, follow, live_digest
from tools.ops import release
from tools.ops.preflight import PreflightError, check_rollback_alarms, rollback_alarm_names, wake_smoke_test
from tools.ops.release import Target

FUNCTION = "order-api-prod-smoke-test"
ALARMS = ["order-api-prod-slo-fast-5m", "order-api-prod-unhealthy-hosts-blue", "order-api-prod-unhealthy-hosts-green"]
SERVICE = Service(PROD.cluster, PROD.service)
SMOKED = Target(**{**PROD.__dict__, "smoke_function": FUNCTION})


@pytest.fixture
def aws() -> Iterator[dict[str, tuple[Any, Stubber]]]:
    """Stubbed ECS, CloudWatch and Lambda clients (each with its stubber)."""
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
    clients = {name: session.client(name) for name in ("ecs", "cloudwatch", "lambda")}
    stubs = {name: Stubber(client) for name, client in clients.items()}
    for stub in stubs.values():
        stub.activate()
    yield {name: (clients[name], stubs[name]) for name in clients}
    for stub in stubs.values():
        stub.assert_no_pending_responses()
        stub.deactivate()


def described_service(alarm_names: list[str] | None = None, *, enable: bool = True) -> dict[str, Any]:
    service: dict[str, Any] = {"serviceName": PROD.service, "status": "ACTIVE", "taskDefinition": TASK_DEFINITION["taskDefinitionArn"]}
    if alarm_names is not None:
        service["deploymentConfiguration"] = {"alarms": {"alarmNames": alarm_names, "enable": enable, "rollback": True}}
    return service


def expect_alarms(cloudwatch_stub: Stubber, states: dict[str, str]) -> None:
    alarms = [{"AlarmName": name, "StateValue": state} for name, state in states.items()]
    cloudwatch_stub.add_response(
        "describe_alarms", {"MetricAlarms": alarms, "CompositeAlarms": []}, {"AlarmNames": sorted(states), "AlarmTypes": ["MetricAlarm", "CompositeAlarm"]}
    )


def expect_state(lambda_stub: Stubber, state: str, reason: str = "") -> None:
    configuration = {"FunctionName": FUNCTION, "State": state, **({"StateReason": reason} if reason else {})}
    lambda_stub.add_response("get_function_configuration", configuration, {"FunctionName": FUNCTION})


# ------------------------------------------------------------------------- rollback alarms


def test_fails_a_release_while_a_rollback_alarm_is_in_alarm(aws: dict[str, tuple[Any, Stubber]]) -> None:
    cloudwatch, cloudwatch_stub = aws["cloudwatch"]
    expect_alarms(cloudwatch_stub, {ALARMS[0]: "OK", ALARMS[1]: "ALARM", ALARMS[2]: "INSUFFICIENT_DATA"})
    lines: list[str] = []
    with pytest.raises(PreflightError) as refused:
        check_rollback_alarms(cloudwatch, described_service(ALARMS), stack=PROD.stack, allow=False, emit=lines.append)
    assert str(refused.value) == (
        f"order-api-prod: rollback alarms in ALARM: {ALARMS[1]}; ECS ignores its alarms for a deployment that starts now and would not roll it back "
        "on them: wait until they are OK, or release a fix with ALLOW_ALARMS=1"
    )
    assert lines == []


def test_allow_alarms_deploys_anyway_and_names_the_alarms(aws: dict[str, tuple[Any, Stubber]]) -> None:
    cloudwatch, cloudwatch_stub = aws["cloudwatch"]
    expect_alarms(cloudwatch_stub, {ALARMS[0]: "ALARM", ALARMS[1]: "ALARM", ALARMS[2]: "OK"})
    lines: list[str] = []
    check_rollback_alarms(cloudwatch, described_service(ALARMS), stack=PROD.stack, allow=True, emit=lines.append)
    assert lines == [
        f"ALLOW_ALARMS=1: deploying to order-api-prod while {ALARMS[0]}, {ALARMS[1]} in ALARM; ECS will not roll this deployment back on its alarms"
    ]


@pytest.mark.parametrize("allow", [False, True])
def test_alarms_that_are_ok_pass_silently(aws: dict[str, tuple[Any, Stubber]], allow: bool) -> None:
    cloudwatch, cloudwatch_stub = aws["cloudwatch"]
    expect_alarms(cloudwatch_stub, dict.fromkeys(ALARMS, "OK"))
    lines: list[str] = []
    check_rollback_alarms(cloudwatch, described_service(ALARMS), stack=PROD.stack, allow=allow, emit=lines.append)
    assert lines == []


@pytest.mark.parametrize(("service", "names"), [(described_service(), []), (described_service(ALARMS, enable=False), []), (described_service(ALARMS), ALARMS)])
def test_the_alarms_are_the_services_deployment_alarms_when_they_are_on(service: dict[str, Any], names: list[str]) -> None:
    assert rollback_alarm_names(service) == names
    # No alarm configured: CloudWatch is not asked (None would fail on any call).
    if not names:
        check_rollback_alarms(None, service, stack=PROD.stack, allow=False, emit=print)


def test_fails_a_whole_release_before_anything_is_registered(stubs: Any, aws: dict[str, tuple[Any, Stubber]]) -> None:
    """The refusal comes after the image checks and before RegisterTaskDefinition."""
    ecs, ecr, ecs_stub, ecr_stub = stubs
    cloudwatch, cloudwatch_stub = aws["cloudwatch"]
    expect_image(ecr_stub, NEW, NEW)
    expect_scan(ecr_stub, NEW, {})
    expect_service(ecs_stub, PROD, alarms=ALARMS)
    expect_alarms(cloudwatch_stub, {ALARMS[0]: "ALARM", ALARMS[1]: "OK", ALARMS[2]: "OK"})
    lines: list[str] = []
    releaser_ = release.Releaser(PROD, ecs, ecr, cloudwatch, None, emit=lines.append)
    with pytest.raises(PreflightError, match=rf"rollback alarms in ALARM: {ALARMS[0]};"):
        releaser_.release(NEW)
    assert lines == []


def test_an_allowed_alarm_and_an_idle_function_do_not_stop_the_release(stubs: Any, aws: dict[str, tuple[Any, Stubber]]) -> None:
    """The whole path with both checks: the override said, the function woken, then deployed."""
    _, _, ecs_stub, ecr_stub = stubs
    cloudwatch, cloudwatch_stub = aws["cloudwatch"]
    functions, lambda_stub = aws["lambda"]
    expect_image(ecr_stub, NEW, NEW)
    expect_scan(ecr_stub, NEW, {})
    expect_service(ecs_stub, PROD, alarms=ALARMS)
    expect_alarms(cloudwatch_stub, {ALARMS[0]: "ALARM", ALARMS[1]: "OK", ALARMS[2]: "OK"})
    expect_state(lambda_stub, "Inactive")
    lambda_stub.add_client_error("invoke", "ResourceNotReadyException", "The function is inactive", http_status_code=502)
    expect_state(lambda_stub, "Active")
    expect_register_and_update(ecs_stub)
    expect_found(ecs_stub)
    expect_states(ecs_stub, ("SUCCESSFUL", ""))
    expect_record(ecr_stub, NEW, "release.prod.20261130T120000Z", {NEW: ["build-2"]})
    lines: list[str] = []
    releaser_ = releaser(stubs, SMOKED, lines)
    releaser_.cloudwatch, releaser_.functions = cloudwatch, functions
    assert releaser_.release(NEW, allow_alarms=True) == NEW
    said = [line for line in lines if "ALLOW_ALARMS" in line or "smoke test function" in line or "registered" in line]
    assert [line.split(":")[0] for line in said] == ["ALLOW_ALARMS=1", "order-api-prod", "order-api-prod"]
    assert "registered" in said[-1]


# ------------------------------------------------------------------------- the smoke test function


def wake(functions: Any, clock: Clock, lines: list[str]) -> None:
    wake_smoke_test(functions, FUNCTION, stack=PROD.stack, emit=lines.append, clock=clock, sleep=clock.sleep)


def test_an_active_function_is_left_alone_and_nothing_is_said(aws: dict[str, tuple[Any, Stubber]]) -> None:
    functions, lambda_stub = aws["lambda"]
    expect_state(lambda_stub, "Active")
    lines: list[str] = []
    wake(functions, Clock(), lines)
    assert lines == []


def test_an_inactive_function_is_woken_without_the_network_and_watched_until_active(aws: dict[str, tuple[Any, Stubber]]) -> None:
    functions, lambda_stub = aws["lambda"]
    reason = "The function is idle and its VPC connection is no longer available."
    expect_state(lambda_stub, "Inactive", reason)
    lambda_stub.add_client_error(
        "invoke",
        "ResourceNotReadyException",
        "The function is inactive",
        http_status_code=502,
        expected_params={"FunctionName": FUNCTION, "InvocationType": "RequestResponse", "Payload": json.dumps({"warmup": True}).encode()},
    )
    for state in ("Pending", "Pending", "Pending", "Active"):
        expect_state(lambda_stub, state)
    clock, lines = Clock(), list[str]()
    wake(functions, clock, lines)
    assert lines == [
        "order-api-prod: the smoke test function order-api-prod-smoke-test is Inactive; making it Active before the deployment starts",
        f"  [    0s] Inactive: {reason}",
        "  [    5s] Pending",
        "  [   20s] Active",
    ]
    assert clock.sleeps == [5, 5, 5, 5]


def test_a_pending_function_is_waited_for_and_not_invoked(aws: dict[str, tuple[Any, Stubber]]) -> None:
    functions, lambda_stub = aws["lambda"]
    expect_state(lambda_stub, "Pending")
    expect_state(lambda_stub, "Active")
    lines: list[str] = []
    wake(functions, Clock(), lines)
    assert lines[1:] == ["  [    0s] Pending", "  [    5s] Active"]


@pytest.mark.parametrize(
    ("states", "message"),
    [
        (["Failed"], r"is Failed \(Lambda could not create the network interfaces\): fix it, then make deploy STACK=order-api-prod$"),
        (["Inactive", "Pending", "Inactive"], r"is Inactive \(Lambda could not create the network interfaces\)"),
    ],
    ids=["failed", "back to inactive"],
)
def test_fails_a_function_lambda_cannot_make_active(aws: dict[str, tuple[Any, Stubber]], states: list[str], message: str) -> None:
    functions, lambda_stub = aws["lambda"]
    for i, state in enumerate(states):
        expect_state(lambda_stub, state, "Lambda could not create the network interfaces")
        if i == 0 and state == "Inactive":
            lambda_stub.add_response("invoke", {"StatusCode": 200})
    with pytest.raises(PreflightError, match=message):
        wake(functions, Clock(), [])


def test_fails_a_function_still_waking_after_five_minutes(aws: dict[str, tuple[Any, Stubber]]) -> None:
    functions, lambda_stub = aws["lambda"]
    for _ in range(61):
        expect_state(lambda_stub, "Pending")
    clock = Clock()
    with pytest.raises(PreflightError, match=r"is still Pending after 5 min: release again in a few minutes$"):
        wake(functions, clock, [])
    assert clock.now == 300


def test_fails_a_function_that_does_not_exist(aws: dict[str, tuple[Any, Stubber]]) -> None:
    functions, lambda_stub = aws["lambda"]
    lambda_stub.add_client_error("get_function_configuration", "ResourceNotFoundException", "Function not found")
    with pytest.raises(
        PreflightError, match=r"^order-api-prod: the smoke test function order-api-prod-smoke-test does not exist: make deploy STACK=order-api-prod first$"
    ):
        wake(functions, Clock(), [])


@pytest.mark.parametrize("operation", ["get_function_configuration", "invoke"])
def test_any_other_lambda_error_goes_to_the_aws_error_line(aws: dict[str, tuple[Any, Stubber]], operation: str) -> None:
    functions, lambda_stub = aws["lambda"]
    if operation == "invoke":
        expect_state(lambda_stub, "Inactive")
    lambda_stub.add_client_error(operation, "AccessDeniedException", "not allowed")
    with pytest.raises(ClientError, match="AccessDeniedException"):
        wake(functions, Clock(), [])


def test_a_target_without_a_smoke_test_asks_lambda_nothing() -> None:
    releaser_ = release.Releaser(PROD, None, None, None, None)
    releaser_.preflight(described_service(), allow_alarms=False)


# ------------------------------------------------------------------------- every page, ROLLBACK_REQUESTED


def listed(status: str, hours: int, index: int) -> dict[str, Any]:
    return {
        "serviceDeploymentArn": f"{DEPLOYMENT}{index}",
        "createdAt": NOW - timedelta(hours=hours),
        "targetServiceRevisionArn": f"{REVISION}{index}",
        "status": status,
    }


def expect_pages(ecs_stub: Stubber, pages: list[list[dict[str, Any]]], **filters: Any) -> None:
    for number, page in enumerate(pages):
        answer: dict[str, Any] = {"serviceDeployments": page}
        if number + 1 < len(pages):
            answer["nextToken"] = f"page-{number + 2}"
        params = {"cluster": SERVICE.cluster, "service": SERVICE.name, "maxResults": 100, **filters}
        ecs_stub.add_response("list_service_deployments", answer, params | ({"nextToken": f"page-{number + 1}"} if number else {}))


def test_promote_finds_the_newest_success_on_a_later_page(aws: dict[str, tuple[Any, Stubber]]) -> None:
    """ECS lists 20 deployments a page by default; a service with more failures than that
    since its last success has it on page two."""
    ecs, ecs_stub = aws["ecs"]
    first = [listed("ROLLBACK_SUCCESSFUL", hours, hours) for hours in range(100)]
    expect_pages(ecs_stub, [first, [listed("SUCCESSFUL", 200, 200), listed("SUCCESSFUL", 300, 300)]])
    images = [{"containerName": "order-api", "imageDigest": NEW, "image": "x"}]
    ecs_stub.add_response(
        "describe_service_revisions",
        {"serviceRevisions": [{"serviceRevisionArn": f"{REVISION}200", "containerImages": images}]},
        {"serviceRevisionArns": [f"{REVISION}200"]},
    )
    assert live_digest(ecs, SERVICE) == NEW


def test_fails_to_promote_while_a_deployment_on_a_later_page_is_under_way(aws: dict[str, tuple[Any, Stubber]]) -> None:
    ecs, ecs_stub = aws["ecs"]
    expect_pages(ecs_stub, [[listed("SUCCESSFUL", 5, 1)], [listed("IN_PROGRESS", 0, 2)]])
    with pytest.raises(DeploymentFailed, match=r"is being deployed \(IN_PROGRESS\)"):
        live_digest(ecs, SERVICE)


def test_fails_to_promote_while_a_rollback_is_requested(aws: dict[str, tuple[Any, Stubber]]) -> None:
    ecs, ecs_stub = aws["ecs"]
    expect_pages(ecs_stub, [[listed("ROLLBACK_REQUESTED", 0, 1), listed("SUCCESSFUL", 5, 2)]])
    with pytest.raises(DeploymentFailed, match=rf"order-api-prod-api is being deployed \(ROLLBACK_REQUESTED\): wait for .*{DEPLOYMENT}1"):
        live_digest(ecs, SERVICE)


def test_every_page_is_read_in_order(aws: dict[str, tuple[Any, Stubber]]) -> None:
    ecs, ecs_stub = aws["ecs"]
    expect_pages(ecs_stub, [[listed("STOPPED", 1, 1)], [listed("STOPPED", 2, 2)], [listed("SUCCESSFUL", 3, 3)]], createdAt={"after": SINCE})
    assert [d["status"] for d in deployments(ecs, SERVICE, createdAt={"after": SINCE})] == ["STOPPED", "STOPPED", "SUCCESSFUL"]


def test_the_released_deployment_is_found_on_a_later_page(aws: dict[str, tuple[Any, Stubber]]) -> None:
    ecs, ecs_stub = aws["ecs"]
    expect_pages(ecs_stub, [[], [listed("PENDING", 0, 7)]], createdAt={"after": SINCE})
    ecs_stub.add_response(
        "describe_service_revisions",
        {"serviceRevisions": [{"serviceRevisionArn": f"{REVISION}7", "taskDefinition": "td:8"}]},
        {"serviceRevisionArns": [f"{REVISION}7"]},
    )
    assert find_deployment(ecs, SERVICE, since=SINCE, task_definition_arn="td:8") == f"{DEPLOYMENT}7"


def test_the_watch_goes_on_through_a_requested_rollback_to_its_end(aws: dict[str, tuple[Any, Stubber]]) -> None:
    ecs, ecs_stub = aws["ecs"]
    reason = "alarm order-api-prod-slo-fast-5m fired"
    for status in ("IN_PROGRESS", "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS", "ROLLBACK_SUCCESSFUL"):
        deployment = {"serviceDeploymentArn": DEPLOYMENT, "status": status, "rollback": {"reason": reason}}
        ecs_stub.add_response("describe_service_deployments", {"serviceDeployments": [deployment]}, {"serviceDeploymentArns": [DEPLOYMENT]})
    clock, lines = Clock(), list[str]()
    with pytest.raises(DeploymentFailed, match=f"^ROLLBACK_SUCCESSFUL: {reason}$"):
        follow(ecs, SERVICE, DEPLOYMENT, timeout_seconds=600, clock=clock, sleep=clock.sleep, emit=lines.append)
    assert [line.split("] ")[1] for line in lines] == ["IN_PROGRESS", "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS", "ROLLBACK_SUCCESSFUL"]


def test_settle_does_not_record_while_a_rollback_is_requested(stubs: Any) -> None:
    """make deploy's settle step reads the running image only once no deployment is under way."""
    _, _, ecs_stub, _ = stubs
    ecs_stub.add_response(
        "list_service_deployments",
        {"serviceDeployments": []},
        {"cluster": PROD.cluster, "service": PROD.service, "createdAt": {"after": SINCE}, "maxResults": 100},
    )
    expect_service(ecs_stub, PROD)
    ecs_stub.add_response("describe_task_definition", {"taskDefinition": dict(TASK_DEFINITION)}, {"taskDefinition": TASK_DEFINITION["taskDefinitionArn"]})
    ecs_stub.add_response(
        "list_service_deployments",
        {"serviceDeployments": [listed("ROLLBACK_REQUESTED", 0, 1), listed("SUCCESSFUL", 1, 2)]},
        {"cluster": PROD.cluster, "service": PROD.service, "maxResults": 100},
    )
    with pytest.raises(DeploymentFailed, match=r"being deployed \(ROLLBACK_REQUESTED\)"):
        releaser(stubs).settle(str(TASK_DEFINITION["taskDefinitionArn"]), SINCE)


# ------------------------------------------------------------------------- CLI


def test_main_prints_a_preflight_refusal_as_one_line(synth: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    def refused(self: release.Releaser, ref: str, **_: Any) -> str:
        raise PreflightError("order-api-dev: rollback alarms in ALARM: order-api-dev-slo-fast-5m; wait")

    monkeypatch.setattr(release.Releaser, "release", refused)
    code = release.main(["order-api-dev", NEW, "--skip-synth", "--outdir", str(synth.outdir)], environ={}, clients=lambda t: (None, None, None, None))
    assert code == 1
    assert capsys.readouterr().err == "error: order-api-dev: rollback alarms in ALARM: order-api-dev-slo-fast-5m; wait\n"


def test_main_passes_allow_alarms(synth: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}
    monkeypatch.setattr(release.Releaser, "release", lambda self, ref, **kw: seen.update(kw, functions=self.functions) or ref)
    code = release.main(["order-api-dev", NEW, "--skip-synth", "--outdir", str(synth.outdir)], environ={"ALLOW_ALARMS": "1"}, clients=lambda t: (1, 2, 3, 4))
    assert code == 0
    assert (seen["allow_alarms"], seen["allow_critical"], seen["functions"]) == (True, False, 4)


def test_the_clients_are_the_ones_a_release_calls() -> None:
    clients = release._clients(Target(**{**PROD.__dict__, "endpoint": "http://127.0.0.1:1"}))
    assert [c.meta.service_model.service_name for c in clients] == ["ecs", "ecr", "cloudwatch", "lambda"]


FUNCTIONS = {"aws_lambda_function": {"smoke_test_function_1695F3A5": {"function_name": FUNCTION}}}


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"lifecycle_hook": [{"hook_target_arn": "${aws_lambda_function.smoke_test_function_1695F3A5.arn}"}]}, FUNCTION),
        ({}, None),  # no smoke test: no hook
        ({"lifecycle_hook": [{"hook_target_arn": "arn:aws:lambda:us-east-1:123456789012:function:elsewhere"}]}, None),
        ({"lifecycle_hook": [{"hook_target_arn": "${aws_lambda_function.other.arn}"}]}, None),
    ],
    ids=["the hook's function", "no hook", "a function of another stack", "no such resource"],
)
def test_the_smoke_test_function_is_the_lifecycle_hooks_target(settings: dict[str, Any], expected: str | None) -> None:
    assert release._hook_function(FUNCTIONS, settings) == expected
