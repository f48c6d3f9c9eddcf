"""Typed, immutable, validated configuration and the environment catalogue.

Nothing here reads the process environment: ``main.py`` reads the override
variables and hands them to :func:`build_app_config`.  Every value is checked
when its dataclass is constructed, so a bad value stops synthesis before any
construct exists.  A failure raises :class:`ConfigError`, whose message is one
line: the variable (or field), the value, and what is allowed.

One module per concern: ``network``, ``service``, ``deployment``, ``load_balancer``,
``database``, ``edge``, ``monitoring``, ``state``, ``registry``; ``regions`` is the
table of what differs by region; ``environment`` composes
them; ``catalogue`` holds dev, staging and prod; ``overrides`` turns the
override variables into an :class:`AppConfig`.
"""

from __future__ import annotations

from stacks.config.catalogue import EPHEMERAL_VPC_CIDR, RELEASED_IMAGE_TAG, catalogue
from stacks.config.database import MONITORING_INTERVALS, PERFORMANCE_INSIGHTS_RETENTION_DAYS, DatabaseConfig
from stacks.config.deployment import STRATEGIES, DeploymentConfig
from stacks.config.edge import WAF_MANAGED_RULE_GROUPS, WAF_RATE_WINDOWS, EdgeConfig
from stacks.config.environment import AppConfig, EnvironmentConfig, validate_suffix
from stacks.config.load_balancer import TLS_POLICY, LoadBalancerConfig
from stacks.config.monitoring import LOG_RETENTION_DAYS, MonitoringConfig
from stacks.config.names import LONGEST_32_CHAR_PART, NAME_LIMIT_32, PROJECT, STANDING_ENVIRONMENTS
from stacks.config.network import NetworkConfig
from stacks.config.overrides import OVERRIDE_VARIABLES, build_app_config, decode_settings, edit_settings, misspelt, parse_settings
from stacks.config.pipeline import PLACEHOLDER_REPOSITORY, PipelineConfig
from stacks.config.regions import ELB_LOG_DELIVERY_PRINCIPAL, REGIONS, Region, validate_region
from stacks.config.registry import RegistryConfig
from stacks.config.service import FARGATE_SIZES, LOG_LEVELS, ServiceConfig
from stacks.config.state import STATE_BACKENDS, STATE_KEY_ALIAS, StateConfig
from stacks.config.validate import ConfigError, validate_bucket_name

__all__ = [
    "ELB_LOG_DELIVERY_PRINCIPAL",
    "EPHEMERAL_VPC_CIDR",
    "FARGATE_SIZES",
    "LOG_LEVELS",
    "LOG_RETENTION_DAYS",
    "LONGEST_32_CHAR_PART",
    "MONITORING_INTERVALS",
    "NAME_LIMIT_32",
    "OVERRIDE_VARIABLES",
    "PERFORMANCE_INSIGHTS_RETENTION_DAYS",
    "PLACEHOLDER_REPOSITORY",
    "PROJECT",
    "REGIONS",
    "RELEASED_IMAGE_TAG",
    "STANDING_ENVIRONMENTS",
    "STATE_BACKENDS",
    "STATE_KEY_ALIAS",
    "STRATEGIES",
    "TLS_POLICY",
    "WAF_MANAGED_RULE_GROUPS",
    "WAF_RATE_WINDOWS",
    "AppConfig",
    "ConfigError",
    "DatabaseConfig",
    "DeploymentConfig",
    "EdgeConfig",
    "EnvironmentConfig",
    "LoadBalancerConfig",
    "MonitoringConfig",
    "NetworkConfig",
    "PipelineConfig",
    "Region",
    "RegistryConfig",
    "ServiceConfig",
    "StateConfig",
    "build_app_config",
    "catalogue",
    "decode_settings",
    "edit_settings",
    "misspelt",
    "parse_settings",
    "validate_bucket_name",
    "validate_region",
    "validate_suffix",
]
