"""How a release reaches production traffic: the ECS deployment strategy and the smoke test."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

from stacks.config.validate import _int_in, _one_of, _require

#: ECS-native deployment strategies that shift ALB traffic between blue and green.
STRATEGIES = ("BLUE_GREEN", "CANARY", "LINEAR")
#: A smoke path: an absolute URL path (with an optional query), no spaces, no fragment.
_PATH_RE = re.compile(r"/[A-Za-z0-9._~!$&'()*+,;=:@%/?-]{0,255}")
#: Minutes ECS spends before any traffic shifts (scale-up, health checks, the smoke test),
#: added to the strategy's own waits for :attr:`DeploymentConfig.expected_minutes`.
_START_MINUTES = 15


def _percent(field_name: str, value: float, low: float) -> None:
    """A percentage ECS accepts: a multiple of 0.1 from ``low`` to 100."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and low <= value <= 100 and math.isclose(value * 10, round(value * 10), abs_tol=1e-9)
    _require(ok, field_name, value, f"a multiple of 0.1 from {low} to 100 (ECS's limits)")


@dataclass(frozen=True)
class DeploymentConfig:
    """The ECS deployment of every release (``make release`` and ``make promote``).

    ``BLUE_GREEN`` moves all production traffic at once, ``CANARY`` first moves
    ``canary_percent`` of it and waits ``canary_bake_minutes``, ``LINEAR`` moves
    ``linear_step_percent`` every ``linear_step_minutes``.  In every strategy the
    new revision first takes the test listener's traffic, where the smoke test
    (an ECS lifecycle hook) checks it before any production request reaches it,
    and the old revision stays up for ``bake_time_minutes`` after the last shift,
    so a rollback is instant.  Limits are ECS's.
    """

    #: ``BLUE_GREEN``, ``CANARY`` or ``LINEAR``.  Default ``BLUE_GREEN``.
    strategy: Literal["BLUE_GREEN", "CANARY", "LINEAR"] = "BLUE_GREEN"
    #: Minutes both revisions run after all production traffic moved, 0-1440.  Default 5.
    bake_time_minutes: int = 5
    #: CANARY: share of production traffic the canary takes, 0.1-100 in steps of 0.1.  Default 10.
    canary_percent: float = 10.0
    #: CANARY: minutes the canary runs before the rest of the traffic moves, 0-1440.  Default 5.
    canary_bake_minutes: int = 5
    #: LINEAR: share of production traffic moved per step, 3-100 in steps of 0.1.  Default 10.
    linear_step_percent: float = 10.0
    #: LINEAR: minutes between steps, 0-1440.  Default 6.
    linear_step_minutes: int = 6
    #: Check the new revision on the test listener before production traffic moves.  Default on.
    smoke_test: bool = True
    #: Paths the smoke test requests besides the health check path (each must answer 2xx).  Default none.
    smoke_paths: tuple[str, ...] = ()
    #: Seconds the smoke test waits for each answer, 1-30.  Default 5.
    smoke_timeout_seconds: int = 5
    #: Seconds, from its first request, within which the smoke test retries a path that fails
    #: (a new listener rule can take seconds to apply), 0-300.  Default 60.  At most 300 keeps
    #: the function's timeout (this + every path's request timeout + 10 s) within Lambda's 900 s.
    smoke_retry_seconds: int = 60

    def __post_init__(self) -> None:
        _one_of("deployment.strategy", self.strategy, STRATEGIES)
        _int_in("deployment.bake_time_minutes", self.bake_time_minutes, 0, 1440)
        _percent("deployment.canary_percent", self.canary_percent, 0.1)
        _int_in("deployment.canary_bake_minutes", self.canary_bake_minutes, 0, 1440)
        _percent("deployment.linear_step_percent", self.linear_step_percent, 3.0)
        _int_in("deployment.linear_step_minutes", self.linear_step_minutes, 0, 1440)
        _require(isinstance(self.smoke_test, bool), "deployment.smoke_test", self.smoke_test, "true or false")
        _require(len(self.smoke_paths) <= 10, "deployment.smoke_paths", self.smoke_paths, "at most 10 paths (the smoke test runs within a minute)")
        for path in self.smoke_paths:
            _require(bool(_PATH_RE.fullmatch(path)), "deployment.smoke_paths", path, "URL paths starting with / (no spaces, no #, at most 256 characters)")
        _int_in("deployment.smoke_timeout_seconds", self.smoke_timeout_seconds, 1, 30)
        _int_in("deployment.smoke_retry_seconds", self.smoke_retry_seconds, 0, 300)

    @property
    def linear_steps(self) -> int:
        """Traffic shifts of a LINEAR deployment after the first (ECS waits between them)."""
        return math.ceil(100 / self.linear_step_percent - 1e-9) - 1

    @property
    def expected_minutes(self) -> int:
        """Roughly how long a deployment takes: start-up plus every wait of the strategy."""
        waits = {"BLUE_GREEN": 0, "CANARY": self.canary_bake_minutes, "LINEAR": self.linear_steps * self.linear_step_minutes}[self.strategy]
        return _START_MINUTES + waits + self.bake_time_minutes
