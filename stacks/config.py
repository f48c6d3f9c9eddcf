"""Typed, immutable, validated configuration and the environment catalogue.

Nothing here reads the process environment: ``main.py`` reads the override
variables and hands them to :func:`build_app_config`.  Every value is checked
when its dataclass is constructed, so a bad value stops synthesis before any
construct exists.  A failure raises :class:`ConfigError`, whose message is one
line: the field, the value, and what is allowed.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

PROJECT = "order-api"

#: Longest part appended to ``<name_prefix>-`` in a physical name that AWS
#: limits to 32 characters (ALB and target group names).
LONGEST_32_CHAR_PART = "green"
NAME_LIMIT_32 = 32

STANDING_ENVIRONMENTS = ("dev", "staging", "prod")
STATE_BACKENDS = ("s3", "cloud", "local")

#: Environment variables ``main.py`` reads; documented in the README.
OVERRIDE_VARIABLES = (
    "ENVIRONMENT_SUFFIX",
    "AWS_REGION",
    "AVAILABILITY_ZONE_LETTERS",
    "VPC_CIDR",
    "STATE_BACKEND",
    "TF_STATE_BUCKET",
    "TF_STATE_REGION",
    "TF_STATE_KMS_KEY_ID",
    "TF_CLOUD_ORGANIZATION",
    "TF_CLOUD_PROJECT",
    "TF_CLOUD_HOSTNAME",
    "TF_WORKSPACE_PREFIX",
)

_REGION_RE = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[1-9]$")
_SUFFIX_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_ORG_RE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
_WORKSPACE_PREFIX_RE = re.compile(r"^[A-Za-z0-9_-]{0,40}$")
_HOSTNAME_RE = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$")
_KMS_KEY_RE = re.compile(r"^(arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)/[A-Za-z0-9/_-]+|alias/[A-Za-z0-9/_-]+|[0-9a-f-]{36})$")
_TAG_VALUE_RE = re.compile(r"^[\w .:/=+@-]{1,256}$")

#: Retention periods CloudWatch Logs accepts.
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)


class ConfigError(ValueError):
    """A configuration value is not allowed.  ``str()`` is one line."""

    def __init__(self, field_name: str, value: object, allowed: str) -> None:
        self.field_name = field_name
        self.value = value
        self.allowed = allowed
        super().__init__(f"{field_name}={value!r} is invalid: {allowed}")


def _require(ok: bool, field_name: str, value: object, allowed: str) -> None:
    if not ok:
        raise ConfigError(field_name, value, allowed)


def _int_in(field_name: str, value: int, low: int, high: int) -> None:
    _require(
        isinstance(value, int) and not isinstance(value, bool) and low <= value <= high,
        field_name,
        value,
        f"an integer from {low} to {high}",
    )


def _one_of(field_name: str, value: object, allowed: tuple[object, ...]) -> None:
    _require(value in allowed, field_name, value, "one of " + ", ".join(str(a) for a in allowed))


def _network(field_name: str, value: str) -> ipaddress.IPv4Network:
    try:
        return ipaddress.IPv4Network(value, strict=True)
    except (ValueError, TypeError):
        raise ConfigError(field_name, value, "an IPv4 CIDR block whose address is the network address, e.g. 10.10.0.0/16") from None


def validate_region(field_name: str, value: str) -> None:
    _require(bool(_REGION_RE.match(value or "")), field_name, value, "an AWS region name such as us-east-1 or eu-west-2")


def validate_bucket_name(field_name: str, value: str) -> None:
    """S3 general purpose bucket naming rules."""
    ok = (
        bool(_BUCKET_RE.match(value or ""))
        and ".." not in value
        and ".-" not in value
        and "-." not in value
        and not re.match(r"^\d+\.\d+\.\d+\.\d+$", value)
        and not value.startswith(("xn--", "sthree-", "amzn-s3-demo-"))
        and not value.endswith(("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"))
    )
    _require(ok, field_name, value, "3-63 lowercase letters, digits, dots or hyphens, starting and ending with a letter or digit (S3 bucket naming rules)")


# --------------------------------------------------------------------------
# One dataclass per concern
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class NetworkConfig:
    """VPC layout.

    Subnets are carved deterministically from ``vpc_cidr``: one private
    subnet of prefix ``/(n+4)`` per AZ for the tasks, then one public and one
    isolated (database) subnet of prefix ``/(n+8)`` per AZ.
    """

    #: VPC CIDR block, /16 to /20.
    vpc_cidr: str = "10.10.0.0/16"
    #: Availability zones to spread over (2 or 3).  Default 3.
    az_count: int = 3
    #: Zone letters within the region, one per AZ (``a`` -> ``us-east-1a``).  Pinned,
    #: not looked up, so the plan never shifts subnets when AWS adds or hides a zone.
    az_letters: tuple[str, ...] = ("a", "b", "c")
    #: ``per_az`` (one NAT gateway per AZ, survives an AZ outage) or ``single`` (cheaper).
    nat_gateways: Literal["per_az", "single"] = "per_az"
    #: Interface endpoints (ECR api/dkr, Logs, Secrets Manager, SSM) in the private subnets.
    #: The S3 gateway endpoint is always created: it is free.  Default on.
    interface_endpoints: bool = True
    #: Flow log traffic type: ALL, ACCEPT or REJECT.
    flow_log_traffic_type: str = "ALL"

    def __post_init__(self) -> None:
        net = _network("network.vpc_cidr", self.vpc_cidr)
        _require(16 <= net.prefixlen <= 20, "network.vpc_cidr", self.vpc_cidr, "a prefix from /16 to /20 (room for three /24-or-larger subnet tiers)")
        _require(net.is_private, "network.vpc_cidr", self.vpc_cidr, "a private (RFC 1918) range")
        _int_in("network.az_count", self.az_count, 2, 3)
        _require(
            len(self.az_letters) == self.az_count
            and len(set(self.az_letters)) == self.az_count
            and all(re.fullmatch(r"[a-z]", letter) for letter in self.az_letters),
            "network.az_letters",
            ",".join(self.az_letters),
            f"{self.az_count} distinct single lowercase letters (one per AZ)",
        )
        _one_of("network.nat_gateways", self.nat_gateways, ("per_az", "single"))
        _one_of("network.flow_log_traffic_type", self.flow_log_traffic_type, ("ALL", "ACCEPT", "REJECT"))

    def availability_zones(self, region: str) -> tuple[str, ...]:
        return tuple(f"{region}{letter}" for letter in self.az_letters)

    @property
    def subnet_plan(self) -> dict[str, tuple[str, ...]]:
        """CIDRs per tier (``public``, ``private``, ``isolated``), one per AZ."""
        net = ipaddress.IPv4Network(self.vpc_cidr)
        quarters = list(net.subnets(new_prefix=net.prefixlen + 4))
        private = tuple(str(s) for s in quarters[: self.az_count])
        small = list(quarters[self.az_count].subnets(new_prefix=net.prefixlen + 8))
        public = tuple(str(s) for s in small[: self.az_count])
        isolated = tuple(str(s) for s in small[8 : 8 + self.az_count])
        return {"public": public, "private": private, "isolated": isolated}


@dataclass(frozen=True)
class ServiceConfig:
    """The ECS Fargate service (see the service component for the full use)."""

    #: Share of tasks on FARGATE_SPOT, in percent.
    spot_percentage: int = 50
    #: Average CPU utilisation the auto scaler keeps, in percent.
    cpu_target_percent: int = 70
    #: Health check path of the container behind the ALB.
    health_check_path: str = "/health"
    #: Connection draining on the target groups, seconds.
    deregistration_delay_seconds: int = 30

    def __post_init__(self) -> None:
        _int_in("service.spot_percentage", self.spot_percentage, 0, 100)
        _int_in("service.cpu_target_percent", self.cpu_target_percent, 10, 95)
        _require(
            self.health_check_path.startswith("/") and len(self.health_check_path) <= 1024 and " " not in self.health_check_path,
            "service.health_check_path",
            self.health_check_path,
            "a URL path starting with / (at most 1024 characters, no spaces)",
        )
        _int_in("service.deregistration_delay_seconds", self.deregistration_delay_seconds, 0, 3600)


@dataclass(frozen=True)
class DatabaseConfig:
    """Aurora MySQL (see the database component for the full use)."""

    #: Days of automated backups (AWS allows 1-35).
    backup_retention_days: int = 7
    #: Refuse ``terraform destroy`` of the cluster.  Must stay on in prod.
    deletion_protection: bool = False

    def __post_init__(self) -> None:
        _int_in("database.backup_retention_days", self.backup_retention_days, 1, 35)


@dataclass(frozen=True)
class EdgeConfig:
    """Internet edge: WAF rate limit and ALB protection."""

    #: Requests per client IP allowed in one evaluation window.
    rate_limit: int = 100
    #: WAF rate-based evaluation window, seconds.
    rate_limit_window_seconds: int = 300
    #: ALB deletion protection.  Must stay on in prod.
    alb_deletion_protection: bool = False

    def __post_init__(self) -> None:
        _int_in("edge.rate_limit", self.rate_limit, 10, 2_000_000_000)
        _one_of("edge.rate_limit_window_seconds", self.rate_limit_window_seconds, (60, 120, 300, 600))


@dataclass(frozen=True)
class MonitoringConfig:
    """Logs and alarms."""

    #: Retention of every log group, days (a value CloudWatch Logs accepts).
    log_retention_days: int = 7

    def __post_init__(self) -> None:
        _one_of("monitoring.log_retention_days", self.log_retention_days, LOG_RETENTION_DAYS)


@dataclass(frozen=True)
class StateConfig:
    """Where Terraform keeps state for the environment stacks.

    ``s3``: a bucket (see the bootstrap stack) with one key per stack,
    encryption and S3-native locking.  ``cloud``: one Terraform Cloud / HCP
    Terraform workspace per stack.  ``local``: a file next to the JSON (for
    trying things out only).
    """

    backend: Literal["s3", "cloud", "local"] = "s3"
    #: State bucket (``s3``).  Created by the ``order-api-state`` stack.
    bucket: str = "order-api-terraform-state"
    #: Region of the state bucket; defaults to the stacks' region.
    region: str | None = None
    #: Optional KMS key (id, ARN or alias) for state objects; default: the bucket's default encryption.
    kms_key_id: str | None = None
    #: Terraform Cloud organization (required for ``cloud``).
    cloud_organization: str | None = None
    #: Terraform Cloud project for the workspaces (optional).
    cloud_project: str | None = None
    #: Terraform Cloud / Enterprise hostname.
    cloud_hostname: str = "app.terraform.io"
    #: Prefix of each workspace name (workspace = prefix + stack name).
    workspace_prefix: str = ""

    def __post_init__(self) -> None:
        _one_of("STATE_BACKEND", self.backend, STATE_BACKENDS)
        validate_bucket_name("TF_STATE_BUCKET", self.bucket)
        if self.region is not None:
            validate_region("TF_STATE_REGION", self.region)
        if self.kms_key_id is not None:
            _require(bool(_KMS_KEY_RE.match(self.kms_key_id)), "TF_STATE_KMS_KEY_ID", self.kms_key_id, "a KMS key id, key ARN, alias/NAME or alias ARN")
        if self.backend == "cloud":
            _require(self.cloud_organization is not None, "TF_CLOUD_ORGANIZATION", self.cloud_organization, "required when STATE_BACKEND=cloud")
        if self.cloud_organization is not None:
            _require(bool(_ORG_RE.match(self.cloud_organization)), "TF_CLOUD_ORGANIZATION", self.cloud_organization, "1-40 letters, digits, '-' or '_'")
        if self.cloud_project is not None:
            _require(0 < len(self.cloud_project) <= 40, "TF_CLOUD_PROJECT", self.cloud_project, "1-40 characters")
        _require(bool(_HOSTNAME_RE.match(self.cloud_hostname)), "TF_CLOUD_HOSTNAME", self.cloud_hostname, "a DNS host name such as app.terraform.io")
        _require(bool(_WORKSPACE_PREFIX_RE.match(self.workspace_prefix)), "TF_WORKSPACE_PREFIX", self.workspace_prefix, "0-40 letters, digits, '-' or '_'")


@dataclass(frozen=True)
class EnvironmentConfig:
    """Everything one environment stack needs."""

    #: ``dev``, ``staging`` or ``prod``.
    name: str
    region: str = "us-east-1"
    #: Isolated copy of the environment (branch / pull request), e.g. ``pr42``.
    suffix: str | None = None
    owner: str = "platform-team"
    cost_center: str = "order-api"
    network: NetworkConfig = field(default_factory=NetworkConfig)
    service: ServiceConfig = field(default_factory=ServiceConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    edge: EdgeConfig = field(default_factory=EdgeConfig)
    monitoring: MonitoringConfig = field(default_factory=MonitoringConfig)

    def __post_init__(self) -> None:
        _one_of("environment", self.name, STANDING_ENVIRONMENTS)
        validate_region("AWS_REGION", self.region)
        if self.suffix is not None:
            validate_suffix(self.suffix, self.name)
        for tag_field in ("owner", "cost_center"):
            value = getattr(self, tag_field)
            _require(bool(_TAG_VALUE_RE.match(value)), tag_field, value, "1-256 letters, digits, spaces or . : / = + - @ _")
        if self.name == "prod":
            _require(self.database.deletion_protection, "database.deletion_protection", self.database.deletion_protection, "must be true in prod")
            _require(self.edge.alb_deletion_protection, "edge.alb_deletion_protection", self.edge.alb_deletion_protection, "must be true in prod")

    @property
    def is_production(self) -> bool:
        return self.name == "prod"

    @property
    def name_prefix(self) -> str:
        """Prefix of every physical name, e.g. ``order-api-dev-pr42``."""
        return "-".join(p for p in (PROJECT, self.name, self.suffix) if p)

    @property
    def stack_name(self) -> str:
        """Stack id (also the state key and Terraform Cloud workspace name)."""
        return self.name_prefix

    @property
    def environment_label(self) -> str:
        """Value of the ``environment`` tag, e.g. ``dev-pr42``."""
        return "-".join(p for p in (self.name, self.suffix) if p)

    @property
    def tags(self) -> dict[str, str]:
        return {
            "project": PROJECT,
            "environment": self.environment_label,
            "managed-by": "cdktf",
            "owner": self.owner,
            "cost-center": self.cost_center,
        }


def validate_suffix(suffix: str, environment: str = "dev") -> None:
    """Lowercase letters, digits and single hyphens; short enough for 32-char names."""
    base = f"{PROJECT}-{environment}-"
    max_len = NAME_LIMIT_32 - len(base) - len(LONGEST_32_CHAR_PART) - 1
    _require(
        bool(_SUFFIX_RE.match(suffix or "")) and len(suffix) <= max_len,
        "ENVIRONMENT_SUFFIX",
        suffix,
        f"1-{max_len} lowercase letters, digits and single inner hyphens "
        f"(so names like {base}<suffix>-{LONGEST_32_CHAR_PART} fit AWS's {NAME_LIMIT_32}-character limit)",
    )


@dataclass(frozen=True)
class AppConfig:
    """All stacks of one synthesis."""

    environments: tuple[EnvironmentConfig, ...]
    state: StateConfig
    region: str

    def __post_init__(self) -> None:
        names = [e.stack_name for e in self.environments]
        _require(len(names) == len(set(names)), "environments", names, "unique stack names")
        standing = [e for e in self.environments if e.suffix is None]
        for i, a in enumerate(standing):
            for b in standing[i + 1 :]:
                _require(
                    not ipaddress.IPv4Network(a.network.vpc_cidr).overlaps(ipaddress.IPv4Network(b.network.vpc_cidr)),
                    f"{b.name}.network.vpc_cidr",
                    b.network.vpc_cidr,
                    f"a block that does not overlap {a.name}'s {a.network.vpc_cidr}",
                )

    @property
    def state_region(self) -> str:
        return self.state.region or self.region


# --------------------------------------------------------------------------
# The environment catalogue
# --------------------------------------------------------------------------

#: Default VPC CIDR of an ephemeral (suffixed) copy of dev.
EPHEMERAL_VPC_CIDR = "10.100.0.0/16"


def catalogue(region: str) -> dict[str, EnvironmentConfig]:
    """The standing environments.  Production differs where it should."""
    return {
        "dev": EnvironmentConfig(
            name="dev",
            region=region,
            network=NetworkConfig(vpc_cidr="10.10.0.0/16", nat_gateways="single", interface_endpoints=False),
        ),
        "staging": EnvironmentConfig(
            name="staging",
            region=region,
            network=NetworkConfig(vpc_cidr="10.20.0.0/16", nat_gateways="single"),
            monitoring=MonitoringConfig(log_retention_days=14),
        ),
        "prod": EnvironmentConfig(
            name="prod",
            region=region,
            network=NetworkConfig(vpc_cidr="10.30.0.0/16", nat_gateways="per_az"),
            database=DatabaseConfig(deletion_protection=True),
            edge=EdgeConfig(alb_deletion_protection=True),
            monitoring=MonitoringConfig(log_retention_days=365),
        ),
    }


def _get(overrides: Mapping[str, str | None], name: str) -> str | None:
    value = overrides.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def build_app_config(overrides: Mapping[str, str | None]) -> AppConfig:
    """Build and validate the whole configuration from override variables.

    ``overrides`` maps names in :data:`OVERRIDE_VARIABLES` to their values
    (``None`` or empty: not set).  Raises :class:`ConfigError`.
    """
    unknown = sorted(set(overrides) - set(OVERRIDE_VARIABLES))
    _require(not unknown, "overrides", unknown, "only " + ", ".join(OVERRIDE_VARIABLES))
    region = _get(overrides, "AWS_REGION") or "us-east-1"
    validate_region("AWS_REGION", region)
    envs = catalogue(region)
    letters = _get(overrides, "AVAILABILITY_ZONE_LETTERS")
    if letters is not None:
        try:
            envs = {name: replace(env, network=replace(env.network, az_letters=tuple(x.strip() for x in letters.split(",")))) for name, env in envs.items()}
        except ConfigError as error:
            raise ConfigError("AVAILABILITY_ZONE_LETTERS", letters, error.allowed) from None
    environments = list(envs.values())

    suffix = _get(overrides, "ENVIRONMENT_SUFFIX")
    vpc_cidr = _get(overrides, "VPC_CIDR")
    if vpc_cidr is not None and suffix is None:
        raise ConfigError("VPC_CIDR", vpc_cidr, "only applies together with ENVIRONMENT_SUFFIX (the standing environments have fixed CIDRs)")
    if suffix is not None:
        validate_suffix(suffix)
        network = _ephemeral_network(envs, vpc_cidr or EPHEMERAL_VPC_CIDR)
        environments.append(replace(envs["dev"], suffix=suffix, network=network))

    backend = _get(overrides, "STATE_BACKEND") or "s3"
    _one_of("STATE_BACKEND", backend, STATE_BACKENDS)
    state = StateConfig(
        backend=backend,  # type: ignore[arg-type]
        bucket=_get(overrides, "TF_STATE_BUCKET") or StateConfig.bucket,
        region=_get(overrides, "TF_STATE_REGION"),
        kms_key_id=_get(overrides, "TF_STATE_KMS_KEY_ID"),
        cloud_organization=_get(overrides, "TF_CLOUD_ORGANIZATION"),
        cloud_project=_get(overrides, "TF_CLOUD_PROJECT"),
        cloud_hostname=_get(overrides, "TF_CLOUD_HOSTNAME") or StateConfig.cloud_hostname,
        workspace_prefix=_get(overrides, "TF_WORKSPACE_PREFIX") or "",
    )
    return AppConfig(environments=tuple(environments), state=state, region=region)


def _ephemeral_network(envs: Mapping[str, EnvironmentConfig], cidr: str) -> NetworkConfig:
    network = replace(envs["dev"].network, vpc_cidr=cidr)
    wanted = ipaddress.IPv4Network(cidr)
    for env in envs.values():
        _require(
            not wanted.overlaps(ipaddress.IPv4Network(env.network.vpc_cidr)),
            "VPC_CIDR",
            cidr,
            f"a block that does not overlap {env.name}'s {env.network.vpc_cidr}",
        )
    return network
