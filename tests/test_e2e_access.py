"""make e2e's access proof, on a moto server in this process (loopback only): the release role's
own credentials under IAM enforcement are denied each destructive call, a role that may do
everything is caught, and enforcement ends with the block."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

moto_server = pytest.importorskip("moto.server")
boto3 = pytest.importorskip("boto3")

from stacks.pipeline_policies import Account, release_document  # noqa: E402
from tools.e2e import access  # noqa: E402
from tools.emulator.patches import patched  # noqa: E402

ACCOUNT = Account("aws", "123456789012", "order-api-terraform-state", "alias/order-api-terraform-state")
ADMIN = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": "x"}, "Action": "sts:AssumeRoleWithWebIdentity"}]}


@pytest.fixture
def server() -> Iterator[str]:
    """Per test: the patches hold only while it runs (other tests of this worker expect moto as is),
    and moto's in-process state is reset before and after (the next test of this worker creates
    the same names)."""
    with patched():
        running = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        running.start()
        host, port = running.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        _reset(endpoint)
        try:
            yield endpoint
        finally:
            _reset(endpoint)
            running.stop()


def _reset(endpoint: str) -> None:
    with urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", data=b"", method="POST"), timeout=30) as answer:
        answer.read()


@pytest.fixture
def account(server: str) -> Iterator[tuple[str, Any]]:
    """The emulator holding dev's and prod's services, dev's cluster, the repository and dev's
    release role; yields the endpoint and an administrator's client factory."""

    def admin(service: str) -> Any:
        return boto3.client(service, endpoint_url=server, region_name="us-east-1", **ADMIN)

    for name in ("order-api-dev", "order-api-prod"):
        admin("ecs").create_cluster(clusterName=name)
        family = admin("ecs").register_task_definition(family=f"{name}-api", containerDefinitions=[{"name": "api", "image": "x", "memory": 128}])
        admin("ecs").create_service(cluster=name, serviceName=f"{name}-api", taskDefinition=family["taskDefinition"]["taskDefinitionArn"], desiredCount=1)
    admin("ecr").create_repository(repositoryName="order-api")
    admin("rds").create_db_cluster(DBClusterIdentifier="order-api-dev-aurora", Engine="aurora-mysql", MasterUsername="admin_user", MasterUserPassword="x" * 12)
    admin("iam").create_role(RoleName="order-api-pipeline-dev-release", AssumeRolePolicyDocument=json.dumps(TRUST))
    policy = admin("iam").create_policy(PolicyName="release", PolicyDocument=json.dumps(release_document(ACCOUNT, "dev", None, "order-api")))
    admin("iam").attach_role_policy(RoleName="order-api-pipeline-dev-release", PolicyArn=policy["Policy"]["Arn"])
    yield server, admin
    access.set_free_requests(server, "inf")


def _as_role(endpoint: str, credentials: dict[str, str]) -> Any:
    session = {"aws_access_key_id": credentials["AWS_ACCESS_KEY_ID"], "aws_secret_access_key": credentials["AWS_SECRET_ACCESS_KEY"]}
    return lambda service: boto3.client(service, endpoint_url=endpoint, region_name="us-east-1", aws_session_token=credentials["AWS_SESSION_TOKEN"], **session)


ROLE = "arn:aws:iam::123456789012:role/order-api-pipeline-dev-release"


def test_the_release_role_releases_its_own_service_and_is_denied_each_destructive_call(account: tuple[str, Any]) -> None:
    endpoint, admin = account
    with access.enforced(endpoint, admin("sts"), ROLE, "test") as credentials:
        role = _as_role(endpoint, credentials)
        role("ecs").update_service(cluster="order-api-dev", service="order-api-dev-api", desiredCount=2)  # its own: allowed
        denied, problems = access.refused(role, access.denied_calls("order-api-dev", "order-api-prod"))
    assert problems == []
    assert len(denied) == len(access.denied_calls("order-api-dev", "order-api-prod")) == 5
    assert admin("rds").describe_db_clusters(DBClusterIdentifier="order-api-dev-aurora")["DBClusters"]  # enforcement is over, and nothing was deleted


def test_fails_a_role_that_may_do_everything(account: tuple[str, Any]) -> None:
    endpoint, admin = account
    everything = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    admin("iam").put_role_policy(RoleName="order-api-pipeline-dev-release", PolicyName="planted", PolicyDocument=json.dumps(everything))
    with access.enforced(endpoint, admin("sts"), ROLE, "test") as credentials:
        denied, problems = access.refused(_as_role(endpoint, credentials), access.denied_calls("order-api-dev", "order-api-prod"))
    assert denied == [] and len(problems) == 5 and all(p.endswith(": allowed") for p in problems)


def test_an_error_that_is_not_access_denied_is_a_problem(account: tuple[str, Any]) -> None:
    _, admin = account
    calls = [("update a missing service", "ecs", "update_service", {"cluster": "nope", "service": "nope", "desiredCount": 0})]
    denied, problems = access.refused(admin, calls)
    assert denied == [] and len(problems) == 1 and "not access denied" in problems[0]


def _smoke_test_function(admin: Any, name: str) -> None:
    import io
    import zipfile

    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("smoke_test.py", "def handler(event, context):\n    return {}\n")
    role = admin("iam").create_role(RoleName=f"{name}-smoke-test", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    admin("lambda").create_function(
        FunctionName=f"{name}-smoke-test", Runtime="python3.13", Role=role, Handler="smoke_test.handler", Code={"ZipFile": package.getvalue()}
    )


def test_the_release_role_reads_its_own_smoke_test_function_only(account: tuple[str, Any]) -> None:
    """The preflight's Lambda calls are authorized on the function's ARN (the emulator's patch):
    dev's release role reads dev's function, and is denied prod's."""
    endpoint, admin = account
    for name in ("order-api-dev", "order-api-prod"):
        _smoke_test_function(admin, name)
    with access.enforced(endpoint, admin("sts"), ROLE, "test") as credentials:
        role = _as_role(endpoint, credentials)
        state = role("lambda").get_function_configuration(FunctionName="order-api-dev-smoke-test")["State"]
        calls: list[tuple[str, str, str, dict[str, Any]]] = [
            ("read prod's smoke test", "lambda", "get_function_configuration", {"FunctionName": "order-api-prod-smoke-test"}),
            ("invoke prod's smoke test", "lambda", "invoke", {"FunctionName": "order-api-prod-smoke-test", "Payload": b'{"warmup": true}'}),
        ]
        denied, problems = access.refused(role, calls)
    assert state == "Active"
    assert (denied, problems) == (["read prod's smoke test", "invoke prod's smoke test"], [])


def test_enforcement_ends_even_when_the_block_fails(account: tuple[str, Any]) -> None:
    endpoint, admin = account
    with pytest.raises(RuntimeError, match="planted"), access.enforced(endpoint, admin("sts"), ROLE, "test"):
        raise RuntimeError("planted")
    assert admin("ecs").list_clusters()["clusterArns"]  # the harness's dummy credentials work again
