"""One environment of the order API: provider, backend, components, outputs."""

from __future__ import annotations

import json

from stacks.aspects import ComponentTags, Guardrails
from stacks.aws import data_aws_ecr_repository
from stacks.components.common import AwsContext, EncryptionKey
from stacks.components.database import Database
from stacks.components.load_balancer import LoadBalancer
from stacks.components.monitoring import Monitoring, MonitoringTargets
from stacks.components.network import Network
from stacks.components.service import LifecycleHook, LoadBalancing, Service, service_names
from stacks.components.smoke_test import HOOK_STAGE, SmokeTest
from stacks.components.waf import Waf
from stacks.config import EnvironmentConfig, RegistryConfig, StateConfig
from stacks.framework import Aspects, Construct, TerraformOutput, TerraformStack
from stacks.provider import remote_stack

#: Addresses that moved to another stack: forgotten here, never destroyed.  Each
#: environment once had its own repository (named like the stack) and its lifecycle
#: policy; the repository's images are encrypted with the environment's service key.
MOVED_AWAY = ("aws_ecr_repository.registry_repository_BAFE171E", "aws_ecr_lifecycle_policy.registry_lifecycle_20133E5C")


class OrderApiStack(TerraformStack):
    """A thin composition: every resource lives in a component.

    Order: network, database, load balancer, WAF, monitoring, service.  The alarms
    exist before the service, which rolls back on them by reference.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        config: EnvironmentConfig,
        state: StateConfig,
        state_region: str,
        registry: RegistryConfig | None = None,
        endpoint_url: str | None = None,
    ) -> None:
        super().__init__(scope, id_)
        self.config = config
        aws = remote_stack(
            self, stack_name=config.stack_name, region=config.region, tags=config.tags, state=state, state_region=state_region, endpoint_url=endpoint_url
        )
        prefix = config.name_prefix
        retention = config.monitoring.log_retention_days

        self.log_key = EncryptionKey(
            self,
            "logs_key",
            alias=f"{prefix}-logs",
            description=f"{prefix}: CloudWatch Logs encryption",
            aws=aws,
            service_principals=[f"logs.{config.region}.amazonaws.com"],
            encryption_context={"aws:logs:arn": aws.arn("logs", "log-group:*")},
        )
        self.network = Network(self, "network", name_prefix=prefix, config=config.network, aws=aws, log_retention_days=retention, log_key_arn=self.log_key.arn)
        self.database = Database(
            self,
            "database",
            name_prefix=prefix,
            config=config.database,
            aws=aws,
            vpc_id=self.network.vpc_id,
            subnet_ids=self.network.isolated_subnet_ids,
            availability_zones=self.network.availability_zones,
            log_retention_days=retention,
            log_key_arn=self.log_key.arn,
            production=config.is_production,
            disposable=config.disposable,
        )
        self.load_balancer = LoadBalancer(
            self,
            "load_balancer",
            name_prefix=prefix,
            config=config.load_balancer,
            aws=aws,
            vpc_id=self.network.vpc_id,
            public_subnet_ids=self.network.public_subnet_ids,
            target_port=config.service.container_port,
            health_check_path=config.service.health_check_path,
            deregistration_delay_seconds=config.service.deregistration_delay_seconds,
            deletion_protection=config.edge.alb_deletion_protection,
            disposable=config.disposable,
        )
        self.waf = Waf(
            self,
            "waf",
            name_prefix=prefix,
            config=config.edge,
            load_balancer_arn=self.load_balancer.arn,
            log_retention_days=retention,
            log_key_arn=self.log_key.arn,
        )
        self._observe(config, aws, retention)
        self._serve(config, aws, retention, registry or RegistryConfig())
        for construct, component in (
            (self.network, "network"),
            (self.database, "database"),
            (self.load_balancer, "load-balancer"),
            (self.waf, "waf"),
            (self.monitoring, "monitoring"),
            (self.service, "service"),
        ):
            Aspects.of(construct).add(ComponentTags(component))
        Aspects.of(self).add(Guardrails(production=config.is_production))
        self._outputs()
        self._forget_moved_resources()

    def _observe(self, config: EnvironmentConfig, aws: AwsContext, retention: int) -> None:
        """Dashboard and alarms, before the service that rolls back on some of them."""
        cluster_name, service_name = service_names(config.name_prefix)
        lb = self.load_balancer
        self.monitoring = Monitoring(
            self,
            "monitoring",
            name_prefix=config.name_prefix,
            config=config.monitoring,
            aws=aws,
            targets=MonitoringTargets(
                alb_arn_suffix=lb.arn_suffix,
                blue_target_group_arn_suffix=lb.blue_target_group.arn_suffix,
                green_target_group_arn_suffix=lb.green_target_group.arn_suffix,
                cluster_name=cluster_name,
                service_name=service_name,
                db_cluster_identifier=self.database.cluster_identifier,
                web_acl_name=self.waf.web_acl_name,
                min_tasks=max(config.service.min_tasks, 1),
                pending_orders_namespace=config.service.pending_orders_namespace,
                pending_orders_metric=config.service.pending_orders_metric,
                restore_testing_plan_arn=self.database.restore_testing_plan_arn,
            ),
            log_retention_days=retention,
            log_key_arn=self.log_key.arn,
        )

    def _serve(self, config: EnvironmentConfig, aws: AwsContext, retention: int, registry: RegistryConfig) -> None:
        """The ECS service, pulling from the shared registry, reaching the database as its IAM user."""
        prefix = config.name_prefix
        self.service_key = EncryptionKey(self, "service_key", alias=f"{prefix}-service", description=f"{prefix}: SSM parameters, ECS Exec sessions", aws=aws)
        # The registry stack (applied first) owns the repository; a missing one fails the plan here.
        self.repository = data_aws_ecr_repository.DataAwsEcrRepository(self, "registry", name=registry.repository_name)
        lb = self.load_balancer
        self.service = Service(
            self,
            "service",
            name_prefix=prefix,
            environment=config.environment_label,
            config=config.service,
            deployment=config.deployment,
            aws=aws,
            vpc_id=self.network.vpc_id,
            vpc_cidr=self.network.vpc_cidr,
            private_subnet_ids=self.network.private_subnet_ids,
            load_balancing=LoadBalancing(
                security_group_id=lb.security_group_id,
                blue_target_group_arn=lb.blue_target_group.arn,
                green_target_group_arn=lb.green_target_group.arn,
                production_rule_arn=lb.production_rule_arn,
                test_rule_arn=lb.test_rule_arn,
                alb_arn_suffix=lb.arn_suffix,
            ),
            repository_url=self.repository.repository_url,
            repository_arn=self.repository.arn,
            database=self.database.connection,
            kms_key_arn=self.service_key.arn,
            log_retention_days=retention,
            log_key_arn=self.log_key.arn,
            rollback_alarm_names=self.monitoring.rollback_alarm_names,
            lifecycle_hook=self._smoke_test(config, aws, retention) if config.deployment.smoke_test else None,
        )
        lb.allow_to_targets(self.service.security_group_id, config.service.container_port)
        self.database.allow_connections_from(self.service.security_group_id, "order API tasks")

    def _smoke_test(self, config: EnvironmentConfig, aws: AwsContext, retention: int) -> LifecycleHook:
        """The smoke test and its network path: from the private subnets through the NAT
        gateways to the load balancer's public address, so the test port admits exactly
        the NAT gateways' addresses."""
        lb = self.load_balancer
        cluster_name, service_name = service_names(config.name_prefix)
        self.smoke_test = SmokeTest(
            self,
            "smoke_test",
            name_prefix=config.name_prefix,
            config=config.deployment,
            aws=aws,
            vpc_id=self.network.vpc_id,
            subnet_ids=self.network.private_subnet_ids,
            cluster_name=cluster_name,
            service_name=service_name,
            base_url=lb.test_listener_url,
            health_check_path=config.service.health_check_path,
            test_port=config.load_balancer.test_listener_port,
            log_retention_days=retention,
            log_key_arn=self.log_key.arn,
            kms_key_arn=self.service_key.arn,
        )
        lb.allow_test_traffic([f"{ip}/32" for ip in self.network.nat_public_ips], "smoke test, through a NAT gateway")
        Aspects.of(self.smoke_test).add(ComponentTags("smoke-test"))
        return LifecycleHook(
            function_arn=self.smoke_test.function_arn,
            role_arn=self.smoke_test.hook_role_arn,
            stage=HOOK_STAGE,
            role_policy=self.smoke_test.hook_role_policy,
        )

    def _outputs(self) -> None:
        network, database, lb, service = self.network, self.database, self.load_balancer, self.service
        self._output("vpc_id", network.vpc_id, "ID of the VPC")
        self._output("public_subnet_ids", network.public_subnet_ids, "Public subnets (ALB, NAT), one per AZ")
        self._output("private_subnet_ids", network.private_subnet_ids, "Private subnets (ECS tasks), one per AZ")
        self._output("isolated_subnet_ids", network.isolated_subnet_ids, "Isolated subnets (database), one per AZ")
        self._output("database_writer_endpoint", database.writer_endpoint, "Aurora writer (cluster) endpoint")
        self._output("database_reader_endpoint", database.reader_endpoint, "Aurora reader endpoint (load-balanced over the readers)")
        self._output("database_port", database.port, "MySQL port of the Aurora cluster")
        self._output("database_name", database.database_name, "Schema the application uses")
        self._output("database_cluster_identifier", database.cluster_identifier, "Aurora cluster identifier")
        self._output("database_cluster_arn", database.cluster_arn, "Aurora cluster ARN (the Data API's resource)")
        self._output("database_app_username", database.app_username, "MySQL user the application logs in as, with IAM authentication (no password)")
        self._output(
            "database_users",
            json.dumps(database.users, sort_keys=True),
            "IAM-authenticated MySQL users and their privileges on the schema (JSON), as make db-users provisions them",
        )
        self._output(
            "database_secret_arn",
            database.secret_arn,
            "Secrets Manager secret (RDS-managed, rotated) of the master user: administrators and user provisioning only",
            sensitive=True,
        )
        self._output("alb_dns_name", lb.dns_name, "DNS name of the load balancer")
        self._output("alb_arn", lb.arn, "ARN of the load balancer")
        self._output("alb_url", lb.url, "URL of the API (HTTPS where the environment has a certificate)")
        self._output("production_listener_arn", lb.production_listener_arn, "Listener that serves production traffic")
        self._output("test_listener_arn", lb.test_listener_arn, "Listener that reaches the green target group during a deployment")
        self._output("blue_target_group_arn", lb.blue_target_group.arn, "Blue target group")
        self._output("green_target_group_arn", lb.green_target_group.arn, "Green target group")
        self._output("ecs_cluster_name", service.cluster_name, "ECS cluster name")
        self._output("ecs_cluster_arn", service.cluster_arn, "ECS cluster ARN")
        self._output("ecs_service_name", service.service_name, "ECS service name")
        self._output("ecs_service_arn", service.service_arn, "ECS service ARN")
        self._output("task_definition_arn", service.task_definition_arn, "Task definition registered by Terraform")
        self._output("container_image", service.image, "Image the task definition runs (repository URL with tag or digest)")
        self._output("ecr_repository_url", self.repository.repository_url, "ECR repository (shared, from the registry stack) the service pulls from")
        self._output("ssm_parameter_prefix", service.parameter_prefix, "SSM Parameter Store prefix of the service configuration")
        self._output("ssm_parameter_names", service.parameter_names, "SSM parameters the application reads (injected as container secrets)")
        self._output("waf_web_acl_arn", self.waf.web_acl_arn, "ARN of the WAF web ACL protecting the ALB")
        self._output("waf_web_acl_name", self.waf.web_acl_name, "Name of the WAF web ACL")
        self._output("dashboard_url", self.monitoring.dashboard_url, "CloudWatch dashboard for the on-call engineer")
        self._output("alarm_topic_arn", self.monitoring.topic_arn, "SNS topic of the pages (ALARM and OK) and of failed deployments and restore tests")
        self._output("ticket_topic_arn", self.monitoring.ticket_topic_arn, "SNS topic of the cause alarms (ALARM and OK): non-paging, for working hours")
        self._output("deployment_strategy", self.config.deployment.strategy, "ECS deployment strategy of every release: BLUE_GREEN, CANARY or LINEAR")
        self._output(
            "test_listener_url", lb.test_listener_url, "Test listener (scheme, host, port): the new revision during a deployment, before production traffic"
        )

    def _forget_moved_resources(self) -> None:
        """Resources that moved out of this stack leave its state without being destroyed
        (Terraform ``removed`` blocks): each environment once had its own ECR repository,
        and its images must survive the move to the shared registry stack."""
        self.add_override("removed", [{"from": address, "lifecycle": {"destroy": False}} for address in MOVED_AWAY])

    def _output(self, name: str, value: object, description: str, *, sensitive: bool = False) -> None:
        TerraformOutput(self, name, value=value, description=description, sensitive=sensitive)
