"""ECS Fargate: cluster, task definition, blue/green service, auto scaling, configuration."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from stacks.aws import (
    appautoscaling_policy,
    appautoscaling_target,
    cloudwatch_log_group,
    ecs_cluster,
    ecs_cluster_capacity_providers,
    ecs_service,
    ecs_task_definition,
    iam_role,
    iam_role_policy,
)
from stacks.components.common import (
    AwsContext,
    Condition,
    DatabaseConnection,
    Statement,
    allow,
    attach_managed_policy,
    inline_policy,
    log_group,
    named_security_group,
    service_role,
    tcp_rule,
)
from stacks.components.parameters import Parameter, Parameters
from stacks.config import DeploymentConfig, ServiceConfig
from stacks.framework import Construct, ITerraformDependable, TerraformResourceLifecycle

CONTAINER_NAME = "order-api"
#: Writable paths the ECS Exec (SSM) agent needs when the root filesystem is read-only.
EXEC_AGENT_PATHS = {"exec-agents": "/managed-agents", "exec-ssm-lib": "/var/lib/amazon/ssm", "exec-ssm-log": "/var/log/amazon/ssm"}
aas = appautoscaling_policy
TargetTracking = aas.AppautoscalingPolicyTargetTrackingScalingPolicyConfiguration
Custom = aas.AppautoscalingPolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecification
Query = aas.AppautoscalingPolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecificationMetrics
Stat = aas.AppautoscalingPolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecificationMetricsMetricStat
Metric = aas.AppautoscalingPolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecificationMetricsMetricStatMetric
Dimension = aas.AppautoscalingPolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecificationMetricsMetricStatMetricDimensions

#: Target-tracking metric math for a per-task load: minutes without a load data point
#: count as zero load (``FILL``), so an application that publishes nothing (idle,
#: crashed, or not yet instrumented) never scales the service out.
PER_TASK_EXPRESSION = "FILL(load, 0) / tasks"


def capacity_weights(spot_percentage: int) -> tuple[int, int]:
    """(on-demand weight, spot weight) in lowest terms for a Spot share in percent."""
    if spot_percentage in (0, 100):
        return (0, 1) if spot_percentage == 100 else (1, 0)
    divisor = math.gcd(100 - spot_percentage, spot_percentage)
    return (100 - spot_percentage) // divisor, spot_percentage // divisor


def service_names(name_prefix: str) -> tuple[str, str]:
    """``(cluster name, service name)`` of an environment, known before the service exists
    (the alarms that watch it are created first, so the service can name them by reference)."""
    return name_prefix, f"{name_prefix}-api"


@dataclass(frozen=True)
class LoadBalancing:
    """What the service needs from the load balancer for blue/green deployments."""

    security_group_id: str
    blue_target_group_arn: str
    green_target_group_arn: str
    production_rule_arn: str
    test_rule_arn: str
    alb_arn_suffix: str


@dataclass(frozen=True)
class LifecycleHook:
    """A Lambda function ECS invokes at ``stage`` of every deployment, with ``role_arn``."""

    function_arn: str
    role_arn: str
    stage: str
    #: The role's policy: the service waits for it (and is destroyed before it).
    role_policy: ITerraformDependable


def deployment_configuration(config: DeploymentConfig, hook: LifecycleHook | None) -> ecs_service.EcsServiceDeploymentConfiguration:
    """The ECS deployment of the configured strategy, with the lifecycle hook if any."""
    dc = ecs_service
    return dc.EcsServiceDeploymentConfiguration(
        strategy=config.strategy,
        bake_time_in_minutes=str(config.bake_time_minutes),
        canary_configuration=dc.EcsServiceDeploymentConfigurationCanaryConfiguration(
            canary_percent=config.canary_percent, canary_bake_time_in_minutes=str(config.canary_bake_minutes)
        )
        if config.strategy == "CANARY"
        else None,
        linear_configuration=dc.EcsServiceDeploymentConfigurationLinearConfiguration(
            step_percent=config.linear_step_percent, step_bake_time_in_minutes=str(config.linear_step_minutes)
        )
        if config.strategy == "LINEAR"
        else None,
        lifecycle_hook=[
            dc.EcsServiceDeploymentConfigurationLifecycleHook(hook_target_arn=hook.function_arn, role_arn=hook.role_arn, lifecycle_stages=[hook.stage])
        ]
        if hook
        else None,
    )


@dataclass(frozen=True)
class _Roles:
    execution: iam_role.IamRole
    execution_policy: iam_role_policy.IamRolePolicy
    task: iam_role.IamRole


class Service(Construct):
    """The order API on ECS Fargate, built in named steps:

    - :meth:`_cluster`: Container Insights, audited ECS Exec (encrypted log group, KMS),
      FARGATE and FARGATE_SPOT weighted to the configured Spot share with an on-demand
      ``base`` so Spot interruptions never take the service to zero (prod >= 1).
    - :meth:`_configuration`: SSM SecureString parameters the container reads.
    - :meth:`_roles`: execution role (pull, logs, parameters) and task role (metrics,
      ``rds-db:connect`` as the application's IAM-authenticated database user: no
      database password anywhere).
    - :meth:`_task_definition`: read-only root filesystem, configuration injected as
      ``secrets`` from SSM, stop timeout under the Spot warning.
    - :meth:`_service`: an ECS-native deployment with the environment's strategy
      (``BLUE_GREEN``, ``CANARY`` or ``LINEAR``, see :func:`deployment_configuration`),
      green as the alternate target group, the smoke test as a lifecycle hook,
      circuit breaker and rollback on the alarms passed by reference (so Terraform
      creates them first).
    - :meth:`_autoscaling`: CPU target tracking, backlog per task (``PendingOrders`` /
      running tasks), optional ALB requests per task (:meth:`_scaling_policy`,
      :meth:`_per_task_policy`).

    Terraform creates the service with the first task definition and then ignores the
    service's ``task_definition``: images move only by release (``make release``,
    ``make promote``), which registers a revision and updates the service.

    Attributes: ``cluster_name``, ``cluster_arn``, ``service_name``, ``service_arn``,
    ``security_group_id``, ``task_definition_arn``, ``log_group_name``,
    ``parameter_prefix``, ``parameter_names``, ``image``.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        name_prefix: str,
        environment: str,
        config: ServiceConfig,
        deployment: DeploymentConfig,
        aws: AwsContext,
        vpc_id: str,
        vpc_cidr: str,
        private_subnet_ids: Sequence[str],
        load_balancing: LoadBalancing,
        repository_url: str,
        repository_arn: str,
        database: DatabaseConnection,
        kms_key_arn: str,
        log_retention_days: int,
        log_key_arn: str,
        rollback_alarm_names: Sequence[str] = (),
        lifecycle_hook: LifecycleHook | None = None,
    ) -> None:
        super().__init__(scope, id_)
        self.cluster_name, self.service_name = service_names(name_prefix)
        self.parameter_prefix = f"/order-api/{environment}/"
        #: ``<repository_url>:<tag>`` or ``<repository_url>@sha256:<digest>``.
        self.image = f"{repository_url}{config.image_reference_suffix}"
        self._config = config
        self._aws = aws

        exec_logs = log_group(self, "exec_log_group", name=f"/ecs/{name_prefix}/exec", retention_days=log_retention_days, kms_key_arn=log_key_arn)
        app_logs = log_group(self, "app_log_group", name=f"/ecs/{name_prefix}/order-api", retention_days=log_retention_days, kms_key_arn=log_key_arn)
        self.log_group_name = app_logs.name

        capacity = self._cluster(exec_logs.name, kms_key_arn)
        params = self._configuration(database, kms_key_arn)
        roles = self._roles(name_prefix, repository_arn, app_logs, exec_logs, params, database, kms_key_arn)
        task = self._task_definition(app_logs.name, params, roles)
        self._security_group(name_prefix, vpc_id, vpc_cidr, load_balancing.security_group_id)
        hook_dependencies = [lifecycle_hook.role_policy] if lifecycle_hook else []
        self._service(
            name_prefix,
            task,
            private_subnet_ids,
            load_balancing,
            rollback_alarm_names,
            deployment_configuration(deployment, lifecycle_hook),
            depends_on=[capacity, *hook_dependencies],
        )
        self._autoscaling(load_balancing)

    # ---------------------------------------------------------------- cluster

    def _cluster(self, exec_log_group_name: str, kms_key_arn: str) -> ecs_cluster_capacity_providers.EcsClusterCapacityProviders:
        """The cluster and its capacity providers (the service waits for them)."""
        config, cfg = self._config, ecs_cluster
        self.cluster = cfg.EcsCluster(
            self,
            "cluster",
            name=self.cluster_name,
            setting=[cfg.EcsClusterSetting(name="containerInsights", value=config.container_insights)],
            configuration=cfg.EcsClusterConfiguration(
                execute_command_configuration=cfg.EcsClusterConfigurationExecuteCommandConfiguration(
                    kms_key_id=kms_key_arn,
                    logging="OVERRIDE",
                    log_configuration=cfg.EcsClusterConfigurationExecuteCommandConfigurationLogConfiguration(
                        cloud_watch_log_group_name=exec_log_group_name, cloud_watch_encryption_enabled=True
                    ),
                )
            ),
        )
        self.cluster_arn = self.cluster.arn
        on_demand_weight, spot_weight = capacity_weights(config.spot_percentage)
        cp = ecs_cluster_capacity_providers
        return cp.EcsClusterCapacityProviders(
            self,
            "capacity_providers",
            cluster_name=self.cluster.name,
            capacity_providers=["FARGATE", "FARGATE_SPOT"],
            default_capacity_provider_strategy=[
                cp.EcsClusterCapacityProvidersDefaultCapacityProviderStrategy(capacity_provider="FARGATE", base=config.on_demand_base, weight=on_demand_weight),
                cp.EcsClusterCapacityProvidersDefaultCapacityProviderStrategy(capacity_provider="FARGATE_SPOT", weight=spot_weight),
            ],
        )

    # ---------------------------------------------------------- configuration

    def _configuration(self, database: DatabaseConnection, kms_key_arn: str) -> Parameters:
        """Everything the container is told, as SSM SecureString parameters under the prefix.
        The database is reached with IAM authentication: host, port, schema and user only."""
        config = self._config
        params = Parameters(
            self,
            "parameters",
            prefix=self.parameter_prefix,
            kms_key_arn=kms_key_arn,
            path_arn=self._aws.arn("ssm", f"parameter{self.parameter_prefix}*"),
            parameters=[
                Parameter("database/host", database.host, "DB_HOST"),
                Parameter("database/reader-host", database.reader_host, "DB_READER_HOST"),
                Parameter("database/port", database.port, "DB_PORT"),
                Parameter("database/name", database.name, "DB_NAME"),
                Parameter("database/user", database.username, "DB_USER"),
                Parameter("log-level", config.log_level, "LOG_LEVEL"),
                *(Parameter(f"features/{k}", v, "FEATURE_" + k.upper().replace(".", "_").replace("-", "_")) for k, v in config.features),
            ],
        )
        self.parameter_names = params.names
        return params

    # ------------------------------------------------------------------ roles

    def _roles(
        self,
        name_prefix: str,
        repository_arn: str,
        app_logs: cloudwatch_log_group.CloudwatchLogGroup,
        exec_logs: cloudwatch_log_group.CloudwatchLogGroup,
        params: Parameters,
        database: DatabaseConnection,
        kms_key_arn: str,
    ) -> _Roles:
        """Execution role (the ECS agent) and task role (the application), least privilege."""
        execution = service_role(
            self,
            "execution_role",
            name=f"{name_prefix}-task-execution",
            service="ecs-tasks.amazonaws.com",
            aws=self._aws,
            description="ECS agent: pull the image, write logs, read this service's parameters",
        )
        execution_policy = inline_policy(
            self,
            "execution_role_policy",
            role=execution,
            name="pull-log-read-config",
            document_id="execution_policy",
            statements=[
                # GetAuthorizationToken has no resource-level permissions.
                allow(["ecr:GetAuthorizationToken"], ["*"], sid="EcrLogin"),
                allow(["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"], [repository_arn], sid="PullImage"),
                allow(["logs:CreateLogStream", "logs:PutLogEvents"], [f"{app_logs.arn}:*"], sid="WriteLogs"),
                allow(["ssm:GetParameters"], [params.path_arn], sid="ReadParameters"),
                allow(["kms:Decrypt"], [kms_key_arn], sid="DecryptParameters"),
            ],
        )
        task = service_role(
            self,
            "task_role",
            name=f"{name_prefix}-task",
            service="ecs-tasks.amazonaws.com",
            aws=self._aws,
            description="Order API application: connect to the database as its IAM user, publish its metrics",
        )
        inline_policy(
            self,
            "task_role_policy",
            role=task,
            name="application",
            document_id="task_policy",
            statements=self._task_statements(database, exec_logs.arn, kms_key_arn),
        )
        return _Roles(execution=execution, execution_policy=execution_policy, task=task)

    def _task_statements(self, database: DatabaseConnection, exec_log_group_arn: str, kms_key_arn: str) -> list[Statement]:
        config = self._config
        statements = [
            # An IAM authentication token for the application's database user, and no other.
            allow(["rds-db:connect"], [database.connect_arn], sid="ConnectToDatabase"),
            # PutMetricData has no resource-level permissions; the namespace condition scopes it.
            allow(
                ["cloudwatch:PutMetricData"],
                ["*"],
                sid="PublishMetrics",
                conditions=[Condition(test="StringEquals", variable="cloudwatch:namespace", values=[config.pending_orders_namespace])],
            ),
        ]
        if config.enable_execute_command:
            statements += [
                allow(
                    ["ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel", "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"],
                    ["*"],
                    sid="EcsExec",
                ),
                allow(["logs:DescribeLogGroups"], ["*"], sid="EcsExecLogGroups"),
                allow(["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"], [f"{exec_log_group_arn}:*"], sid="EcsExecAudit"),
                allow(["kms:Decrypt"], [kms_key_arn], sid="EcsExecSession"),
            ]
        return statements

    # -------------------------------------------------------- task definition

    def _task_definition(self, app_log_group_name: str, params: Parameters, roles: _Roles) -> ecs_task_definition.EcsTaskDefinition:
        """The container: read-only root filesystem, configuration from SSM only.  Waits for
        the execution role's policy, without which the first task cannot pull or log."""
        config = self._config
        # Writable scratch space under a read-only root filesystem (the ECS Exec agent needs its own).
        scratch = {"tmp": "/tmp"} | (EXEC_AGENT_PATHS if config.enable_execute_command else {})
        container: dict[str, Any] = {
            "name": CONTAINER_NAME,
            "image": self.image,
            "essential": True,
            "portMappings": [{"containerPort": config.container_port, "protocol": "tcp", "name": "http"}],
            "readonlyRootFilesystem": True,
            "mountPoints": [{"sourceVolume": name, "containerPath": path, "readOnly": False} for name, path in scratch.items()],
            "stopTimeout": config.stop_timeout_seconds,
            "logConfiguration": {
                "logDriver": "awslogs",
                "options": {"awslogs-group": app_log_group_name, "awslogs-region": self._aws.region, "awslogs-stream-prefix": "order-api"},
            },
            "environment": [
                {"name": "PORT", "value": str(config.container_port)},
                {"name": "METRICS_NAMESPACE", "value": config.pending_orders_namespace},
                {"name": "DB_AUTH", "value": "iam"},
            ],
            "secrets": sorted(({"name": env, "valueFrom": arn} for env, arn in params.arns.items()), key=lambda s: s["name"]),
        }
        if config.container_health_check is not None:
            command = config.container_health_check.format(port=config.container_port, path=config.health_check_path)
            container["healthCheck"] = {"command": ["CMD-SHELL", command], "interval": 15, "timeout": 5, "retries": 3, "startPeriod": 30}
        task = ecs_task_definition.EcsTaskDefinition(
            self,
            "task_definition",
            family=self.service_name,
            requires_compatibilities=["FARGATE"],
            network_mode="awsvpc",
            cpu=str(config.cpu),
            memory=str(config.memory),
            execution_role_arn=roles.execution.arn,
            task_role_arn=roles.task.arn,
            runtime_platform=ecs_task_definition.EcsTaskDefinitionRuntimePlatform(operating_system_family="LINUX", cpu_architecture="X86_64"),
            volume=[ecs_task_definition.EcsTaskDefinitionVolume(name=name) for name in scratch],
            container_definitions=json.dumps([container], sort_keys=True),
            depends_on=[roles.execution_policy],
        )
        self.task_definition_arn = task.arn
        return task

    # --------------------------------------------------------- security group

    def _security_group(self, name_prefix: str, vpc_id: str, vpc_cidr: str, alb_security_group_id: str) -> None:
        """The container port from the ALB only; out: HTTPS (AWS APIs, ECR) and MySQL in the VPC."""
        self.security_group = named_security_group(
            self,
            "security_group",
            name=f"{name_prefix}-service",
            description="Order API tasks: the container port from the load balancer only",
            vpc_id=vpc_id,
        )
        self.security_group_id = self.security_group.id
        tcp_rule(
            self,
            "ingress_from_alb",
            security_group_id=self.security_group.id,
            port=self._config.container_port,
            description="container port from the load balancer",
            peer_security_group_id=alb_security_group_id,
        )
        for port, cidr, what in ((443, "0.0.0.0/0", "HTTPS to AWS APIs and ECR"), (3306, vpc_cidr, "MySQL to the database inside the VPC")):
            tcp_rule(self, f"egress_{port}", security_group_id=self.security_group.id, port=port, description=what, cidr=cidr, egress=True)

    # ---------------------------------------------------------------- service

    def _service(
        self,
        name_prefix: str,
        task: ecs_task_definition.EcsTaskDefinition,
        private_subnet_ids: Sequence[str],
        load_balancing: LoadBalancing,
        rollback_alarm_names: Sequence[str],
        deployment: ecs_service.EcsServiceDeploymentConfiguration,
        *,
        depends_on: Sequence[ITerraformDependable],
    ) -> None:
        """The blue/green service.  It depends on the infrastructure role's policy
        attachment: created first, so ECS can shift traffic on the first deployment;
        destroyed last, so the service never hangs DRAINING without its permissions."""
        config = self._config
        bg_role = service_role(
            self,
            "blue_green_role",
            name=f"{name_prefix}-ecs-blue-green",
            service="ecs.amazonaws.com",
            aws=self._aws,
            description="ECS shifts ALB traffic between the blue and green target groups",
            # AWS documents this role's trust without conditions.
            source_account_condition=False,
        )
        bg_policy = attach_managed_policy(
            self, "blue_green_role_policy", role=bg_role, policy="AmazonECSInfrastructureRolePolicyForLoadBalancers", aws=self._aws
        )
        on_demand_weight, spot_weight = capacity_weights(config.spot_percentage)
        svc = ecs_service
        # desired_count belongs to auto scaling; load_balancer to ECS, which swaps the
        # primary and alternate target groups on every blue/green deployment;
        # task_definition to releases (make release), so a deploy never moves the image.
        ignored = ["desired_count", "load_balancer", "task_definition"]
        self.service = svc.EcsService(
            self,
            "service",
            name=self.service_name,
            cluster=self.cluster.arn,
            task_definition=task.arn,
            desired_count=config.desired_tasks,
            capacity_provider_strategy=[
                svc.EcsServiceCapacityProviderStrategy(capacity_provider="FARGATE", base=config.on_demand_base, weight=on_demand_weight),
                svc.EcsServiceCapacityProviderStrategy(capacity_provider="FARGATE_SPOT", weight=spot_weight),
            ],
            network_configuration=svc.EcsServiceNetworkConfiguration(
                subnets=list(private_subnet_ids), security_groups=[self.security_group.id], assign_public_ip=False
            ),
            load_balancer=[
                svc.EcsServiceLoadBalancer(
                    target_group_arn=load_balancing.blue_target_group_arn,
                    container_name=CONTAINER_NAME,
                    container_port=config.container_port,
                    advanced_configuration=svc.EcsServiceLoadBalancerAdvancedConfiguration(
                        alternate_target_group_arn=load_balancing.green_target_group_arn,
                        production_listener_rule=load_balancing.production_rule_arn,
                        test_listener_rule=load_balancing.test_rule_arn,
                        role_arn=bg_role.arn,
                    ),
                )
            ],
            deployment_controller=svc.EcsServiceDeploymentController(type="ECS"),
            deployment_configuration=deployment,
            deployment_circuit_breaker=svc.EcsServiceDeploymentCircuitBreaker(enable=True, rollback=True),
            alarms=svc.EcsServiceAlarms(alarm_names=list(rollback_alarm_names), enable=True, rollback=True) if rollback_alarm_names else None,
            deployment_minimum_healthy_percent=100,
            deployment_maximum_percent=200,
            health_check_grace_period_seconds=60,
            enable_execute_command=config.enable_execute_command,
            enable_ecs_managed_tags=True,
            propagate_tags="SERVICE",
            lifecycle=TerraformResourceLifecycle(ignore_changes=ignored),
            depends_on=[*depends_on, bg_policy],
        )
        self.service_arn = self.service.arn

    # ----------------------------------------------------------- auto scaling

    def _autoscaling(self, lb: LoadBalancing) -> None:
        """Target tracking on CPU, on backlog per task and optionally on requests per task.
        Application Auto Scaling scales out when any policy asks and in only when every
        policy that may scale in agrees, and a policy whose metric has no data blocks
        both.  The per-task policies only scale out (``disable_scale_in``): scale-in
        belongs to the CPU policy alone, whatever CloudWatch returns for a metric the
        application never published."""
        config = self._config
        target = appautoscaling_target.AppautoscalingTarget(
            self,
            "scaling_target",
            service_namespace="ecs",
            resource_id=f"service/{self.cluster.name}/{self.service.name}",
            scalable_dimension="ecs:service:DesiredCount",
            min_capacity=config.min_tasks,
            max_capacity=config.max_tasks,
        )
        predefined = aas.AppautoscalingPolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecification
        self._scaling_policy(
            target,
            "cpu_scaling",
            "cpu",
            TargetTracking(
                target_value=config.cpu_target_percent,
                predefined_metric_specification=predefined(predefined_metric_type="ECSServiceAverageCPUUtilization"),
                scale_in_cooldown=config.scale_in_cooldown_seconds,
                scale_out_cooldown=config.scale_out_cooldown_seconds,
            ),
        )
        self._per_task_policy(
            target,
            "pending_orders_scaling",
            "pending-orders",
            config.pending_orders_per_task,
            "Pending orders per task",
            "Average",
            Metric(
                namespace=config.pending_orders_namespace,
                metric_name=config.pending_orders_metric,
                dimensions=[Dimension(name="ServiceName", value=self.service_name)],
            ),
        )
        if config.requests_per_target is not None:
            # Not ALBRequestCountPerTarget: that metric is bound to one target group,
            # and blue/green deployments swap the live one.
            self._per_task_policy(
                target,
                "requests_scaling",
                "requests",
                config.requests_per_target,
                "ALB requests per task (per minute)",
                "Sum",
                Metric(namespace="AWS/ApplicationELB", metric_name="RequestCount", dimensions=[Dimension(name="LoadBalancer", value=lb.alb_arn_suffix)]),
            )

    def _scaling_policy(self, target: appautoscaling_target.AppautoscalingTarget, id_: str, name: str, tracking: TargetTracking) -> None:
        """A target tracking policy ``<service>-<name>`` on the service's scalable target."""
        aas.AppautoscalingPolicy(
            self,
            id_,
            name=f"{self.service_name}-{name}",
            policy_type="TargetTrackingScaling",
            service_namespace=target.service_namespace,
            resource_id=target.resource_id,
            scalable_dimension=target.scalable_dimension,
            target_tracking_scaling_policy_configuration=tracking,
        )

    def _per_task_policy(
        self, target: appautoscaling_target.AppautoscalingTarget, id_: str, name: str, target_value: int, label: str, stat: str, metric: Metric
    ) -> None:
        """A scale-out-only policy that keeps ``metric`` per running task (:meth:`_per_task`) at ``target_value``."""
        config = self._config
        self._scaling_policy(
            target,
            id_,
            name,
            TargetTracking(
                target_value=target_value,
                customized_metric_specification=self._per_task(label, stat, metric),
                disable_scale_in=True,
                scale_in_cooldown=config.scale_in_cooldown_seconds,
                scale_out_cooldown=config.scale_out_cooldown_seconds,
            ),
        )

    def _per_task(self, label: str, stat: str, metric: Metric) -> Custom:
        """``metric`` divided by the running tasks: a load figure per task that does not
        depend on which target group (blue or green) is live."""
        service_dims = [Dimension(name="ClusterName", value=self.cluster_name), Dimension(name="ServiceName", value=self.service_name)]
        return Custom(
            metrics=[
                Query(id="load", return_data=False, metric_stat=Stat(stat=stat, metric=metric)),
                Query(
                    id="tasks",
                    return_data=False,
                    metric_stat=Stat(stat="Average", metric=Metric(namespace="ECS/ContainerInsights", metric_name="RunningTaskCount", dimensions=service_dims)),
                ),
                Query(id="per_task", label=label, expression=PER_TASK_EXPRESSION, return_data=True),
            ]
        )
