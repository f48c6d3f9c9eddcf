"""The deployed order API: service, load balancer, database, edge and monitoring.

Reads the stack outputs listed in ``tests/integration/README.md`` from
``cfn-outputs/flat-outputs.json``; skipped (one reason, no network) without it.
Tests marked ``data_plane`` need running tasks and skip against an emulator
(``INTEGRATION_TARGET=emulator``, see ``conftest.py``).
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from typing import Any

import pytest

from tests.integration.conftest import REQUIRED_OUTPUTS, Clients, data_plane, endpoint_url, load_outputs, skip_reason, target

OUTPUTS = load_outputs()
if OUTPUTS is None:
    pytest.skip(skip_reason(), allow_module_level=True)

HTTP_TIMEOUT_SECONDS = 10
RATE_LIMIT = 100


@pytest.fixture(scope="module")
def outputs() -> dict[str, Any]:
    assert OUTPUTS is not None
    missing = [name for name in REQUIRED_OUTPUTS if not OUTPUTS.get(name)]
    assert not missing, f"outputs missing from the flat outputs file: {missing}"
    return OUTPUTS


@pytest.fixture(scope="module")
def session(outputs: dict[str, Any]) -> Clients:
    """AWS clients in the stack's region (from the ALB's ARN); on the emulator with INTEGRATION_TARGET=emulator."""
    region = outputs["alb_arn"].split(":")[3]
    return Clients(region, endpoint_url() if target() == "emulator" else None)


def test_vpc_is_available(session: Any, outputs: dict[str, Any]) -> None:
    (vpc,) = session.client("ec2").describe_vpcs(VpcIds=[outputs["vpc_id"]])["Vpcs"]
    assert vpc["State"] == "available"


def test_cluster_has_container_insights(session: Any, outputs: dict[str, Any]) -> None:
    (cluster,) = session.client("ecs").describe_clusters(clusters=[outputs["ecs_cluster_name"]], include=["SETTINGS"])["clusters"]
    settings = {s["name"]: s["value"] for s in cluster["settings"]}
    assert settings.get("containerInsights") in ("enabled", "enhanced")


def _service(session: Any, outputs: dict[str, Any]) -> dict[str, Any]:
    (service,) = session.client("ecs").describe_services(cluster=outputs["ecs_cluster_name"], services=[outputs["ecs_service_name"]])["services"]
    return dict(service)


def test_service_is_active_on_spot_and_on_demand(session: Any, outputs: dict[str, Any]) -> None:
    service = _service(session, outputs)
    assert service["serviceArn"] == outputs["ecs_service_arn"]
    assert service["status"] == "ACTIVE"
    strategy = {item["capacityProvider"]: item for item in service["capacityProviderStrategy"]}
    assert set(strategy) == {"FARGATE", "FARGATE_SPOT"}
    assert strategy["FARGATE_SPOT"]["weight"] > 0
    assert strategy["FARGATE"]["weight"] > 0 or strategy["FARGATE"].get("base", 0) > 0


@data_plane
def test_service_is_running(session: Any, outputs: dict[str, Any]) -> None:
    assert _service(session, outputs)["runningCount"] >= 1


def test_both_target_groups_exist(session: Any, outputs: dict[str, Any]) -> None:
    arns = [outputs["blue_target_group_arn"], outputs["green_target_group_arn"]]
    groups = session.client("elbv2").describe_target_groups(TargetGroupArns=arns)["TargetGroups"]
    assert sorted(g["TargetGroupArn"] for g in groups) == sorted(arns)
    assert all(g["HealthCheckPath"] == "/health" for g in groups)


def test_alb_is_active_and_internet_facing(session: Any, outputs: dict[str, Any]) -> None:
    (alb,) = session.client("elbv2").describe_load_balancers(LoadBalancerArns=[outputs["alb_arn"]])["LoadBalancers"]
    assert alb["State"]["Code"] == "active"
    assert alb["Scheme"] == "internet-facing"


@data_plane
def test_alb_targets_are_healthy(session: Any, outputs: dict[str, Any]) -> None:
    elbv2 = session.client("elbv2")
    states = []
    for arn in (outputs["blue_target_group_arn"], outputs["green_target_group_arn"]):
        states += [t["TargetHealth"]["State"] for t in elbv2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]]
    assert "healthy" in states, f"no healthy target in either target group: {states}"


@data_plane
def test_health_endpoint_answers_through_the_alb(outputs: dict[str, Any]) -> None:
    url = f"http://{outputs['alb_dns_name']}/health"
    try:
        with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT_SECONDS) as response:
            assert response.status == 200
    except urllib.error.URLError as error:
        pytest.fail(f"GET {url}: {error}")


def test_database_is_available_encrypted_and_has_a_reader(session: Any, outputs: dict[str, Any]) -> None:
    (cluster,) = session.client("rds").describe_db_clusters(DBClusterIdentifier=outputs["database_cluster_identifier"])["DBClusters"]
    assert cluster["Status"] == "available"
    assert cluster["StorageEncrypted"] is True
    members = cluster["DBClusterMembers"]
    assert any(m["IsClusterWriter"] for m in members)
    assert any(not m["IsClusterWriter"] for m in members), "no reader instance"


def test_waf_rate_rule_is_attached_to_the_alb(session: Any, outputs: dict[str, Any]) -> None:
    wafv2 = session.client("wafv2")
    attached = wafv2.get_web_acl_for_resource(ResourceArn=outputs["alb_arn"])["WebACL"]
    assert attached["ARN"] == outputs["waf_web_acl_arn"]
    assert attached["Name"] == outputs["waf_web_acl_name"]
    limits = [r["Statement"]["RateBasedStatement"]["Limit"] for r in attached["Rules"] if "RateBasedStatement" in r["Statement"]]
    assert RATE_LIMIT in limits, f"rate-based rules: {limits}"


def test_database_master_secret_exists_and_rotates(session: Any, outputs: dict[str, Any]) -> None:
    # The secret's ARN is a sensitive output, which the outputs file leaves out: read it from the cluster.
    (cluster,) = session.client("rds").describe_db_clusters(DBClusterIdentifier=outputs["database_cluster_identifier"])["DBClusters"]
    arn = cluster["MasterUserSecret"]["SecretArn"]
    secret = session.client("secretsmanager").describe_secret(SecretId=arn)
    assert secret["ARN"] == arn
    assert "DeletedDate" not in secret
    assert secret.get("RotationEnabled") is True


def test_ssm_parameters_exist(session: Any, outputs: dict[str, Any]) -> None:
    prefix = outputs["ssm_parameter_prefix"].rstrip("/")
    pages = session.client("ssm").get_paginator("get_parameters_by_path").paginate(Path=prefix, Recursive=True)
    names = [p["Name"] for page in pages for p in page["Parameters"]]
    assert names, f"no parameters under {prefix}"


def test_dashboard_exists(session: Any, outputs: dict[str, Any]) -> None:
    match = re.search(r"dashboards(?::name=|/dashboard/)([^&?#/]+)", outputs["dashboard_url"])
    assert match, f"cannot read a dashboard name from {outputs['dashboard_url']}"
    dashboard = session.client("cloudwatch").get_dashboard(DashboardName=match.group(1))
    assert dashboard["DashboardBody"]


def test_alarms_notify_the_alarm_topic(session: Any, outputs: dict[str, Any]) -> None:
    topic = outputs["alarm_topic_arn"]
    session.client("sns").get_topic_attributes(TopicArn=topic)
    pages = session.client("cloudwatch").get_paginator("describe_alarms").paginate()
    alarms = [a["AlarmName"] for page in pages for a in page["MetricAlarms"] + page.get("CompositeAlarms", []) if topic in a.get("AlarmActions", [])]
    assert alarms, f"no alarm notifies {topic}"


def test_cause_alarms_notify_the_ticket_topic_and_never_the_paging_one(session: Any, outputs: dict[str, Any]) -> None:
    tickets, page = outputs["ticket_topic_arn"], outputs["alarm_topic_arn"]
    session.client("sns").get_topic_attributes(TopicArn=tickets)
    prefix = page.rsplit(":", 1)[1].removesuffix("-alarms")
    (alarm,) = session.client("cloudwatch").describe_alarms(AlarmNames=[f"{prefix}-db-connections-high"])["MetricAlarms"]
    assert tickets in alarm["AlarmActions"] and page not in alarm["AlarmActions"]


def test_the_slo_page_notifies_the_topic_and_combines_its_four_windows(session: Any, outputs: dict[str, Any]) -> None:
    topic = outputs["alarm_topic_arn"]
    prefix = topic.rsplit(":", 1)[1].removesuffix("-alarms")  # the topic is <prefix>-alarms, the page <prefix>-slo-burn
    cloudwatch = session.client("cloudwatch")
    (page,) = cloudwatch.describe_alarms(AlarmNames=[f"{prefix}-slo-burn"], AlarmTypes=["CompositeAlarm"])["CompositeAlarms"]
    assert topic in page["AlarmActions"]
    windows = re.findall(r'ALARM\("([^"]+)"\)', page["AlarmRule"])
    assert windows == [f"{prefix}-slo-{w}" for w in ("fast-1h", "fast-5m", "slow-6h", "slow-30m")]
    assert sorted(a["AlarmName"] for a in cloudwatch.describe_alarms(AlarmNames=windows)["MetricAlarms"]) == sorted(windows)


def test_ecr_repository_scans_on_push(session: Any, outputs: dict[str, Any]) -> None:
    name = outputs["ecr_repository_url"].split("/", 1)[1]
    (repo,) = session.client("ecr").describe_repositories(repositoryNames=[name])["repositories"]
    assert repo["imageScanningConfiguration"]["scanOnPush"] is True
