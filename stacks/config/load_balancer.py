"""The internet-facing ALB, its listeners and health checks."""

from __future__ import annotations

import re
from dataclasses import dataclass

from stacks.config.validate import _int_in, _network, _require

#: A lowercase DNS name of at most 253 characters; the top-level label letters or punycode (``xn--p1ai``).
_DOMAIN_RE = re.compile(r"(?=.{1,253}\Z)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+([a-z]{2,63}|xn--[a-z0-9-]{1,59})")
#: An ACM certificate ARN; its id is a UUID (ACM's "certificate/12345678-1234-1234-1234-123456789012").
_CERT_ARN_RE = re.compile(r"arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_MATCHER_RE = re.compile(r"[2-4][0-9][0-9](-[2-4][0-9][0-9])?(,[2-4][0-9][0-9](-[2-4][0-9][0-9])?)*")
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
#: Longest first domain name of an ACM certificate (octets, periods included).
ACM_FIRST_NAME_LIMIT = 64
_TLS13_POLICY_RE = re.compile(r"ELBSecurityPolicy-TLS13-[A-Za-z0-9-]{1,100}")


@dataclass(frozen=True)
class LoadBalancerConfig:
    """The internet-facing ALB, its listeners and target group health checks.

    HTTPS needs either ``certificate_arn`` (an existing ACM certificate) or
    ``domain_name`` + ``hosted_zone_name`` (a certificate is created and
    DNS-validated in that public zone, and an alias record points at the ALB; the
    domain may be the zone's apex).
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
            _require(bool(_CERT_ARN_RE.fullmatch(self.certificate_arn)), "load_balancer.certificate_arn", self.certificate_arn, "an ACM certificate ARN")
        if self.domain_name is not None:
            _require(
                bool(_DOMAIN_RE.fullmatch(self.domain_name)), "load_balancer.domain_name", self.domain_name, "a lowercase DNS name of at most 253 characters"
            )
            _require(
                self.hosted_zone_name is not None and (self.domain_name == self.hosted_zone_name or self.domain_name.endswith("." + self.hosted_zone_name)),
                "load_balancer.hosted_zone_name",
                self.hosted_zone_name,
                f"the public zone that contains {self.domain_name}",
            )
            # ACM RequestCertificate: "The first domain name you enter cannot exceed 64 octets,
            # including periods" (it becomes the certificate's common name; SANs may be longer).
            _require(
                self.certificate_arn is not None or len(self.domain_name) <= ACM_FIRST_NAME_LIMIT,
                "load_balancer.domain_name",
                self.domain_name,
                f"at most {ACM_FIRST_NAME_LIMIT} characters when a certificate is created for it (ACM's limit for a certificate's "
                "first name), or an existing certificate (certificate_arn)",
            )
        else:
            _require(
                self.hosted_zone_name is None,
                "load_balancer.hosted_zone_name",
                self.hosted_zone_name,
                "set only with a domain name in it (load_balancer.domain_name, <ENV>_DOMAIN_NAME)",
            )
        _require(bool(_TLS13_POLICY_RE.fullmatch(self.ssl_policy)), "load_balancer.ssl_policy", self.ssl_policy, "a TLS 1.3 policy (ELBSecurityPolicy-TLS13-*)")
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
            bool(_MATCHER_RE.fullmatch(self.health_check_matcher)),
            "load_balancer.health_check_matcher",
            self.health_check_matcher,
            "HTTP codes like 200 or 200-299",
        )

    @property
    def https(self) -> bool:
        return self.certificate_arn is not None or self.domain_name is not None
