"""The environment catalogue: dev, staging and prod.  Production differs where it should."""

from __future__ import annotations

from stacks.config.database import DatabaseConfig
from stacks.config.deployment import DeploymentConfig
from stacks.config.edge import EdgeConfig
from stacks.config.environment import EnvironmentConfig
from stacks.config.load_balancer import LoadBalancerConfig
from stacks.config.monitoring import MonitoringConfig
from stacks.config.network import NetworkConfig
from stacks.config.regions import REGIONS
from stacks.config.service import ServiceConfig

#: Default VPC CIDR of an ephemeral (suffixed) copy of dev.
EPHEMERAL_VPC_CIDR = "10.100.0.0/16"


#: Image tag staging and prod start with when Terraform creates their service
#: (``IMAGE_TAG`` overrides it); afterwards images move only by release.
RELEASED_IMAGE_TAG = "1.0.0"


def catalogue(region: str) -> dict[str, EnvironmentConfig]:
    """The standing environments.  Production differs where it should.  Zone letters,
    Backtrack and the Data API follow the region (see stacks/config/regions.py)."""
    zones = REGIONS[region].default_az_letters()
    # The RDS Data API (make db-users) where the region offers it; AppConfig.warnings says so where not.
    data_api = REGIONS[region].data_api
    return {
        "dev": EnvironmentConfig(
            name="dev",
            region=region,
            network=NetworkConfig(vpc_cidr="10.10.0.0/16", az_letters=zones, nat_gateways="single", interface_endpoints=False),
            database=DatabaseConfig(data_api=data_api),
            # A short bake: dev is released many times a day.
            deployment=DeploymentConfig(bake_time_minutes=1),
            # Sparse, synthetic traffic: at 99.9 % a handful of failed requests would page.
            # At 99 % the page still fires when a broken release fails most requests.
            monitoring=MonitoringConfig(availability_slo_percent=99.0),
        ),
        "staging": EnvironmentConfig(
            name="staging",
            region=region,
            network=NetworkConfig(vpc_cidr="10.20.0.0/16", az_letters=zones, nat_gateways="single"),
            service=ServiceConfig(image_tag=RELEASED_IMAGE_TAG),
            load_balancer=LoadBalancerConfig(domain_name="api.staging.orders.example.com", hosted_zone_name="staging.orders.example.com"),
            database=DatabaseConfig(data_api=data_api),
            # Production-like but for tests and load runs: half of prod's strictness.
            monitoring=MonitoringConfig(log_retention_days=14, availability_slo_percent=99.5),
        ),
        "prod": EnvironmentConfig(
            name="prod",
            region=region,
            network=NetworkConfig(vpc_cidr="10.30.0.0/16", az_letters=zones, nat_gateways="per_az"),
            service=ServiceConfig(
                image_tag=RELEASED_IMAGE_TAG,
                cpu=1024,
                memory=2048,
                on_demand_base=1,
                min_tasks=3,
                desired_tasks=3,
                max_tasks=20,
                container_insights="enhanced",
            ),
            # A canary: a tenth of the customers for five minutes, then everyone.
            deployment=DeploymentConfig(strategy="CANARY", canary_percent=10.0, canary_bake_minutes=5, bake_time_minutes=10),
            load_balancer=LoadBalancerConfig(domain_name="api.orders.example.com", hosted_zone_name="orders.example.com"),
            database=DatabaseConfig(
                deletion_protection=True,
                instance_class="db.r6g.large",
                data_api=data_api,
                # Advanced Database Insights: per-query history and plans for the on-call engineer.
                database_insights_mode="advanced",
                performance_insights_retention_days=465,
                reader_auto_scaling=True,
                # A day of backtrack where the region offers it (see stacks/config/regions.py).
                backtrack_window_hours=24 if REGIONS[region].backtrack else 0,
                aws_backup=True,
                restore_testing=True,
            ),
            edge=EdgeConfig(alb_deletion_protection=True),
            monitoring=MonitoringConfig(log_retention_days=365, availability_slo_percent=99.9),
        ),
    }
