"""The burn-rate page computed: the synthesized metric math and composite rule of prod,
evaluated on synthetic per-minute load balancer series.

A tiny evaluator reads exactly what the JSON holds: each window alarm's expression,
its metrics and their period, threshold and comparison, and the composite alarm's
rule.  Each alarm sees the sum of every metric over its period ending now (CloudWatch's
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

STACK = "order-api-prod"
PAGE = f"{STACK}-slo-burn"
FAST = (f"{STACK}-slo-fast-1h", f"{STACK}-slo-fast-5m")
SLOW = (f"{STACK}-slo-slow-6h", f"{STACK}-slo-slow-30m")
#: Requests per minute of the synthetic traffic.
RATE = 1000
HOUR = 60

# ------------------------------------------------------------ metric math


_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|(.))")


def _tokens(text: str) -> list[str]:
    found = [m.group(1) or m.group(2) or m.group(3) for m in _TOKEN.finditer(text)]
    return [t for t in found if t and not t.isspace()]


Value = float | None
Env = Mapping[str, Value]


def parse_expression(text: str) -> Callable[[Env], Value]:
    """``+ - * /``, parentheses, numbers, metric ids and ``FILL(x, n)``: the subset of
    CloudWatch metric math the burn-rate alarms use.  Missing data propagates (a
    period without a datapoint has no result); division by zero has no result."""
    tokens = _tokens(text)
    pos = 0

    def peek() -> str | None:
        return tokens[pos] if pos < len(tokens) else None

    def take(expected: str | None = None) -> str:
        nonlocal pos
        token = tokens[pos]
        assert expected is None or token == expected, f"expected {expected!r} at {token!r} in {text!r}"
        pos += 1
        return token

    def binary(op: str, left: Callable[[Env], Value], right: Callable[[Env], Value]) -> Callable[[Env], Value]:
        def evaluate(env: Env) -> Value:
            a, b = left(env), right(env)
            if a is None or b is None or (op == "/" and b == 0):
                return None
            return {"+": a + b, "-": a - b, "*": a * b, "/": a / b if b else 0.0}[op]

        return evaluate

    def expr() -> Callable[[Env], Value]:
        node = term()
        while peek() in ("+", "-"):
            op = take()
            node = binary(op, node, term())
        return node

    def term() -> Callable[[Env], Value]:
        node = factor()
        while peek() in ("*", "/"):
            op = take()
            node = binary(op, node, factor())
        return node

    def factor() -> Callable[[Env], Value]:
        token = take()
        if token == "(":
            node = expr()
            take(")")
            return node
        if re.fullmatch(r"\d+(\.\d+)?", token):
            number = float(token)
            return lambda env: number
        if peek() == "(":
            assert token == "FILL", f"{token}: not in the evaluated subset"
            take("(")
            series = expr()
            take(",")
            fill = float(take())
            take(")")
            return lambda env: fill if (v := series(env)) is None else v
        return lambda env: env[token]

    node = expr()
    assert pos == len(tokens), f"trailing tokens in {text!r}"
    return node


def parse_rule(text: str) -> Callable[[Mapping[str, bool]], bool]:
    """``ALARM("name")``, ``AND``, ``OR``, ``NOT`` and parentheses (NOT before AND before OR)."""
    tokens = re.findall(r'ALARM\("[^"]+"\)|AND|OR|NOT|\(|\)', text)
    assert "".join(tokens) == re.sub(r"\s+", "", text), f"unexpected text in rule {text!r}"
    pos = 0

    def take() -> str:
        nonlocal pos
        pos += 1
        return tokens[pos - 1]

    def disjunction() -> Callable[[Mapping[str, bool]], bool]:
        parts = [conjunction()]
        while pos < len(tokens) and tokens[pos] == "OR":
            take()
            parts.append(conjunction())
        return lambda states: any(p(states) for p in parts)

    def conjunction() -> Callable[[Mapping[str, bool]], bool]:
        parts = [negation()]
        while pos < len(tokens) and tokens[pos] == "AND":
            take()
            parts.append(negation())
        return lambda states: all(p(states) for p in parts)

    def negation() -> Callable[[Mapping[str, bool]], bool]:
        token = take()
        if token == "NOT":
            inner = negation()
            return lambda states: not inner(states)
        if token == "(":
            inner = disjunction()
            assert take() == ")"
            return inner
        name = token[len('ALARM("') : -2]
        return lambda states: states[name]

    rule = disjunction()
    assert pos == len(tokens)
    return rule


# ------------------------------------------------------------- the alarms


@dataclass(frozen=True)
class WindowAlarm:
    name: str
    expression: Callable[[Env], Value]
    #: metric id -> (metric name, period in minutes)
    metrics: Mapping[str, tuple[str, int]]
    threshold: float
    comparison: str

    def fires(self, series: Series, minute: int) -> bool:
        env = {id_: series.window_sum(metric, minute, minutes) for id_, (metric, minutes) in self.metrics.items()}
        value = self.expression(env)
        if value is None:  # treat_missing_data = notBreaching
            return False
        return value > self.threshold if self.comparison == "GreaterThanThreshold" else value >= self.threshold


class Series:
    """Per-minute sums of each load balancer metric; ``None``: no datapoint that minute."""

    def __init__(self, data: Mapping[str, list[float | None]]) -> None:
        self._prefix: dict[str, list[tuple[float, int]]] = {}
        for metric, values in data.items():
            total, count, prefix = 0.0, 0, [(0.0, 0)]
            for v in values:
                if v is not None:
                    total, count = total + v, count + 1
                prefix.append((total, count))
            self._prefix[metric] = prefix
        self.minutes = len(next(iter(data.values())))

    def window_sum(self, metric: str, end: int, minutes: int) -> float | None:
        """Sum over minutes ``[end - minutes, end)``, or ``None`` when none has data."""
        prefix = self._prefix[metric]
        start = max(0, end - minutes)
        total, count = prefix[end][0] - prefix[start][0], prefix[end][1] - prefix[start][1]
        return total if count else None


@dataclass(frozen=True)
class Page:
    windows: Mapping[str, WindowAlarm]
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
        (returned,) = [q for q in body["metric_query"] if q["return_data"]]
        metrics = {q["id"]: (q["metric"]["metric_name"], q["metric"]["period"] // 60) for q in body["metric_query"] if "metric" in q}
        windows[name] = WindowAlarm(name, parse_expression(returned["expression"]), metrics, body["threshold"], body["comparison_operator"])
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


def first(timeline: list[bool], start: int = 0) -> int | None:
    """Minutes after ``start`` until the page first fires (``None``: never)."""
    return next((m - start + 1 for m in range(start, len(timeline)) if timeline[m]), None)


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
