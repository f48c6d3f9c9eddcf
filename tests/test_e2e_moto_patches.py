"""make e2e: the harness's moto patches, in-process (moto's decorator mode, no server, no network)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

moto = pytest.importorskip("moto")
boto3 = pytest.importorskip("boto3")

from botocore.exceptions import ClientError  # type: ignore[import-untyped]  # noqa: E402

from tests.conftest import emulator_credentials  # noqa: E402
from tools.emulator import patches  # noqa: E402
from tools.emulator.patches import AWS_DEFAULT_RDS_CA, PATCHES, patched  # noqa: E402

REGION = "us-east-1"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto with the patches, for one test; ``aws(service)`` is a client."""
    emulator_credentials(monkeypatch)
    with moto.mock_aws(), patched():
        yield lambda service: boto3.client(service, region_name=REGION)


@pytest.fixture
def unpatched(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with moto.mock_aws():
        yield lambda service: boto3.client(service, region_name=REGION)


def _code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


def cluster(aws: Any, identifier: str = "order-api-dev-e2e-aurora", **extra: Any) -> dict[str, Any]:
    created: dict[str, Any] = aws("rds").create_db_cluster(
        DBClusterIdentifier=identifier,
        Engine="aurora-mysql",
        EngineVersion="8.0.mysql_aurora.3.08.2",
        MasterUsername="orders_admin",
        ManageMasterUserPassword=True,
        **extra,
    )["DBCluster"]
    return created


def test_every_patch_names_its_action_and_reason() -> None:
    assert len({p.action for p in PATCHES}) == len(PATCHES)
    assert all(p.action and len(p.why) > 20 for p in PATCHES)


def test_patches_are_undone_after_the_block() -> None:
    from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse
    from moto.rds.models import DBCluster, DBInstance

    before = (DBInstance.__init__, DBCluster.__dict__["enable_http_endpoint"])
    with patched():
        assert hasattr(ApplicationAutoScalingResponse, "list_tags_for_resource")
        assert DBInstance.__init__ is not before[0]
    assert not hasattr(ApplicationAutoScalingResponse, "list_tags_for_resource")
    assert (DBInstance.__init__, DBCluster.__dict__["enable_http_endpoint"]) == before
    assert patches._SCALABLE_TARGET_TAGS == {}


def test_scalable_target_tags(aws: Any) -> None:
    scaling = aws("application-autoscaling")
    arn = scaling.register_scalable_target(
        ServiceNamespace="dynamodb",
        ResourceId="table/orders",
        ScalableDimension="dynamodb:table:ReadCapacityUnits",
        MinCapacity=1,
        MaxCapacity=2,
        Tags={"environment": "dev-e2e"},
    )["ScalableTargetARN"]
    assert scaling.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"environment": "dev-e2e"}
    scaling.tag_resource(ResourceARN=arn, Tags={"owner": "platform-team"})
    scaling.untag_resource(ResourceARN=arn, TagKeys=["environment"])
    assert scaling.list_tags_for_resource(ResourceARN=arn)["Tags"] == {"owner": "platform-team"}
    with pytest.raises(ClientError) as unknown:
        scaling.list_tags_for_resource(ResourceARN=arn.replace("scalable-target/", "scalable-target/x"))
    assert _code(unknown) == "ResourceNotFoundException"


def test_managed_rotation_can_be_cancelled(aws: Any) -> None:
    secret_arn = cluster(aws)["MasterUserSecret"]["SecretArn"]
    secrets = aws("secretsmanager")
    secrets.rotate_secret(SecretId=secret_arn, RotationRules={"AutomaticallyAfterDays": 7})
    assert secrets.describe_secret(SecretId=secret_arn)["RotationEnabled"] is True
    secrets.cancel_rotate_secret(SecretId=secret_arn)
    assert secrets.describe_secret(SecretId=secret_arn)["RotationEnabled"] is False


def test_a_plain_secret_without_a_lambda_keeps_motos_answer(aws: Any) -> None:
    secrets = aws("secretsmanager")
    secrets.create_secret(Name="plain", SecretString="x")
    with pytest.raises(ClientError) as refused:
        secrets.cancel_rotate_secret(SecretId="plain")
    assert _code(refused) == "InvalidRequestException"


DENY_WITHOUT_TLS: dict[str, Any] = {
    "Sid": "DenyInsecureTransport",
    "Effect": "Deny",
    "Principal": "*",
    "Action": "s3:*",
    "Resource": ["arn:aws:s3:::state-bucket", "arn:aws:s3:::state-bucket/*"],
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}
TLS_ONLY = {"Version": "2012-10-17", "Statement": [DENY_WITHOUT_TLS]}


@pytest.mark.parametrize(("client", "allowed"), [("aws", True), ("unpatched", False)])
def test_a_tls_only_bucket_serves_its_objects(client: str, allowed: bool, request: pytest.FixtureRequest) -> None:
    s3 = request.getfixturevalue(client)("s3")
    s3.create_bucket(Bucket="state-bucket")
    s3.put_bucket_policy(Bucket="state-bucket", Policy=json.dumps(TLS_ONLY))
    if allowed:
        s3.put_object(Bucket="state-bucket", Key="stack/terraform.tfstate", Body=b"{}")
        assert s3.get_object(Bucket="state-bucket", Key="stack/terraform.tfstate")["Body"].read() == b"{}"
    else:
        with pytest.raises(ClientError):
            s3.put_object(Bucket="state-bucket", Key="stack/terraform.tfstate", Body=b"{}")


def test_an_unconditional_deny_still_denies(aws: Any) -> None:
    s3 = aws("s3")
    s3.create_bucket(Bucket="locked-bucket")
    statement = {k: v for k, v in DENY_WITHOUT_TLS.items() if k != "Condition"}
    policy = {"Version": "2012-10-17", "Statement": [{**statement, "Resource": ["arn:aws:s3:::locked-bucket/*"]}]}
    s3.put_bucket_policy(Bucket="locked-bucket", Policy=json.dumps(policy))
    with pytest.raises(ClientError):
        s3.put_object(Bucket="locked-bucket", Key="k", Body=b"x")


def test_new_instances_get_the_aws_default_ca(aws: Any) -> None:
    cluster(aws)
    rds = aws("rds")
    for name, extra in (("writer", {}), ("pinned", {"CACertificateIdentifier": "rds-ca-ecc384-g1"})):
        rds.create_db_instance(
            DBInstanceIdentifier=name, DBClusterIdentifier="order-api-dev-e2e-aurora", Engine="aurora-mysql", DBInstanceClass="db.t4g.medium", **extra
        )
    cas = {i["DBInstanceIdentifier"]: i["CACertificateIdentifier"] for i in rds.describe_db_instances()["DBInstances"]}
    assert cas == {"writer": AWS_DEFAULT_RDS_CA, "pinned": "rds-ca-ecc384-g1"}


@pytest.mark.parametrize(("enable", "expected"), [(True, True), (False, False)])
def test_data_api_on_a_provisioned_aurora_mysql_cluster(aws: Any, enable: bool, expected: bool) -> None:
    cluster(aws, EnableHttpEndpoint=enable)
    (described,) = aws("rds").describe_db_clusters(DBClusterIdentifier="order-api-dev-e2e-aurora")["DBClusters"]
    assert described["HttpEndpointEnabled"] is expected


@pytest.mark.parametrize(("delete_automated", "left"), [(None, []), (False, ["automated"])])
def test_deleting_a_cluster_removes_its_automated_backups(aws: Any, delete_automated: bool | None, left: list[str]) -> None:
    cluster(aws)
    rds = aws("rds")
    before = [s["SnapshotType"] for s in rds.describe_db_cluster_snapshots(DBClusterIdentifier="order-api-dev-e2e-aurora")["DBClusterSnapshots"]]
    assert before == ["automated"]
    extra = {} if delete_automated is None else {"DeleteAutomatedBackups": delete_automated}
    rds.delete_db_cluster(DBClusterIdentifier="order-api-dev-e2e-aurora", SkipFinalSnapshot=True, **extra)
    assert [s["SnapshotType"] for s in rds.describe_db_cluster_snapshots()["DBClusterSnapshots"]] == left


def test_a_final_snapshot_survives_the_cluster(aws: Any) -> None:
    cluster(aws)
    rds = aws("rds")
    rds.delete_db_cluster(DBClusterIdentifier="order-api-dev-e2e-aurora", FinalDBSnapshotIdentifier="order-api-dev-final-20261126")
    assert [s["DBClusterSnapshotIdentifier"] for s in rds.describe_db_cluster_snapshots()["DBClusterSnapshots"]] == ["order-api-dev-final-20261126"]


def test_a_service_keeps_its_capacity_provider_strategy(aws: Any) -> None:
    ecs = aws("ecs")
    ecs.create_cluster(clusterName="order-api-dev-e2e")
    ecs.register_task_definition(family="api", containerDefinitions=[{"name": "api", "image": "order-api:latest", "memory": 512}])
    strategy = [{"capacityProvider": "FARGATE", "weight": 1, "base": 0}, {"capacityProvider": "FARGATE_SPOT", "weight": 1, "base": 0}]
    ecs.create_service(cluster="order-api-dev-e2e", serviceName="api", taskDefinition="api", desiredCount=2, capacityProviderStrategy=strategy)
    (service,) = ecs.describe_services(cluster="order-api-dev-e2e", services=["api"])["services"]
    assert service["capacityProviderStrategy"] == strategy


@pytest.mark.parametrize(("scheme", "expected"), [(None, "internet-facing"), ("internal", "internal")])
def test_a_load_balancer_without_a_scheme_is_internet_facing(aws: Any, scheme: str | None, expected: str) -> None:
    ec2 = aws("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.100.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.100.{i}.0/24", AvailabilityZone=f"us-east-1{z}")["Subnet"]["SubnetId"] for i, z in enumerate("ab")]
    elbv2 = aws("elbv2")
    extra = {"Scheme": scheme} if scheme else {}
    arn = elbv2.create_load_balancer(Name="order-api-dev-e2e-alb", Subnets=subnets, **extra)["LoadBalancers"][0]["LoadBalancerArn"]
    (described,) = elbv2.describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"]
    assert described["Scheme"] == expected


def _service_with_image(aws: Any) -> tuple[Any, Any, list[str]]:
    """A registry with two pushed images (tags build-1 and latest) and a service running build-1 by tag."""
    from tools.e2e.lifecycle import minimal_image

    ecr, ecs = aws("ecr"), aws("ecs")
    uri = ecr.create_repository(repositoryName="order-api")["repository"]["repositoryUri"]
    digests = []
    for n in (1, 2):
        manifest, media_type = minimal_image(n)
        pushed = ecr.put_image(repositoryName="order-api", imageManifest=manifest, imageManifestMediaType=media_type, imageTag=f"build-{n}")
        digests.append(pushed["image"]["imageId"]["imageDigest"])
    ecs.create_cluster(clusterName="order-api-dev-e2e")
    container = {"name": "order-api", "image": f"{uri}:build-1", "memory": 512}
    arn = ecs.register_task_definition(family="order-api-dev-e2e-api", containerDefinitions=[container])["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(cluster="order-api-dev-e2e", serviceName="order-api-dev-e2e-api", taskDefinition=arn, desiredCount=1)
    return ecs, ecr, digests


def test_service_deployments_report_what_moto_did(aws: Any) -> None:
    from tools.common.ecs_deployments import Service, live_digest

    ecs, _, digests = _service_with_image(aws)
    service = Service("order-api-dev-e2e", "order-api-dev-e2e-api")
    (created,) = ecs.list_service_deployments(cluster=service.cluster, service=service.name)["serviceDeployments"]
    assert created["status"] == "SUCCESSFUL"
    # The revision holds the digest the tag resolved to when the service took it.
    assert live_digest(ecs, service) == digests[0]
    (described,) = ecs.describe_service_deployments(serviceDeploymentArns=[created["serviceDeploymentArn"]])["serviceDeployments"]
    assert described["targetServiceRevision"]["arn"] == created["targetServiceRevisionArn"]
    assert described["status"] == "SUCCESSFUL"


def test_a_release_against_the_emulator_moves_the_image_and_records_it(aws: Any) -> None:
    from tools.ops.release import Releaser, Target

    ecs, ecr, digests = _service_with_image(aws)
    target = Target("order-api-dev-e2e", "dev-e2e", REGION, None, "order-api-dev-e2e", "order-api-dev-e2e-api", "order-api")
    lines: list[str] = []
    releaser = Releaser(target, ecs, ecr, emit=lines.append, sleep=lambda s: None, poll_seconds=0)
    assert releaser.release(digests[1]) == digests[1]
    (service,) = ecs.describe_services(cluster=target.cluster, services=[target.service])["services"]
    (container,) = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]["containerDefinitions"]
    assert container["image"].endswith(f"/order-api@{digests[1]}")
    tags = ecr.describe_images(repositoryName="order-api", imageIds=[{"imageDigest": digests[1]}])["imageDetails"][0]["imageTags"]
    assert any(tag.startswith("release.dev-e2e.") for tag in tags)
    assert any("SUCCESSFUL" in line for line in lines)
    # The service ran build-1 by tag: the rollback target is the digest ECS resolved, not the tag.
    assert lines[-1].endswith(f"roll back with: make release STACK=order-api-dev-e2e IMAGE={digests[0]}")


PAGE = "order-api-dev-e2e-slo-burn"
WINDOW = "order-api-dev-e2e-slo-fast-1h"


def _window_alarm(cloudwatch: Any) -> None:
    cloudwatch.put_metric_alarm(
        AlarmName=WINDOW,
        ComparisonOperator="GreaterThanThreshold",
        EvaluationPeriods=1,
        Threshold=14.4,
        Metrics=[
            {"Id": "requests", "MetricStat": {"Metric": {"Namespace": "AWS/ApplicationELB", "MetricName": "RequestCount"}, "Period": 3600, "Stat": "Sum"}}
        ],
    )


def test_composite_alarms_are_stored_described_and_deleted(aws: Any) -> None:
    from tools.e2e import leftovers

    cloudwatch = aws("cloudwatch")
    _window_alarm(cloudwatch)
    topic = f"arn:aws:sns:{REGION}:123456789012:order-api-dev-e2e-alarms"
    rule = f'ALARM("{WINDOW}") OR ALARM("{WINDOW}")'
    cloudwatch.put_composite_alarm(AlarmName=PAGE, AlarmRule=rule, AlarmActions=[topic], OKActions=[topic], Tags=[{"Key": "Name", "Value": PAGE}])
    # As the provider reads it back: by name, composite alarms only.
    (page,) = cloudwatch.describe_alarms(AlarmNames=[PAGE], AlarmTypes=["CompositeAlarm"])["CompositeAlarms"]
    assert (page["AlarmRule"], page["AlarmActions"], page["OKActions"]) == (rule, [topic], [topic])
    assert cloudwatch.list_tags_for_resource(ResourceARN=page["AlarmArn"])["Tags"] == [{"Key": "Name", "Value": PAGE}]
    assert f"alarm {PAGE}" in leftovers.find(aws, "order-api-dev-e2e", "dev-e2e")
    cloudwatch.delete_alarms(AlarmNames=[PAGE, WINDOW])
    assert not [f for f in leftovers.find(aws, "order-api-dev-e2e", "dev-e2e") if f.startswith("alarm ")]


def test_without_the_patch_moto_has_no_composite_alarms(unpatched: Any) -> None:
    with pytest.raises(NotImplementedError):
        unpatched("cloudwatch").put_composite_alarm(AlarmName=PAGE, AlarmRule=f'ALARM("{WINDOW}")')


def test_a_log_resource_policy_of_the_copy_is_a_leftover(aws: Any) -> None:
    from tools.e2e import leftovers

    logs = aws("logs")
    logs.put_resource_policy(policyName="order-api-dev-e2e-ecs-events", policyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}))
    logs.put_resource_policy(policyName="order-api-dev-ecs-events", policyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}))
    assert leftovers.find(aws, "order-api-dev-e2e", "dev-e2e") == ["log resource policy order-api-dev-e2e-ecs-events"]
    logs.delete_resource_policy(policyName="order-api-dev-e2e-ecs-events")
    assert leftovers.find(aws, "order-api-dev-e2e", "dev-e2e") == []
