"""Internet edge: WAF rate limit, managed rules and ALB protection."""

from __future__ import annotations

from dataclasses import dataclass

from stacks.config.validate import _int_in, _one_of, _require

#: Evaluation windows (seconds) WAF rate-based rules accept.
WAF_RATE_WINDOWS = (60, 120, 300, 600)
#: AWS managed rule groups the web ACL uses (vendor ``AWS``).
WAF_MANAGED_RULE_GROUPS = (
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesSQLiRuleSet",
)


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
    #: Largest request body, bytes, by its ``Content-Length``: larger requests get 413.
    #: (The managed ``SizeRestrictions_BODY`` rule, which blocks anything over 8 KB, only
    #: counts.)  1 KiB to 100 MiB.  Default 65536 (64 KiB: an order of several hundred lines).
    max_body_bytes: int = 65536

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
        _int_in("edge.max_body_bytes", self.max_body_bytes, 1024, 100 * 1024 * 1024)
