"""The availability SLO as multi-window, multi-burn-rate alerting in CloudWatch metric math.

Google's SRE Workbook (chapter 5, "Alerting on SLOs") pages on how fast the error
budget burns, not on a threshold.  The burn rate is the error rate divided by the
budget (``1 - SLO``): at 1 the budget lasts exactly the SLO period (30 days).  A pair of
windows pages when both burn at least the pair's factor: the long window proves the
burn matters, the short one that it is still going on (so the page ends minutes after
the errors stop, not an hour later).

- **fast**: 2 % of the 30-day budget in one hour, ``0.02 * 720 h / 1 h = 14.4``, over 1 h and 5 min;
- **slow**: 5 % of the budget in six hours, ``0.05 * 720 h / 6 h = 6``, over 6 h and 30 min.

Each window is one metric alarm whose period is the window (CloudWatch's default
evaluation window slides, so every evaluation sees the last full window); one
composite alarm ORs the two ANDed pairs.  Good requests are load balancer requests
without a 5xx: errors are ``HTTPCode_ELB_5XX_Count + HTTPCode_Target_5XX_Count``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

#: The SLO period the factors are computed for, days (the Workbook's 30).
SLO_PERIOD_DAYS = 30
SLO_PERIOD_MINUTES = SLO_PERIOD_DAYS * 24 * 60

#: Metric math ids of the load balancer metrics each burn-rate expression reads.
BURN_METRICS = (("requests", "RequestCount"), ("elb_5xx", "HTTPCode_ELB_5XX_Count"), ("target_5xx", "HTTPCode_Target_5XX_Count"))

#: CloudWatch: ``period * evaluation_periods`` at most one day for periods under an hour,
#: seven days otherwise; periods are multiples of 60 s.
_DAY_SECONDS = 86_400
_WEEK_SECONDS = 7 * _DAY_SECONDS


def _short_label(minutes: int) -> str:
    return f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}m"


@dataclass(frozen=True)
class BurnWindow:
    """One metric alarm: the burn rate over ``minutes`` is above ``factor``."""

    key: str
    minutes: int
    factor: Decimal

    @property
    def seconds(self) -> int:
        return self.minutes * 60

    @property
    def label(self) -> str:
        """``5 min``, ``1 h``, ``6 h``."""
        return f"{self.minutes // 60} h" if self.minutes % 60 == 0 else f"{self.minutes} min"


@dataclass(frozen=True)
class BurnPair:
    """Two windows that page together: ``budget_share`` of the SLO period's budget burnt
    within ``long_minutes``, and still burning over ``short_minutes``."""

    name: str
    budget_share: Decimal
    long_minutes: int
    short_minutes: int

    @property
    def factor(self) -> Decimal:
        """The burn rate that spends ``budget_share`` of the budget in the long window."""
        return (self.budget_share * SLO_PERIOD_MINUTES / self.long_minutes).normalize()

    @property
    def long(self) -> BurnWindow:
        return BurnWindow(f"slo-{self.name}-{_short_label(self.long_minutes)}", self.long_minutes, self.factor)

    @property
    def short(self) -> BurnWindow:
        return BurnWindow(f"slo-{self.name}-{_short_label(self.short_minutes)}", self.short_minutes, self.factor)


#: The Workbook's recommended pairs for a page.
BURN_PAIRS = (
    BurnPair("fast", Decimal("0.02"), long_minutes=60, short_minutes=5),
    BurnPair("slow", Decimal("0.05"), long_minutes=360, short_minutes=30),
)
#: Every window alarm, long before short, fast pair first.
BURN_WINDOWS = tuple(window for pair in BURN_PAIRS for window in (pair.long, pair.short))


def burn_expression(error_budget: Decimal, suffix: str = "") -> str:
    """Burn rate of the metrics ``requests<suffix>``, ``elb_5xx<suffix>``, ``target_5xx<suffix>``.

    A period without 5xx has no error data (0 errors); a period without requests has no
    ``RequestCount`` (counted as 1 request, so the rate is 0, not a division by zero).
    A 503 for want of any healthy target is not in ``RequestCount``: in a total outage
    the rate can exceed ``1 / budget``, which only makes the page surer."""
    requests, elb, target = (f"{id_}{suffix}" for id_, _ in BURN_METRICS)
    return f"(FILL({elb}, 0) + FILL({target}, 0)) / FILL({requests}, 1) / {error_budget:f}"


def burn_rule(alarm_names: Mapping[str, str]) -> str:
    """The composite alarm's rule: each pair's windows ANDed, the pairs ORed.
    ``alarm_names`` maps each window key to its alarm's name (or a reference to it)."""
    return " OR ".join(f'(ALARM("{alarm_names[pair.long.key]}") AND ALARM("{alarm_names[pair.short.key]}"))' for pair in BURN_PAIRS)


def fits_alarm_limits(period_seconds: int, evaluation_periods: int) -> bool:
    """Whether CloudWatch accepts an alarm of ``evaluation_periods`` periods of ``period_seconds``."""
    limit = _DAY_SECONDS if period_seconds < 3600 else _WEEK_SECONDS
    return period_seconds % 60 == 0 and 0 < period_seconds * evaluation_periods <= limit
