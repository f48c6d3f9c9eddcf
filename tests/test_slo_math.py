"""The burn-rate page computed: the synthesized metric math and composite rule of prod,
evaluated on synthetic per-minute load balancer series (:mod:`tests.metric_math`).

Each window alarm sees the sum of every metric over its period ending now (CloudWatch's
default sliding evaluation window), one datapoint, missing data not breaching.  The
scenarios are built from the SLO in the configuration, never from the expressions.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from stacks.config import build_app_config
from tests.conftest import Synthesized
from tests.metric_math import Env, MetricAlarm, Series, Value, first, load_alarm, parse_expression, parse_rule

STACK = "order-api-prod"
PAGE = f"{STACK}-slo-burn"
FAST = (f"{STACK}-slo-fast-1h", f"{STACK}-slo-fast-5m")
SLOW = (f"{STACK}-slo-slow-6h", f"{STACK}-slo-slow-30m")
#: Requests per minute of the synthetic traffic.
RATE = 1000
HOUR = 60


# ------------------------------------------------------------- the alarms


@dataclass(frozen=True)
class Page:
    windows: Mapping[str, MetricAlarm]
    rule: Callable[[Mapping[str, bool]], bool]

    def states(self, series: Series, minute: int) -> dict[str, bool]:
        return {name: alarm.fires(series, minute) for name, alarm in self.windows.items()}

    def timeline(self, series: Series) -> list[bool]:
        """The page's state at the end of every minute."""
        return [self.rule(self.states(series, minute)) for minute in range(1, series.minutes + 1)]


def _resolve(doc: dict[str, Any], text: str) -> str:
    """Replace ``${aws_cloudwatch_metric_alarm.<id>.alarm_name}`` by the alarm's name."""
    alarms = doc["resource"]["aws_cloudwatch_metric_alarm"]
    return re.sub(r"\$\{aws_cloudwatch_metric_alarm\.([A-Za-z0-9_]+)\.alarm_name\}", lambda m: alarms[m[1]]["alarm_name"], text)


def load_page(doc: dict[str, Any]) -> Page:
    (composite,) = [c for c in doc["resource"]["aws_cloudwatch_composite_alarm"].values() if c["alarm_name"] == PAGE]
    rule_text = _resolve(doc, composite["alarm_rule"])
    names = re.findall(r'ALARM\("([^"]+)"\)', rule_text)
    by_name = {body["alarm_name"]: body for body in doc["resource"]["aws_cloudwatch_metric_alarm"].values()}
    windows = {}
    for name in names:
        body = by_name[name]
        assert (body["evaluation_periods"], body["datapoints_to_alarm"], body["treat_missing_data"]) == (1, 1, "notBreaching")
        windows[name] = load_alarm(body)
    return Page(windows, parse_rule(rule_text))


@pytest.fixture(scope="module")
def page(synth: Synthesized) -> Page:
    return load_page(synth.doc(STACK))


@pytest.fixture(scope="module")
def budget() -> float:
    """The share of requests prod's SLO lets fail, from the configuration."""
    (prod,) = [e for e in build_app_config({"ENVIRONMENTS": "prod"}).environments if e.name == "prod"]
    return float((100 - Decimal(str(prod.monitoring.availability_slo_percent))) / 100)


# ------------------------------------------------------------- scenarios


def traffic(phases: list[tuple[int, float]], *, rate: float = RATE, target_share: float = 0.5) -> Series:
    """``phases`` of (minutes, error ratio) at ``rate`` requests a minute; errors split between
    the application (``target_share``) and the load balancer.  A metric without a count
    in a minute has no datapoint (the ALB publishes nothing for zero)."""
    requests: list[float | None] = []
    elb: list[float | None] = []
    target: list[float | None] = []
    for minutes, ratio in phases:
        errors = rate * ratio
        for _ in range(minutes):
            requests.append(rate or None)
            target.append(errors * target_share or None)
            elb.append(errors * (1 - target_share) or None)
    return Series({"RequestCount": requests, "HTTPCode_ELB_5XX_Count": elb, "HTTPCode_Target_5XX_Count": target})


def test_the_page_is_the_four_window_alarms(page: Page) -> None:
    assert sorted(page.windows) == sorted([*FAST, *SLOW])


@pytest.mark.parametrize("burn", [1.0, 5.0])
def test_quiet_at_the_slo_and_below_the_slow_factor(page: Page, budget: float, burn: float) -> None:
    """Errors at the SLO (the budget lasts 30 days), or at 5x (it lasts 6 days: a ticket,
    not a page), for 12 hours: no page, no window of either pair in ALARM at the end."""
    series = traffic([(12 * HOUR, burn * budget)])
    assert not any(page.timeline(series))
    assert not any(page.states(series, series.minutes).values())


def test_a_fast_burn_pages_within_the_hour_through_the_fast_pair(page: Page, budget: float) -> None:
    """20x the budget's error rate after 6 clean hours: 2 % of the month's budget is gone
    after 43.2 minutes, when the 1-hour window crosses 14.4; the 6-hour one has not."""
    clean = 6 * HOUR
    series = traffic([(clean, 0.0), (3 * HOUR, 20 * budget)])
    timeline = page.timeline(series)
    assert not any(timeline[:clean])
    assert first(timeline, clean) == 44
    states = page.states(series, clean + 44)
    assert states[FAST[0]] and states[FAST[1]] and not states[SLOW[0]]


def test_a_slow_burn_pages_within_five_hours_through_the_slow_pair(page: Page, budget: float) -> None:
    """8x after 6 clean hours: never fast enough for the fast pair (14.4x), but 5 % of the
    budget is gone once the 6-hour window crosses 6x: after 270 minutes."""
    clean = 6 * HOUR
    series = traffic([(clean, 0.0), (8 * HOUR, 8 * budget)])
    timeline = page.timeline(series)
    assert not any(timeline[:clean])
    assert first(timeline, clean) == 271
    for minute in range(clean, series.minutes + 1):
        states = page.states(series, minute)
        assert not states[FAST[0]], minute
    assert page.states(series, clean + 271)[SLOW[0]]


def test_the_page_ends_minutes_after_the_errors_stop(page: Page, budget: float) -> None:
    """The short windows reset the page: 5 minutes after a fast burn ends the page is over,
    although the 1-hour window still holds more than 14.4x."""
    series = traffic([(6 * HOUR, 0.0), (HOUR, 20 * budget), (2 * HOUR, 0.0)])
    timeline = page.timeline(series)
    stop = 7 * HOUR
    assert timeline[stop - 1]
    assert not any(timeline[stop + 5 :])
    assert page.states(series, stop + 5)[FAST[0]]


def test_a_short_spike_of_errors_does_not_page(page: Page, budget: float) -> None:
    """Every request failing for 30 seconds (half a minute at 100 %) spends about 1 % of
    the month's budget: the 5-minute window passes 14.4x, the hour does not."""
    series = traffic([(2 * HOUR, 0.0), (1, 0.5), (2 * HOUR, 0.0)])
    assert not any(page.timeline(series))
    assert page.states(series, 2 * HOUR + 1)[FAST[1]]


def test_no_traffic_is_no_page_and_an_outage_without_targets_pages(page: Page) -> None:
    """Without requests nothing burns.  When no target is healthy the ALB answers 503,
    which RequestCount leaves out: the burn rate only grows, and the page fires."""
    idle = Series({"RequestCount": [None] * 600, "HTTPCode_ELB_5XX_Count": [None] * 600, "HTTPCode_Target_5XX_Count": [None] * 600})
    assert not any(page.timeline(idle))
    outage = Series({"RequestCount": [None] * 120, "HTTPCode_ELB_5XX_Count": [float(RATE)] * 120, "HTTPCode_Target_5XX_Count": [None] * 120})
    assert first(page.timeline(outage)) == 1


# ------------------------------------------------------- the evaluator


@pytest.mark.parametrize(
    ("expression", "env", "expected"),
    [
        ("(FILL(a, 0) + FILL(b, 0)) / FILL(c, 1) / 0.001", {"a": 1.0, "b": None, "c": 1000.0}, 1.0),
        ("(FILL(a, 0) + FILL(b, 0)) / FILL(c, 1) / 0.001", {"a": None, "b": None, "c": None}, 0.0),
        ("a - b * 2", {"a": 10.0, "b": 3.0}, 4.0),
        ("a / b", {"a": 1.0, "b": 0.0}, None),
        ("a + b", {"a": 1.0, "b": None}, None),
    ],
)
def test_the_evaluator_computes_metric_math(expression: str, env: Env, expected: Value) -> None:
    assert parse_expression(expression)(env) == expected


@pytest.mark.parametrize(
    ("rule", "states", "expected"),
    [
        ('(ALARM("a") AND ALARM("b")) OR (ALARM("c") AND ALARM("d"))', {"a": True, "b": False, "c": True, "d": True}, True),
        ('(ALARM("a") AND ALARM("b")) OR (ALARM("c") AND ALARM("d"))', {"a": True, "b": False, "c": False, "d": True}, False),
        ('ALARM("a") OR ALARM("b") AND ALARM("c")', {"a": False, "b": True, "c": False}, False),
        ('NOT ALARM("a")', {"a": False}, True),
    ],
)
def test_the_evaluator_computes_alarm_rules(rule: str, states: dict[str, bool], expected: bool) -> None:
    assert parse_rule(rule)(states) is expected
