"""Configuration: product defaults, the catalogue, and every validation rule."""

from __future__ import annotations

import ipaddress
from dataclasses import replace

import pytest

from stacks.config import (
    ConfigError,
    DatabaseConfig,
    EdgeConfig,
    EnvironmentConfig,
    LoadBalancerConfig,
    MonitoringConfig,
    NetworkConfig,
    ServiceConfig,
    StateConfig,
    build_app_config,
    catalogue,
)


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
    ("overrides", "field_name"),
    [
        ({"ENVIRONMENT_SUFFIX": "PR42"}, "ENVIRONMENT_SUFFIX"),
        ({"ENVIRONMENT_SUFFIX": "pr_42"}, "ENVIRONMENT_SUFFIX"),
        ({"ENVIRONMENT_SUFFIX": "-pr42"}, "ENVIRONMENT_SUFFIX"),
        ({"ENVIRONMENT_SUFFIX": "pr--42"}, "ENVIRONMENT_SUFFIX"),
        ({"ENVIRONMENT_SUFFIX": "a" * 13}, "ENVIRONMENT_SUFFIX"),
        ({"AWS_REGION": "us-east"}, "AWS_REGION"),
        ({"AWS_REGION": "US-EAST-1"}, "AWS_REGION"),
        ({"AVAILABILITY_ZONE_LETTERS": "a,b"}, "AVAILABILITY_ZONE_LETTERS"),
        ({"AVAILABILITY_ZONE_LETTERS": "a,a,b"}, "AVAILABILITY_ZONE_LETTERS"),
        ({"VPC_CIDR": "10.50.0.0/16"}, "VPC_CIDR"),
        ({"ENVIRONMENT_SUFFIX": "pr1", "VPC_CIDR": "10.20.0.0/16"}, "VPC_CIDR"),
        ({"ENVIRONMENT_SUFFIX": "pr1", "VPC_CIDR": "10.0.0.0/8"}, "network.vpc_cidr"),
        ({"ENVIRONMENT_SUFFIX": "pr1", "VPC_CIDR": "not-a-cidr"}, "network.vpc_cidr"),
        ({"STATE_BACKEND": "gcs"}, "STATE_BACKEND"),
        ({"STATE_BACKEND": "cloud"}, "TF_CLOUD_ORGANIZATION"),
        ({"STATE_BACKEND": "cloud", "TF_CLOUD_ORGANIZATION": "acme corp"}, "TF_CLOUD_ORGANIZATION"),
        ({"TF_STATE_BUCKET": "My_Bucket"}, "TF_STATE_BUCKET"),
        ({"TF_STATE_BUCKET": "ab"}, "TF_STATE_BUCKET"),
        ({"TF_STATE_BUCKET": "192.168.1.1"}, "TF_STATE_BUCKET"),
        ({"TF_STATE_BUCKET": "bucket..name"}, "TF_STATE_BUCKET"),
        ({"TF_STATE_BUCKET": "xn--bucket"}, "TF_STATE_BUCKET"),
        ({"TF_STATE_REGION": "moon-1"}, "TF_STATE_REGION"),
        ({"TF_STATE_KMS_KEY_ID": "my key"}, "TF_STATE_KMS_KEY_ID"),
        ({"TF_WORKSPACE_PREFIX": "bad prefix"}, "TF_WORKSPACE_PREFIX"),
        ({"TF_CLOUD_HOSTNAME": "https://app.terraform.io"}, "TF_CLOUD_HOSTNAME"),
        ({"UNKNOWN_SETTING": "x"}, "overrides"),
    ],
)
def test_fails_bad_override(overrides: dict[str, str], field_name: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        build_app_config(overrides)
    assert excinfo.value.field_name == field_name
    message = str(excinfo.value)
    assert "\n" not in message
    assert field_name in message and "invalid" in message


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
        (lambda: MonitoringConfig(alarm_emails=tuple(f"a{i}@example.com" for i in range(11))), "monitoring.alarm_emails"),
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
        (lambda: ServiceConfig(task_definition_owner="someone"), "service.task_definition_owner"),  # type: ignore[arg-type]
        (lambda: ServiceConfig(log_level="loud"), "service.log_level"),
        (lambda: ServiceConfig(features=(("Bad Key", "1"),)), "service.features"),
        (lambda: ServiceConfig(bake_time_minutes=2000), "service.bake_time_minutes"),
        (lambda: LoadBalancerConfig(ssl_policy="ELBSecurityPolicy-2016-08"), "load_balancer.ssl_policy"),
        (lambda: LoadBalancerConfig(test_listener_cidrs=("0.0.0.0/0",)), "load_balancer.test_listener_cidrs"),
        (lambda: LoadBalancerConfig(domain_name="api.example.com"), "load_balancer.hosted_zone_name"),
        (lambda: LoadBalancerConfig(certificate_arn="arn:aws:acm:us-east-1:1:certificate/x"), "load_balancer.certificate_arn"),
        (lambda: LoadBalancerConfig(health_check_matcher="ok"), "load_balancer.health_check_matcher"),
        (lambda: LoadBalancerConfig(health_check_interval_seconds=5, health_check_timeout_seconds=5), "load_balancer.health_check_timeout_seconds"),
    ],
)
def test_fails_bad_field(factory, field_name: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        factory()
    assert excinfo.value.field_name == field_name


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
