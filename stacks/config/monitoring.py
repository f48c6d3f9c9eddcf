"""Logs, alarms and the on-call dashboard."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from stacks.config.validate import DNS_LABEL, DNS_NAME, DNS_NAME_LIMIT, _int_in, _one_of, _require, valid_port

#: Retention periods CloudWatch Logs accepts.
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)

#: RFC 5322 dot-atom local part (atext without ``{`` and ``}``), at most 64 characters; a DNS
#: domain whose top level is letters or punycode; at most 254 characters in all.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`|~-]+"
_EMAIL_RE = re.compile(rf"(?=.{{1,254}}\Z)(?=.{{1,64}}@){_ATOM}(\.{_ATOM})*@({DNS_LABEL}\.)+([A-Za-z]{{2,63}}|xn--[A-Za-z0-9-]{{1,59}})")
#: RFC 3986 path characters (unreserved, percent-encoded, sub-delims, ':' '@') and '/';
#: the query and the fragment may also hold '?'.
_PATH_CHAR = r"([A-Za-z0-9._~!$&'()*+,;=:@/-]|%[0-9A-Fa-f]{2})"
_HTTPS_URL_RE = re.compile(rf"https://(?P<host>{DNS_NAME})\.?(:(?P<port>[0-9]{{1,5}}))?(/{_PATH_CHAR}*)?(\?({_PATH_CHAR}|\?)*)?(#({_PATH_CHAR}|\?)*)?")
_EMAIL_ALLOWED = (
    "e-mail addresses such as oncall@example.com: before the @ dot-separated runs of letters, digits and ! # $ % & ' * + - / = ? ^ _ ` | ~ "
    "(at most 64), after it a DNS domain; at most 254 characters"
)
_HTTPS_ALLOWED = (
    "https://host[:port][/path][?query] URLs: a DNS host name, no user:password@, "
    "only RFC 3986 characters (others percent-encoded, a comma as %2C); plain http is refused"
)
#: An SNS topic ARN.  A topic name is 1-256 letters, digits, ``-`` or ``_``; a FIFO topic's ends in
#: ``.fifo``, within the same 256 characters (SNS CreateTopic, "Name": "Topic names must be made up of
#: only uppercase and lowercase ASCII letters, numbers, underscores, and hyphens, and must be between 1
#: and 256 characters long.  For a FIFO topic, the name must end with the .fifo suffix.").
_SNS_TOPIC_ARN_RE = re.compile(r"arn:aws(-cn|-us-gov)?:sns:[a-z]{2}(-gov)?-[a-z]+-[0-9]:[0-9]{12}:([A-Za-z0-9_-]{1,256}|[A-Za-z0-9_-]{1,251}\.fifo)")


#: The two alert channels, by the prefix of their fields: ``alarm`` pages (the paging
#: topic), ``ticket`` does not (the cause alarms' topic).
CHANNELS = ("alarm", "ticket")


@dataclass(frozen=True)
class MonitoringConfig:
    """Logs, alarms, their two channels and the on-call dashboard.

    Every threshold alarm evaluates ``alarm_evaluation_periods`` periods of
    ``alarm_period_seconds`` and fires when ``alarm_datapoints_to_alarm`` of
    them breach (default: 3 of 3 one-minute periods); the per-target-group
    rollback alarms do the same with the ``rollback_*`` fields (2 of 3).  Pages
    reach the ``alarm_*`` destinations, the cause alarms the ``ticket_*`` ones.
    """

    #: Retention of every log group, days (a value CloudWatch Logs accepts).
    log_retention_days: int = 7
    #: E-mail addresses subscribed to the paging topic (each must confirm).  Default: none.
    alarm_emails: tuple[str, ...] = ()
    #: HTTPS endpoints (e.g. a paging service) subscribed to the paging topic.  Default: none.
    alarm_https_endpoints: tuple[str, ...] = ()
    #: An existing SNS topic (e.g. the organisation's paging topic) that every paging alarm
    #: also notifies.  Its policy must let CloudWatch alarms of this account publish.  Default: none.
    alarm_topic_arn: str | None = None
    #: E-mail addresses subscribed to the non-paging (ticket) topic of the cause alarms.  Default: none.
    ticket_emails: tuple[str, ...] = ()
    #: HTTPS endpoints (e.g. a ticketing system) subscribed to the ticket topic.  Default: none.
    ticket_https_endpoints: tuple[str, ...] = ()
    #: An existing SNS topic that every ticket alarm also notifies.  Default: none.
    ticket_topic_arn: str | None = None
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
    #: Availability SLO, percent of load balancer requests answered without a 5xx over
    #: 30 days (90-99.99, at most two decimals).  The burn-rate page derives from it.
    #: Default 99.9 (the catalogue: dev 99, staging 99.5, prod 99.9).
    availability_slo_percent: float = 99.9
    #: Fargate Spot interruptions within one hour that fire ``spot-interruptions`` (1-1000).  Default 3.
    spot_interruptions_per_hour: int = 3
    #: The new revision's own signal, per target group (blue and green): 5xx answers of its
    #: targets above this share of its requests roll a deployment back, percent (1-100).  Default 2.
    rollback_5xx_rate_percent: int = 2
    #: p99 response time of one target group's targets that rolls a deployment back, milliseconds
    #: (10-60,000).  Default 2000.
    rollback_latency_p99_ms: int = 2000
    #: Requests a target group must answer in a period before its rollback alarms look at it
    #: (fewer count as healthy): at least 100 / ``rollback_5xx_rate_percent``, so that one
    #: failed request alone never breaches.  Default 50.
    rollback_min_requests: int = 50
    #: Period of the per-target-group rollback alarms, seconds (a multiple of 60 up to 3600),
    #: the periods they look at (1-24) and the breaching ones that fire them.  Default 60 / 3 / 2.
    rollback_period_seconds: int = 60
    rollback_evaluation_periods: int = 3
    rollback_datapoints_to_alarm: int = 2

    @property
    def error_budget(self) -> Decimal:
        """The share of requests the SLO allows to fail, e.g. ``Decimal("0.001")`` for 99.9 %."""
        return ((Decimal(100) - Decimal(str(self.availability_slo_percent))) / 100).normalize()

    @property
    def has_destination(self) -> bool:
        """Whether a page reaches anyone: a subscription or an external topic."""
        return self.reaches_someone("alarm")

    def reaches_someone(self, channel: str) -> bool:
        """Whether the ``channel`` (:data:`CHANNELS`) has a subscription or an external topic."""
        return bool(getattr(self, f"{channel}_emails") or getattr(self, f"{channel}_https_endpoints") or getattr(self, f"{channel}_topic_arn"))

    def __post_init__(self) -> None:
        _one_of("monitoring.log_retention_days", self.log_retention_days, LOG_RETENTION_DAYS)
        for channel in CHANNELS:
            _check_destinations(channel, getattr(self, f"{channel}_emails"), getattr(self, f"{channel}_https_endpoints"), getattr(self, f"{channel}_topic_arn"))
        _whole_minutes("monitoring.alarm_period_seconds", self.alarm_period_seconds)
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
        slo = self.availability_slo_percent
        _require(
            isinstance(slo, int | float) and not isinstance(slo, bool) and 90 <= slo <= 99.99 and int(Decimal(str(slo)).as_tuple().exponent) >= -2,
            "monitoring.availability_slo_percent",
            slo,
            "a percentage from 90 to 99.99 with at most two decimals, e.g. 99.9",
        )
        _int_in("monitoring.spot_interruptions_per_hour", self.spot_interruptions_per_hour, 1, 1000)
        self._check_rollback()

    def _check_rollback(self) -> None:
        """The per-target-group rollback alarms: thresholds and the request floor."""
        _int_in("monitoring.rollback_5xx_rate_percent", self.rollback_5xx_rate_percent, 1, 100)
        _int_in("monitoring.rollback_latency_p99_ms", self.rollback_latency_p99_ms, 10, 60_000)
        _int_in("monitoring.rollback_min_requests", self.rollback_min_requests, 1, 1_000_000)
        _whole_minutes("monitoring.rollback_period_seconds", self.rollback_period_seconds)
        _int_in("monitoring.rollback_evaluation_periods", self.rollback_evaluation_periods, 1, 24)
        _int_in("monitoring.rollback_datapoints_to_alarm", self.rollback_datapoints_to_alarm, 1, self.rollback_evaluation_periods)
        floor = -(-100 // self.rollback_5xx_rate_percent)
        _require(
            self.rollback_min_requests >= floor,
            "monitoring.rollback_min_requests",
            self.rollback_min_requests,
            f"at least 100 / rollback_5xx_rate_percent = {floor} (with fewer requests one failed request alone is above "
            f"{self.rollback_5xx_rate_percent} %, and a quiet environment rolls back on it)",
        )


def _check_destinations(channel: str, emails: tuple[str, ...], endpoints: tuple[str, ...], topic_arn: str | None) -> None:
    """The subscriptions and the external topic of one channel (``alarm``: the pages, ``ticket``: the rest)."""
    for list_field, values, pattern, allowed in (
        (f"{channel}_emails", emails, _EMAIL_RE, _EMAIL_ALLOWED),
        (f"{channel}_https_endpoints", endpoints, _HTTPS_URL_RE, _HTTPS_ALLOWED),
    ):
        # SNS sets no limit that matters here (12,500,000 subscriptions per topic).
        _require(isinstance(values, tuple), f"monitoring.{list_field}", values, f"a tuple of {allowed}")
        for value in values:
            match = pattern.fullmatch(value) if isinstance(value, str) else None
            ok = match is not None and valid_port(match.groupdict().get("port")) and len(match.groupdict().get("host") or "") <= DNS_NAME_LIMIT
            _require(ok, f"monitoring.{list_field}", value, allowed)
        _require(len(set(values)) == len(values), f"monitoring.{list_field}", values, "no duplicates")
    if topic_arn is not None:
        _require(
            bool(_SNS_TOPIC_ARN_RE.fullmatch(topic_arn)),
            f"monitoring.{channel}_topic_arn",
            topic_arn,
            "an SNS topic ARN such as arn:aws:sns:us-east-1:123456789012:paging",
        )


def _whole_minutes(field_name: str, period: int) -> None:
    """An alarm period: whole minutes, at most an hour."""
    _require(
        isinstance(period, int) and not isinstance(period, bool) and period % 60 == 0 and 60 <= period <= 3600,
        field_name,
        period,
        "a multiple of 60 from 60 to 3600",
    )
