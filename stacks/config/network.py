"""VPC layout: CIDR, availability zones, NAT, endpoints, flow logs."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Literal

from stacks.config.regions import validate_az_letters
from stacks.config.validate import _int_in, _network, _one_of, _require

#: Prefix bits added for the private (task) tier and for the public and isolated tiers.
PRIVATE_TIER_BITS = 4
SMALL_TIER_BITS = 8
#: An ALB needs at least 8 free addresses per subnet: a /27 or larger.
ALB_MAX_SUBNET_PREFIX = 27
MIN_VPC_PREFIX = 16
MAX_VPC_PREFIX = ALB_MAX_SUBNET_PREFIX - SMALL_TIER_BITS
#: Where a VPC may lie: the RFC 1918 private ranges, as AWS recommends.  (AWS also takes
#: publicly routable blocks; these VPCs reach the internet through NAT, and a public
#: block hides the internet hosts that use it, so they are refused.)
VPC_RANGES = tuple(ipaddress.IPv4Network(r) for r in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
#: AWS: some AWS services use 172.17.0.0/16; don't use it for a VPC.
VPC_AVOID = ipaddress.IPv4Network("172.17.0.0/16")
VPC_RANGES_ALLOWED = (
    "a block inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16 (RFC 1918, as AWS recommends), not overlapping 172.17.0.0/16 (used by some AWS services)"
)


@dataclass(frozen=True)
class NetworkConfig:
    """VPC layout.

    Subnets are carved deterministically from ``vpc_cidr`` (prefix ``/n``): one
    private subnet of prefix ``/(n+4)`` per AZ for the tasks, then one public
    and one isolated (database) subnet of prefix ``/(n+8)`` per AZ.  An ALB
    needs public subnets of at least ``/27``, so ``n`` is at most 19.
    """

    #: VPC CIDR block, /16 to /19.
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
        _require(
            MIN_VPC_PREFIX <= net.prefixlen <= MAX_VPC_PREFIX,
            "network.vpc_cidr",
            self.vpc_cidr,
            f"a prefix from /{MIN_VPC_PREFIX} to /{MAX_VPC_PREFIX} (AWS allows /16 to /28; "
            f"public subnets get /(n+{SMALL_TIER_BITS}), and an ALB needs at least a /{ALB_MAX_SUBNET_PREFIX})",
        )
        _require(
            any(net.subnet_of(r) for r in VPC_RANGES) and not net.overlaps(VPC_AVOID),
            "network.vpc_cidr",
            self.vpc_cidr,
            VPC_RANGES_ALLOWED,
        )
        _int_in("network.az_count", self.az_count, 2, 3)
        # Letters are checked against the region by EnvironmentConfig (the region is set there).
        validate_az_letters("network.az_letters", "", self.az_letters, self.az_count)
        _one_of("network.nat_gateways", self.nat_gateways, ("per_az", "single"))
        _one_of("network.flow_log_traffic_type", self.flow_log_traffic_type, ("ALL", "ACCEPT", "REJECT"))

    def availability_zones(self, region: str) -> tuple[str, ...]:
        return tuple(f"{region}{letter}" for letter in self.az_letters)

    @property
    def private_subnet_addresses(self) -> int:
        """Addresses a task can get in one private subnet (AWS reserves 5 per subnet)."""
        return 2 ** (32 - ipaddress.IPv4Network(self.vpc_cidr).prefixlen - PRIVATE_TIER_BITS) - 5

    @property
    def subnet_plan(self) -> dict[str, tuple[str, ...]]:
        """CIDRs per tier (``public``, ``private``, ``isolated``), one per AZ."""
        net = ipaddress.IPv4Network(self.vpc_cidr)
        quarters = list(net.subnets(new_prefix=net.prefixlen + PRIVATE_TIER_BITS))
        private = tuple(str(s) for s in quarters[: self.az_count])
        small = list(quarters[self.az_count].subnets(new_prefix=net.prefixlen + SMALL_TIER_BITS))
        public = tuple(str(s) for s in small[: self.az_count])
        isolated = tuple(str(s) for s in small[8 : 8 + self.az_count])
        return {"public": public, "private": private, "isolated": isolated}
