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
#: Alias of the KMS key the state bootstrap stack creates for the state bucket.
STATE_KEY_ALIAS = f"alias/{PROJECT}-terraform-state"
STATE_BACKENDS = ("s3", "cloud", "local")

#: Environment variables ``main.py`` reads; documented in the README.
OVERRIDE_VARIABLES = (
    "ENVIRONMENT_SUFFIX",
    "AWS_REGION",
    "AVAILABILITY_ZONE_LETTERS",
    "VPC_CIDR",
    "IMAGE_TAG",
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

#: Evaluation windows (seconds) WAF rate-based rules accept.
WAF_RATE_WINDOWS = (60, 120, 300, 600)
#: AWS managed rule groups the web ACL uses (vendor ``AWS``).
WAF_MANAGED_RULE_GROUPS = (
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesSQLiRuleSet",
)

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


#: Fargate task sizes: CPU units -> allowed memory (MiB).
FARGATE_SIZES: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4097, 1024)),
    1024: tuple(range(2048, 8193, 1024)),
    2048: tuple(range(4096, 16385, 1024)),
    4096: tuple(range(8192, 30721, 1024)),
    8192: tuple(range(16384, 61441, 4096)),
    16384: tuple(range(32768, 122881, 8192)),
}
_IMAGE_TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_PARAM_KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")
_METRIC_RE = re.compile(r"^[A-Za-z0-9_./#:-]{1,255}$")
LOG_LEVELS = ("debug", "info", "warn", "error")


@dataclass(frozen=True)
class ServiceConfig:
    """The ECS Fargate service, its container and its auto scaling."""

    #: Share of tasks on FARGATE_SPOT, in percent (realized by capacity provider weights).
    spot_percentage: int = 50
    #: Tasks always on on-demand FARGATE before the weights apply (prod: at least 1).
    on_demand_base: int = 0
    #: Average CPU utilisation the auto scaler keeps, in percent.
    cpu_target_percent: int = 70
    #: Health check path of the container behind the ALB.
    health_check_path: str = "/health"
    #: Connection draining on the target groups, seconds.
    deregistration_delay_seconds: int = 30
    #: Port the container listens on.
    container_port: int = 8080
    #: Task CPU units and memory (MiB): a Fargate-supported pair.
    cpu: int = 512
    memory: int = 1024
    #: Image tag deployed by Terraform; ``latest`` is accepted in dev only.
    image_tag: str = "latest"
    #: Task counts: min <= desired <= max; min >= on_demand_base.
    min_tasks: int = 2
    desired_tasks: int = 2
    max_tasks: int = 6
    #: Seconds ECS waits after SIGTERM before SIGKILL; under the 2-minute Spot warning.
    stop_timeout_seconds: int = 30
    #: Container Insights: ``enabled`` or ``enhanced``.
    container_insights: Literal["enabled", "enhanced"] = "enabled"
    #: Custom backlog metric the application publishes (dimension ``ServiceName``).
    pending_orders_namespace: str = "OrderApi"
    pending_orders_metric: str = "PendingOrders"
    #: Pending orders one task should carry; the auto scaler keeps backlog/tasks near it.
    pending_orders_per_task: int = 100
    #: Optional ALB requests per target the auto scaler keeps (None: no such policy).
    requests_per_target: int | None = None
    #: Auto scaling cooldowns, seconds.
    scale_in_cooldown_seconds: int = 300
    scale_out_cooldown_seconds: int = 60
    #: Minutes a blue/green deployment bakes on green before blue is released.
    bake_time_minutes: int = 5
    #: Who registers task definitions after the first deploy: ``terraform`` or ``pipeline``
    #: (then Terraform ignores the service's task definition).
    task_definition_owner: Literal["terraform", "pipeline"] = "terraform"
    #: ECS Exec into running tasks (audited to an encrypted log group).
    enable_execute_command: bool = False
    #: Application log level (SSM parameter ``log-level``).
    log_level: str = "info"
    #: Feature values published as SSM parameters under ``features/<key>``.
    features: tuple[tuple[str, str], ...] = (("orders.max-batch-size", "50"),)
    #: ECR: tagged images kept by the lifecycle policy.
    ecr_keep_images: int = 30

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
        _int_in("service.container_port", self.container_port, 1024, 65535)
        _one_of("service.cpu", self.cpu, tuple(FARGATE_SIZES))
        _require(
            self.memory in FARGATE_SIZES.get(self.cpu, ()),
            "service.memory",
            self.memory,
            f"a Fargate memory size for cpu={self.cpu}: {', '.join(map(str, FARGATE_SIZES.get(self.cpu, ())))}",
        )
        _require(bool(_IMAGE_TAG_RE.match(self.image_tag)), "service.image_tag", self.image_tag, "a Docker tag: letters, digits, _ . - (max 128)")
        _int_in("service.max_tasks", self.max_tasks, 1, 1000)
        _int_in("service.min_tasks", self.min_tasks, 0, self.max_tasks)
        _int_in("service.desired_tasks", self.desired_tasks, self.min_tasks, self.max_tasks)
        _int_in("service.on_demand_base", self.on_demand_base, 0, max(self.min_tasks, 0))
        _int_in("service.stop_timeout_seconds", self.stop_timeout_seconds, 2, 110)
        _one_of("service.container_insights", self.container_insights, ("enabled", "enhanced"))
        _require(
            bool(_METRIC_RE.match(self.pending_orders_namespace)) and not self.pending_orders_namespace.startswith("AWS/"),
            "service.pending_orders_namespace",
            self.pending_orders_namespace,
            "a custom CloudWatch namespace (not AWS/...)",
        )
        _require(bool(_METRIC_RE.match(self.pending_orders_metric)), "service.pending_orders_metric", self.pending_orders_metric, "a CloudWatch metric name")
        _int_in("service.pending_orders_per_task", self.pending_orders_per_task, 1, 1_000_000)
        if self.requests_per_target is not None:
            _int_in("service.requests_per_target", self.requests_per_target, 1, 1_000_000)
        _int_in("service.scale_in_cooldown_seconds", self.scale_in_cooldown_seconds, 0, 3600)
        _int_in("service.scale_out_cooldown_seconds", self.scale_out_cooldown_seconds, 0, 3600)
        _int_in("service.bake_time_minutes", self.bake_time_minutes, 0, 1440)
        _one_of("service.task_definition_owner", self.task_definition_owner, ("terraform", "pipeline"))
        _one_of("service.log_level", self.log_level, LOG_LEVELS)
        keys = [k for k, _ in self.features]
        for key, value in self.features:
            _require(bool(_PARAM_KEY_RE.match(key)), "service.features", key, "keys of lowercase letters, digits, _ . - (max 63)")
            _require(0 < len(value) <= 4096, f"service.features[{key}]", value, "1-4096 characters")
        _require(len(keys) == len(set(keys)), "service.features", keys, "unique keys")
        _int_in("service.ecr_keep_images", self.ecr_keep_images, 1, 1000)


_DOMAIN_RE = re.compile(r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_CERT_ARN_RE = re.compile(r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]{36}$")
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"


@dataclass(frozen=True)
class LoadBalancerConfig:
    """The internet-facing ALB, its listeners and target group health checks.

    HTTPS needs either ``certificate_arn`` (an existing ACM certificate) or
    ``domain_name`` + ``hosted_zone_name`` (a certificate is created and
    DNS-validated in that public zone, and an alias record points at the ALB).
    Without either the ALB serves plain HTTP, which only dev may do.
    """

    certificate_arn: str | None = None
    domain_name: str | None = None
    hosted_zone_name: str | None = None
    #: TLS policy of the HTTPS listeners (TLS 1.3 with 1.2 fallback).
    ssl_policy: str = TLS_POLICY
    #: Port of the test listener that reaches the green target group during a deployment.
    test_listener_port: int = 9443
    #: CIDRs allowed to reach the test listener (none: only from inside the VPC via ECS hooks).
    test_listener_cidrs: tuple[str, ...] = ()
    #: Days ALB access logs are kept.
    access_log_retention_days: int = 90
    idle_timeout_seconds: int = 60
    #: Target group health check.
    health_check_interval_seconds: int = 15
    health_check_timeout_seconds: int = 5
    healthy_threshold: int = 2
    unhealthy_threshold: int = 3
    health_check_matcher: str = "200"

    def __post_init__(self) -> None:
        if self.certificate_arn is not None:
            _require(bool(_CERT_ARN_RE.match(self.certificate_arn)), "load_balancer.certificate_arn", self.certificate_arn, "an ACM certificate ARN")
        if self.domain_name is not None:
            _require(bool(_DOMAIN_RE.match(self.domain_name)), "load_balancer.domain_name", self.domain_name, "a lowercase DNS name")
            _require(
                self.hosted_zone_name is not None and self.domain_name.endswith("." + self.hosted_zone_name),
                "load_balancer.hosted_zone_name",
                self.hosted_zone_name,
                f"the public zone that contains {self.domain_name}",
            )
        _require(
            self.ssl_policy.startswith("ELBSecurityPolicy-TLS13-"), "load_balancer.ssl_policy", self.ssl_policy, "a TLS 1.3 policy (ELBSecurityPolicy-TLS13-*)"
        )
        _int_in("load_balancer.test_listener_port", self.test_listener_port, 1024, 65535)
        for cidr in self.test_listener_cidrs:
            net = _network("load_balancer.test_listener_cidrs", cidr)
            _require(net.prefixlen >= 8, "load_balancer.test_listener_cidrs", cidr, "blocks of /8 or smaller (never the whole internet)")
        _int_in("load_balancer.access_log_retention_days", self.access_log_retention_days, 1, 3650)
        _int_in("load_balancer.idle_timeout_seconds", self.idle_timeout_seconds, 1, 4000)
        _int_in("load_balancer.health_check_interval_seconds", self.health_check_interval_seconds, 5, 300)
        _int_in("load_balancer.health_check_timeout_seconds", self.health_check_timeout_seconds, 2, min(120, self.health_check_interval_seconds - 1))
        _int_in("load_balancer.healthy_threshold", self.healthy_threshold, 2, 10)
        _int_in("load_balancer.unhealthy_threshold", self.unhealthy_threshold, 2, 10)
        _require(
            bool(re.fullmatch(r"[2-4]\d\d(-[2-4]\d\d)?(,[2-4]\d\d(-[2-4]\d\d)?)*", self.health_check_matcher)),
            "load_balancer.health_check_matcher",
            self.health_check_matcher,
            "HTTP codes like 200 or 200-299",
        )

    @property
    def https(self) -> bool:
        return self.certificate_arn is not None or self.domain_name is not None


_ENGINE_VERSION_RE = re.compile(r"^8\.0\.mysql_aurora\.3\.\d{2}\.\d+$")
#: Provisioned Aurora MySQL classes that support Performance Insights (always on here):
#: no db.t3, and db.t4g only from medium up.
_INSTANCE_CLASS_RE = re.compile(r"^db\.(t4g\.(medium|large)|(r5|r6g|r6gd|r6i|r6id|r7g|r7i|r8g|x2g|x2iedn)\.[a-z0-9]+)$")
_MYSQL_IDENTIFIER_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_DAILY_WINDOW_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")
_WEEKLY_WINDOW_RE = re.compile(r"^(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):([0-5]\d)-(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):([0-5]\d)$")
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_MINUTES = 24 * 60
_WEEK_MINUTES = 7 * _DAY_MINUTES
#: Enhanced monitoring intervals RDS accepts (0, which turns it off, is not offered).
MONITORING_INTERVALS = (1, 5, 10, 15, 30, 60)
#: Performance Insights retention RDS accepts: 7 days (free tier) or whole months (31-day steps) up to 731.
PERFORMANCE_INSIGHTS_RETENTION_DAYS = (7, *range(31, 731, 31), 731)
#: Usernames Aurora MySQL reserves.
_RESERVED_DB_USERS = ("rdsadmin", "rdsrepladmin", "rdsproxyadmin", "mysql.sys", "root")


def _daily_window(field_name: str, value: str) -> tuple[int, int]:
    """``hh24:mi-hh24:mi`` (UTC), at least 30 minutes; returns (start, end) minutes of the day."""
    m = _DAILY_WINDOW_RE.match(value or "")
    _require(m is not None, field_name, value, "hh24:mi-hh24:mi in UTC, e.g. 03:00-04:00")
    assert m is not None
    start, end = int(m[1]) * 60 + int(m[2]), int(m[3]) * 60 + int(m[4])
    _require((end - start) % _DAY_MINUTES >= 30, field_name, value, "a window of at least 30 minutes")
    return start, end


def _weekly_window(field_name: str, value: str) -> tuple[int, int]:
    """``ddd:hh24:mi-ddd:hh24:mi`` (UTC), at least 30 minutes; returns (start, end) minutes of the week."""
    m = _WEEKLY_WINDOW_RE.match(value or "")
    _require(m is not None, field_name, value, "ddd:hh24:mi-ddd:hh24:mi in UTC with ddd one of mon..sun, e.g. sun:04:30-sun:05:30")
    assert m is not None
    start = _WEEKDAYS.index(m[1]) * _DAY_MINUTES + int(m[2]) * 60 + int(m[3])
    end = _WEEKDAYS.index(m[4]) * _DAY_MINUTES + int(m[5]) * 60 + int(m[6])
    _require((end - start) % _WEEK_MINUTES >= 30, field_name, value, "a window of at least 30 minutes")
    return start, end


def _intervals(start: int, end: int, period: int) -> list[tuple[int, int]]:
    """A window [start, end) on a circle of ``period`` minutes, as plain intervals."""
    return [(start, end)] if start < end else [(start, period), (0, end)]


def _windows_overlap(daily: tuple[int, int], weekly: tuple[int, int]) -> bool:
    """Whether the daily backup window meets the weekly maintenance window on any day."""
    start, end = daily
    duration = (end - start) % _DAY_MINUTES
    backup = [
        interval
        for day in range(7)
        for interval in _intervals(day * _DAY_MINUTES + start, (day * _DAY_MINUTES + start + duration) % _WEEK_MINUTES, _WEEK_MINUTES)
    ]
    maintenance = _intervals(*weekly, _WEEK_MINUTES)
    return any(a < d and c < b for a, b in backup for c, d in maintenance)


@dataclass(frozen=True)
class DatabaseConfig:
    """Aurora MySQL (see the database component for the full use)."""

    #: Aurora MySQL 3 (MySQL 8.0-compatible) engine version the cluster is created
    #: with, ``8.0.mysql_aurora.3.NN.N``.  Default ``8.0.mysql_aurora.3.08.2``.
    engine_version: str = "8.0.mysql_aurora.3.08.2"
    #: Instance class of the writer and the readers (Graviton or Intel; not serverless).
    #: Default ``db.t4g.medium`` (dev size); prod uses ``db.r6g.large``.
    instance_class: str = "db.t4g.medium"
    #: Readers Terraform manages, each in another AZ than the writer (round robin). 1-14.  Default 1.
    reader_count: int = 1
    #: Aurora Auto Scaling of readers on their average CPU.  Default off (prod: on).
    reader_auto_scaling: bool = False
    #: Most readers auto scaling may run in total (``reader_count`` .. 15).  Default 3.
    max_readers: int = 3
    #: Average reader CPU auto scaling keeps, percent (20-90).  Default 70.
    reader_cpu_target_percent: int = 70
    #: Schema created with the cluster (MySQL identifier, at most 64 characters).  Default ``orders``.
    database_name: str = "orders"
    #: Master user name (1-16 characters, not reserved by RDS).  Default ``orders_admin``.
    master_username: str = "orders_admin"
    #: Days between rotations of the RDS-managed master secret (1-365).  Default 7 (RDS's own default).
    secret_rotation_days: int = 7
    #: Days of automated backups (AWS allows 1-35).
    backup_retention_days: int = 7
    #: Daily automated backup window, UTC ``hh24:mi-hh24:mi``, at least 30 minutes.  Default ``03:00-04:00``.
    backup_window: str = "03:00-04:00"
    #: Weekly maintenance window, UTC ``ddd:hh24:mi-ddd:hh24:mi``, at least 30 minutes and
    #: not overlapping the backup window.  Default ``sun:04:30-sun:05:30``.
    maintenance_window: str = "sun:04:30-sun:05:30"
    #: Write the general query log (every statement; exported to CloudWatch Logs).
    #: Default off: the audit log already records connections, DDL and grants.
    general_log: bool = False
    #: Backtrack window in hours (0-72; 0 = off).  Default 0.
    backtrack_window_hours: int = 0
    #: Enhanced monitoring interval, seconds (1, 5, 10, 15, 30 or 60).  Default 60.
    monitoring_interval_seconds: int = 60
    #: Performance Insights retention, days (7, or a multiple of 31 up to 731).  Default 7 (free tier).
    performance_insights_retention_days: int = 7
    #: Refuse ``terraform destroy`` of the cluster.  Must stay on in prod.
    deletion_protection: bool = False
    #: Delete without a final snapshot (``<name_prefix>-final``).  Refused in prod.  Default off.
    skip_final_snapshot: bool = False
    #: An AWS Backup plan (daily, vault encrypted with the database key) on top of RDS's
    #: automated backups.  Default off (prod: on).
    aws_backup: bool = False
    #: Days AWS Backup keeps each daily recovery point (1-3650).  Default 35.
    aws_backup_retention_days: int = 35

    def __post_init__(self) -> None:
        _require(
            bool(_ENGINE_VERSION_RE.match(self.engine_version or "")),
            "database.engine_version",
            self.engine_version,
            "an Aurora MySQL 3 version such as 8.0.mysql_aurora.3.08.2",
        )
        _require(
            bool(_INSTANCE_CLASS_RE.match(self.instance_class or "")),
            "database.instance_class",
            self.instance_class,
            "a provisioned Aurora MySQL class that supports Performance Insights (db.t4g.medium/large, db.r5/r6g/r7g/... sizes)",
        )
        _int_in("database.reader_count", self.reader_count, 1, 14)
        _int_in("database.max_readers", self.max_readers, self.reader_count, 15)
        _int_in("database.reader_cpu_target_percent", self.reader_cpu_target_percent, 20, 90)
        _require(
            bool(_MYSQL_IDENTIFIER_RE.match(self.database_name or "")) and len(self.database_name) <= 64,
            "database.database_name",
            self.database_name,
            "1-64 letters, digits or '_', starting with a letter",
        )
        _require(
            bool(_MYSQL_IDENTIFIER_RE.match(self.master_username or ""))
            and len(self.master_username) <= 16
            and self.master_username.lower() not in _RESERVED_DB_USERS,
            "database.master_username",
            self.master_username,
            "1-16 letters, digits or '_', starting with a letter, not one of " + ", ".join(_RESERVED_DB_USERS),
        )
        _int_in("database.secret_rotation_days", self.secret_rotation_days, 1, 365)
        _int_in("database.backup_retention_days", self.backup_retention_days, 1, 35)
        backup = _daily_window("database.backup_window", self.backup_window)
        maintenance = _weekly_window("database.maintenance_window", self.maintenance_window)
        _require(
            not _windows_overlap(backup, maintenance),
            "database.maintenance_window",
            self.maintenance_window,
            f"a window that does not overlap the daily backup window {self.backup_window}",
        )
        _int_in("database.backtrack_window_hours", self.backtrack_window_hours, 0, 72)
        _one_of("database.monitoring_interval_seconds", self.monitoring_interval_seconds, MONITORING_INTERVALS)
        _require(
            self.performance_insights_retention_days in PERFORMANCE_INSIGHTS_RETENTION_DAYS,
            "database.performance_insights_retention_days",
            self.performance_insights_retention_days,
            "7, or a multiple of 31 up to 731",
        )
        _int_in("database.aws_backup_retention_days", self.aws_backup_retention_days, 1, 3650)


@dataclass(frozen=True)
class EdgeConfig:
    """Internet edge: WAF rate limit and ALB protection."""

    #: Requests per client IP allowed in one evaluation window.
    rate_limit: int = 100
    #: WAF rate-based evaluation window, seconds.
    rate_limit_window_seconds: int = 300
    #: ALB deletion protection.  Must stay on in prod.
    alb_deletion_protection: bool = False
    #: AWS managed rule groups (names from :data:`WAF_MANAGED_RULE_GROUPS`) that only
    #: count matches instead of blocking, e.g. while tuning false positives.
    #: Default: none, every group blocks.
    managed_rules_count_only: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _int_in("edge.rate_limit", self.rate_limit, 10, 2_000_000_000)
        _one_of("edge.rate_limit_window_seconds", self.rate_limit_window_seconds, WAF_RATE_WINDOWS)
        _require(
            isinstance(self.managed_rules_count_only, tuple)
            and all(name in WAF_MANAGED_RULE_GROUPS for name in self.managed_rules_count_only)
            and len(set(self.managed_rules_count_only)) == len(self.managed_rules_count_only),
            "edge.managed_rules_count_only",
            self.managed_rules_count_only,
            "a tuple of distinct names from " + ", ".join(WAF_MANAGED_RULE_GROUPS),
        )


_EMAIL_RE = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,63}$")
_HTTPS_URL_RE = re.compile(r"^https://[A-Za-z0-9.-]+(:\d{1,5})?(/[^\s]*)?$")


@dataclass(frozen=True)
class MonitoringConfig:
    """Logs, alarms and the on-call dashboard.

    Every alarm evaluates ``alarm_evaluation_periods`` periods of
    ``alarm_period_seconds`` and fires when ``alarm_datapoints_to_alarm`` of
    them breach (default: 3 of 3 one-minute periods).
    """

    #: Retention of every log group, days (a value CloudWatch Logs accepts).
    log_retention_days: int = 7
    #: E-mail addresses subscribed to the alarm topic (each must confirm).  Default: none.
    alarm_emails: tuple[str, ...] = ()
    #: HTTPS endpoints (e.g. a paging service) subscribed to the alarm topic.  Default: none.
    alarm_https_endpoints: tuple[str, ...] = ()
    #: Length of one alarm period, seconds (a multiple of 60, at most one hour).  Default 60.
    alarm_period_seconds: int = 60
    #: Periods each alarm looks at, 1-24 (so at most the day CloudWatch allows).  Default 3.
    alarm_evaluation_periods: int = 3
    #: Breaching periods (of the evaluated ones) that fire an alarm.  Default 3.
    alarm_datapoints_to_alarm: int = 3
    #: ALB-generated 5xx responses as a share of all requests, percent.  Default 5.
    alb_5xx_rate_percent: int = 5
    #: Target (application) 5xx responses per period.  Default 10.
    target_5xx_count: int = 10
    #: Unhealthy targets in a target group that fire the alarm.  Default 1.
    unhealthy_hosts: int = 1
    #: p99 target response time, milliseconds.  Default 2000.
    latency_p99_ms: int = 2000
    #: ECS service average CPU / memory utilisation, percent.  Default 85 / 85.
    ecs_cpu_percent: int = 85
    ecs_memory_percent: int = 85
    #: Aurora CPU utilisation (busiest instance), percent.  Default 80.
    db_cpu_percent: int = 80
    #: Database connections on one instance (about 80 % of max_connections of a db.r6g.large).  Default 800.
    db_connections: int = 800
    #: Aurora replica lag, milliseconds.  Default 1000.
    replica_lag_ms: int = 1000
    #: Pending orders (the application's backlog metric).  Default 1000.
    pending_orders: int = 1000

    def __post_init__(self) -> None:
        _one_of("monitoring.log_retention_days", self.log_retention_days, LOG_RETENTION_DAYS)
        for list_field, pattern, allowed in (
            ("alarm_emails", _EMAIL_RE, "e-mail addresses such as oncall@example.com"),
            ("alarm_https_endpoints", _HTTPS_URL_RE, "https:// URLs (plain http is refused)"),
        ):
            values = getattr(self, list_field)
            _require(isinstance(values, tuple) and len(values) <= 10, f"monitoring.{list_field}", values, f"a tuple of at most 10 {allowed}")
            for value in values:
                _require(isinstance(value, str) and bool(pattern.match(value)), f"monitoring.{list_field}", value, allowed)
            _require(len(set(values)) == len(values), f"monitoring.{list_field}", values, "no duplicates")
        _require(
            isinstance(self.alarm_period_seconds, int) and self.alarm_period_seconds % 60 == 0 and 60 <= self.alarm_period_seconds <= 3600,
            "monitoring.alarm_period_seconds",
            self.alarm_period_seconds,
            "a multiple of 60 from 60 to 3600",
        )
        _int_in("monitoring.alarm_evaluation_periods", self.alarm_evaluation_periods, 1, 24)
        _int_in("monitoring.alarm_datapoints_to_alarm", self.alarm_datapoints_to_alarm, 1, self.alarm_evaluation_periods)
        _int_in("monitoring.alb_5xx_rate_percent", self.alb_5xx_rate_percent, 1, 100)
        _int_in("monitoring.target_5xx_count", self.target_5xx_count, 1, 1_000_000)
        _int_in("monitoring.unhealthy_hosts", self.unhealthy_hosts, 1, 1000)
        _int_in("monitoring.latency_p99_ms", self.latency_p99_ms, 10, 60_000)
        _int_in("monitoring.ecs_cpu_percent", self.ecs_cpu_percent, 1, 100)
        _int_in("monitoring.ecs_memory_percent", self.ecs_memory_percent, 1, 100)
        _int_in("monitoring.db_cpu_percent", self.db_cpu_percent, 1, 100)
        _int_in("monitoring.db_connections", self.db_connections, 1, 16_000)
        _int_in("monitoring.replica_lag_ms", self.replica_lag_ms, 1, 600_000)
        _int_in("monitoring.pending_orders", self.pending_orders, 1, 100_000_000)


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
    #: KMS key (id, ARN or alias) that encrypts the state objects.  Default: the key
    #: the ``order-api-state`` stack creates.  (With ``encrypt`` and no key, Terraform
    #: would write SSE-S3 objects, overriding the bucket's KMS default.)
    kms_key_id: str | None = STATE_KEY_ALIAS
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
    load_balancer: LoadBalancerConfig = field(default_factory=LoadBalancerConfig)
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
        if self.name != "dev":
            _require(self.service.image_tag != "latest", "service.image_tag", self.service.image_tag, f"a pinned tag in {self.name} (latest is for dev only)")
            _require(self.load_balancer.https, "load_balancer", "no certificate", f"HTTPS (certificate_arn or domain_name) in {self.name}")
        if self.name == "prod":
            _require(self.service.on_demand_base >= 1, "service.on_demand_base", self.service.on_demand_base, "at least 1 in prod")
            _require(self.database.deletion_protection, "database.deletion_protection", self.database.deletion_protection, "must be true in prod")
            _require(not self.database.skip_final_snapshot, "database.skip_final_snapshot", self.database.skip_final_snapshot, "must be false in prod")
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


#: Image tag Terraform deploys first in staging and prod (``IMAGE_TAG`` overrides it);
#: afterwards the release pipeline owns the task definition there.
RELEASED_IMAGE_TAG = "1.0.0"


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
            service=ServiceConfig(image_tag=RELEASED_IMAGE_TAG, task_definition_owner="pipeline"),
            load_balancer=LoadBalancerConfig(domain_name="api.staging.orders.example.com", hosted_zone_name="staging.orders.example.com"),
            monitoring=MonitoringConfig(log_retention_days=14),
        ),
        "prod": EnvironmentConfig(
            name="prod",
            region=region,
            network=NetworkConfig(vpc_cidr="10.30.0.0/16", nat_gateways="per_az"),
            service=ServiceConfig(
                image_tag=RELEASED_IMAGE_TAG,
                task_definition_owner="pipeline",
                cpu=1024,
                memory=2048,
                on_demand_base=1,
                min_tasks=3,
                desired_tasks=3,
                max_tasks=20,
                container_insights="enhanced",
            ),
            load_balancer=LoadBalancerConfig(domain_name="api.orders.example.com", hosted_zone_name="orders.example.com"),
            database=DatabaseConfig(
                deletion_protection=True, instance_class="db.r6g.large", reader_auto_scaling=True, backtrack_window_hours=24, aws_backup=True
            ),
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
    image_tag = _get(overrides, "IMAGE_TAG")
    if image_tag is not None:
        try:
            envs = {name: replace(env, service=replace(env.service, image_tag=image_tag)) for name, env in envs.items()}
        except ConfigError as error:
            raise ConfigError("IMAGE_TAG", image_tag, error.allowed) from None
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
        kms_key_id=_get(overrides, "TF_STATE_KMS_KEY_ID") or STATE_KEY_ALIAS,
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
