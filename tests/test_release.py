"""make release and make promote against botocore's Stubber: every path, no network."""

from __future__ import annotations

import copy
import json
import signal
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3  # type: ignore[import-untyped]
import pytest
from botocore.stub import ANY, Stubber  # type: ignore[import-untyped]

from stacks.config import DeploymentConfig, RegistryConfig
from stacks.process import Interrupted
from tests.conftest import Clock
from tools.common.ecs_deployments import DeploymentFailed, StillRunning
from tools.ops import release
from tools.ops.release import ReleaseError, Releaser, Target

ACCOUNT = "123456789012"
URI = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/order-api"
OLD, NEW = "sha256:" + "a" * 64, "sha256:" + "b" * 64
TD1 = f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/order-api-prod-api:7"
TD2 = f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/order-api-prod-api:8"
DEPLOYMENT = f"arn:aws:ecs:us-east-1:{ACCOUNT}:service-deployment/order-api-prod/order-api-prod-api/abc"
REVISION = f"arn:aws:ecs:us-east-1:{ACCOUNT}:service-revision/order-api-prod/order-api-prod-api/42"
NOW = datetime(2026, 11, 30, 12, 0, 0, tzinfo=UTC)
SINCE = NOW - timedelta(seconds=60)
PROD = Target(
    stack="order-api-prod",
    environment="prod",
    region="us-east-1",
    endpoint=None,
    cluster="order-api-prod",
    service="order-api-prod-api",
    repository="order-api",
    deployment=DeploymentConfig(strategy="CANARY", bake_time_minutes=10),
)
DEV = Target(
    stack="order-api-dev", environment="dev", region="us-east-1", endpoint=None, cluster="order-api-dev", service="order-api-dev-api", repository="order-api"
)
CONTAINER = {
    "name": "order-api",
    "image": f"{URI}@{OLD}",
    "essential": True,
    "readonlyRootFilesystem": True,
    "portMappings": [{"containerPort": 8080, "protocol": "tcp", "name": "http"}],
    "secrets": [{"name": "DB_HOST", "valueFrom": f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/order-api/prod/database/host"}],
    "healthCheck": {"command": ["CMD-SHELL", "curl -fsS http://localhost:8080/health || exit 1"], "interval": 15, "timeout": 5, "retries": 3},
    "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/order-api-prod/order-api", "awslogs-region": "us-east-1"}},
}
TASK_DEFINITION = {
    "taskDefinitionArn": TD1,
    "family": "order-api-prod-api",
    "revision": 7,
    "status": "ACTIVE",
    "taskRoleArn": f"arn:aws:iam::{ACCOUNT}:role/order-api-prod-task",
    "executionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/order-api-prod-task-execution",
    "networkMode": "awsvpc",
    "containerDefinitions": [CONTAINER],
    "volumes": [{"name": "tmp"}],
    "requiresCompatibilities": ["FARGATE"],
    "cpu": "1024",
    "memory": "2048",
    "runtimePlatform": {"operatingSystemFamily": "LINUX", "cpuArchitecture": "X86_64"},
    "registeredBy": f"arn:aws:iam::{ACCOUNT}:role/deployer",
}
TAGS = [{"key": "environment", "value": "prod"}]


def releaser(stubs: tuple[Any, Any, Stubber, Stubber], target: Target = PROD, lines: list[str] | None = None, clock: Clock | None = None) -> Releaser:
    ecs, ecr, _, _ = stubs
    clock = clock or Clock()
    return Releaser(
        target,
        ecs,
        ecr,
        registry=RegistryConfig(releases_kept=2),
        emit=(lines if lines is not None else []).append,
        clock=clock,
        sleep=clock.sleep,
        now=lambda: NOW,
    )


# ----------------------------------------------------------------------------- stubbed calls


def expect_image(ecr_stub: Stubber, ref: str, digest: str, tags: list[str] | None = None) -> None:
    ecr_stub.add_response(
        "describe_repositories",
        {"repositories": [{"repositoryName": "order-api", "repositoryUri": URI, "registryId": ACCOUNT}]},
        {"repositoryNames": ["order-api"]},
    )
    image_id = {"imageDigest": ref} if ref.startswith("sha256:") else {"imageTag": ref}
    ecr_stub.add_response(
        "describe_images",
        {"imageDetails": [{"repositoryName": "order-api", "imageDigest": digest, "imageTags": tags or ["build-2"]}]},
        {"repositoryName": "order-api", "imageIds": [image_id]},
    )


def expect_scan(ecr_stub: Stubber, digest: str, counts: dict[str, int], status: str = "COMPLETE") -> None:
    ecr_stub.add_response(
        "describe_image_scan_findings",
        {"imageScanStatus": {"status": status}, "imageScanFindings": {"findingSeverityCounts": counts}},
        {"repositoryName": "order-api", "imageId": {"imageDigest": digest}},
    )


def expect_service(ecs_stub: Stubber, target: Target = PROD, task_definition: dict[str, Any] | None = None, alarms: list[str] | None = None) -> None:
    """DescribeServices (with ``alarms`` as the service's deployment alarms) and DescribeTaskDefinition."""
    task_definition = task_definition or TASK_DEFINITION
    service: dict[str, Any] = {"serviceName": target.service, "status": "ACTIVE", "taskDefinition": task_definition["taskDefinitionArn"]}
    if alarms is not None:
        service["deploymentConfiguration"] = {"alarms": {"alarmNames": alarms, "enable": True, "rollback": True}}
    ecs_stub.add_response("describe_services", {"services": [service]}, {"cluster": target.cluster, "services": [target.service]})
    ecs_stub.add_response(
        "describe_task_definition",
        {"taskDefinition": copy.deepcopy(task_definition), "tags": TAGS},
        {"taskDefinition": task_definition["taskDefinitionArn"], "include": ["TAGS"]},
    )


def registration(image: str) -> dict[str, Any]:
    """The RegisterTaskDefinition request a release must send: the old definition, new image
    (and its digest in the container's IMAGE_DIGEST variable)."""
    container = {**CONTAINER, "image": image, "environment": [{"name": "IMAGE_DIGEST", "value": image.rsplit("@", 1)[1]}]}
    fields = {k: v for k, v in TASK_DEFINITION.items() if k not in ("taskDefinitionArn", "revision", "status", "registeredBy")}
    return {**fields, "containerDefinitions": [container], "tags": TAGS}


def expect_register_and_update(ecs_stub: Stubber, target: Target = PROD, new_arn: str = TD2, image: str = f"{URI}@{NEW}") -> None:
    ecs_stub.add_response("register_task_definition", {"taskDefinition": {"taskDefinitionArn": new_arn}}, registration(image))
    ecs_stub.add_response(
        "update_service", {"service": {"serviceName": target.service}}, {"cluster": target.cluster, "service": target.service, "taskDefinition": new_arn}
    )


def expect_found(ecs_stub: Stubber, target: Target = PROD, task_definition: str = TD2) -> None:
    ecs_stub.add_response(
        "list_service_deployments",
        {"serviceDeployments": [{"serviceDeploymentArn": DEPLOYMENT, "createdAt": NOW, "targetServiceRevisionArn": REVISION, "status": "PENDING"}]},
        {"cluster": target.cluster, "service": target.service, "createdAt": {"after": SINCE}, "maxResults": 100},
    )
    ecs_stub.add_response(
        "describe_service_revisions",
        {"serviceRevisions": [{"serviceRevisionArn": REVISION, "taskDefinition": task_definition}]},
        {"serviceRevisionArns": [REVISION]},
    )


def expect_states(ecs_stub: Stubber, *states: tuple[str, str] | tuple[str, str, str]) -> None:
    for state in states:
        deployment: dict[str, Any] = {"serviceDeploymentArn": DEPLOYMENT, "status": state[0]}
        if state[1]:
            deployment["statusReason"] = state[1]
        if len(state) == 3:
            deployment["rollback"] = {"reason": state[2]}
        ecs_stub.add_response("describe_service_deployments", {"serviceDeployments": [deployment]}, {"serviceDeploymentArns": [DEPLOYMENT]})


def expect_record(ecr_stub: Stubber, digest: str, tag: str, existing: dict[str, list[str]]) -> None:
    """The release tags as they were (``existing``), then the new tag on ``digest``."""
    expect_release_tags(ecr_stub, existing)
    ecr_stub.add_response(
        "batch_get_image",
        {
            "images": [
                {
                    "imageId": {"imageDigest": digest},
                    "imageManifest": '{"schemaVersion": 2}',
                    "imageManifestMediaType": "application/vnd.oci.image.manifest.v1+json",
                }
            ]
        },
        {"repositoryName": "order-api", "imageIds": [{"imageDigest": digest}], "acceptedMediaTypes": ANY},
    )
    ecr_stub.add_response(
        "put_image",
        {"image": {"imageId": {"imageDigest": digest, "imageTag": tag}}},
        {
            "repositoryName": "order-api",
            "imageManifest": '{"schemaVersion": 2}',
            "imageManifestMediaType": "application/vnd.oci.image.manifest.v1+json",
            "imageTag": tag,
            "imageDigest": digest,
        },
    )


def expect_release_tags(ecr_stub: Stubber, existing: dict[str, list[str]]) -> None:
    ecr_stub.add_response(
        "describe_images",
        {"imageDetails": [{"imageDigest": d, "imageTags": tags} for d, tags in existing.items()]},
        {"repositoryName": "order-api", "filter": {"tagStatus": "TAGGED"}},
    )


# ---------------------------------------------------------------------------------- scenarios


def test_a_release_registers_the_same_definition_with_the_new_image_and_follows_it(stubs: Any) -> None:
    _, _, ecs_stub, ecr_stub = stubs
    lines: list[str] = []
    clock = Clock()
    expect_image(ecr_stub, NEW, NEW)
    expect_scan(ecr_stub, NEW, {"HIGH": 2})
    expect_service(ecs_stub)
    expect_register_and_update(ecs_stub)
    expect_found(ecs_stub)
    expect_states(ecs_stub, ("PENDING", ""), ("IN_PROGRESS", ""), ("IN_PROGRESS", ""), ("SUCCESSFUL", "Deployment completed"))
    tag = "release.prod.20261130T120000Z"
    expect_record(ecr_stub, NEW, tag, {NEW: ["build-2"], OLD: ["release.prod.20261129T080000Z"], "sha256:" + "c" * 64: ["release.prod.20261101T000000Z"]})
    ecr_stub.add_response(
        "batch_delete_image",
        {"imageIds": [{"imageTag": "release.prod.20261101T000000Z"}]},
        {"repositoryName": "order-api", "imageIds": [{"imageTag": "release.prod.20261101T000000Z"}]},
    )

    assert releaser(stubs, lines=lines, clock=clock).release(NEW) == NEW
    states = [line.split("] ", 1)[1] for line in lines if line.startswith("  [")]
    assert states == ["PENDING", "IN_PROGRESS", "SUCCESSFUL: Deployment completed"]
    assert f"roll back with: make release STACK=order-api-prod IMAGE={OLD}" in lines[-1]
    assert "order-api-prod: recorded as release.prod.20261130T120000Z" in lines
    assert clock.sleeps == [10, 10, 10]


def test_a_rollback_fails_with_the_reason_ecs_gives(stubs: Any) -> None:
    _, _, ecs_stub, ecr_stub = stubs
    lines: list[str] = []
    expect_image(ecr_stub, NEW, NEW)
    expect_scan(ecr_stub, NEW, {})
    expect_service(ecs_stub)
    expect_register_and_update(ecs_stub)
    expect_found(ecs_stub)
    reason = "Lifecycle hook arn:aws:lambda:us-east-1:123456789012:function:order-api-prod-smoke-test returned FAILED at POST_TEST_TRAFFIC_SHIFT"
    expect_states(ecs_stub, ("IN_PROGRESS", ""), ("ROLLBACK_IN_PROGRESS", "", reason), ("ROLLBACK_SUCCESSFUL", "", reason))
    with pytest.raises(DeploymentFailed, match=r"^ROLLBACK_SUCCESSFUL: Lifecycle hook .* returned FAILED"):
        releaser(stubs, lines=lines).release(NEW)
    assert not any("recorded" in line for line in lines)


def test_a_deployment_that_outlives_the_timeout_says_how_to_follow_it(stubs: Any) -> None:
    _, _, ecs_stub, ecr_stub = stubs
    expect_image(ecr_stub, NEW, NEW)
    expect_scan(ecr_stub, NEW, {})
    expect_service(ecs_stub)
    expect_register_and_update(ecs_stub)
    expect_found(ecs_stub)
    expect_states(ecs_stub, *[("IN_PROGRESS", "")] * 4)
    with pytest.raises(StillRunning, match=rf"still IN_PROGRESS after 30s; .*describe-service-deployments --service-deployment-arns {DEPLOYMENT}"):
        releaser(stubs).release(NEW, timeout_seconds=30)


def test_an_image_that_is_not_in_the_registry_changes_nothing(stubs: Any) -> None:
    _, _, _, ecr_stub = stubs
    ecr_stub.add_response(
        "describe_repositories", {"repositories": [{"repositoryName": "order-api", "repositoryUri": URI}]}, {"repositoryNames": ["order-api"]}
    )
    ecr_stub.add_client_error("describe_images", "ImageNotFoundException", "not found")
    with pytest.raises(ReleaseError, match=rf"^image {NEW} is not in the registry order-api: push it first"):
        releaser(stubs).release(NEW)


def test_a_missing_registry_says_to_deploy_it(stubs: Any) -> None:
    _, _, _, ecr_stub = stubs
    ecr_stub.add_client_error("describe_repositories", "RepositoryNotFoundException", "no repository")
    with pytest.raises(ReleaseError, match=r"make deploy STACK=order-api-registry first"):
        releaser(stubs).release(NEW)


@pytest.mark.parametrize("target", [PROD, Target(**{**PROD.__dict__, "environment": "staging", "stack": "order-api-staging"})])
def test_fails_a_mutable_tag_for_staging_or_prod_before_any_call(stubs: Any, target: Target) -> None:
    with pytest.raises(ReleaseError, match=r"'latest' is a mutable tag, refused for (prod|staging)"):
        releaser(stubs, target).release("latest")


def test_dev_may_release_latest_by_the_digest_it_names(stubs: Any) -> None:
    _, _, ecs_stub, ecr_stub = stubs
    dev_td = {**TASK_DEFINITION, "taskDefinitionArn": TD1.replace("prod", "dev"), "containerDefinitions": [{**CONTAINER, "image": f"{URI}@{NEW}"}]}
    expect_image(ecr_stub, "latest", NEW, ["latest", "release.dev.20261130T100000Z"])
    expect_scan(ecr_stub, NEW, {})
    expect_service(ecs_stub, DEV, dev_td)
    # Already live, and already the newest dev release: nothing to deploy or tag.
    expect_release_tags(ecr_stub, {NEW: ["latest", "release.dev.20261130T100000Z"]})
    lines: list[str] = []
    assert releaser(stubs, DEV, lines).release("latest") == NEW
    assert lines == [f"order-api-dev already runs {NEW}: nothing to deploy"]


def test_fails_critical_findings_unless_explicitly_allowed(stubs: Any) -> None:
    _, _, _, ecr_stub = stubs
    expect_image(ecr_stub, NEW, NEW)
    expect_scan(ecr_stub, NEW, {"CRITICAL": 3, "HIGH": 1})
    with pytest.raises(ReleaseError, match=r"has 3 CRITICAL findings; fix them, or release with ALLOW_CRITICAL=1"):
        releaser(stubs).release(NEW)


def test_allowed_critical_findings_are_said_out_loud() -> None:
    lines: list[str] = []

    class Ecr:
        def describe_image_scan_findings(self, **_: Any) -> dict[str, Any]:
            return {"imageScanStatus": {"status": "COMPLETE"}, "imageScanFindings": {"findingSeverityCounts": {"CRITICAL": 2}}}

    release.check_scan(Ecr(), PROD, release.Image(URI, NEW, ()), allow_critical=True, emit=lines.append)
    assert lines == [f"ALLOW_CRITICAL=1: releasing {NEW[:19]} despite 2 CRITICAL findings"]


def test_fails_an_unscanned_image_in_prod_but_warns_in_dev(stubs: Any) -> None:
    _, _, _, ecr_stub = stubs
    expect_image(ecr_stub, NEW, NEW)
    ecr_stub.add_client_error("describe_image_scan_findings", "ScanNotFoundException", "no scan")
    with pytest.raises(ReleaseError, match=r"has no finished scan \(NOT_FOUND\); prod takes only scanned images"):
        releaser(stubs).release(NEW)
    lines: list[str] = []
    release.check_scan(
        type("Ecr", (), {"describe_image_scan_findings": lambda self, **_: {"imageScanStatus": {"status": "IN_PROGRESS"}}})(),
        DEV,
        release.Image(URI, NEW, ()),
        allow_critical=False,
        emit=lines.append,
    )
    assert lines == [f"warning: image {NEW[:19]} has no finished scan (IN_PROGRESS); releasing to dev anyway"]


def test_a_service_that_does_not_exist_says_to_deploy_it(stubs: Any) -> None:
    _, _, ecs_stub, ecr_stub = stubs
    expect_image(ecr_stub, NEW, NEW)
    expect_scan(ecr_stub, NEW, {})
    ecs_stub.add_response("describe_services", {"services": [], "failures": [{"reason": "MISSING"}]}, {"cluster": PROD.cluster, "services": [PROD.service]})
    with pytest.raises(ReleaseError, match=r"service order-api-prod-api does not exist: make deploy STACK=order-api-prod first"):
        releaser(stubs).release(NEW)


def test_the_new_revision_changes_the_image_and_its_digest_variable_only() -> None:
    registration_args = release.new_revision(TASK_DEFINITION, f"{URI}@{NEW}")
    expected = registration(f"{URI}@{NEW}")
    del expected["tags"]
    assert registration_args == expected
    assert release.settings_of(TASK_DEFINITION) == release.settings_of({**TASK_DEFINITION, "containerDefinitions": [{**CONTAINER, "image": "other"}]})
    assert release.settings_of(TASK_DEFINITION) == release.settings_of(release.new_revision(TASK_DEFINITION, f"{URI}@{NEW}"))
    assert release.settings_of(TASK_DEFINITION) != release.settings_of({**TASK_DEFINITION, "memory": "4096"})


def test_the_digest_variable_follows_the_image_and_keeps_the_others() -> None:
    variables = [{"name": "PORT", "value": "8080"}, {"name": "IMAGE_DIGEST", "value": OLD}]
    current = {**TASK_DEFINITION, "containerDefinitions": [{**CONTAINER, "environment": variables}]}
    (by_digest,) = release.new_revision(current, f"{URI}@{NEW}")["containerDefinitions"]
    assert by_digest["environment"] == [{"name": "PORT", "value": "8080"}, {"name": "IMAGE_DIGEST", "value": NEW}]
    (by_tag,) = release.new_revision(current, f"{URI}:1.0.0")["containerDefinitions"]
    assert by_tag["environment"] == [{"name": "PORT", "value": "8080"}], "a tag names no digest: the old one must not stay"
    (bare,) = release.new_revision(TASK_DEFINITION, f"{URI}:1.0.0")["containerDefinitions"]
    assert "environment" not in bare


def test_fails_a_task_definition_without_the_container() -> None:
    with pytest.raises(ReleaseError, match="has no container order-api"):
        release.new_revision({**TASK_DEFINITION, "containerDefinitions": [{**CONTAINER, "name": "sidecar"}]}, "x")


# ------------------------------------------------------------------------------- retention


def test_release_tags_are_pruned_per_environment_to_the_newest() -> None:
    tags = {
        "release.prod.20261130T120000Z": NEW,
        "release.prod.20261129T080000Z": OLD,
        "release.prod.20261001T000000Z": OLD,
        "release.prod-x.20200101T000000Z": OLD,
        "release.dev.20200101T000000Z": OLD,
        "build-1": OLD,
    }
    assert release.tags_to_prune(tags, "prod", 2) == ["release.prod.20261001T000000Z"]
    assert release.tags_to_prune(tags, "dev", 2) == []
    assert release.release_tag("dev-pr42", NOW) == "release.dev-pr42.20261130T120000Z"


@pytest.mark.parametrize(
    ("newest", "expected"),
    [
        ("release.dev.20261130T120000Z", "release.dev.20261130T120001Z"),  # recorded in the same second
        ("release.dev.20261130T120005Z", "release.dev.20261130T120006Z"),  # by a clock ahead of ours
        ("release.dev.20261130T115959Z", "release.dev.20261130T120000Z"),  # the usual case: now
    ],
)
def test_a_new_release_tag_is_unique_and_the_newest_of_its_environment(newest: str, expected: str) -> None:
    tags = {newest: OLD, "release.dev.20261129T000000Z": OLD, "release.prod.20261130T120000Z": OLD}
    tag, stale = release.record_plan(tags, "dev", NEW, NOW, 10)
    assert tag == expected and tag not in tags and stale == []
    assert release.tags_to_prune({**tags, tag: NEW}, "dev", 0)[0] == tag


def test_a_rollback_to_an_earlier_release_gets_a_tag_of_its_own(stubs: Any) -> None:
    _, _, _, ecr_stub = stubs
    lines: list[str] = []
    existing = {NEW: ["release.prod.20261130T110000Z"], OLD: ["release.prod.20261129T080000Z"]}
    expect_record(ecr_stub, OLD, "release.prod.20261130T120000Z", existing)
    pruned = [{"imageTag": "release.prod.20261129T080000Z"}]
    ecr_stub.add_response("batch_delete_image", {"imageIds": pruned}, {"repositoryName": "order-api", "imageIds": pruned})
    releaser(stubs, lines=lines).record(release.Image(URI, OLD, ("release.prod.20261129T080000Z",)))
    assert lines[0] == "order-api-prod: recorded as release.prod.20261130T120000Z"


# -------------------------------------------------------------------------- promote, settle


def expect_live(ecs_stub: Stubber, target: Target, digest: str, statuses: tuple[str, ...] = ("SUCCESSFUL", "ROLLBACK_SUCCESSFUL")) -> None:
    deployments = [
        {"serviceDeploymentArn": f"{DEPLOYMENT}{i}", "createdAt": NOW - timedelta(hours=i), "targetServiceRevisionArn": f"{REVISION}{i}", "status": status}
        for i, status in enumerate(statuses)
    ]
    ecs_stub.add_response(
        "list_service_deployments", {"serviceDeployments": deployments}, {"cluster": target.cluster, "service": target.service, "maxResults": 100}
    )
    if "SUCCESSFUL" in statuses and not any(s in ("IN_PROGRESS", "PENDING") for s in statuses):
        index = statuses.index("SUCCESSFUL")
        ecs_stub.add_response(
            "describe_service_revisions",
            {
                "serviceRevisions": [
                    {"serviceRevisionArn": f"{REVISION}{index}", "containerImages": [{"containerName": "order-api", "imageDigest": digest, "image": "x"}]}
                ]
            },
            {"serviceRevisionArns": [f"{REVISION}{index}"]},
        )


def test_promote_takes_the_digest_ecs_resolved_for_the_source_never_a_tag(stubs: Any) -> None:
    from tools.common.ecs_deployments import live_digest

    ecs, _, ecs_stub, _ = stubs
    expect_live(ecs_stub, DEV, NEW, ("ROLLBACK_SUCCESSFUL", "SUCCESSFUL"))
    assert live_digest(ecs, DEV.ecs_service) == NEW


def test_fails_to_promote_from_an_environment_mid_deployment(stubs: Any) -> None:
    from tools.common.ecs_deployments import live_digest

    ecs, _, ecs_stub, _ = stubs
    expect_live(ecs_stub, DEV, NEW, ("IN_PROGRESS", "SUCCESSFUL"))
    with pytest.raises(DeploymentFailed, match=r"order-api-dev-api is being deployed \(IN_PROGRESS\)"):
        live_digest(ecs, DEV.ecs_service)


def test_fails_to_promote_from_an_environment_that_never_succeeded(stubs: Any) -> None:
    from tools.common.ecs_deployments import live_digest

    ecs, _, ecs_stub, _ = stubs
    expect_live(ecs_stub, DEV, NEW, ("ROLLBACK_SUCCESSFUL",))
    with pytest.raises(DeploymentFailed, match="has no successful deployment"):
        live_digest(ecs, DEV.ecs_service)


def test_settle_after_a_deploy_rolls_changed_settings_out_with_the_running_image(stubs: Any) -> None:
    _, _, ecs_stub, ecr_stub = stubs
    lines: list[str] = []
    declared_arn = TD1.replace(":7", ":9")
    running = {**TASK_DEFINITION, "containerDefinitions": [{**CONTAINER, "image": f"{URI}@{OLD}"}]}
    declared = {**TASK_DEFINITION, "taskDefinitionArn": declared_arn, "memory": "4096", "containerDefinitions": [{**CONTAINER, "image": f"{URI}:1.0.0"}]}
    ecs_stub.add_response(
        "list_service_deployments",
        {"serviceDeployments": []},
        {"cluster": PROD.cluster, "service": PROD.service, "createdAt": {"after": SINCE}, "maxResults": 100},
    )
    expect_service(ecs_stub, PROD, running)
    ecs_stub.add_response("describe_task_definition", {"taskDefinition": declared}, {"taskDefinition": declared_arn})
    expected = {**registration(f"{URI}@{OLD}"), "memory": "4096"}
    ecs_stub.add_response("register_task_definition", {"taskDefinition": {"taskDefinitionArn": TD2}}, expected)
    ecs_stub.add_response("update_service", {"service": {}}, {"cluster": PROD.cluster, "service": PROD.service, "taskDefinition": TD2})
    expect_found(ecs_stub)
    expect_states(ecs_stub, ("SUCCESSFUL", ""))
    expect_live(ecs_stub, PROD, OLD, ("SUCCESSFUL",))
    expect_image(ecr_stub, OLD, OLD, ["release.prod.20261129T080000Z"])
    expect_release_tags(ecr_stub, {OLD: ["release.prod.20261129T080000Z"]})
    releaser(stubs, lines=lines).settle(declared_arn, SINCE)
    assert any("the declared task settings changed" in line and OLD in line for line in lines)


# ------------------------------------------------------------------------------------- CLI


def test_main_turns_missing_credentials_into_one_line(synth: Any, no_credentials: str, capsys: pytest.CaptureFixture[str]) -> None:
    def clients(target: Target) -> tuple[Any, Any]:
        session = boto3.session.Session(region_name=target.region)
        return session.client("ecs", endpoint_url=no_credentials), session.client("ecr", endpoint_url=no_credentials)

    code = release.main(["order-api-dev", NEW, "--skip-synth", "--outdir", str(synth.outdir)], environ={}, clients=clients)
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1 and err.startswith("error: no AWS credentials") and "Traceback" not in err


def test_main_reports_a_rollback_as_a_failure(synth: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(self: Releaser, ref: str, **_: Any) -> str:
        raise DeploymentFailed("ROLLBACK_SUCCESSFUL: alarm order-api-dev-alb-5xx-rate fired")

    monkeypatch.setattr(Releaser, "release", failing)
    code = release.main(["order-api-dev", NEW, "--skip-synth", "--outdir", str(synth.outdir)], environ={}, clients=lambda t: (None, None))
    assert code == 1
    assert capsys.readouterr().err == "error: order-api-dev: release failed: ROLLBACK_SUCCESSFUL: alarm order-api-dev-alb-5xx-rate fired\n"


@pytest.mark.parametrize(("stop", "status", "name"), [(KeyboardInterrupt(), 130, "SIGINT"), (Interrupted(signal.SIGTERM), 143, "SIGTERM")])
def test_a_signal_stops_watching_and_says_the_deployment_goes_on(
    synth: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, stop: BaseException, status: int, name: str
) -> None:
    def interrupted(self: Releaser, ref: str, **_: Any) -> str:
        self.deployment_arn = DEPLOYMENT
        raise stop

    monkeypatch.setattr(Releaser, "release", interrupted)
    code = release.main(["order-api-dev", NEW, "--skip-synth", "--outdir", str(synth.outdir)], environ={}, clients=lambda t: (None, None))
    assert code == status
    assert capsys.readouterr().err == (
        f"error: interrupted by {name}; stopped watching, it goes on in ECS: aws ecs describe-service-deployments --service-deployment-arns {DEPLOYMENT}\n"
    )


def test_main_needs_an_image_or_a_source(capsys: pytest.CaptureFixture[str]) -> None:
    assert release.main(["order-api-dev", "--skip-synth"], environ={}) == 2
    assert "exactly one of IMAGE" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "environ", "message"),
    [
        (["order-api-dev", "${aws_s3_bucket.x.id}"], {}, "error: IMAGE='${aws_s3_bucket.x.id}' is invalid: a tag"),
        (["order-api-dev", "v1 v2"], {}, "error: IMAGE='v1 v2' is invalid"),
        (["--", "order-api-dev", "-v1"], {}, "error: IMAGE='-v1' is invalid"),  # as make release passes it
        (["order-api-dev", "sha256:" + "a" * 63], {}, "error: IMAGE='sha256:aaa"),
        (["order-api-dev", "v" * 129], {}, "is invalid: a tag"),
        (["order-api-staging", "--from", "order-api-dev", "--expect", "latest"], {}, "error: EXPECT='latest' is invalid: the digest"),
        (["order-api-dev", "v1"], {"ALLOW_CRITICAL": "yes"}, "error: ALLOW_CRITICAL='yes' is invalid: 1"),
        (["order-api-dev", "v1"], {"ALLOW_CRITICAL": "0"}, "error: ALLOW_CRITICAL='0' is invalid: 1"),
        (["order-api-dev", "v1"], {"ALLOW_CRITICAL": "1\n"}, "error: ALLOW_CRITICAL='1\\n' is invalid: 1"),
        (["order-api-dev", "v1"], {"ALLOW_ALARMS": "yes"}, "error: ALLOW_ALARMS='yes' is invalid: 1 (deploy although a rollback alarm is in ALARM) or unset"),
        (["order-api-dev", "v1"], {"ALLOW_ALARMS": "0"}, "error: ALLOW_ALARMS='0' is invalid: 1"),
        (["order-api-dev", "v1"], {"ALLOW_ALARMS": "true"}, "error: ALLOW_ALARMS='true' is invalid: 1"),
        (["order-api-dev", "v1"], {"ALLOW_ALARMS": " 1"}, "error: ALLOW_ALARMS=' 1' is invalid: 1"),
        (["order-api-staging", "--from", "order-api-dev"], {"ALLOW_ALARMS": "1\n"}, "error: ALLOW_ALARMS='1\\n' is invalid: 1"),
        (["order-api-dev", "latest\n"], {}, "error: IMAGE='latest\\n' is invalid: a tag"),
        (["order-api-dev", NEW + "\n"], {}, "is invalid: a tag"),
        (["order-api-dev", NEW + "\r"], {}, "is invalid: a tag"),
        (["order-api-dev", "v1\0"], {}, "is invalid: a tag"),
        (["order-api-staging", "--from", "order-api-dev", "--expect", NEW + "\n"], {}, "error: EXPECT="),
        (["order-api-dev", "--from", "order-api-dev"], {}, "error: FROM and TO are both 'order-api-dev': promote from one environment to another"),
        (["order-api-dev", "v1", "--expect", NEW], {}, "error: EXPECT applies only to make promote"),
        (["order-api-dev", "v1", "--timeout-minutes", "0"], {}, "error: --timeout-minutes=0 is invalid: from 1 to 2880"),
        (["order-api-dev", "v1", "--timeout-minutes", "2881"], {}, "error: --timeout-minutes=2881 is invalid"),
        (["order-api-dev", "v1", "--from", "order-api-staging"], {}, "error: give exactly one of IMAGE"),
    ],
)
def test_fails_invalid_inputs_before_reading_anything(argv: list[str], environ: dict[str, str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    def no_clients(target: Target) -> tuple[Any, Any]:
        raise AssertionError("no AWS client may be made for an invalid input")

    assert release.main(["--skip-synth", "--outdir", "/nonexistent", *argv], environ=environ, clients=no_clients) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


@pytest.mark.parametrize("image", ["v1.2.3", "release_7", "2026.11.30-abc", "sha256:" + "0" * 64])
def test_valid_images_pass_the_input_check(image: str) -> None:
    assert release.input_problem(image, None, "") is None
    assert release.input_problem(None, "sha256:" + "f" * 64, "1") is None


def test_main_promotes_the_digest_the_source_runs(synth: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}
    monkeypatch.setattr(release, "live_digest", lambda ecs, service: seen.setdefault("from", service.name) and NEW)
    monkeypatch.setattr(Releaser, "release", lambda self, ref, **kw: seen.update(to=self.target.stack, ref=ref, **kw) or ref)
    code = release.main(
        ["order-api-staging", "--from", "order-api-dev", "--skip-synth", "--outdir", str(synth.outdir)],
        environ={"ALLOW_CRITICAL": "1"},
        clients=lambda t: (None, None),
    )
    assert code == 0
    assert seen == {"from": "order-api-dev-api", "to": "order-api-staging", "ref": NEW, "allow_critical": True, "allow_alarms": False, "timeout_seconds": None}
    assert f"promote: order-api-dev runs {NEW}; releasing it to order-api-staging" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("stack", "strategy", "timeout_minutes"), [("order-api-dev", "BLUE_GREEN", 15 + 1 + 30), ("order-api-prod", "CANARY", 15 + 5 + 10 + 30)]
)
def test_targets_come_from_the_synthesized_stack(synth: Any, stack: str, strategy: str, timeout_minutes: int) -> None:
    target = release.target_of(synth.doc(stack), stack)
    environment = stack.removeprefix("order-api-")
    assert (target.environment, target.cluster, target.service, target.repository) == (environment, stack, f"{stack}-api", "order-api")
    assert (target.deployment.strategy, target.timeout_seconds) == (strategy, timeout_minutes * 60)
    assert target.smoke_function == f"{stack}-smoke-test"
    assert json.dumps(target.region) == '"us-east-1"' and target.endpoint is None


def test_fails_a_stack_that_runs_no_service(synth: Any) -> None:
    with pytest.raises(ReleaseError, match="order-api-registry is not an environment stack"):
        release.target_of(synth.doc("order-api-registry"), "order-api-registry")
