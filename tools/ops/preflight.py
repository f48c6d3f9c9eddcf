"""What ``make release`` and ``make promote`` check in AWS just before a deployment starts.

- :func:`check_rollback_alarms`: none of the service's rollback alarms (its deployment
  alarms, as ``DescribeServices`` reports them) is in ``ALARM``.  ECS documents that it
  ignores its alarms for a deployment that starts while one of them is in ``ALARM``: that
  deployment would not roll back on them.  ``ALLOW_ALARMS=1`` releases anyway (to ship the
  fix for what is alarming), and says so.
- :func:`wake_smoke_test`: the smoke test function is ``Active``.  A function in a VPC
  that nobody invokes for weeks goes ``Inactive`` (Lambda reclaims its network
  interfaces), and the next invocation fails while it becomes ``Active`` again; that
  invocation would be the lifecycle hook of the first release after a quiet spell, and ECS
  would roll a good release back.  An ``Inactive`` function is woken with the warm-up
  event (the handler answers it without touching the network) and watched until it is
  ``Active``, one line per change of state.  The weekly warm-up schedule of
  :class:`stacks.components.smoke_test.SmokeTest` keeps this from happening; this repairs it.

Clock, sleep and output are parameters, so tests run without waiting.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from stacks.functions.smoke_test import WARMUP_EVENT
from tools.common.aws_errors import error_code
from tools.common.ecs_deployments import duration

#: Lambda function states (``State`` of GetFunctionConfiguration).
ACTIVE, PENDING, INACTIVE, FAILED = "Active", "Pending", "Inactive", "Failed"
#: What invoking a function that is not Active answers; the invocation still starts the wake-up.
NOT_READY_CODES = ("ResourceNotReadyException", "ResourceConflictException")
#: How long a wake-up may take (Lambda recreates the function's network interfaces).
WAKE_TIMEOUT_SECONDS = 300
WAKE_POLL_SECONDS = 5


class PreflightError(RuntimeError):
    """One line: why the deployment must not start now, and what to do."""


def rollback_alarm_names(service: Mapping[str, Any]) -> list[str]:
    """The alarm names of a DescribeServices service's deployment alarms, when they are on."""
    alarms = (service.get("deploymentConfiguration") or {}).get("alarms") or {}
    return sorted(alarms.get("alarmNames") or []) if alarms.get("enable") else []


def firing(cloudwatch: Any, names: list[str]) -> list[str]:
    """Of the alarms ``names``, those in ``ALARM`` (metric and composite alarms)."""
    pages = cloudwatch.get_paginator("describe_alarms").paginate(AlarmNames=names, AlarmTypes=["MetricAlarm", "CompositeAlarm"])
    alarms = [alarm for page in pages for kind in ("MetricAlarms", "CompositeAlarms") for alarm in page.get(kind, [])]
    return sorted(alarm["AlarmName"] for alarm in alarms if alarm.get("StateValue") == "ALARM")


def check_rollback_alarms(cloudwatch: Any, service: Mapping[str, Any], *, stack: str, allow: bool, emit: Callable[[str], None]) -> None:
    """Refuse to start a deployment while one of the service's rollback alarms is in ALARM
    (unless ``allow``, which is printed with the alarms' names)."""
    names = rollback_alarm_names(service)
    in_alarm = firing(cloudwatch, names) if names else []
    if not in_alarm:
        return
    # Amazon ECS Developer Guide, "How CloudWatch alarms detect Amazon ECS deployment failures"
    # (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-alarm-failure.html):
    # "If an alarm is in the ALARM state at the beginning of a deployment, Amazon ECS will not
    # monitor alarms for the duration of that deployment (Amazon ECS ignores the alarm configuration)."
    listed = ", ".join(in_alarm)
    if not allow:
        raise PreflightError(
            f"{stack}: rollback alarms in ALARM: {listed}; ECS ignores its alarms for a deployment that starts now and would not roll it back "
            "on them: wait until they are OK, or release a fix with ALLOW_ALARMS=1"
        )
    emit(f"ALLOW_ALARMS=1: deploying to {stack} while {listed} in ALARM; ECS will not roll this deployment back on its alarms")


def _invoke_warmup(functions: Any, name: str) -> None:
    """Invoke the function with the warm-up event; a not-ready answer is expected (it starts the wake-up)."""
    try:
        functions.invoke(FunctionName=name, InvocationType="RequestResponse", Payload=json.dumps(WARMUP_EVENT).encode())
    except Exception as error:
        if error_code(error) not in NOT_READY_CODES:
            raise


def _state(functions: Any, name: str, stack: str) -> tuple[str, str]:
    """The function's state and the reason Lambda gives for it."""
    try:
        found = functions.get_function_configuration(FunctionName=name)
    except Exception as error:
        if error_code(error) == "ResourceNotFoundException":
            raise PreflightError(f"{stack}: the smoke test function {name} does not exist: make deploy STACK={stack} first") from None
        raise
    return str(found.get("State") or ACTIVE), str(found.get("StateReason") or "")


def wake_smoke_test(
    functions: Any,
    name: str,
    *,
    stack: str,
    emit: Callable[[str], None],
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    timeout_seconds: float = WAKE_TIMEOUT_SECONDS,
    poll_seconds: float = WAKE_POLL_SECONDS,
) -> None:
    """Return once the function is Active: at once when it is (the usual case, silent); else
    wake an Inactive one with the warm-up event and print ``[elapsed] State`` at every change."""
    start, last = clock(), ""
    while True:
        state, reason = _state(functions, name, stack)
        elapsed = clock() - start
        if state == ACTIVE and not last:
            return
        if not last:
            emit(f"{stack}: the smoke test function {name} is {state}; making it Active before the deployment starts")
        if state != last:
            emit(f"  [{elapsed:5.0f}s] {state}" + (f": {reason}" if reason else ""))
        if state == ACTIVE:
            return
        if state == FAILED or (state == INACTIVE and last == PENDING):
            raise PreflightError(f"{stack}: the smoke test function {name} is {state} ({reason or 'no reason given'}): fix it, then make deploy STACK={stack}")
        if state == INACTIVE and not last:
            _invoke_warmup(functions, name)
        if elapsed >= timeout_seconds:
            raise PreflightError(f"{stack}: the smoke test function {name} is still {state} after {duration(elapsed)}: release again in a few minutes")
        last = state
        sleep(poll_seconds)
