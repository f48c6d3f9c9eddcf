"""The rollback alarms computed: what each environment's ECS service rolls back on, as
synthesized, evaluated on synthetic per-minute series of a deployment (:mod:`tests.metric_math`).

The alarms are the ones the service's ``alarms.alarm_names`` name (references resolved),
each read from the JSON: metric math, periods, threshold, evaluation periods and
datapoints to alarm.  The deployment's shape (strategy, canary share, canary and bake
minutes) is read from the service's ``deployment_configuration``.  The series hold the
load balancer's metrics and each target group's (blue carries production before the
deployment, green the new revision), built from a scenario, never from the expressions.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import SUFFIX, Synthesized
from tests.metric_math import MetricAlarm, Series, first, load_alarm, parse_expression

PROD = "order-api-prod"
STACKS = ("order-api-dev", "order-api-staging", PROD, f"order-api-dev-{SUFFIX}")
#: Load balancer requests per minute of the synthetic production traffic.
RATE = 1000
#: Minutes of healthy traffic on blue before a deployment starts, and after it ends.
BEFORE, AFTER = 30, 10
#: Response time of healthy targets, seconds (their p99).
FAST = 0.1
COLOURS = ("blue", "green")
#: Series keys: (metric name, target group colour, or None for the load balancer's own metric).
LB_METRICS = ("RequestCount", "HTTPCode_ELB_5XX_Count", "HTTPCode_Target_5XX_Count")
TG_METRICS = ("RequestCount", "HTTPCode_Target_5XX_Count", "TargetResponseTime", "UnHealthyHostCount")


@dataclass(frozen=True)
class Deployment:
    """How a release reaches production traffic, as the service is configured."""

    strategy: str
    #: Share of production traffic the new revision takes first, percent (100: all at once).
    canary_percent: float
    #: Minutes the new revision carries only that share (0: none).
    canary_minutes: int
    #: Minutes both revisions stay after the last shift (ECS still watches the alarms).
    bake_minutes: int

    @property
    def watched_minutes(self) -> int:
        """Minutes ECS watches the rollback alarms once production traffic starts to move."""
        return self.canary_minutes + self.bake_minutes


def service(synth: Synthesized, stack: str) -> dict[str, Any]:
    (body,) = synth.resources(stack, "aws_ecs_service").values()
    return body


def deployment_of(synth: Synthesized, stack: str) -> Deployment:
    config = service(synth, stack)["deployment_configuration"]
    canary = config.get("canary_configuration")
    if config["strategy"] == "CANARY":
        return Deployment("CANARY", float(canary["canary_percent"]), int(canary["canary_bake_time_in_minutes"]), int(config["bake_time_in_minutes"]))
    assert config["strategy"] == "BLUE_GREEN" and canary is None
    return Deployment("BLUE_GREEN", 100.0, 0, int(config["bake_time_in_minutes"]))


def rollback_alarms(synth: Synthesized, stack: str, *, rewrite: Mapping[str, str] | None = None) -> dict[str, MetricAlarm]:
    """The metric alarms the stack's service rolls back on, by name.  ``rewrite``: a planted
    defect, each pattern of the returned expressions replaced (it must match)."""
    resources = synth.doc(stack)["resource"]["aws_cloudwatch_metric_alarm"]
    colour_of = {synth.ref(stack, "aws_lb_target_group", f"load_balancer/{c}_target_group", "arn_suffix"): c for c in COLOURS}

    def key(metric: Mapping[str, Any]) -> Hashable:
        return (metric["metric_name"], colour_of.get(metric["dimensions"].get("TargetGroup")))

    alarms = {}
    for reference in service(synth, stack)["alarms"]["alarm_names"]:
        logical_id = re.fullmatch(r"\$\{aws_cloudwatch_metric_alarm\.([A-Za-z0-9_]+)\.alarm_name\}", reference)
        assert logical_id is not None, reference
        body = resources[logical_id[1]]
        for pattern, replacement in (rewrite or {}).items():
            for query in body.get("metric_query", []):
                if query["return_data"]:
                    query["expression"], count = re.subn(pattern, replacement, query["expression"])
                    assert count == 1 or not body["alarm_name"].startswith(f"{stack}-target-"), (pattern, query["expression"])
        alarms[body["alarm_name"]] = load_alarm(body, key)
    return alarms


@dataclass(frozen=True)
class Minute:
    """One minute of traffic: load balancer requests, green's share of them, the share of
    green's requests its targets fail (5xx) and green's p99 (s).  Blue answers the rest,
    without errors, in :data:`FAST`."""

    requests: float
    green_share: float = 0.0
    green_errors: float = 0.0
    green_p99: float = FAST


def series(minutes: list[Minute]) -> Series:
    """The per-minute metrics of ``minutes``.  A count of 0 is no datapoint (the load balancer
    publishes none), and a target group without requests has no response time."""
    data: dict[Hashable, list[float | None]] = {(m, None): [] for m in LB_METRICS} | {(m, c): [] for m in TG_METRICS for c in COLOURS}
    for minute in minutes:
        green = minute.requests * minute.green_share
        blue = minute.requests - green
        errors = green * minute.green_errors
        for key, value in (
            (("RequestCount", None), minute.requests),
            (("HTTPCode_ELB_5XX_Count", None), 0.0),
            (("HTTPCode_Target_5XX_Count", None), errors),
            (("RequestCount", "blue"), blue),
            (("RequestCount", "green"), green),
            (("HTTPCode_Target_5XX_Count", "blue"), 0.0),
            (("HTTPCode_Target_5XX_Count", "green"), errors),
            (("TargetResponseTime", "blue"), FAST if blue else None),
            (("TargetResponseTime", "green"), minute.green_p99 if green else None),
            (("UnHealthyHostCount", "blue"), 0.0),
            (("UnHealthyHostCount", "green"), 0.0),
        ):
            data[key].append(value or None)
    return Series(data)


def release(deployment: Deployment, *, rate: float = RATE, errors: float = 0.0, p99: float = FAST) -> list[Minute]:
    """Healthy traffic on blue, then a deployment whose new revision (green) fails ``errors``
    of its requests and answers in ``p99``: its canary share for the canary minutes, then
    all the traffic through the bake time and after."""
    canary = Minute(rate, deployment.canary_percent / 100, errors, p99)
    everything = Minute(rate, 1.0, errors, p99)
    return [Minute(rate)] * BEFORE + [canary] * deployment.canary_minutes + [everything] * (deployment.bake_minutes + AFTER)


def rolled_back_at(alarms: Mapping[str, MetricAlarm], traffic: Series, deployment: Deployment) -> int | None:
    """The minute of the deployment (1 = the first after production traffic starts to move)
    at which a rollback alarm is first in ALARM while ECS watches; ``None``: promoted."""
    watched = [any(alarm.fires(traffic, minute) for alarm in alarms.values()) for minute in range(BEFORE + 1, BEFORE + deployment.watched_minutes + 1)]
    return first(watched)


def firing(alarms: Mapping[str, MetricAlarm], traffic: Series, minute: int) -> list[str]:
    return sorted(name for name, alarm in alarms.items() if alarm.fires(traffic, minute))


# ------------------------------------------------------------- prod's canary


@pytest.fixture(scope="module")
def prod(synth: Synthesized) -> Deployment:
    deployment = deployment_of(synth, PROD)
    assert deployment.strategy == "CANARY" and deployment.canary_minutes > 0 and deployment.canary_percent < 100
    return deployment


def test_a_canary_failing_5_percent_of_its_requests_rolls_back_during_the_canary(synth: Synthesized, prod: Deployment) -> None:
    """Prod's 10 % canary failing 5 % of its requests: half a percent of all requests, 5x
    the budget, which the load balancer's fast burn (14.4x) lets through.  The green
    target group's own 5xx rate sees 5 % and rolls the deployment back in the canary's
    second minute (2 of 3 one-minute datapoints), before the rest of the traffic moves."""
    alarms = rollback_alarms(synth, PROD)
    traffic = series(release(prod, errors=0.05))
    assert not any(firing(alarms, traffic, minute) for minute in range(1, BEFORE + 1))
    minute = rolled_back_at(alarms, traffic, prod)
    assert minute == 2 and minute <= prod.canary_minutes
    assert firing(alarms, traffic, BEFORE + minute) == [f"{PROD}-target-5xx-rate-green"]
    # Without it the canary is promoted: the load balancer-wide fast burn stays quiet all canary long.
    fast_burn = alarms[f"{PROD}-slo-fast-5m"]
    assert not any(fast_burn.fires(traffic, m) for m in range(BEFORE + 1, BEFORE + prod.canary_minutes + 1))


def test_a_slow_canary_rolls_back_during_the_canary(synth: Synthesized, prod: Deployment) -> None:
    """A canary that answers its slowest 1 % in 3 s (above 2 s) but fails nothing: the load
    balancer's p99 mixes it with nine times as many fast answers; the green p99 does not."""
    alarms = rollback_alarms(synth, PROD)
    traffic = series(release(prod, p99=3.0))
    minute = rolled_back_at(alarms, traffic, prod)
    assert minute is not None and minute <= prod.canary_minutes
    assert firing(alarms, traffic, BEFORE + minute) == [f"{PROD}-target-latency-p99-green"]


def test_a_healthy_canary_is_promoted(synth: Synthesized, prod: Deployment) -> None:
    """A new revision that fails requests at the SLO's rate (0.1 %) trips nothing: the canary,
    the bake, and the old colour going idle afterwards (no data is not an alarm)."""
    alarms = rollback_alarms(synth, PROD)
    traffic = series(release(prod, errors=0.001))
    assert rolled_back_at(alarms, traffic, prod) is None
    assert not any(firing(alarms, traffic, minute) for minute in range(1, traffic.minutes + 1))


def test_the_canary_is_seen_from_the_request_floor_over_its_share(synth: Synthesized, prod: Deployment) -> None:
    """The canary's own alarms look at it once it answers the floor of requests a minute: with
    a 10 % canary and a floor of 50, from 500 load balancer requests a minute.  Below that
    the 5 % canary gets through the canary, and is rolled back only in the bake, two minutes
    after all the traffic moved to it."""
    floor_body = synth.resource(PROD, "aws_cloudwatch_metric_alarm", "monitoring/target_5xx_rate_green")
    (expression,) = [q["expression"] for q in floor_body["metric_query"] if q["return_data"]]
    floor = int(re.fullmatch(r"IF\(FILL\(requests, 0\) >= (\d+), .*", expression)[1])  # type: ignore[index]
    lowest = floor * 100 / prod.canary_percent
    assert lowest == 500
    alarms = rollback_alarms(synth, PROD)
    assert rolled_back_at(alarms, series(release(prod, rate=lowest, errors=0.05)), prod) == 2
    below = series(release(prod, rate=lowest - 1, errors=0.05))
    assert rolled_back_at(alarms, below, prod) == prod.canary_minutes + 2
    # By then the load balancer's fast burn sees it too: half of its last five minutes failed 5 %.
    assert firing(alarms, below, BEFORE + prod.canary_minutes + 2) == [f"{PROD}-slo-fast-5m", f"{PROD}-target-5xx-rate-green"]


def test_the_canary_wiring_is_what_catches_it(synth: Synthesized, prod: Deployment) -> None:
    """Planted defect: the service without its green target group alarms promotes the failing canary."""
    alarms = {name: alarm for name, alarm in rollback_alarms(synth, PROD).items() if not name.startswith(f"{PROD}-target-")}
    minute = rolled_back_at(alarms, series(release(prod, errors=0.05)), prod)
    assert minute is None or minute > prod.canary_minutes


# ------------------------------------------------------- a quiet environment

#: A quiet environment's deployment: a few requests a minute, of which one fails, slowly,
#: in two minutes running (enough datapoints for 2 of 3).
QUIET_RATE = 4.0


def quiet_release(deployment: Deployment) -> list[Minute]:
    minutes = release(deployment, rate=QUIET_RATE)
    first_shift = BEFORE + (1 if deployment.canary_minutes == 0 else 0)
    for i in (first_shift, first_shift + 1):
        minutes[i] = Minute(QUIET_RATE, 1.0, 1 / QUIET_RATE, 5.0)
    return minutes


def target_group_alarms(alarms: Mapping[str, MetricAlarm], stack: str) -> dict[str, MetricAlarm]:
    return {name: alarm for name, alarm in alarms.items() if name.startswith(f"{stack}-target-")}


@pytest.mark.parametrize("stack", STACKS)
def test_a_quiet_environment_does_not_roll_back_on_one_failed_request(synth: Synthesized, stack: str) -> None:
    """Four requests a minute, one of them failing in 5 s two minutes running: 25 % and 5 s per
    minute, above both thresholds, but under the floor of requests: the new revision's own
    alarms stay OK (the load balancer's burn rate judges such traffic, by the SLO)."""
    deployment = deployment_of(synth, stack)
    alarms = target_group_alarms(rollback_alarms(synth, stack), stack)
    assert len(alarms) == 4
    traffic = series(quiet_release(deployment))
    assert not any(firing(alarms, traffic, minute) for minute in range(1, traffic.minutes + 1))


@pytest.mark.parametrize("stack", STACKS)
def test_without_the_floor_a_quiet_environment_would_roll_back(synth: Synthesized, stack: str) -> None:
    """Planted defect: the floor of requests dropped from the synthesized expressions; the quiet
    deployment above then trips both green alarms."""
    deployment = deployment_of(synth, stack)
    alarms = target_group_alarms(rollback_alarms(synth, stack, rewrite={r"FILL\(requests, 0\) >= \d+": "FILL(requests, 0) >= 0"}), stack)
    traffic = series(quiet_release(deployment))
    fired = {name for minute in range(1, traffic.minutes + 1) for name in firing(alarms, traffic, minute)}
    assert fired == {f"{stack}-target-5xx-rate-green", f"{stack}-target-latency-p99-green"}


# ------------------------------------------------------- the evaluator


@pytest.mark.parametrize(
    ("expression", "env", "expected"),
    [
        ("IF(FILL(r, 0) >= 50, 100 * FILL(e, 0) / FILL(r, 1), 0)", {"r": 49.0, "e": 49.0}, 0.0),
        ("IF(FILL(r, 0) >= 50, 100 * FILL(e, 0) / FILL(r, 1), 0)", {"r": 50.0, "e": 1.0}, 2.0),
        ("IF(FILL(r, 0) >= 50, 100 * FILL(e, 0) / FILL(r, 1), 0)", {"r": None, "e": None}, 0.0),
        ("IF(a, b, c)", {"a": None, "b": 1.0, "c": 2.0}, None),
        ("IF(a > 1, b, c)", {"a": 2.0, "b": 1.0, "c": None}, 1.0),
        ("a == b", {"a": 2.0, "b": 2.0}, 1.0),
        ("a != b", {"a": 2.0, "b": 2.0}, 0.0),
        ("a < b", {"a": 1.0, "b": 2.0}, 1.0),
        ("a <= b", {"a": 3.0, "b": 2.0}, 0.0),
    ],
)
def test_the_evaluator_computes_conditions(expression: str, env: dict[str, float | None], expected: float | None) -> None:
    assert parse_expression(expression)(env) == expected


@pytest.mark.parametrize(
    ("breaching", "expected"),
    [([0, 1, 1], True), ([1, 0, 1], True), ([1, 0, 0], False), ([0, 0, 1], False)],
)
def test_the_evaluator_fires_on_m_of_n_datapoints(breaching: list[int], expected: bool) -> None:
    """2 of 3 one-minute datapoints, the last three minutes of the series."""
    alarm = MetricAlarm("a", lambda env: env["m"], {"m": ("m", 1)}, 0.5, "GreaterThanThreshold", evaluation_periods=3, datapoints_to_alarm=2)
    traffic = Series({"m": [float(b) for b in breaching]})
    assert alarm.fires(traffic, 3) is expected
    # Before the series starts there is no data, which does not breach.
    assert alarm.fires(traffic, 1) is False
