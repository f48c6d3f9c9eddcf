"""Integration tests run against a deployed stack, described by its flat outputs file.

Without ``cfn-outputs/flat-outputs.json`` (or the file named by
``FLAT_OUTPUTS_FILE``) every test here is skipped, with one reason, before
any AWS client exists: nothing reaches the network.

``INTEGRATION_TARGET`` says what the stack was deployed to: ``aws`` (default) or
``emulator`` (a local AWS emulator such as moto, as ``make e2e`` uses; the AWS
clients then follow ``AWS_ENDPOINT_URL``).  An emulator has no data plane (no
task runs, no target is health-checked, no load balancer answers), so the
tests marked :data:`data_plane` skip there with one reason; against AWS they
all run.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
DEFAULT_OUTPUTS_FILE = ROOT / "cfn-outputs" / "flat-outputs.json"

#: Outputs the integration tests read (documented in tests/integration/README.md).
REQUIRED_OUTPUTS = (
    "vpc_id",
    "alb_arn",
    "alb_dns_name",
    "ecs_cluster_name",
    "ecs_service_name",
    "ecs_service_arn",
    "blue_target_group_arn",
    "green_target_group_arn",
    "database_cluster_identifier",
    "waf_web_acl_arn",
    "waf_web_acl_name",
    "dashboard_url",
    "alarm_topic_arn",
    "ticket_topic_arn",
    "ssm_parameter_prefix",
    "ecr_repository_url",
)


#: Where the stack under test runs: ``aws`` or ``emulator``.
TARGETS = ("aws", "emulator")
DATA_PLANE_SKIP_REASON = "needs the data plane (running tasks, target health, HTTP through the ALB), which the emulator has not (INTEGRATION_TARGET=emulator)"


def target() -> str:
    value = os.environ.get("INTEGRATION_TARGET") or "aws"
    if value not in TARGETS:
        raise pytest.UsageError(f"INTEGRATION_TARGET={value!r} is invalid: one of {', '.join(TARGETS)}")
    if value == "emulator" and not endpoint_url():
        raise pytest.UsageError("INTEGRATION_TARGET=emulator needs AWS_ENDPOINT_URL (the emulator's URL), or the tests would reach AWS")
    return value


def endpoint_url() -> str | None:
    """The emulator's URL with ``INTEGRATION_TARGET=emulator``: ``AWS_ENDPOINT_URL``, which
    ``tests/conftest.py`` takes out of the environment (it is an override variable)."""
    root = sys.modules.get("tests.conftest")
    caller = getattr(root, "CALLER_OVERRIDES", {})
    return os.environ.get("AWS_ENDPOINT_URL") or caller.get("AWS_ENDPOINT_URL") or None


class Clients:
    """boto3 clients in one region, on the emulator's endpoint when there is one."""

    def __init__(self, region: str, endpoint: str | None) -> None:
        import boto3  # type: ignore[import-untyped]

        self._session = boto3.session.Session(region_name=region)
        self._endpoint = endpoint

    def client(self, service: str) -> Any:
        return self._session.client(service, endpoint_url=self._endpoint)


#: Marks a test that needs a running service (tasks, targets, HTTP): skipped against an emulator.
data_plane = pytest.mark.skipif(target() == "emulator", reason=DATA_PLANE_SKIP_REASON)


def outputs_file() -> Path:
    return Path(os.environ.get("FLAT_OUTPUTS_FILE") or DEFAULT_OUTPUTS_FILE)


def load_outputs() -> dict[str, Any] | None:
    """The deployed stack's outputs, or None when nothing has been deployed from here."""
    path = outputs_file()
    if not path.is_file():
        return None
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def skip_reason() -> str:
    path = outputs_file().resolve()
    shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    return f"no deployed stack: {shown} is missing (run `make deploy STACK=<stack>` first)"
