"""One environment stack, the suffix rules, and the whole synthesis."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from stacks.config.database import DatabaseConfig
from stacks.config.edge import EdgeConfig
from stacks.config.load_balancer import LoadBalancerConfig
from stacks.config.monitoring import MonitoringConfig
from stacks.config.names import LONGEST_32_CHAR_PART, NAME_LIMIT_32, PROJECT, STANDING_ENVIRONMENTS
from stacks.config.network import NetworkConfig
from stacks.config.service import ServiceConfig
from stacks.config.state import StateConfig
from stacks.config.validate import _one_of, _require, validate_region

_SUFFIX_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_TAG_VALUE_RE = re.compile(r"^[\w .:/=+@-]{1,256}$")


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
