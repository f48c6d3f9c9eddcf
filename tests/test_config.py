"""Configuration: product defaults, the catalogue, and every validation rule."""

from __future__ import annotations

import ipaddress
from dataclasses import replace

import pytest

from stacks.config import (
    ConfigError,
    DatabaseConfig,
    DeploymentConfig,
    EdgeConfig,
    EnvironmentConfig,
    LoadBalancerConfig,
    MonitoringConfig,
    NetworkConfig,
    RegistryConfig,
    ServiceConfig,
    StateConfig,
    build_app_config,
    catalogue,
)

CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/0123abcd-0123-4567-89ab-0123456789ab"


def test_defaults_follow_the_product() -> None:
    env = EnvironmentConfig(name="dev")
    assert env.network.az_count == 3
    assert env.service.spot_percentage == 50
    assert env.service.cpu_target_percent == 70
    assert env.service.health_check_path == "/health"
    assert env.service.deregistration_delay_seconds == 30
    assert (env.edge.rate_limit, env.edge.rate_limit_window_seconds) == (100, 300)
    assert env.database.backup_retention_days == 7
    assert env.monitoring.log_retention_days == 7
    assert (env.deployment.strategy, env.deployment.smoke_test) == ("BLUE_GREEN", True)


def test_release_strategy_per_environment() -> None:
    envs = catalogue("us-east-1")
    assert (envs["dev"].deployment.strategy, envs["dev"].deployment.bake_time_minutes) == ("BLUE_GREEN", 1)
    assert envs["staging"].deployment.strategy == "BLUE_GREEN"
    prod = envs["prod"].deployment
    assert (prod.strategy, prod.canary_percent, prod.canary_bake_minutes) == ("CANARY", 10.0, 5)
    assert all(env.deployment.smoke_test for env in envs.values())


@pytest.mark.parametrize(
    ("deployment", "minutes"),
    [
        (DeploymentConfig(bake_time_minutes=5), 15 + 5),
        (DeploymentConfig(strategy="CANARY", canary_bake_minutes=7, bake_time_minutes=10), 15 + 7 + 10),
        # 10 % steps: the first shift, then 9 more with a wait before each.
        (DeploymentConfig(strategy="LINEAR", linear_step_percent=10, linear_step_minutes=6, bake_time_minutes=0), 15 + 9 * 6),
        # 33.3 % steps: 33.3, 66.6, 99.9 and a last one to 100.
        (DeploymentConfig(strategy="LINEAR", linear_step_percent=33.3, linear_step_minutes=2, bake_time_minutes=1), 15 + 3 * 2 + 1),
        (DeploymentConfig(strategy="LINEAR", linear_step_percent=100, linear_step_minutes=9, bake_time_minutes=0), 15),
    ],
)
def test_expected_deployment_minutes_follow_the_strategy(deployment: DeploymentConfig, minutes: int) -> None:
    assert deployment.expected_minutes == minutes


@pytest.mark.parametrize("percent", [0.1, 5, 10.0, 33.3, 99.9, 100])
def test_canary_percent_in_steps_of_a_tenth(percent: float) -> None:
    assert DeploymentConfig(strategy="CANARY", canary_percent=percent).canary_percent == percent


def test_waf_and_alarm_defaults() -> None:
    env = EnvironmentConfig(name="dev")
    assert env.edge.managed_rules_count_only == ()
    m = env.monitoring
    assert (m.alarm_emails, m.alarm_https_endpoints) == ((), ())
    assert (m.alarm_period_seconds, m.alarm_evaluation_periods, m.alarm_datapoints_to_alarm) == (60, 3, 3)
    assert (m.alb_5xx_rate_percent, m.target_5xx_count, m.unhealthy_hosts, m.latency_p99_ms) == (5, 10, 1, 2000)
    assert (m.ecs_cpu_percent, m.ecs_memory_percent, m.db_cpu_percent, m.db_connections, m.replica_lag_ms, m.pending_orders) == (85, 85, 80, 800, 1000, 1000)


def test_alarm_subscriptions_accept_addresses_and_https_urls() -> None:
    config = MonitoringConfig(alarm_emails=("on-call+orders@example.co.uk",), alarm_https_endpoints=("https://hooks.example.com:8443/alarm?team=orders",))
    assert config.alarm_emails == ("on-call+orders@example.co.uk",)
    assert EdgeConfig(managed_rules_count_only=("AWSManagedRulesCommonRuleSet",)).managed_rules_count_only == ("AWSManagedRulesCommonRuleSet",)


def test_catalogue_has_three_environments_with_own_stacks() -> None:
    config = build_app_config({})
    assert [e.stack_name for e in config.environments] == ["order-api-dev", "order-api-staging", "order-api-prod"]
    assert config.state.backend == "s3"


def test_prod_is_protected_and_highly_available() -> None:
    prod = catalogue("us-east-1")["prod"]
    assert prod.network.nat_gateways == "per_az"
    assert prod.database.deletion_protection is True
    assert prod.edge.alb_deletion_protection is True
    assert prod.monitoring.log_retention_days > catalogue("us-east-1")["dev"].monitoring.log_retention_days


def test_each_environment_has_its_availability_slo() -> None:
    """Prod 99.9 %; staging (tests and load runs) 99.5 %; dev (sparse, synthetic traffic) 99 %,
    so a few failed requests never page, while a broken release still does."""
    environments = catalogue("us-east-1")
    assert {name: e.monitoring.availability_slo_percent for name, e in environments.items()} == {"dev": 99.0, "staging": 99.5, "prod": 99.9}
    assert {name: str(e.monitoring.error_budget) for name, e in environments.items()} == {"dev": "0.01", "staging": "0.005", "prod": "0.001"}
    assert MonitoringConfig().availability_slo_percent == 99.9
    assert build_app_config({"ENVIRONMENT_SUFFIX": "pr42"}).environments[-1].monitoring.availability_slo_percent == 99.0


@pytest.mark.parametrize(("slo", "budget"), [(90, "0.1"), (99.99, "0.0001"), (99.95, "0.0005"), (97, "0.03")])
def test_the_error_budget_is_exact(slo: float, budget: str) -> None:
    assert str(MonitoringConfig(availability_slo_percent=slo).error_budget) == budget


def test_dev_saves_cost_with_one_nat_gateway() -> None:
    dev = catalogue("us-east-1")["dev"]
    assert dev.network.nat_gateways == "single"
    assert dev.network.interface_endpoints is False


def test_suffix_adds_an_isolated_copy_of_dev() -> None:
    config = build_app_config({"ENVIRONMENT_SUFFIX": "pr42"})
    extra = config.environments[-1]
    assert extra.stack_name == "order-api-dev-pr42"
    assert extra.name_prefix == "order-api-dev-pr42"
    assert extra.tags["environment"] == "dev-pr42"
    assert extra.network.vpc_cidr == "10.100.0.0/16"


def test_region_override_applies_to_every_stack() -> None:
    config = build_app_config({"AWS_REGION": "eu-west-2"})
    assert {e.region for e in config.environments} == {"eu-west-2"}
    assert config.state_region == "eu-west-2"
    assert config.environments[0].network.availability_zones("eu-west-2") == ("eu-west-2a", "eu-west-2b", "eu-west-2c")


def test_subnet_plan_is_inside_the_vpc_and_disjoint() -> None:
    network = NetworkConfig(vpc_cidr="10.40.0.0/18")
    plan = network.subnet_plan
    vpc = ipaddress.IPv4Network(network.vpc_cidr)
    blocks = [ipaddress.IPv4Network(c) for tier in plan.values() for c in tier]
    assert all(len(tier) == 3 for tier in plan.values())
    assert all(b.subnet_of(vpc) for b in blocks)
    assert not any(a.overlaps(b) for i, a in enumerate(blocks) for b in blocks[i + 1 :])


def test_standing_environments_do_not_overlap() -> None:
    envs = list(catalogue("us-east-1").values())
    nets = [ipaddress.IPv4Network(e.network.vpc_cidr) for e in envs]
    assert not any(a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1 :])


def test_cloud_backend_settings() -> None:
    config = build_app_config({"STATE_BACKEND": "cloud", "TF_CLOUD_ORGANIZATION": "acme", "TF_WORKSPACE_PREFIX": "aws-"})
    assert config.state.backend == "cloud"
    assert config.state.cloud_organization == "acme"


def test_configuration_is_immutable() -> None:
    env = EnvironmentConfig(name="dev")
    with pytest.raises(AttributeError):
        env.name = "prod"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("factory", "field_name"),
    [
        (lambda: NetworkConfig(vpc_cidr="10.10.0.0/24"), "network.vpc_cidr"),
        (lambda: NetworkConfig(vpc_cidr="10.10.0.1/16"), "network.vpc_cidr"),
        (lambda: NetworkConfig(vpc_cidr="8.8.0.0/16"), "network.vpc_cidr"),
        (lambda: NetworkConfig(az_count=1, az_letters=("a",)), "network.az_count"),
        (lambda: NetworkConfig(az_count=4), "network.az_count"),
        (lambda: NetworkConfig(nat_gateways="none"), "network.nat_gateways"),  # type: ignore[arg-type]
        (lambda: NetworkConfig(flow_log_traffic_type="SOME"), "network.flow_log_traffic_type"),
        (lambda: ServiceConfig(spot_percentage=101), "service.spot_percentage"),
        (lambda: ServiceConfig(spot_percentage=-1), "service.spot_percentage"),
        (lambda: ServiceConfig(cpu_target_percent=100), "service.cpu_target_percent"),
        (lambda: ServiceConfig(health_check_path="health"), "service.health_check_path"),
        (lambda: ServiceConfig(deregistration_delay_seconds=3601), "service.deregistration_delay_seconds"),
        (lambda: DatabaseConfig(backup_retention_days=0), "database.backup_retention_days"),
        (lambda: DatabaseConfig(backup_retention_days=36), "database.backup_retention_days"),
        (lambda: EdgeConfig(rate_limit=5), "edge.rate_limit"),
        (lambda: EdgeConfig(rate_limit_window_seconds=200), "edge.rate_limit_window_seconds"),
        (lambda: MonitoringConfig(log_retention_days=8), "monitoring.log_retention_days"),
        (lambda: EdgeConfig(rate_limit=2_000_000_001), "edge.rate_limit"),
        (lambda: EdgeConfig(managed_rules_count_only=("AWSManagedRulesAdminProtectionRuleSet",)), "edge.managed_rules_count_only"),
        (lambda: EdgeConfig(managed_rules_count_only=("AWSManagedRulesSQLiRuleSet",) * 2), "edge.managed_rules_count_only"),
        (lambda: EdgeConfig(managed_rules_count_only="AWSManagedRulesSQLiRuleSet"), "edge.managed_rules_count_only"),  # type: ignore[arg-type]
        (lambda: MonitoringConfig(alarm_emails=("not-an-address",)), "monitoring.alarm_emails"),
        (lambda: MonitoringConfig(alarm_emails=("a@example.com", "a@example.com")), "monitoring.alarm_emails"),
        (lambda: MonitoringConfig(alarm_https_endpoints=("http://hooks.example.com/alarm",)), "monitoring.alarm_https_endpoints"),
        (lambda: MonitoringConfig(alarm_https_endpoints=["https://hooks.example.com"]), "monitoring.alarm_https_endpoints"),  # type: ignore[arg-type]
        (lambda: MonitoringConfig(alarm_period_seconds=30), "monitoring.alarm_period_seconds"),
        (lambda: MonitoringConfig(alarm_period_seconds=90), "monitoring.alarm_period_seconds"),
        (lambda: MonitoringConfig(alarm_period_seconds=7200), "monitoring.alarm_period_seconds"),
        (lambda: MonitoringConfig(alarm_evaluation_periods=0), "monitoring.alarm_evaluation_periods"),
        (lambda: MonitoringConfig(alarm_evaluation_periods=25), "monitoring.alarm_evaluation_periods"),
        (lambda: MonitoringConfig(alarm_datapoints_to_alarm=4), "monitoring.alarm_datapoints_to_alarm"),
        (lambda: MonitoringConfig(alarm_datapoints_to_alarm=0), "monitoring.alarm_datapoints_to_alarm"),
        (lambda: MonitoringConfig(alb_5xx_rate_percent=0), "monitoring.alb_5xx_rate_percent"),
        (lambda: MonitoringConfig(alb_5xx_rate_percent=101), "monitoring.alb_5xx_rate_percent"),
        (lambda: MonitoringConfig(target_5xx_count=0), "monitoring.target_5xx_count"),
        (lambda: MonitoringConfig(unhealthy_hosts=0), "monitoring.unhealthy_hosts"),
        (lambda: MonitoringConfig(latency_p99_ms=5), "monitoring.latency_p99_ms"),
        (lambda: MonitoringConfig(ecs_cpu_percent=101), "monitoring.ecs_cpu_percent"),
        (lambda: MonitoringConfig(ecs_memory_percent=0), "monitoring.ecs_memory_percent"),
        (lambda: MonitoringConfig(db_cpu_percent=150), "monitoring.db_cpu_percent"),
        (lambda: MonitoringConfig(db_connections=0), "monitoring.db_connections"),
        (lambda: MonitoringConfig(replica_lag_ms=0), "monitoring.replica_lag_ms"),
        (lambda: MonitoringConfig(pending_orders=0), "monitoring.pending_orders"),
        (lambda: MonitoringConfig(pending_orders=True), "monitoring.pending_orders"),
        (lambda: MonitoringConfig(availability_slo_percent=89.99), "monitoring.availability_slo_percent"),
        (lambda: MonitoringConfig(availability_slo_percent=100), "monitoring.availability_slo_percent"),
        (lambda: MonitoringConfig(availability_slo_percent=99.999), "monitoring.availability_slo_percent"),
        (lambda: MonitoringConfig(availability_slo_percent=99.955), "monitoring.availability_slo_percent"),
        (lambda: MonitoringConfig(availability_slo_percent=float("nan")), "monitoring.availability_slo_percent"),
        (lambda: MonitoringConfig(availability_slo_percent=True), "monitoring.availability_slo_percent"),
        (lambda: MonitoringConfig(availability_slo_percent="99.9"), "monitoring.availability_slo_percent"),  # type: ignore[arg-type]
        (lambda: MonitoringConfig(spot_interruptions_per_hour=0), "monitoring.spot_interruptions_per_hour"),
        (lambda: MonitoringConfig(spot_interruptions_per_hour=1001), "monitoring.spot_interruptions_per_hour"),
        (lambda: StateConfig(kms_key_id="alias/"), "TF_STATE_KMS_KEY_ID"),
        (lambda: EnvironmentConfig(name="qa"), "environment"),
        (lambda: EnvironmentConfig(name="dev", owner=""), "owner"),
        (lambda: ServiceConfig(cpu=300), "service.cpu"),
        (lambda: ServiceConfig(cpu=256, memory=4096), "service.memory"),
        (lambda: ServiceConfig(image_tag="bad tag"), "service.image_tag"),
        (lambda: ServiceConfig(min_tasks=5, desired_tasks=5, max_tasks=4), "service.min_tasks"),
        (lambda: ServiceConfig(min_tasks=2, desired_tasks=1), "service.desired_tasks"),
        (lambda: ServiceConfig(on_demand_base=3, min_tasks=2), "service.on_demand_base"),
        (lambda: ServiceConfig(stop_timeout_seconds=120), "service.stop_timeout_seconds"),
        (lambda: ServiceConfig(container_insights="off"), "service.container_insights"),  # type: ignore[arg-type]
        (lambda: ServiceConfig(pending_orders_namespace="AWS/ECS"), "service.pending_orders_namespace"),
        (lambda: ServiceConfig(requests_per_target=0), "service.requests_per_target"),
        (lambda: DeploymentConfig(strategy="ROLLING"), "deployment.strategy"),  # type: ignore[arg-type]
        (lambda: DeploymentConfig(bake_time_minutes=1441), "deployment.bake_time_minutes"),
        (lambda: DeploymentConfig(canary_percent=0.05), "deployment.canary_percent"),
        (lambda: DeploymentConfig(canary_percent=10.05), "deployment.canary_percent"),
        (lambda: DeploymentConfig(canary_percent=100.1), "deployment.canary_percent"),
        (lambda: DeploymentConfig(canary_bake_minutes=-1), "deployment.canary_bake_minutes"),
        (lambda: DeploymentConfig(linear_step_percent=2.9), "deployment.linear_step_percent"),
        (lambda: DeploymentConfig(linear_step_minutes=1441), "deployment.linear_step_minutes"),
        (lambda: DeploymentConfig(smoke_test="yes"), "deployment.smoke_test"),  # type: ignore[arg-type]
        (lambda: DeploymentConfig(smoke_paths=("health",)), "deployment.smoke_paths"),
        (lambda: DeploymentConfig(smoke_paths=("/a b",)), "deployment.smoke_paths"),
        (lambda: DeploymentConfig(smoke_paths=("/${file(x)}",)), "deployment.smoke_paths"),
        (lambda: DeploymentConfig(smoke_paths=tuple(f"/p{i}" for i in range(11))), "deployment.smoke_paths"),
        (lambda: DeploymentConfig(smoke_timeout_seconds=31), "deployment.smoke_timeout_seconds"),
        (
            lambda: EnvironmentConfig(name="dev", load_balancer=LoadBalancerConfig(certificate_arn=CERTIFICATE)),
            "load_balancer.domain_name",
        ),
        (lambda: ServiceConfig(log_level="loud"), "service.log_level"),
        (lambda: ServiceConfig(features=(("Bad Key", "1"),)), "service.features"),
        (lambda: RegistryConfig(releases_kept=1), "registry.releases_kept"),
        (lambda: RegistryConfig(untagged_expiry_days=0), "registry.untagged_expiry_days"),
        (lambda: LoadBalancerConfig(ssl_policy="ELBSecurityPolicy-2016-08"), "load_balancer.ssl_policy"),
        (lambda: LoadBalancerConfig(test_listener_cidrs=("0.0.0.0/0",)), "load_balancer.test_listener_cidrs"),
        (lambda: LoadBalancerConfig(domain_name="api.example.com"), "load_balancer.hosted_zone_name"),
        (lambda: LoadBalancerConfig(certificate_arn="arn:aws:acm:us-east-1:1:certificate/x"), "load_balancer.certificate_arn"),
        (lambda: LoadBalancerConfig(health_check_matcher="ok"), "load_balancer.health_check_matcher"),
        (lambda: LoadBalancerConfig(health_check_interval_seconds=5, health_check_timeout_seconds=5), "load_balancer.health_check_timeout_seconds"),
        (lambda: LoadBalancerConfig(test_listener_port=80), "load_balancer.test_listener_port"),
        (lambda: LoadBalancerConfig(test_listener_cidrs=("10.0.0.1/8",)), "load_balancer.test_listener_cidrs"),
        (lambda: LoadBalancerConfig(access_log_retention_days=0), "load_balancer.access_log_retention_days"),
        (lambda: LoadBalancerConfig(idle_timeout_seconds=4001), "load_balancer.idle_timeout_seconds"),
        (lambda: LoadBalancerConfig(healthy_threshold=1), "load_balancer.healthy_threshold"),
        (lambda: LoadBalancerConfig(unhealthy_threshold=11), "load_balancer.unhealthy_threshold"),
        (lambda: LoadBalancerConfig(domain_name="API.example.com", hosted_zone_name="example.com"), "load_balancer.domain_name"),
        (lambda: LoadBalancerConfig(domain_name="api.example.com", hosted_zone_name="other.com"), "load_balancer.hosted_zone_name"),
        (lambda: ServiceConfig(container_port=80), "service.container_port"),
        (lambda: ServiceConfig(pending_orders_metric="bad metric"), "service.pending_orders_metric"),
        (lambda: ServiceConfig(pending_orders_per_task=0), "service.pending_orders_per_task"),
        (lambda: ServiceConfig(scale_in_cooldown_seconds=-1), "service.scale_in_cooldown_seconds"),
        (lambda: ServiceConfig(scale_out_cooldown_seconds=3601), "service.scale_out_cooldown_seconds"),
        (lambda: ServiceConfig(features=(("a", "1"), ("a", "2"))), "service.features"),
        (lambda: ServiceConfig(features=(("a", ""),)), "service.features[a]"),
        (lambda: ServiceConfig(max_tasks=0, min_tasks=0, desired_tasks=0), "service.max_tasks"),
        (lambda: ServiceConfig(image_tag="sha256:" + "g" * 64), "service.image_tag"),
        (lambda: DatabaseConfig(engine_version="5.7.mysql_aurora.2.11.2"), "database.engine_version"),
        (lambda: DatabaseConfig(engine_version="8.0.mysql_aurora.3.05.2"), "database.engine_version"),
        (lambda: DatabaseConfig(instance_class="db.t3.medium"), "database.instance_class"),
        (lambda: DatabaseConfig(instance_class="db.t4g.medium"), "database.instance_class"),
        (lambda: DatabaseConfig(serverless_min_capacity=0.3), "database.serverless_min_capacity"),
        (lambda: DatabaseConfig(serverless_max_capacity=300), "database.serverless_max_capacity"),
        (lambda: DatabaseConfig(serverless_min_capacity=8, serverless_max_capacity=4), "database.serverless_max_capacity"),
        (lambda: DatabaseConfig(serverless_max_capacity=0, serverless_min_capacity=0), "database.serverless_max_capacity"),
        (lambda: DatabaseConfig(reader_count=0), "database.reader_count"),
        (lambda: DatabaseConfig(reader_count=3, max_readers=2), "database.max_readers"),
        (lambda: DatabaseConfig(reader_cpu_target_percent=95), "database.reader_cpu_target_percent"),
        (lambda: DatabaseConfig(database_name="1orders"), "database.database_name"),
        (lambda: DatabaseConfig(master_username="rdsadmin"), "database.master_username"),
        (lambda: DatabaseConfig(master_username="a" * 17), "database.master_username"),
        (lambda: DatabaseConfig(app_username="orders-app"), "database.app_username"),
        (lambda: DatabaseConfig(app_username="root"), "database.app_username"),
        (lambda: DatabaseConfig(app_username="orders_admin"), "database.app_username"),
        (lambda: DatabaseConfig(migration_username="orders_app"), "database.migration_username"),
        (lambda: DatabaseConfig(migration_username="x;DROP"), "database.migration_username"),
        (lambda: DatabaseConfig(app_privileges=("ALL",)), "database.app_privileges"),
        (lambda: DatabaseConfig(app_privileges=("SELECT", "GRANT OPTION")), "database.app_privileges"),
        (lambda: DatabaseConfig(app_privileges=("SUPER",)), "database.app_privileges"),
        (lambda: DatabaseConfig(app_privileges=()), "database.app_privileges"),
        (lambda: DatabaseConfig(app_privileges=("SELECT", "SELECT")), "database.app_privileges"),
        (lambda: DatabaseConfig(secret_rotation_days=0), "database.secret_rotation_days"),
        (lambda: DatabaseConfig(backup_window="3:00-04:00"), "database.backup_window"),
        (lambda: DatabaseConfig(backup_window="03:00-03:10"), "database.backup_window"),
        (lambda: DatabaseConfig(maintenance_window="sun:04:30"), "database.maintenance_window"),
        (lambda: DatabaseConfig(maintenance_window="sun:04:30-sun:04:40"), "database.maintenance_window"),
        (lambda: DatabaseConfig(backup_window="04:00-05:00", maintenance_window="sun:04:30-sun:05:30"), "database.maintenance_window"),
        (lambda: DatabaseConfig(backtrack_window_hours=73), "database.backtrack_window_hours"),
        (lambda: DatabaseConfig(monitoring_interval_seconds=0), "database.monitoring_interval_seconds"),
        (lambda: DatabaseConfig(performance_insights_retention_days=30), "database.performance_insights_retention_days"),
        (lambda: DatabaseConfig(aws_backup_retention_days=0), "database.aws_backup_retention_days"),
        (lambda: EdgeConfig(max_body_bytes=1023), "edge.max_body_bytes"),
        (lambda: EdgeConfig(max_body_bytes=200 * 1024 * 1024), "edge.max_body_bytes"),
        (lambda: MonitoringConfig(alarm_topic_arn="arn:aws:sqs:us-east-1:123456789012:q"), "monitoring.alarm_topic_arn"),
        (lambda: NetworkConfig(vpc_cidr="10.10.0.0/20"), "network.vpc_cidr"),
        (lambda: NetworkConfig(az_letters=("a", "b")), "network.az_letters"),
        (lambda: RegistryConfig(repository_name="Order API"), "registry.repository_name"),
        (lambda: RegistryConfig(mutable_tags=("bad tag",)), "registry.mutable_tags"),
        (lambda: RegistryConfig(keep_images=0), "registry.keep_images"),
        (lambda: StateConfig(kms_key_id="alias/aws/"), "TF_STATE_KMS_KEY_ID"),
        (lambda: EnvironmentConfig(name="dev", cost_center="a;b"), "cost_center"),
        (lambda: EnvironmentConfig(name="dev", suffix="PR1"), "ENVIRONMENT_SUFFIX"),
        (lambda: EnvironmentConfig(name="dev", region="xx-east-1"), "AWS_REGION"),
        (lambda: EnvironmentConfig(name="dev", region="eu-west-2", network=NetworkConfig(az_letters=("a", "b", "d"))), "AVAILABILITY_ZONE_LETTERS"),
        (lambda: EnvironmentConfig(name="dev", region="eu-north-1", database=DatabaseConfig(backtrack_window_hours=24)), "database.backtrack_window_hours"),
        (lambda: EnvironmentConfig(name="dev", network=NetworkConfig(vpc_cidr="10.10.0.0/19"), service=ServiceConfig(max_tasks=1000)), "network.vpc_cidr"),
    ],
)
def test_fails_bad_field(factory, field_name: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        factory()
    assert excinfo.value.field_name == field_name
    assert "\n" not in str(excinfo.value) and str(excinfo.value).startswith(field_name)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"rollback_5xx_rate_percent": 0}, "monitoring.rollback_5xx_rate_percent=0 is invalid: an integer from 1 to 100"),
        ({"rollback_5xx_rate_percent": 2.5}, "monitoring.rollback_5xx_rate_percent=2.5 is invalid: an integer from 1 to 100"),
        ({"rollback_latency_p99_ms": 9}, "monitoring.rollback_latency_p99_ms=9 is invalid: an integer from 10 to 60000"),
        ({"rollback_min_requests": 0}, "monitoring.rollback_min_requests=0 is invalid: an integer from 1 to 1000000"),
        (
            {"rollback_min_requests": 49},
            "monitoring.rollback_min_requests=49 is invalid: at least 100 / rollback_5xx_rate_percent = 50 (with fewer requests one failed "
            "request alone is above 2 %, and a quiet environment rolls back on it)",
        ),
        (
            {"rollback_5xx_rate_percent": 3, "rollback_min_requests": 33},
            "monitoring.rollback_min_requests=33 is invalid: at least 100 / rollback_5xx_rate_percent = 34 (with fewer requests one failed "
            "request alone is above 3 %, and a quiet environment rolls back on it)",
        ),
        ({"rollback_period_seconds": 90}, "monitoring.rollback_period_seconds=90 is invalid: a multiple of 60 from 60 to 3600"),
        ({"rollback_period_seconds": True}, "monitoring.rollback_period_seconds=True is invalid: a multiple of 60 from 60 to 3600"),
        ({"rollback_evaluation_periods": 25}, "monitoring.rollback_evaluation_periods=25 is invalid: an integer from 1 to 24"),
        ({"rollback_datapoints_to_alarm": 4}, "monitoring.rollback_datapoints_to_alarm=4 is invalid: an integer from 1 to 3"),
        ({"ticket_emails": ("tickets",)}, "monitoring.ticket_emails='tickets' is invalid: e-mail addresses such as oncall@example.com"),
        ({"ticket_emails": ["a@example.com"]}, "monitoring.ticket_emails=['a@example.com'] is invalid: a tuple of e-mail addresses"),
        ({"ticket_https_endpoints": ("http://tickets.example.com/",)}, "monitoring.ticket_https_endpoints='http://tickets.example.com/' is invalid: https://"),
        ({"ticket_https_endpoints": ("https://t.example.com/a",) * 2}, "monitoring.ticket_https_endpoints=('https://t.example.com/a', "),
        ({"ticket_topic_arn": "arn:aws:sqs:us-east-1:123456789012:q"}, "monitoring.ticket_topic_arn='arn:aws:sqs:us-east-1:123456789012:q' is invalid: an SNS"),
    ],
)
def test_fails_bad_rollback_and_ticket_fields(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        MonitoringConfig(**fields)  # type: ignore[arg-type]
    assert str(excinfo.value).startswith(message)
    assert "\n" not in str(excinfo.value)


def test_fails_rollback_alarms_slower_than_the_canary() -> None:
    """Prod's canary waits 5 minutes: the rollback alarms must be able to fire within them."""
    prod = catalogue("us-east-1")["prod"]
    slow = replace(prod.monitoring, rollback_period_seconds=120, rollback_evaluation_periods=3, rollback_datapoints_to_alarm=3)
    with pytest.raises(ConfigError) as excinfo:
        replace(prod, monitoring=slow)
    assert str(excinfo.value) == (
        "monitoring.rollback_datapoints_to_alarm=3 is invalid: at most 2 periods of 120 s: the rollback alarms must be able to fire "
        "within the 5 minutes the CANARY deployment's first traffic shift waits"
    )
    linear = DeploymentConfig(strategy="LINEAR", linear_step_minutes=1)
    with pytest.raises(ConfigError, match="within the 1 minutes the LINEAR deployment's first traffic shift waits"):
        replace(prod, deployment=linear)
    # Exactly the canary's minutes fit, and a deployment that does not wait has nothing to fit.
    exact = replace(prod.monitoring, rollback_period_seconds=60, rollback_evaluation_periods=5, rollback_datapoints_to_alarm=5)
    assert replace(prod, monitoring=exact).monitoring.rollback_datapoints_to_alarm == 5
    assert replace(prod, deployment=DeploymentConfig(strategy="CANARY", canary_bake_minutes=0), monitoring=slow).deployment.canary_bake_minutes == 0


def test_fails_prod_without_database_deletion_protection() -> None:
    prod = catalogue("us-east-1")["prod"]
    with pytest.raises(ConfigError, match=r"database\.deletion_protection"):
        replace(prod, database=DatabaseConfig(deletion_protection=False))


def test_fails_prod_without_alb_deletion_protection() -> None:
    prod = catalogue("us-east-1")["prod"]
    with pytest.raises(ConfigError, match=r"edge\.alb_deletion_protection"):
        replace(prod, edge=EdgeConfig(alb_deletion_protection=False))


def test_longest_allowed_suffix_is_accepted() -> None:
    config = build_app_config({"ENVIRONMENT_SUFFIX": "a" * 12})
    assert len(config.environments[-1].name_prefix + "-green") <= 32


def test_fails_prod_without_on_demand_base() -> None:
    prod = catalogue("us-east-1")["prod"]
    with pytest.raises(ConfigError, match=r"service\.on_demand_base"):
        replace(prod, service=replace(prod.service, on_demand_base=0))


def test_fails_staging_without_https() -> None:
    staging = catalogue("us-east-1")["staging"]
    with pytest.raises(ConfigError, match="HTTPS"):
        replace(staging, load_balancer=LoadBalancerConfig())


def test_fails_latest_image_outside_dev() -> None:
    with pytest.raises(ConfigError) as excinfo:
        build_app_config({"IMAGE_TAG": "latest"})
    assert excinfo.value.field_name == "IMAGE_TAG"


def test_image_tag_override_applies_to_every_environment() -> None:
    config = build_app_config({"IMAGE_TAG": "2.3.1"})
    assert {e.service.image_tag for e in config.environments} == {"2.3.1"}


def test_state_without_a_kms_key_is_allowed_for_other_backends() -> None:
    assert StateConfig(backend="local", kms_key_id=None).kms_key_id is None
