"""Aurora MySQL: encrypted cluster, writer and readers, managed rotated credentials, logs, backups."""

from __future__ import annotations

import json
from collections.abc import Sequence

from stacks.aws import (
    appautoscaling_policy,
    appautoscaling_target,
    backup_plan,
    backup_restore_testing_plan,
    backup_restore_testing_selection,
    backup_selection,
    backup_vault,
    cloudwatch_log_group,
    db_subnet_group,
    iam_role,
    rds_cluster,
    rds_cluster_instance,
    rds_cluster_parameter_group,
    secretsmanager_secret_rotation,
)
from stacks.components.common import (
    AwsContext,
    DatabaseConnection,
    EncryptionKey,
    log_group,
    named_security_group,
    service_role,
    tcp_rule,
)
from stacks.config import DatabaseConfig
from stacks.config.database import MIGRATION_PRIVILEGES
from stacks.framework import Construct, TerraformResource, TerraformResourceLifecycle

ENGINE = "aurora-mysql"
PARAMETER_GROUP_FAMILY = "aurora-mysql8.0"
PORT = 3306
#: Log types the cluster publishes to CloudWatch Logs (all that Aurora MySQL has).
LOG_EXPORTS = ("audit", "error", "general", "slowquery")
#: Statements the audit log records: connections, grants and schema changes.
AUDIT_EVENTS = "CONNECT,QUERY_DCL,QUERY_DDL"
SERVERLESS = "db.serverless"
#: CA of the instances' TLS certificates (RSA 2048, valid until 2061).
CA_CERTIFICATE = "rds-ca-rsa2048-g1"
#: Daily AWS Backup job, 06:00 UTC: after the default automated backup window and
#: the Sunday maintenance window (04:30-05:30), so the two never overlap.
AWS_BACKUP_SCHEDULE = "cron(0 6 ? * * *)"
#: Weekly restore test: Tuesdays 10:00 UTC, a working day's morning (a failure is handled
#: the same day), from the newest recovery point of the last week (daily: yesterday's).
RESTORE_TEST_SCHEDULE = "cron(0 10 ? * TUE *)"
RESTORE_TEST_START_WINDOW_HOURS = 2
RESTORE_TEST_SELECTION_DAYS = 7
#: Hours AWS Backup keeps the restored cluster (for a validation hook) before it deletes it.
RESTORE_TEST_VALIDATION_HOURS = 1


def restore_testing_name(name_prefix: str, part: str) -> str:
    """AWS Backup restore testing names allow letters, digits and '_' only (at most 50)."""
    return f"{name_prefix}-{part}".replace("-", "_")


class Database(Construct):
    """Aurora MySQL 3 (MySQL 8.0) cluster in the isolated subnets.

    - **Instances**: one writer and ``config.reader_count`` readers, each pinned to
      an AZ other than the writer's (round robin over ``availability_zones``), all
      of ``config.instance_class``; private, auto minor version upgrade, enhanced
      monitoring (own IAM role).  CloudWatch Database Insights on the cluster
      (``config.database_insights_mode``), over Performance Insights encrypted with
      the key, with the same retention on the cluster and every instance.
    - **Encryption**: storage, Performance Insights, the master secret and the
      AWS Backup vault use one customer-managed KMS key (rotation on).  TLS is
      required (``require_secure_transport``); IAM database authentication is on.
    - **Credentials**: ``manage_master_user_password``: RDS creates the master
      password, stores it in a Secrets Manager secret (``rds!cluster-...``)
      encrypted with the key, and rotates it itself (managed rotation, no Lambda).
      RDS turns rotation on by default every 7 days; the
      ``aws_secretsmanager_secret_rotation`` resource on
      ``master_user_secret[0].secret_arn`` (no ``rotation_lambda_arn``: optional
      since provider 5.24 for managed secrets) makes the schedule
      ``config.secret_rotation_days`` explicit and reviewable.  No password is
      ever in the Terraform configuration or state.  The master secret is for
      administrators and the user provisioning step only: applications log in as
      ``config.app_username`` with IAM authentication (``connection``), so a
      rotation never breaks them.
    - **Data API** (``config.data_api``): the cluster's HTTP endpoint, through
      which ``make db-users`` creates the IAM-authenticated users and their
      grants (:func:`database_users`) with the master secret, from outside the VPC.
    - **Reader auto scaling** (``config.reader_auto_scaling``): Application Auto
      Scaling on ``rds:cluster:ReadReplicaCount`` between ``reader_count`` and
      ``max_readers`` readers, tracking average reader CPU.  The readers it adds
      are not in Terraform state, and AWS does **not** delete them with the
      cluster: ``DeleteDBCluster`` fails ("still contains DB instances in
      non-deleting state") while any instance exists, and deregistering the
      scalable target does not remove the readers it added.  So the scaling
      target depends on the instances (destroy order: policy, target, Terraform's
      instances, cluster), and before destroying a cluster with auto scaling on,
      set ``max_readers`` to ``reader_count`` and apply (auto scaling then
      removes the readers it added), or delete the ``application-autoscaling-*``
      instances; only then destroy.
    - **Backups**: automated backups (retention and window from config),
      ``copy_tags_to_snapshot``, a final snapshot ``<name_prefix>-final-<created>``
      unless ``config.skip_final_snapshot`` (refused in prod) or ``disposable``
      (a suffixed copy, destroyed without one), automated backups kept after
      deletion in production, deletion protection from config, and optionally an
      AWS Backup plan (daily, to the vault ``<name_prefix>-database-<created>``
      encrypted with the key) and then optionally
      weekly restore tests (:meth:`_restore_testing`).  The key of a
      standing environment is retained (``prevent_destroy``): the final snapshot
      is unreadable without it.
    - **Logs**: audit, error, general and slow query logs go to log groups created
      here first (retention, logs KMS key), so RDS never creates unencrypted,
      never-expiring ones.

    Built in named steps: :meth:`_parameter_group`, :meth:`_log_groups`,
    :meth:`_cluster`, :meth:`_instances`, :meth:`_credentials`, and the optional
    :meth:`_reader_auto_scaling` and :meth:`_aws_backup`.

    Network: a security group with no egress and no ingress except what
    :meth:`allow_connections_from` adds (MySQL from another security group).

    Attributes: ``cluster_identifier``, ``cluster_arn``, ``writer_endpoint``,
    ``reader_endpoint``, ``port``, ``database_name``, ``secret_arn``,
    ``kms_key_arn``, ``security_group_id``, ``app_username``, ``users``,
    ``connection``, ``restore_testing_plan_arn`` (``None`` without restore tests).
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        name_prefix: str,
        config: DatabaseConfig,
        aws: AwsContext,
        vpc_id: str,
        subnet_ids: Sequence[str],
        availability_zones: Sequence[str],
        log_retention_days: int,
        log_key_arn: str,
        production: bool,
        disposable: bool = False,
    ) -> None:
        super().__init__(scope, id_)
        if len(availability_zones) < 2:
            raise ValueError("database: the writer and the readers need at least two availability zones")
        self._ingress_rules = 0
        self._config = config
        self._stamp: str | None = None
        self.cluster_identifier = f"{name_prefix}-aurora"
        self.restore_testing_plan_arn: str | None = None

        self.key = EncryptionKey(
            self,
            "key",
            alias=f"{name_prefix}-database",
            description=f"{name_prefix}: Aurora storage, Performance Insights, master secret, backups",
            aws=aws,
            # The final snapshot (and prod's retained backups) outlive the cluster and need this key.
            retain=not disposable,
        )
        self.kms_key_arn = self.key.arn
        self.security_group = named_security_group(
            self,
            "security_group",
            name=f"{name_prefix}-database",
            description="Aurora MySQL: MySQL from the allowed security groups only, no egress",
            vpc_id=vpc_id,
        )
        self.security_group_id = self.security_group.id
        subnet_group = db_subnet_group.DbSubnetGroup(
            self,
            "subnet_group",
            name=f"{name_prefix}-database",
            description="Isolated subnets of the Aurora cluster",
            subnet_ids=list(subnet_ids),
        )

        self._subnet_group_name = subnet_group.name
        log_groups = self._log_groups(log_retention_days, log_key_arn)
        self._cluster(name_prefix, subnet_group, self._parameter_group(name_prefix), log_groups, production=production, disposable=disposable)
        self._instances(name_prefix, aws, subnet_group, list(availability_zones))
        self._credentials()
        if config.reader_auto_scaling:
            self._reader_auto_scaling(name_prefix, config)
        if config.aws_backup:
            self._aws_backup(name_prefix, config, aws)

        self.app_username = config.app_username
        self.users = database_users(config)
        self.connection = DatabaseConnection(
            host=self.writer_endpoint,
            reader_host=self.reader_endpoint,
            port=self.port,
            name=self.database_name,
            username=config.app_username,
            connect_arn=aws.arn("rds-db", f"dbuser:{self.cluster.cluster_resource_id}/{config.app_username}"),
        )

    def _parameter_group(self, name_prefix: str) -> rds_cluster_parameter_group.RdsClusterParameterGroup:
        """TLS only; the audit log (connections, grants, schema changes), the slow query log."""
        return rds_cluster_parameter_group.RdsClusterParameterGroup(
            self,
            "cluster_parameter_group",
            name=f"{name_prefix}-aurora-mysql8",
            family=PARAMETER_GROUP_FAMILY,
            description="TLS only, audit log, slow query log",
            parameter=[
                _parameter("require_secure_transport", "ON"),
                _parameter("server_audit_logging", "1"),
                _parameter("server_audit_events", AUDIT_EVENTS),
                _parameter("slow_query_log", "1"),
                _parameter("long_query_time", "2"),
                _parameter("general_log", "1" if self._config.general_log else "0"),
                _parameter("log_output", "FILE"),
            ],
        )

    def _log_groups(self, retention_days: int, kms_key_arn: str) -> list[cloudwatch_log_group.CloudwatchLogGroup]:
        """The exported logs' groups, created first so RDS never makes unencrypted, never-expiring ones."""
        return [
            log_group(
                self, f"{kind}_log_group", name=f"/aws/rds/cluster/{self.cluster_identifier}/{kind}", retention_days=retention_days, kms_key_arn=kms_key_arn
            )
            for kind in LOG_EXPORTS
        ]

    def _cluster(
        self,
        name_prefix: str,
        subnet_group: db_subnet_group.DbSubnetGroup,
        parameters: rds_cluster_parameter_group.RdsClusterParameterGroup,
        log_groups: list[cloudwatch_log_group.CloudwatchLogGroup],
        *,
        production: bool,
        disposable: bool,
    ) -> None:
        """The encrypted cluster with its managed master secret, backups and Database Insights."""
        config = self._config
        # A disposable copy leaves nothing behind; a standing environment keeps a final
        # snapshot under a name unique to this cluster's lifetime.
        skip_final_snapshot = config.skip_final_snapshot or disposable
        self.cluster = rds_cluster.RdsCluster(
            self,
            "cluster",
            cluster_identifier=self.cluster_identifier,
            engine=ENGINE,
            engine_mode="provisioned",
            engine_version=config.engine_version,
            database_name=config.database_name,
            master_username=config.master_username,
            manage_master_user_password=True,
            master_user_secret_kms_key_id=self.key.arn,
            port=PORT,
            db_subnet_group_name=subnet_group.name,
            vpc_security_group_ids=[self.security_group.id],
            db_cluster_parameter_group_name=parameters.name,
            storage_encrypted=True,
            kms_key_id=self.key.arn,
            iam_database_authentication_enabled=True,
            # The Data API: users are provisioned through it, with no network path to the cluster.
            enable_http_endpoint=config.data_api,
            serverlessv2_scaling_configuration=rds_cluster.RdsClusterServerlessv2ScalingConfiguration(
                min_capacity=config.serverless_min_capacity, max_capacity=config.serverless_max_capacity
            )
            if config.instance_class == SERVERLESS
            else None,
            # Database Insights is set on the cluster and applies to every instance; it reads
            # Performance Insights, which the instances keep with the same settings.
            database_insights_mode=config.database_insights_mode,
            performance_insights_enabled=True,
            performance_insights_kms_key_id=self.key.arn,
            performance_insights_retention_period=config.performance_insights_retention_days,
            backup_retention_period=config.backup_retention_days,
            preferred_backup_window=config.backup_window,
            preferred_maintenance_window=config.maintenance_window,
            backtrack_window=config.backtrack_window_hours * 3600,
            copy_tags_to_snapshot=True,
            deletion_protection=config.deletion_protection,
            skip_final_snapshot=skip_final_snapshot,
            final_snapshot_identifier=None if skip_final_snapshot else self._final_snapshot_identifier(name_prefix),
            delete_automated_backups=not production,
            enabled_cloudwatch_logs_exports=list(LOG_EXPORTS),
            tags={"Name": self.cluster_identifier},
            depends_on=list(log_groups),
        )
        self.cluster_arn = self.cluster.arn
        self.writer_endpoint = self.cluster.endpoint
        self.reader_endpoint = self.cluster.reader_endpoint
        self.port = str(PORT)
        self.database_name = config.database_name
        self.secret_arn = self.cluster.master_user_secret.get(0).secret_arn

    def _instances(self, name_prefix: str, aws: AwsContext, subnet_group: db_subnet_group.DbSubnetGroup, zones: list[str]) -> None:
        """The writer, then the readers, each in another AZ than the writer (round robin)."""
        config = self._config
        monitoring_role = service_role(
            self,
            "monitoring_role",
            name=f"{name_prefix}-rds-monitoring",
            service="monitoring.rds.amazonaws.com",
            aws=aws,
            description="RDS enhanced monitoring of the Aurora instances",
            managed_policy="service-role/AmazonRDSEnhancedMonitoringRole",
        )

        def instance(
            id_: str, identifier: str, zone: str, tier: int, depends_on: list[rds_cluster_instance.RdsClusterInstance]
        ) -> rds_cluster_instance.RdsClusterInstance:
            return rds_cluster_instance.RdsClusterInstance(
                self,
                id_,
                identifier=identifier,
                cluster_identifier=self.cluster.id,
                engine=ENGINE,
                # No engine_version: Aurora instances run the cluster's, which auto minor upgrades move.
                instance_class=config.instance_class,
                availability_zone=zone,
                db_subnet_group_name=subnet_group.name,
                publicly_accessible=False,
                auto_minor_version_upgrade=True,
                ca_cert_identifier=CA_CERTIFICATE,
                promotion_tier=tier,
                monitoring_interval=config.monitoring_interval_seconds,
                monitoring_role_arn=monitoring_role.arn,
                performance_insights_enabled=True,
                performance_insights_kms_key_id=self.key.arn,
                performance_insights_retention_period=config.performance_insights_retention_days,
                tags={"Name": identifier},
                depends_on=list(depends_on),
            )

        # The first instance of a cluster becomes the writer: readers wait for it.
        self.writer = instance("writer", f"{self.cluster_identifier}-writer", zones[0], 0, [])
        self.readers = [
            instance(f"reader_{i}", f"{self.cluster_identifier}-reader-{i}", zones[1 + i % (len(zones) - 1)], 1, [self.writer])
            for i in range(config.reader_count)
        ]

    def _credentials(self) -> None:
        """RDS rotates the managed secret every 7 days by default; this pins the schedule to the config."""
        secretsmanager_secret_rotation.SecretsmanagerSecretRotation(
            self,
            "secret_rotation",
            secret_id=self.secret_arn,
            rotate_immediately=False,
            rotation_rules=secretsmanager_secret_rotation.SecretsmanagerSecretRotationRotationRules(
                automatically_after_days=self._config.secret_rotation_days,
            ),
        )

    def _creation_stamp(self) -> str:
        """``YYYYMMDDhhmmss`` (UTC) of the cluster's first creation, as a Terraform expression:
        stamped once (``terraform_data`` ignoring later changes), so the names that outlive a
        teardown (the final snapshot, the backup vault) never collide with an earlier one's."""
        if self._stamp is None:
            # Terraform's built-in terraform_data, declared raw: cdktf's DataResource class would
            # make every synth run `terraform version`, and synthesis needs no Terraform.
            stamp = TerraformResource(
                self, "final_snapshot_stamp", terraform_resource_type="terraform_data", lifecycle=TerraformResourceLifecycle(ignore_changes=["input"])
            )
            stamp.add_override("input", {"created": "${timestamp()}"})
            self._stamp = f'${{formatdate("YYYYMMDDhhmmss", {stamp.fqn}.output.created)}}'
        return self._stamp

    def _final_snapshot_identifier(self, name_prefix: str) -> str:
        """``<name_prefix>-final-<UTC creation time>`` (:meth:`_creation_stamp`)."""
        return f"{name_prefix}-final-{self._creation_stamp()}"

    def allow_connections_from(self, security_group_id: str, description: str) -> None:
        """Let members of ``security_group_id`` connect to MySQL (3306), and nothing else."""
        tcp_rule(
            self,
            f"mysql_ingress_{self._ingress_rules}",
            security_group_id=self.security_group.id,
            port=PORT,
            description=f"MySQL from {description}",
            peer_security_group_id=security_group_id,
        )
        self._ingress_rules += 1

    def _reader_auto_scaling(self, name_prefix: str, config: DatabaseConfig) -> None:
        # Depends on the instances: created after them (Aurora only scales an
        # available cluster), destroyed before them (see the class docstring).
        target = appautoscaling_target.AppautoscalingTarget(
            self,
            "reader_scaling_target",
            service_namespace="rds",
            scalable_dimension="rds:cluster:ReadReplicaCount",
            resource_id=f"cluster:{self.cluster.cluster_identifier}",
            min_capacity=config.reader_count,
            max_capacity=config.max_readers,
            depends_on=[self.writer, *self.readers],
        )
        appautoscaling_policy.AppautoscalingPolicy(
            self,
            "reader_scaling_policy",
            name=f"{name_prefix}-aurora-reader-cpu",
            policy_type="TargetTrackingScaling",
            service_namespace=target.service_namespace,
            scalable_dimension=target.scalable_dimension,
            resource_id=target.resource_id,
            target_tracking_scaling_policy_configuration=appautoscaling_policy.AppautoscalingPolicyTargetTrackingScalingPolicyConfiguration(
                target_value=config.reader_cpu_target_percent,
                predefined_metric_specification=appautoscaling_policy.AppautoscalingPolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecification(
                    predefined_metric_type="RDSReaderAverageCPUUtilization",
                ),
                scale_in_cooldown=300,
                scale_out_cooldown=300,
            ),
        )

    def _aws_backup(self, name_prefix: str, config: DatabaseConfig, aws: AwsContext) -> None:
        # Kept by make teardown with its recovery points; the stamp frees the name for a new deploy.
        vault = backup_vault.BackupVault(self, "backup_vault", name=f"{name_prefix}-database-{self._creation_stamp()}", kms_key_arn=self.key.arn)
        plan = backup_plan.BackupPlan(
            self,
            "backup_plan",
            name=f"{name_prefix}-database",
            rule=[
                backup_plan.BackupPlanRule(
                    rule_name="daily",
                    target_vault_name=vault.name,
                    schedule=AWS_BACKUP_SCHEDULE,
                    start_window=60,
                    completion_window=240,
                    lifecycle=backup_plan.BackupPlanRuleLifecycle(delete_after=config.aws_backup_retention_days),
                )
            ],
        )
        role = self._backup_service_role(
            "backup_role", f"{name_prefix}-database-backup", "AWS Backup of the Aurora cluster", "AWSBackupServiceRolePolicyForBackup", aws
        )
        backup_selection.BackupSelection(
            self,
            "backup_selection",
            name=f"{name_prefix}-database",
            plan_id=plan.id,
            iam_role_arn=role.arn,
            resources=[self.cluster.arn],
        )
        if config.restore_testing:
            self._restore_testing(name_prefix, vault, aws)

    def _backup_service_role(self, id_: str, name: str, description: str, policy: str, aws: AwsContext) -> iam_role.IamRole:
        """A role AWS Backup assumes, with one AWS managed ``service-role/`` policy.  AWS
        Backup documents its role trust without condition keys; a trust it cannot satisfy
        fails every job."""
        return service_role(
            self,
            id_,
            name=name,
            service="backup.amazonaws.com",
            aws=aws,
            description=description,
            source_account_condition=False,
            managed_policy=f"service-role/{policy}",
        )

    def _restore_testing(self, name_prefix: str, vault: backup_vault.BackupVault, aws: AwsContext) -> None:
        """Weekly AWS Backup restore test of the newest recovery point in the vault: a new
        cluster (random ``awsbackup-restore-test-...`` identifier, the recovery point's
        engine and KMS key) in this database's subnet group and security group, deleted
        after :data:`RESTORE_TEST_VALIDATION_HOURS`.  A failed test reaches the alarm topic
        (rule ``<name_prefix>-restore-test-failed``, in the monitoring component).

        The role restores and deletes only: its own, trusted by AWS Backup alone, with
        AWS's restore policy (``AWSBackupServiceRolePolicyForRestores``, whose deletions
        are limited to resources restore testing created), not the backup role."""
        rt = backup_restore_testing_plan
        plan = rt.BackupRestoreTestingPlan(
            self,
            "restore_testing_plan",
            name=restore_testing_name(name_prefix, "database"),
            schedule_expression=RESTORE_TEST_SCHEDULE,
            schedule_expression_timezone="Etc/UTC",
            start_window_hours=RESTORE_TEST_START_WINDOW_HOURS,
            recovery_point_selection=[
                rt.BackupRestoreTestingPlanRecoveryPointSelection(
                    algorithm="LATEST_WITHIN_WINDOW",
                    include_vaults=[vault.arn],
                    recovery_point_types=["SNAPSHOT"],
                    selection_window_days=RESTORE_TEST_SELECTION_DAYS,
                )
            ],
        )
        self.restore_testing_plan_arn = plan.arn
        role = self._backup_service_role(
            "restore_test_role",
            f"{name_prefix}-database-restore-test",
            "AWS Backup restore tests of the Aurora cluster: restore, then delete the restored cluster",
            "AWSBackupServiceRolePolicyForRestores",
            aws,
        )
        backup_restore_testing_selection.BackupRestoreTestingSelection(
            self,
            "restore_testing_selection",
            name=restore_testing_name(name_prefix, "aurora"),
            restore_testing_plan_name=plan.name,
            protected_resource_type="Aurora",
            protected_resource_arns=[self.cluster.arn],
            iam_role_arn=role.arn,
            # The isolated subnets and the database's security group (no egress, MySQL from
            # the service only): the account may have no default VPC to infer.
            restore_metadata_overrides={
                "dbSubnetGroupName": self._subnet_group_name,
                "vpcSecurityGroupIds": json.dumps([self.security_group.id]),
            },
            validation_window_hours=RESTORE_TEST_VALIDATION_HOURS,
        )


def database_users(config: DatabaseConfig) -> dict[str, list[str]]:
    """IAM-authenticated users and their privileges on the schema, as ``make db-users`` provisions them."""
    users = {config.app_username: sorted(config.app_privileges)}
    if config.migration_username is not None:
        users[config.migration_username] = sorted(MIGRATION_PRIVILEGES)
    return users


def _parameter(name: str, value: str) -> rds_cluster_parameter_group.RdsClusterParameterGroupParameter:
    return rds_cluster_parameter_group.RdsClusterParameterGroupParameter(name=name, value=value)
