"""``make db-users``: the statements it issues through the RDS Data API, tested with botocore's Stubber."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import boto3  # type: ignore[import-untyped]
import pytest
from botocore.stub import Stubber  # type: ignore[import-untyped]

from tests.conftest import Synthesized
from tools.ops import db_users
from tools.ops.db_users import MARKER, ProvisioningError, Target, data_api_executor, locate, provision, quote, target_from_stack

CLUSTER_ARN = "arn:aws:rds:us-east-1:123456789012:cluster:order-api-dev-aurora"
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!cluster-abc-123456"
TARGET = Target("order-api-dev", "us-east-1", None, "order-api-dev-aurora", "orders", {"orders_app": ["DELETE", "INSERT", "SELECT", "UPDATE"]})
IAM_TLS = "IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS' REQUIRE SSL"
USER_QUERY = "SELECT plugin, ssl_type FROM mysql.user WHERE user = :user AND host = '%'"
SCHEMA_QUERY = "SELECT privilege_type FROM information_schema.schema_privileges WHERE grantee = :grantee AND table_schema = :schema"
GLOBAL_QUERY = "SELECT privilege_type FROM information_schema.user_privileges WHERE grantee = :grantee"
MANAGED_QUERY = "SELECT user FROM information_schema.user_attributes WHERE host = '%' AND JSON_UNQUOTE(JSON_EXTRACT(attribute, :path)) = :value"


def client(service: str) -> Any:
    return boto3.session.Session(region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x").client(service)


def string_params(*pairs: tuple[str, str]) -> list[dict[str, Any]]:
    return [{"name": n, "value": {"stringValue": v}} for n, v in pairs]


def rows(*values: Sequence[str]) -> dict[str, Any]:
    return {"records": [[{"stringValue": v} for v in row] for row in values]}


class DataApi:
    """A Stubber-backed rds-data client: queue each expected statement and its rows."""

    def __init__(self) -> None:
        self.client = client("rds-data")
        self.stubber = Stubber(self.client)

    def expect(self, sql: str, params: Sequence[tuple[str, str]] = (), result: dict[str, Any] | None = None) -> DataApi:
        expected = {"resourceArn": CLUSTER_ARN, "secretArn": SECRET_ARN, "sql": sql, "parameters": string_params(*params)}
        self.stubber.add_response("execute_statement", result or {"records": []}, expected)
        return self

    def run(self, users: dict[str, list[str]] | None = None) -> list[str]:
        with self.stubber:
            changes = provision(data_api_executor(self.client, CLUSTER_ARN, SECRET_ARN), "orders", users or dict(TARGET.users))
        self.stubber.assert_no_pending_responses()
        return changes


def managed(*users: str) -> dict[str, Any]:
    return rows(*[(u,) for u in users])


MANAGED_PARAMS = [("path", '$."managed-by"'), ("value", "order-api")]


def test_first_run_creates_the_iam_user_and_grants_exactly_the_configured_privileges() -> None:
    api = DataApi()
    api.expect(USER_QUERY, [("user", "orders_app")])
    api.expect(f"CREATE USER `orders_app`@'%' {IAM_TLS} ATTRIBUTE '{MARKER}'")
    api.expect(SCHEMA_QUERY, [("grantee", "'orders_app'@'%'"), ("schema", "orders")])
    api.expect("GRANT DELETE, INSERT, SELECT, UPDATE ON `orders`.* TO `orders_app`@'%'")
    api.expect(GLOBAL_QUERY, [("grantee", "'orders_app'@'%'")], rows(("USAGE",)))
    api.expect(MANAGED_QUERY, MANAGED_PARAMS, managed("orders_app"))
    assert api.run() == ["orders_app: created (IAM authentication, TLS required)", "orders_app: granted DELETE, INSERT, SELECT, UPDATE on orders"]


def test_second_run_changes_nothing() -> None:
    api = DataApi()
    api.expect(USER_QUERY, [("user", "orders_app")], rows(("AWSAuthenticationPlugin", "ANY")))
    api.expect(SCHEMA_QUERY, [("grantee", "'orders_app'@'%'"), ("schema", "orders")], rows(("SELECT",), ("INSERT",), ("UPDATE",), ("DELETE",)))
    api.expect(GLOBAL_QUERY, [("grantee", "'orders_app'@'%'")], rows(("USAGE",)))
    api.expect(MANAGED_QUERY, MANAGED_PARAMS, managed("orders_app"))
    assert api.run() == ["no change"]


def test_a_password_user_is_switched_to_iam_and_tls() -> None:
    api = DataApi()
    api.expect(USER_QUERY, [("user", "orders_app")], rows(("mysql_native_password", "")))
    api.expect(f"ALTER USER `orders_app`@'%' {IAM_TLS} ATTRIBUTE '{MARKER}'")
    api.expect(SCHEMA_QUERY, [("grantee", "'orders_app'@'%'"), ("schema", "orders")], rows(("SELECT",), ("INSERT",), ("UPDATE",), ("DELETE",)))
    api.expect(GLOBAL_QUERY, [("grantee", "'orders_app'@'%'")], rows(("USAGE",)))
    api.expect(MANAGED_QUERY, MANAGED_PARAMS, managed("orders_app"))
    assert api.run() == ["orders_app: now IAM authentication with TLS required (was mysql_native_password, ssl_type none)"]


def test_privileges_no_longer_configured_and_global_ones_are_revoked() -> None:
    api = DataApi()
    api.expect(USER_QUERY, [("user", "orders_app")], rows(("AWSAuthenticationPlugin", "ANY")))
    api.expect(SCHEMA_QUERY, [("grantee", "'orders_app'@'%'"), ("schema", "orders")], rows(("SELECT",), ("DROP",), ("ALTER",)))
    api.expect("GRANT INSERT ON `orders`.* TO `orders_app`@'%'")
    api.expect("REVOKE ALTER, DROP ON `orders`.* FROM `orders_app`@'%'")
    api.expect(GLOBAL_QUERY, [("grantee", "'orders_app'@'%'")], rows(("USAGE",), ("PROCESS",)))
    api.expect("REVOKE PROCESS ON *.* FROM `orders_app`@'%'")
    api.expect(MANAGED_QUERY, MANAGED_PARAMS, managed("orders_app"))
    assert api.run({"orders_app": ["INSERT", "SELECT"]}) == [
        "orders_app: granted INSERT on orders",
        "orders_app: revoked ALTER, DROP on orders",
        "orders_app: revoked global PROCESS",
    ]


def test_a_managed_user_no_longer_configured_is_dropped() -> None:
    api = DataApi()
    api.expect(USER_QUERY, [("user", "orders_app")], rows(("AWSAuthenticationPlugin", "ANY")))
    api.expect(SCHEMA_QUERY, [("grantee", "'orders_app'@'%'"), ("schema", "orders")], rows(("SELECT",)))
    api.expect(GLOBAL_QUERY, [("grantee", "'orders_app'@'%'")])
    api.expect(MANAGED_QUERY, MANAGED_PARAMS, managed("orders_app", "orders_migrate"))
    api.expect("DROP USER `orders_migrate`@'%'")
    assert api.run({"orders_app": ["SELECT"]}) == ["orders_migrate: dropped (no longer configured)"]


@pytest.mark.parametrize("hostile", ["orders`; DROP DATABASE orders; --", "a'b", "a b", "", "x" * 65, "1user"])
def test_identifiers_that_could_escape_the_quotes_are_refused(hostile: str) -> None:
    with pytest.raises(ProvisioningError, match="refusing identifier"):
        quote(hostile)


@pytest.mark.parametrize("privilege", ["ALL", "ALL PRIVILEGES", "GRANT OPTION", "SELECT; DROP", "select"])
def test_privileges_that_are_not_plain_or_are_too_broad_are_refused(privilege: str) -> None:
    api = DataApi()
    api.expect(USER_QUERY, [("user", "orders_app")], rows(("AWSAuthenticationPlugin", "ANY")))
    api.expect(SCHEMA_QUERY, [("grantee", "'orders_app'@'%'"), ("schema", "orders")])
    with pytest.raises(ProvisioningError, match="refusing privilege"):
        api.run({"orders_app": [privilege]})


def test_user_names_reach_the_sql_only_as_parameters_or_quoted_identifiers() -> None:
    api = DataApi()
    api.expect(USER_QUERY, [("user", "orders_app")])
    api.expect(f"CREATE USER `orders_app`@'%' {IAM_TLS} ATTRIBUTE '{MARKER}'")
    api.expect(SCHEMA_QUERY, [("grantee", "'orders_app'@'%'"), ("schema", "orders")])
    api.expect("GRANT SELECT ON `orders`.* TO `orders_app`@'%'")
    api.expect(GLOBAL_QUERY, [("grantee", "'orders_app'@'%'")])
    api.expect(MANAGED_QUERY, MANAGED_PARAMS)
    api.run({"orders_app": ["SELECT"]})
    assert json.loads(MARKER) == {"managed-by": "order-api"}


# ------------------------------------------------------------------ locate


def rds_with(response: dict[str, Any] | None = None, error: str | None = None) -> Any:
    rds = client("rds")
    stubber = Stubber(rds)
    if error:
        stubber.add_client_error("describe_db_clusters", service_error_code=error, expected_params={"DBClusterIdentifier": "order-api-dev-aurora"})
    else:
        stubber.add_response("describe_db_clusters", response, {"DBClusterIdentifier": "order-api-dev-aurora"})
    stubber.activate()
    return rds


def cluster(**fields: Any) -> dict[str, Any]:
    return {"DBClusters": [{"DBClusterIdentifier": "order-api-dev-aurora", "DBClusterArn": CLUSTER_ARN, **fields}]}


def test_locate_finds_the_cluster_and_its_master_secret() -> None:
    rds = rds_with(cluster(MasterUserSecret={"SecretArn": SECRET_ARN}, HttpEndpointEnabled=True))
    assert locate(rds, TARGET) == (CLUSTER_ARN, SECRET_ARN)


@pytest.mark.parametrize(
    ("rds_kwargs", "message"),
    [
        ({"error": "DBClusterNotFoundFault"}, "cluster order-api-dev-aurora not found in us-east-1: deploy order-api-dev first"),
        ({"response": cluster(HttpEndpointEnabled=True)}, "cluster order-api-dev-aurora has no RDS-managed master secret (manage_master_user_password)"),
        ({"response": cluster(MasterUserSecret={"SecretArn": SECRET_ARN}, HttpEndpointEnabled=False)}, "has the Data API off"),
    ],
)
def test_fails_with_one_line_when_something_is_missing(rds_kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ProvisioningError) as excinfo:
        locate(rds_with(**rds_kwargs), TARGET)
    assert message in str(excinfo.value) and "\n" not in str(excinfo.value)


# --------------------------------------------------------- from the stack


def test_target_comes_from_the_synthesized_stack(synth: Synthesized) -> None:
    target = target_from_stack(synth.doc("order-api-dev"), "order-api-dev")
    assert target == Target("order-api-dev", "us-east-1", None, "order-api-dev-aurora", "orders", {"orders_app": ["DELETE", "INSERT", "SELECT", "UPDATE"]})


def test_fails_on_a_stack_without_users(synth: Synthesized) -> None:
    with pytest.raises(ProvisioningError, match="no database users to provision"):
        target_from_stack(synth.doc("order-api-registry"), "order-api-registry")


def test_fails_before_asking_aws_when_the_stack_has_the_data_api_off(synth: Synthesized, tmp_path: Path) -> None:
    doc = synth.doc("order-api-dev")
    for cluster_body in doc["resource"]["aws_rds_cluster"].values():
        cluster_body["enable_http_endpoint"] = False
    (tmp_path / "order-api-dev").mkdir()
    (tmp_path / "order-api-dev" / "cdk.tf.json").write_text(json.dumps(doc))
    assert not target_from_stack(doc, "order-api-dev").data_api
    with pytest.raises(ProvisioningError) as excinfo:
        db_users.run("order-api-dev", tmp_path, clients=lambda target: pytest.fail("AWS asked although the Data API is off"))
    assert str(excinfo.value).startswith("order-api-dev: the cluster has the RDS Data API off (database.data_api; us-east-1 may not offer it)")


def test_run_end_to_end_with_stubbed_clients(synth: Synthesized) -> None:
    api = DataApi()
    api.expect(USER_QUERY, [("user", "orders_app")], rows(("AWSAuthenticationPlugin", "ANY")))
    api.expect(SCHEMA_QUERY, [("grantee", "'orders_app'@'%'"), ("schema", "orders")], rows(("SELECT",), ("INSERT",), ("UPDATE",), ("DELETE",)))
    api.expect(GLOBAL_QUERY, [("grantee", "'orders_app'@'%'")])
    api.expect(MANAGED_QUERY, MANAGED_PARAMS, managed("orders_app"))
    rds = rds_with(cluster(MasterUserSecret={"SecretArn": SECRET_ARN}, HttpEndpointEnabled=True))
    with api.stubber:
        lines = db_users.run("order-api-dev", synth.stacks_dir, clients=lambda target: (rds, api.client))
    assert lines == ["order-api-dev: no change"]


def test_main_reports_a_missing_synthesis_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert db_users.main(["order-api-dev", "--synth-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "synthesize first" in err[0]
