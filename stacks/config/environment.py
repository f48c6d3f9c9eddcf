"""One environment stack, the suffix rules, and the whole synthesis."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from stacks.config.database import DatabaseConfig
from stacks.config.deployment import DeploymentConfig
from stacks.config.edge import EdgeConfig
from stacks.config.load_balancer import LoadBalancerConfig
from stacks.config.monitoring import CHANNELS, MonitoringConfig
from stacks.config.names import LONGEST_32_CHAR_PART, NAME_LIMIT_32, PROJECT, STANDING_ENVIRONMENTS
from stacks.config.network import NetworkConfig
from stacks.config.pipeline import PipelineConfig
from stacks.config.regions import REGIONS, arn_partition_region, region, validate_az_letters
from stacks.config.registry import RegistryConfig
from stacks.config.service import ServiceConfig
from stacks.config.state import StateConfig
from stacks.config.validate import DNS_NAME, DNS_NAME_LIMIT, _one_of, _require, valid_port

#: URL of a local AWS emulator (moto, LocalStack): http(s), a host, an optional port.
_ENDPOINT_URL_RE = re.compile(rf"https?://((?P<name>{DNS_NAME})\.?|\[(?P<ipv6>[0-9A-Fa-f:.]{{2,45}})\])(:(?P<port>[0-9]{{1,5}}))?/?")

_SUFFIX_RE = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
_TAG_VALUE_RE = re.compile(r"[A-Za-z0-9_ .:/=+@-]{1,256}")


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
    deployment: DeploymentConfig = field(default_factory=DeploymentConfig)
    load_balancer: LoadBalancerConfig = field(default_factory=LoadBalancerConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    edge: EdgeConfig = field(default_factory=EdgeConfig)
    monitoring: MonitoringConfig = field(default_factory=MonitoringConfig)

    def __post_init__(self) -> None:
        _one_of("environment", self.name, STANDING_ENVIRONMENTS)
        where = region("AWS_REGION", self.region)
        validate_az_letters("AVAILABILITY_ZONE_LETTERS", self.region, self.network.az_letters, self.network.az_count)
        if self.suffix is not None:
            validate_suffix(self.suffix, self.name)
        # Blue/green runs the old and the new tasks side by side: twice the maximum, spread over the AZs.
        needed = -(-2 * self.service.max_tasks // self.network.az_count)
        _require(
            self.network.private_subnet_addresses >= needed,
            "network.vpc_cidr",
            self.network.vpc_cidr,
            f"a block whose private subnets hold {needed} task addresses each (twice service.max_tasks={self.service.max_tasks} "
            f"over {self.network.az_count} AZs during a blue/green deployment); these hold {self.network.private_subnet_addresses}",
        )
        _require(
            not self.database.data_api or where.data_api,
            "database.data_api",
            self.database.data_api,
            f"False in {self.region}: the RDS Data API is not offered there (make db-users needs it; create the database users another way)",
        )
        _require(
            self.database.backtrack_window_hours == 0 or where.backtrack,
            "database.backtrack_window_hours",
            self.database.backtrack_window_hours,
            f"0 in {self.region}: Aurora Backtrack is not offered there",
        )
        certificate = self.load_balancer.certificate_arn
        if certificate is not None:
            _require(
                certificate.split(":")[3] == self.region and certificate.split(":")[1] == where.partition,
                "load_balancer.certificate_arn",
                certificate,
                f"an ACM certificate in {self.region} ({where.partition}): a load balancer takes certificates of its own region only",
            )
        _require(
            not (self.deployment.smoke_test and self.load_balancer.https and not self.load_balancer.domain_name),
            "load_balancer.domain_name",
            self.load_balancer.domain_name,
            "a domain name when HTTPS and deployment.smoke_test are on (the smoke test checks the certificate against it)",
        )
        self._check_rollback_timing()
        for tag_field in ("owner", "cost_center"):
            value = getattr(self, tag_field)
            _require(bool(_TAG_VALUE_RE.fullmatch(value)), tag_field, value, "1-256 letters, digits, spaces or . : / = + - @ _")
        if self.name != "dev":
            _require(
                self.service.image_tag != "latest",
                "service.image_tag",
                self.service.image_tag,
                f"a pinned tag or digest in {self.name} (latest is for dev only)",
            )
            _require(self.load_balancer.https, "load_balancer", "no certificate", f"HTTPS (certificate_arn or domain_name) in {self.name}")
        if self.name == "prod":
            _require(self.service.on_demand_base >= 1, "service.on_demand_base", self.service.on_demand_base, "at least 1 in prod")
            _require(self.database.deletion_protection, "database.deletion_protection", self.database.deletion_protection, "must be true in prod")
            _require(not self.database.skip_final_snapshot, "database.skip_final_snapshot", self.database.skip_final_snapshot, "must be false in prod")
            _require(self.edge.alb_deletion_protection, "edge.alb_deletion_protection", self.edge.alb_deletion_protection, "must be true in prod")

    def _check_rollback_timing(self) -> None:
        """The per-target-group rollback alarms can fire while the first share of the traffic
        alone reaches the new revision (CANARY's canary, LINEAR's first step), when the
        deployment waits there at all."""
        deployment, monitoring = self.deployment, self.monitoring
        wait = {"CANARY": deployment.canary_bake_minutes, "LINEAR": deployment.linear_step_minutes}.get(deployment.strategy, 0)
        to_fire = monitoring.rollback_period_seconds * monitoring.rollback_datapoints_to_alarm
        _require(
            wait == 0 or to_fire <= wait * 60,
            "monitoring.rollback_datapoints_to_alarm",
            monitoring.rollback_datapoints_to_alarm,
            f"at most {wait * 60 // monitoring.rollback_period_seconds} periods of {monitoring.rollback_period_seconds} s: the rollback alarms "
            f"must be able to fire within the {wait} minutes the {deployment.strategy} deployment's first traffic shift waits",
        )

    @property
    def is_production(self) -> bool:
        return self.name == "prod"

    @property
    def disposable(self) -> bool:
        """A suffixed copy: destroyed without a final snapshot, with buckets emptied."""
        return self.suffix is not None

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


def valid_endpoint_url(url: str) -> bool:
    """An http(s) URL with a host name or a bracketed IPv6 address (``http://[::1]:4566``),
    an optional port (1-65535), no path, query or credentials."""
    match = _ENDPOINT_URL_RE.fullmatch(url)
    if match is None or not valid_port(match["port"]):
        return False
    if match["name"] is not None:
        return len(match["name"]) <= DNS_NAME_LIMIT
    try:
        ipaddress.IPv6Address(match["ipv6"])
    except ValueError:
        return False
    return True


def validate_suffix(suffix: str, environment: str = "dev") -> None:
    """Lowercase letters, digits and single hyphens; short enough for 32-char names."""
    base = f"{PROJECT}-{environment}-"
    max_len = NAME_LIMIT_32 - len(base) - len(LONGEST_32_CHAR_PART) - 1
    _require(
        bool(_SUFFIX_RE.fullmatch(suffix or "")) and len(suffix) <= max_len,
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
    registry: RegistryConfig = field(default_factory=RegistryConfig)
    #: Who may act on the account: the pipeline's GitHub repository and environments.
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)
    #: A local AWS emulator every provider (and the S3 backend) talks to instead of AWS.
    #: Never for prod.  Default: none (real AWS).
    endpoint_url: str | None = None
    #: One-line notices found while reading the overrides, shown with :attr:`warnings`.
    notices: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        where = region("AWS_REGION", self.region)
        self._check_partitions_and_regions(where.partition)
        if self.endpoint_url is not None:
            _require(
                valid_endpoint_url(self.endpoint_url),
                "AWS_ENDPOINT_URL",
                self.endpoint_url,
                "an http:// or https:// URL of a local AWS emulator: a host name, an IPv4 address or a bracketed IPv6 address, "
                "an optional port 1-65535, nothing else; e.g. http://127.0.0.1:5000 or http://[::1]:4566",
            )
            production = [e.stack_name for e in self.environments if e.is_production]
            _require(
                not production,
                "AWS_ENDPOINT_URL",
                self.endpoint_url,
                "an emulator endpoint is refused for prod: leave prod out with ENVIRONMENTS=dev (or dev,staging)",
            )
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

    def _check_partitions_and_regions(self, partition: str) -> None:
        """ARNs and the state region must be usable with the stacks' region: one partition
        (one set of credentials), and the region of what uses them."""
        state_region = region("TF_STATE_REGION", self.state_region)
        _require(
            state_region.partition == partition,
            "TF_STATE_REGION",
            self.state_region,
            f"a region of the {partition} partition, like AWS_REGION={self.region} (one set of credentials reaches the state and the stacks)",
        )
        key = self.state.kms_key_id or ""
        if "s3" in (self.state.backend, self.state.bootstrap_backend) and arn_partition_region(key) is not None:
            _require(
                arn_partition_region(key) == (partition, self.state_region),
                "TF_STATE_KMS_KEY_ID",
                key,
                f"a key in TF_STATE_REGION={self.state_region} of the {partition} partition (S3 encrypts the state with a key of the bucket's region)",
            )
        for env in self.environments:
            for channel in CHANNELS:
                topic = getattr(env.monitoring, f"{channel}_topic_arn")
                _require(
                    topic is None or arn_partition_region(topic) == (partition, env.region),
                    f"{channel.upper()}_TOPIC_ARN",
                    topic,
                    f"a topic in AWS_REGION={env.region} of the {partition} partition (CloudWatch alarms notify topics of their own region)",
                )

    @property
    def state_region(self) -> str:
        return self.state.region or self.region

    @property
    def warnings(self) -> list[str]:
        """Things that synthesize but that a deploy would refuse or that will not work
        as usual (one line each)."""
        production = [e for e in self.environments if e.is_production]
        lines = [
            f"{e.stack_name}: alarms reach nobody; set ALARM_EMAILS, ALARM_HTTPS_ENDPOINTS or ALARM_TOPIC_ARN (make deploy refuses {e.stack_name} without one)"
            for e in production
            if not e.monitoring.has_destination
        ]
        lines += [
            f"{e.stack_name}: the cause alarms (errors, hosts, CPU, database) reach nobody, only the dashboard; "
            "set TICKET_EMAILS, TICKET_HTTPS_ENDPOINTS or TICKET_TOPIC_ARN"
            for e in production
            if not e.monitoring.reaches_someone("ticket")
        ]
        if self.environments and not REGIONS[self.region].data_api:
            lines.append(
                f"{self.region} has no RDS Data API: database.data_api is off there (stacks/config/catalogue.py), "
                "so make db-users cannot create the database users; create them another way (README, Database)"
            )
        return [*lines, *self.notices]
