"""Integration tests run against a deployed stack, described by its flat outputs file.

Without ``cfn-outputs/flat-outputs.json`` (or the file named by
``FLAT_OUTPUTS_FILE``) every test here is skipped, with one reason, before
any AWS client exists: nothing reaches the network.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

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
    "database_secret_arn",
    "waf_web_acl_arn",
    "waf_web_acl_name",
    "dashboard_url",
    "alarm_topic_arn",
    "ssm_parameter_prefix",
    "ecr_repository_url",
)


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
