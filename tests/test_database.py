"""Database component: Aurora MySQL, credentials, encryption, logs, backups, network access."""

from __future__ import annotations

import contextlib
import json
from dataclasses import replace
from typing import Any

import pytest

from stacks.aws import provider, rds_cluster, rds_cluster_parameter_group, secretsmanager_secret_rotation
from stacks.components.common import AwsContext
from stacks.components.database import Database, database_users
from stacks.config import ConfigError, DatabaseConfig, catalogue
from stacks.config.database import MIGRATION_PRIVILEGES
from stacks.framework import App, TerraformStack, Testing
from tests.conftest import Synthesized

DEV, PROD, STAGING, EPHEMERAL = "order-api-dev", "order-api-prod", "order-api-staging", "order-api-dev-pr42"
CLUSTER = rds_cluster.RdsCluster.TF_RESOURCE_TYPE


def cluster(synth: Synthesized, stack: str) -> dict[str, Any]:
    return synth.resource(stack, CLUSTER, "database/cluster")


def database_resources(synth: Synthesized, stack: str, resource_type: str) -> list[dict[str, Any]]:
    return [b for b in synth.resources(stack, resource_type).values() if "/database/" in b["//"]["metadata"]["path"]]


def test_cluster_is_aurora_mysql_3_on_the_major_version(synth: Synthesized) -> None:
    # "8.0": auto minor upgrades move the cluster on, and the plan never asks to go back.
    assert Testing.to_have_resource_with_properties(
        synth.text(DEV),
        CLUSTER,
        {"engine": "aurora-mysql", "engine_mode": "provisioned", "engine_version": "8.0", "cluster_identifier": "order-api-dev-aurora"},
    )


def test_instances_take_the_cluster_engine_version(synth: Synthesized) -> None:
    for stack in (DEV, PROD):
        for body in database_resources(synth, stack, "aws_rds_cluster_instance"):
            assert "engine_version" not in body
            assert body["auto_minor_version_upgrade"] is True


def test_a_full_engine_version_pin_is_passed_through() -> None:
    stack = _database_stack(DatabaseConfig(engine_version="8.0.mysql_aurora.3.08.2"))
    assert stack["resource"][CLUSTER]["database_cluster_FAF2FB92"]["engine_version"] == "8.0.mysql_aurora.3.08.2"


def test_writer_and_reader_are_in_different_azs(synth: Synthesized) -> None:
    writer = synth.resource(DEV, "aws_rds_cluster_instance", "database/writer")
    reader = synth.resource(DEV, "aws_rds_cluster_instance", "database/reader_0")
    assert writer["availability_zone"] == "us-east-1a"
    assert reader["availability_zone"] == "us-east-1b"
    assert reader["depends_on"] == ["aws_rds_cluster_instance.database_writer_36AD03F8"]
    assert (writer["promotion_tier"], reader["promotion_tier"]) == (0, 1)


def test_instances_are_private_monitored_and_upgraded(synth: Synthesized) -> None:
    for body in database_resources(synth, PROD, "aws_rds_cluster_instance"):
        assert body["publicly_accessible"] is False
        assert body["auto_minor_version_upgrade"] is True
        assert body["monitoring_interval"] == 60
        assert "database_monitoring_role" in body["monitoring_role_arn"]
        assert body["performance_insights_enabled"] is True
        assert "aws_kms_key.database_key" in body["performance_insights_kms_key_id"]


@pytest.mark.parametrize(("stack", "mode", "retention"), [(DEV, "standard", 7), (STAGING, "standard", 7), (PROD, "advanced", 465)])
def test_database_insights_with_the_retention_its_mode_needs(synth: Synthesized, stack: str, mode: str, retention: int) -> None:
    cluster = synth.resource(stack, CLUSTER, "database/cluster")
    assert (cluster["database_insights_mode"], cluster["performance_insights_enabled"]) == (mode, True)
    assert cluster["performance_insights_retention_period"] == retention
    assert cluster["performance_insights_kms_key_id"] == synth.ref(stack, "aws_kms_key", "database/key/key", "arn")
    # AWS requires the same Performance Insights settings on every instance of the cluster.
    assert {b["performance_insights_retention_period"] for b in database_resources(synth, stack, "aws_rds_cluster_instance")} == {retention}


def test_instance_class_follows_the_environment(synth: Synthesized) -> None:
    assert {b["instance_class"] for b in database_resources(synth, DEV, "aws_rds_cluster_instance")} == {"db.serverless"}
    assert {b["instance_class"] for b in database_resources(synth, PROD, "aws_rds_cluster_instance")} == {"db.r6g.large"}


def test_serverless_capacity_only_for_serverless_instances(synth: Synthesized) -> None:
    assert cluster(synth, DEV)["serverlessv2_scaling_configuration"] == {"min_capacity": 0.5, "max_capacity": 4}
    assert "serverlessv2_scaling_configuration" not in cluster(synth, PROD)


@pytest.mark.parametrize("stack", [DEV, STAGING, PROD, EPHEMERAL])
def test_data_api_is_on_for_user_provisioning(synth: Synthesized, stack: str) -> None:
    assert cluster(synth, stack)["enable_http_endpoint"] is True


def test_data_api_can_be_turned_off() -> None:
    stack = _database_stack(DatabaseConfig(data_api=False))
    assert stack["resource"][CLUSTER]["database_cluster_FAF2FB92"]["enable_http_endpoint"] is False


def test_connection_is_the_app_user_over_iam(synth: Synthesized) -> None:
    statements = {s["sid"]: s for s in _task_policy(synth, DEV)}
    connect = statements["ConnectToDatabase"]
    assert connect["actions"] == ["rds-db:connect"]
    assert connect["resources"] == [
        "arn:${data.aws_partition.partition.partition}:rds-db:us-east-1:${data.aws_caller_identity.caller.account_id}:"
        "dbuser:${aws_rds_cluster.database_cluster_FAF2FB92.cluster_resource_id}/orders_app"
    ]


def test_users_output_lists_the_app_user_and_its_schema_privileges(synth: Synthesized) -> None:
    outputs = synth.doc(DEV)["output"]
    assert json.loads(outputs["database_users"]["value"]) == {"orders_app": ["DELETE", "INSERT", "SELECT", "UPDATE"]}
    assert outputs["database_app_username"]["value"] == "orders_app"
    assert outputs["database_name"]["value"] == "orders"


def test_users_include_the_migration_user_when_configured() -> None:
    config = DatabaseConfig(migration_username="orders_migrate", app_privileges=("SELECT",))
    assert database_users(config) == {"orders_app": ["SELECT"], "orders_migrate": sorted(MIGRATION_PRIVILEGES)}
    assert "ALL" not in MIGRATION_PRIVILEGES and "GRANT OPTION" not in MIGRATION_PRIVILEGES


def _task_policy(synth: Synthesized, stack: str) -> list[dict[str, Any]]:
    docs = synth.doc(stack)["data"]["aws_iam_policy_document"]
    (doc,) = [d for d in docs.values() if d["//"]["metadata"]["path"].endswith("service/task_policy")]
    statements: list[dict[str, Any]] = doc["statement"]
    return statements


def _database_stack(config: DatabaseConfig, *, disposable: bool = False, production: bool = False, zones: list[str] | None = None) -> dict[str, Any]:
    """One Database component in a stack of its own, synthesized."""
    app = Testing.app()
    stack = TerraformStack(app, "db")
    provider.AwsProvider(stack, "aws", region="us-east-1")
    Database(
        stack,
        "database",
        name_prefix="order-api-test",
        config=config,
        aws=AwsContext(account_id="${data.aws_caller_identity.c.account_id}", partition="aws", region="us-east-1"),
        vpc_id="vpc-1",
        subnet_ids=["s1", "s2", "s3"],
        availability_zones=zones or ["us-east-1a", "us-east-1b", "us-east-1c"],
        log_retention_days=7,
        log_key_arn="arn:aws:kms:us-east-1:111111111111:key/x",
        production=production,
        disposable=disposable,
    )
    result: dict[str, Any] = json.loads(Testing.synth(stack))
    return result


def test_storage_is_encrypted_with_the_database_key(synth: Synthesized) -> None:
    body = cluster(synth, DEV)
    assert body["storage_encrypted"] is True
    assert body["kms_key_id"] == "${aws_kms_key.database_key_CA7EEF20.arn}"
    key = synth.resource(DEV, "aws_kms_key", "database/key/key")
    assert key["enable_key_rotation"] is True


def test_master_password_is_managed_by_rds_and_encrypted_with_the_key(synth: Synthesized) -> None:
    body = cluster(synth, DEV)
    assert body["manage_master_user_password"] is True
    assert body["master_user_secret_kms_key_id"] == "${aws_kms_key.database_key_CA7EEF20.arn}"
    assert "master_password" not in body and "master_password_wo" not in body
    assert body["iam_database_authentication_enabled"] is True


def _password_literals(node: Any, path: str = "") -> list[str]:
    """Paths of every key mentioning 'password' whose value is a literal string."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{path}.{key}"
            if "password" in key.lower() and isinstance(value, str) and not value.startswith("${"):
                found.append(here)
            found += _password_literals(value, here)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _password_literals(value, f"{path}[{i}]")
    elif isinstance(node, str) and node.lstrip().startswith(("{", "[")):
        with contextlib.suppress(ValueError):
            found += _password_literals(json.loads(node), path)
    return found


@pytest.mark.parametrize("stack", [DEV, STAGING, PROD, EPHEMERAL])
def test_no_password_anywhere_in_the_json(synth: Synthesized, stack: str) -> None:
    assert _password_literals(synth.doc(stack)) == []
    assert '"master_password"' not in synth.text(stack)


def test_password_scan_would_catch_a_literal() -> None:
    assert _password_literals({"resource": {"x": {"y": {"master_password": "hunter2"}}}}) == [".resource.x.y.master_password"]


def test_managed_secret_rotation_follows_the_config(synth: Synthesized) -> None:
    assert Testing.to_have_resource_with_properties(
        synth.text(DEV),
        secretsmanager_secret_rotation.SecretsmanagerSecretRotation.TF_RESOURCE_TYPE,
        {
            "secret_id": "${aws_rds_cluster.database_cluster_FAF2FB92.master_user_secret[0].secret_arn}",
            "rotation_rules": {"automatically_after_days": 7},
            "rotate_immediately": False,
        },
    )
    (rotation,) = synth.resources(DEV, secretsmanager_secret_rotation.SecretsmanagerSecretRotation.TF_RESOURCE_TYPE).values()
    assert "rotation_lambda_arn" not in rotation


def test_log_exports_go_to_precreated_encrypted_log_groups(synth: Synthesized) -> None:
    body = cluster(synth, PROD)
    kinds = ("audit", "error", "general", "slowquery")
    assert sorted(body["enabled_cloudwatch_logs_exports"]) == list(kinds)
    for kind in kinds:
        group = synth.resource(PROD, "aws_cloudwatch_log_group", f"database/{kind}_log_group")
        assert group["name"] == f"/aws/rds/cluster/order-api-prod-aurora/{kind}"
        assert group["retention_in_days"] == 365
        assert "aws_kms_key.logs_key" in group["kms_key_id"]
    assert len(body["depends_on"]) == 4
    assert all(d.startswith("aws_cloudwatch_log_group.database_") for d in body["depends_on"])


def test_cluster_parameter_group_requires_tls_and_audits(synth: Synthesized) -> None:
    group = synth.resource(DEV, rds_cluster_parameter_group.RdsClusterParameterGroup.TF_RESOURCE_TYPE, "database/cluster_parameter_group")
    assert group["family"] == "aurora-mysql8.0"
    params = {p["name"]: p["value"] for p in group["parameter"]}
    assert params["require_secure_transport"] == "ON"
    assert params["server_audit_logging"] == "1"
    assert params["server_audit_events"] == "CONNECT,QUERY_DCL,QUERY_DDL"
    assert params["slow_query_log"] == "1"
    assert "aws_rds_cluster_parameter_group.database_cluster_parameter_group" in cluster(synth, DEV)["db_cluster_parameter_group_name"]


def test_subnet_group_uses_the_isolated_subnets(synth: Synthesized) -> None:
    group = synth.resource(DEV, "aws_db_subnet_group", "database/subnet_group")
    assert len(group["subnet_ids"]) == 3
    assert all("network_isolated_subnet_" in s for s in group["subnet_ids"])


def test_security_group_admits_only_mysql_from_the_service(synth: Synthesized) -> None:
    sg = synth.resource(DEV, "aws_security_group", "database/security_group")
    assert "ingress" not in sg and "egress" not in sg
    rules = database_resources(synth, DEV, "aws_vpc_security_group_ingress_rule")
    assert len(rules) == 1
    (rule,) = rules
    assert (rule["ip_protocol"], rule["from_port"], rule["to_port"]) == ("tcp", 3306, 3306)
    assert "aws_security_group.service_" in rule["referenced_security_group_id"]
    assert "cidr_ipv4" not in rule and "cidr_ipv6" not in rule
    assert database_resources(synth, DEV, "aws_vpc_security_group_egress_rule") == []


def test_allow_connections_from_adds_one_3306_rule_per_call(tmp_path) -> None:
    app = App(outdir=str(tmp_path))
    stack = TerraformStack(app, "standalone")
    provider.AwsProvider(stack, "aws", region="us-east-1")
    db = Database(
        stack,
        "database",
        name_prefix="order-api-test",
        config=DatabaseConfig(),
        aws=AwsContext(account_id="${data.aws_caller_identity.x.account_id}", partition="aws", region="us-east-1"),
        vpc_id="vpc-1",
        subnet_ids=["subnet-1", "subnet-2"],
        availability_zones=["us-east-1a", "us-east-1b"],
        log_retention_days=7,
        log_key_arn="arn:aws:kms:us-east-1:111122223333:key/1",
        production=False,
    )
    db.allow_connections_from("sg-app", "the app")
    db.allow_connections_from("sg-jobs", "batch jobs")
    doc = json.loads(Testing.synth(stack))
    rules = list(doc["resource"]["aws_vpc_security_group_ingress_rule"].values())
    assert sorted(r["referenced_security_group_id"] for r in rules) == ["sg-app", "sg-jobs"]
    assert {(r["from_port"], r["to_port"], r["ip_protocol"]) for r in rules} == {(3306, 3306, "tcp")}
    assert {r["description"] for r in rules} == {"MySQL from the app", "MySQL from batch jobs"}


def test_backups_windows_and_snapshots_in_prod(synth: Synthesized) -> None:
    assert Testing.to_have_resource_with_properties(
        synth.text(PROD),
        CLUSTER,
        {
            "backup_retention_period": 7,
            "preferred_backup_window": "03:00-04:00",
            "preferred_maintenance_window": "sun:04:30-sun:05:30",
            "copy_tags_to_snapshot": True,
            "skip_final_snapshot": False,
            "deletion_protection": True,
            "delete_automated_backups": False,
        },
    )


def test_backtrack_is_on_in_prod_only(synth: Synthesized) -> None:
    assert cluster(synth, PROD)["backtrack_window"] == 24 * 3600
    assert cluster(synth, DEV)["backtrack_window"] == 0


@pytest.mark.parametrize("stack", [DEV, STAGING, PROD])
def test_standing_environments_keep_a_final_snapshot_named_for_this_cluster(synth: Synthesized, stack: str) -> None:
    body = cluster(synth, stack)
    assert body["skip_final_snapshot"] is False
    (stamp_id, stamp) = next(iter(synth.resources(stack, "terraform_data").items()))
    assert body["final_snapshot_identifier"] == f'{stack}-final-${{formatdate("YYYYMMDDhhmmss", terraform_data.{stamp_id}.output.created)}}'
    # Stamped once, at the cluster's first apply: later plans leave it alone.
    assert stamp["input"] == {"created": "${timestamp()}"}
    assert stamp["lifecycle"] == {"ignore_changes": ["input"]}


@pytest.mark.parametrize("stack", [DEV, STAGING, PROD])
def test_standing_environments_retain_the_key_their_final_snapshot_needs(synth: Synthesized, stack: str) -> None:
    assert synth.resource(stack, "aws_kms_key", "database/key/key")["lifecycle"] == {"prevent_destroy": True}


def test_a_disposable_copy_leaves_no_snapshot_and_no_retained_key(synth: Synthesized) -> None:
    body = cluster(synth, EPHEMERAL)
    assert body["deletion_protection"] is False
    assert body["skip_final_snapshot"] is True
    assert "final_snapshot_identifier" not in body
    assert synth.resources(EPHEMERAL, "terraform_data") == {}
    assert "lifecycle" not in synth.resource(EPHEMERAL, "aws_kms_key", "database/key/key")


def test_the_vault_is_named_for_the_clusters_lifetime_like_the_final_snapshot(synth: Synthesized) -> None:
    """make teardown keeps the vault with its recovery points: a new deploy must not want its name."""
    (stamp,) = synth.resources(PROD, "terraform_data")
    created = f'${{formatdate("YYYYMMDDhhmmss", terraform_data.{stamp}.output.created)}}'
    vault = synth.resource(PROD, "aws_backup_vault", "database/backup_vault")
    cluster = synth.resource(PROD, "aws_rds_cluster", "database/cluster")
    assert vault["name"] == f"order-api-prod-database-{created}"
    assert cluster["final_snapshot_identifier"] == f"order-api-prod-final-{created}"


def test_aws_backup_plan_in_prod_only(synth: Synthesized) -> None:
    vault = synth.resource(PROD, "aws_backup_vault", "database/backup_vault")
    assert vault["kms_key_arn"] == "${aws_kms_key.database_key_CA7EEF20.arn}"
    plan = synth.resource(PROD, "aws_backup_plan", "database/backup_plan")
    (rule,) = plan["rule"]
    assert rule["schedule"] == "cron(0 6 ? * * *)"  # after the Sunday 04:30-05:30 maintenance window
    assert rule["lifecycle"]["delete_after"] == 35
    selection = synth.resource(PROD, "aws_backup_selection", "database/backup_selection")
    assert selection["resources"] == ["${aws_rds_cluster.database_cluster_FAF2FB92.arn}"]
    attachment = synth.resource(PROD, "aws_iam_role_policy_attachment", "database/backup_role_policy")
    assert attachment["policy_arn"] == "arn:${data.aws_partition.partition.partition}:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup"
    assert synth.resources(DEV, "aws_backup_plan") == {}


def test_prod_restore_tests_the_newest_recovery_point_weekly(synth: Synthesized) -> None:
    plan = synth.resource(PROD, "aws_backup_restore_testing_plan", "database/restore_testing_plan")
    assert plan["name"] == "order_api_prod_database"  # letters, digits and '_' only
    # Weekly, on a working day's morning UTC, after the daily 06:00 backup.
    assert (plan["schedule_expression"], plan["schedule_expression_timezone"]) == ("cron(0 10 ? * TUE *)", "Etc/UTC")
    (selection_rule,) = plan["recovery_point_selection"]
    assert selection_rule == {
        "algorithm": "LATEST_WITHIN_WINDOW",
        "include_vaults": [synth.ref(PROD, "aws_backup_vault", "database/backup_vault", "arn")],
        "recovery_point_types": ["SNAPSHOT"],
        "selection_window_days": 7,
    }
    selection = synth.resource(PROD, "aws_backup_restore_testing_selection", "database/restore_testing_selection")
    assert (selection["name"], selection["protected_resource_type"]) == ("order_api_prod_aurora", "Aurora")
    assert selection["protected_resource_arns"] == [synth.ref(PROD, "aws_rds_cluster", "database/cluster", "arn")]
    # The restored cluster is deleted after an hour (there is no validation hook yet to use a longer window).
    assert selection["validation_window_hours"] == 1
    assert synth.resources(DEV, "aws_backup_restore_testing_plan") == {} and synth.resources(STAGING, "aws_backup_restore_testing_selection") == {}


def test_restore_tests_run_with_their_own_restore_only_role(synth: Synthesized) -> None:
    selection = synth.resource(PROD, "aws_backup_restore_testing_selection", "database/restore_testing_selection")
    assert selection["iam_role_arn"] == synth.ref(PROD, "aws_iam_role", "database/restore_test_role", "arn")
    role = synth.resource(PROD, "aws_iam_role", "database/restore_test_role")
    assert role["name"] == "order-api-prod-database-restore-test"
    attachments = [
        a
        for a in synth.resources(PROD, "aws_iam_role_policy_attachment").values()
        if a["role"] == synth.ref(PROD, "aws_iam_role", "database/restore_test_role", "name")
    ]
    assert [a["policy_arn"] for a in attachments] == [
        "arn:${data.aws_partition.partition.partition}:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores"
    ]
    assert not [p for p in synth.resources(PROD, "aws_iam_role_policy").values() if p["role"] == role["name"]]
    (trust,) = [
        b for b in synth.doc(PROD)["data"]["aws_iam_policy_document"].values() if b["//"]["metadata"]["path"].endswith("database/restore_test_role_trust")
    ]
    (statement,) = trust["statement"]
    assert statement["principals"] == [{"type": "Service", "identifiers": ["backup.amazonaws.com"]}]


def test_aws_backup_without_restore_tests_has_none() -> None:
    stack = _database_stack(DatabaseConfig(aws_backup=True))
    assert stack["resource"]["aws_backup_plan"]
    assert "aws_backup_restore_testing_plan" not in stack["resource"] and "aws_backup_restore_testing_selection" not in stack["resource"]
    with_tests = _database_stack(DatabaseConfig(aws_backup=True, restore_testing=True))
    assert len(with_tests["resource"]["aws_backup_restore_testing_selection"]) == 1


def test_fails_restore_testing_without_aws_backup() -> None:
    with pytest.raises(ConfigError) as excinfo:
        DatabaseConfig(restore_testing=True)
    assert excinfo.value.field_name == "database.restore_testing"
    assert DatabaseConfig(aws_backup=True, restore_testing=True).restore_testing is True


def test_enhanced_monitoring_role_uses_the_managed_policy(synth: Synthesized) -> None:
    attachment = synth.resource(DEV, "aws_iam_role_policy_attachment", "database/monitoring_role_policy")
    assert attachment["policy_arn"] == "arn:${data.aws_partition.partition.partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
    trust = synth.doc(DEV)["data"]["aws_iam_policy_document"]
    (doc,) = [b for b in trust.values() if b["//"]["metadata"]["path"].endswith("database/monitoring_role_trust")]
    (statement,) = doc["statement"]
    assert statement["principals"] == [{"identifiers": ["monitoring.rds.amazonaws.com"], "type": "Service"}]


def test_reader_auto_scaling_in_prod_tracks_cpu(synth: Synthesized) -> None:
    target = synth.resource(PROD, "aws_appautoscaling_target", "database/reader_scaling_target")
    assert (target["min_capacity"], target["max_capacity"]) == (1, 3)
    assert target["scalable_dimension"] == "rds:cluster:ReadReplicaCount"
    assert target["resource_id"] == "cluster:${aws_rds_cluster.database_cluster_FAF2FB92.cluster_identifier}"
    # Destroyed before the instances it depends on.
    assert sorted(target["depends_on"]) == ["aws_rds_cluster_instance.database_reader_0_66E84E0D", "aws_rds_cluster_instance.database_writer_36AD03F8"]
    policy = synth.resource(PROD, "aws_appautoscaling_policy", "database/reader_scaling_policy")
    tracking = policy["target_tracking_scaling_policy_configuration"]
    assert tracking["target_value"] == 70
    assert tracking["predefined_metric_specification"]["predefined_metric_type"] == "RDSReaderAverageCPUUtilization"
    assert database_resources(synth, DEV, "aws_appautoscaling_target") == []


@pytest.mark.parametrize(
    ("name", "description", "sensitive"),
    [
        ("database_writer_endpoint", "Aurora writer", False),
        ("database_reader_endpoint", "Aurora reader", False),
        ("database_port", "MySQL port", False),
        ("database_secret_arn", "Secrets Manager secret", True),
        ("database_app_username", "MySQL user the application", False),
        ("database_cluster_arn", "Aurora cluster ARN", False),
        ("database_cluster_identifier", "Aurora cluster identifier", False),
    ],
)
def test_outputs_are_described(synth: Synthesized, name: str, description: str, sensitive: bool) -> None:
    output = synth.doc(DEV)["output"][name]
    assert output["description"].startswith(description)
    assert output.get("sensitive", False) is sensitive


def test_database_resources_carry_the_component_tag(synth: Synthesized) -> None:
    assert Testing.to_have_resource_with_properties(synth.text(DEV), CLUSTER, {"tags": {"component": "database", "Name": "order-api-dev-aurora"}})


# --------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------


def test_database_defaults_are_documented_values() -> None:
    db = DatabaseConfig()
    assert (db.backup_retention_days, db.secret_rotation_days, db.reader_count, db.max_readers) == (7, 7, 1, 3)
    assert (db.backup_window, db.maintenance_window) == ("03:00-04:00", "sun:04:30-sun:05:30")
    prod = catalogue("us-east-1")["prod"].database
    assert (prod.instance_class, prod.reader_auto_scaling, prod.aws_backup, prod.deletion_protection) == ("db.r6g.large", True, True, True)
    assert (db.restore_testing, prod.restore_testing) == (False, True)


@pytest.mark.parametrize(
    ("kwargs", "field_name"),
    [
        ({"engine_version": "5.7.mysql_aurora.2.11.2"}, "database.engine_version"),
        ({"instance_class": "db.t4g.medium"}, "database.instance_class"),  # no Data API on T classes
        ({"instance_class": "db.t3.medium"}, "database.instance_class"),  # no Performance Insights
        ({"instance_class": "db.t4g.small"}, "database.instance_class"),  # no Performance Insights
        ({"instance_class": "m5.large"}, "database.instance_class"),
        ({"reader_count": 0}, "database.reader_count"),
        ({"reader_count": 15}, "database.reader_count"),
        ({"reader_count": 2, "max_readers": 1}, "database.max_readers"),
        ({"max_readers": 16}, "database.max_readers"),
        ({"reader_cpu_target_percent": 95}, "database.reader_cpu_target_percent"),
        ({"database_name": "1orders"}, "database.database_name"),
        ({"database_name": "orders-db"}, "database.database_name"),
        ({"master_username": "rdsadmin"}, "database.master_username"),
        ({"master_username": "a" * 17}, "database.master_username"),
        ({"secret_rotation_days": 0}, "database.secret_rotation_days"),
        ({"secret_rotation_days": 366}, "database.secret_rotation_days"),
        ({"backup_window": "3:00-4:00"}, "database.backup_window"),
        ({"backup_window": "03:00-03:15"}, "database.backup_window"),
        ({"maintenance_window": "sunday:04:30-sunday:05:30"}, "database.maintenance_window"),
        ({"maintenance_window": "sun:04:30-sun:04:45"}, "database.maintenance_window"),
        ({"maintenance_window": "sun:03:30-sun:04:30"}, "database.maintenance_window"),
        ({"backup_window": "23:30-00:30", "maintenance_window": "mon:00:00-mon:01:00"}, "database.maintenance_window"),
        ({"backtrack_window_hours": 73}, "database.backtrack_window_hours"),
        ({"monitoring_interval_seconds": 0}, "database.monitoring_interval_seconds"),
        ({"performance_insights_retention_days": 30}, "database.performance_insights_retention_days"),
        ({"database_insights_mode": "premium"}, "database.database_insights_mode"),
        ({"database_insights_mode": "advanced", "performance_insights_retention_days": 434}, "database.performance_insights_retention_days"),
        ({"aws_backup_retention_days": 0}, "database.aws_backup_retention_days"),
        ({"aws_backup": True, "restore_testing": "yes"}, "database.restore_testing"),
    ],
)
def test_fails_bad_database_field(kwargs: dict[str, Any], field_name: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        DatabaseConfig(**kwargs)
    assert excinfo.value.field_name == field_name
    assert "\n" not in str(excinfo.value)


def test_fails_prod_that_skips_the_final_snapshot() -> None:
    prod = catalogue("us-east-1")["prod"]
    with pytest.raises(ConfigError, match=r"database\.skip_final_snapshot"):
        replace(prod, database=replace(prod.database, skip_final_snapshot=True))


def test_a_t_class_is_allowed_without_the_data_api() -> None:
    assert DatabaseConfig(instance_class="db.t4g.medium", data_api=False).instance_class == "db.t4g.medium"


def test_an_old_full_version_is_allowed_without_the_data_api() -> None:
    assert DatabaseConfig(engine_version="8.0.mysql_aurora.3.05.2", data_api=False).engine_version == "8.0.mysql_aurora.3.05.2"


def test_dev_may_skip_the_final_snapshot() -> None:
    dev = catalogue("us-east-1")["dev"]
    assert replace(dev, database=replace(dev.database, skip_final_snapshot=True)).database.skip_final_snapshot is True


def test_fails_with_a_single_availability_zone() -> None:
    with pytest.raises(ValueError, match="at least two availability zones"):
        _database_stack(DatabaseConfig(), zones=["us-east-1a"])
