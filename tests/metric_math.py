"""CloudWatch metric alarms and composite rules evaluated on synthetic per-minute series.

A tiny evaluator of exactly what the synthesized JSON holds: an alarm's returned
expression, its metrics and their periods, threshold, comparison, evaluation periods,
datapoints to alarm; a composite alarm's rule.  A datapoint of a metric is its sum over
the period ending then (CloudWatch's default evaluation window slides); an alarm is in
ALARM when at least ``datapoints_to_alarm`` of its last ``evaluation_periods``
datapoints breach, missing data not breaching.  A statistic other than a sum (a p99) is
given per minute by the series and read at one-minute periods only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any

Value = float | None
Env = Mapping[str, Value]

_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|(>=|<=|==|!=|.))")
_COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}
#: An alarm's comparison operator as the evaluator's.
OPERATORS = {
    "GreaterThanThreshold": ">",
    "GreaterThanOrEqualToThreshold": ">=",
    "LessThanThreshold": "<",
    "LessThanOrEqualToThreshold": "<=",
}


def _tokens(text: str) -> list[str]:
    found = [m.group(1) or m.group(2) or m.group(3) for m in _TOKEN.finditer(text)]
    return [t for t in found if t and not t.isspace()]


def parse_expression(text: str) -> Callable[[Env], Value]:
    """``+ - * /``, comparisons (1 or 0), parentheses, numbers, metric ids, ``FILL(x, n)``
    and ``IF(condition, a, b)``: the subset of CloudWatch metric math the alarms use.
    Missing data propagates (a period without a datapoint has no result); division by
    zero has no result; ``IF`` takes the value of the branch its condition picks."""
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
            if op in _COMPARISONS:
                return 1.0 if _COMPARISONS[op](a, b) else 0.0
            return {"+": a + b, "-": a - b, "*": a * b, "/": a / b if b else 0.0}[op]

        return evaluate

    def expr() -> Callable[[Env], Value]:
        node = additive()
        if peek() in _COMPARISONS:
            op = take()
            node = binary(op, node, additive())
        return node

    def additive() -> Callable[[Env], Value]:
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

    def function(name: str) -> Callable[[Env], Value]:
        take("(")
        args = [expr()]
        while peek() == ",":
            take(",")
            args.append(expr())
        take(")")
        if name == "FILL":
            series, fill = args
            return lambda env: fill(env) if (v := series(env)) is None else v
        assert name == "IF" and len(args) == 3, f"{name}: not in the evaluated subset"
        condition, then, otherwise = args
        return lambda env: None if (c := condition(env)) is None else (then(env) if c else otherwise(env))

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
            return function(token)
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


class Series:
    """Per-minute values of each metric (by any key: a name, or a name and a target
    group); ``None``: no datapoint that minute."""

    def __init__(self, data: Mapping[Hashable, list[float | None]]) -> None:
        self._prefix: dict[Hashable, list[tuple[float, int]]] = {}
        for metric, values in data.items():
            total, count, prefix = 0.0, 0, [(0.0, 0)]
            for v in values:
                if v is not None:
                    total, count = total + v, count + 1
                prefix.append((total, count))
            self._prefix[metric] = prefix
        self.minutes = len(next(iter(data.values())))

    def window_sum(self, metric: Hashable, end: int, minutes: int) -> float | None:
        """Sum over minutes ``[end - minutes, end)``, or ``None`` when none has data."""
        prefix = self._prefix[metric]
        start = max(0, end - minutes)
        if end <= 0:
            return None
        total, count = prefix[end][0] - prefix[start][0], prefix[end][1] - prefix[start][1]
        return total if count else None


@dataclass(frozen=True)
class MetricAlarm:
    """One synthesized metric alarm (:func:`load_alarm`)."""

    name: str
    expression: Callable[[Env], Value]
    #: metric id -> (series key, period in minutes)
    metrics: Mapping[str, tuple[Hashable, int]]
    threshold: float
    comparison: str
    evaluation_periods: int = 1
    datapoints_to_alarm: int = 1

    @property
    def period(self) -> int:
        (minutes,) = {m for _, m in self.metrics.values()}
        return minutes

    def value(self, series: Series, end: int) -> Value:
        """The returned expression's datapoint of the period ending at minute ``end``."""
        return self.expression({id_: series.window_sum(key, end, minutes) for id_, (key, minutes) in self.metrics.items()})

    def breaches(self, series: Series, end: int) -> bool:
        value = self.value(series, end)
        # treat_missing_data = notBreaching
        return value is not None and _COMPARISONS[OPERATORS[self.comparison]](value, self.threshold)

    def fires(self, series: Series, minute: int) -> bool:
        """In ALARM at the end of ``minute``: enough of the last evaluated datapoints breach."""
        ends = [minute - i * self.period for i in range(self.evaluation_periods)]
        return sum(self.breaches(series, end) for end in ends) >= self.datapoints_to_alarm

    def timeline(self, series: Series) -> list[bool]:
        """The alarm's state at the end of every minute."""
        return [self.fires(series, minute) for minute in range(1, series.minutes + 1)]


def by_metric_name(metric: Mapping[str, Any]) -> Hashable:
    return str(metric["metric_name"])


def _queries(body: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The alarm's metric math, or its one metric as the query ``m`` returns."""
    if "metric_query" in body:
        return list(body["metric_query"])
    stat = body.get("statistic") or body["extended_statistic"]
    metric = {"metric_name": body["metric_name"], "dimensions": body.get("dimensions", {}), "stat": stat, "period": body["period"]}
    return [{"id": "value", "expression": "m", "return_data": True}, {"id": "m", "metric": metric, "return_data": False}]


def load_alarm(body: Mapping[str, Any], key: Callable[[Mapping[str, Any]], Hashable] = by_metric_name) -> MetricAlarm:
    """``body`` (a synthesized ``aws_cloudwatch_metric_alarm``, metric math or one metric) as
    a :class:`MetricAlarm`; ``key`` names the series each metric reads.  Sums at any period;
    another statistic at one-minute periods only (the series gives it per minute)."""
    assert body["treat_missing_data"] == "notBreaching", body["alarm_name"]
    queries = _queries(body)
    (returned,) = [q for q in queries if q["return_data"]]
    metrics = {}
    for query in queries:
        if "metric" in query:
            metric = query["metric"]
            assert metric["stat"] == "Sum" or metric["period"] == 60, f"{metric['stat']} at {metric['period']} s: per-minute series only"
            metrics[query["id"]] = (key(metric), metric["period"] // 60)
    return MetricAlarm(
        name=body["alarm_name"],
        expression=parse_expression(returned["expression"]),
        metrics=metrics,
        threshold=float(body["threshold"]),
        comparison=body["comparison_operator"],
        evaluation_periods=body["evaluation_periods"],
        datapoints_to_alarm=body["datapoints_to_alarm"],
    )


def first(timeline: list[bool], start: int = 0) -> int | None:
    """Minutes after ``start`` until the timeline is first true (``None``: never)."""
    return next((m - start + 1 for m in range(start, len(timeline)) if timeline[m]), None)
