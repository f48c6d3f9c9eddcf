"""Invariants over whole stacks: a suffixed copy never collides with anything else.

Two copies of dev share an account, so every physical name of
``order-api-dev-<suffix>`` (names, name prefixes, identifiers, aliases,
parameter and log-group paths, families, ``Name`` tags) must carry the
suffix, and none may equal a name of the standing dev stack.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import SUFFIX, Synthesized

COPY = f"order-api-dev-{SUFFIX}"

#: Top-level attributes that name something in the account or region.
NAME_KEYS = (
    "name",
    "name_prefix",
    "bucket",
    "bucket_prefix",
    "identifier",
    "cluster_identifier",
    "alarm_name",
    "dashboard_name",
    "family",
    "policy_name",
    "function_name",
    "final_snapshot_identifier",
)
#: (type, attribute) pairs that are not account-wide names: an inline policy's name is
#: scoped to its role, a parameter group family and a database name are AWS values.
NOT_PHYSICAL = {("aws_iam_role_policy", "name"), ("aws_rds_cluster_parameter_group", "family"), ("aws_backup_plan", "rule_name")}


def physical_names(doc: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
    """``(address, attribute, value)`` of every literal physical name in a stack."""
    for rtype, by_name in doc.get("resource", {}).items():
        for name, body in by_name.items():
            for key in NAME_KEYS:
                value = body.get(key)
                if isinstance(value, str) and (rtype, key) not in NOT_PHYSICAL and not value.startswith("${"):
                    yield f"{rtype}.{name}", key, value
            tag = (body.get("tags") or {}).get("Name")
            if isinstance(tag, str):
                yield f"{rtype}.{name}", "tags.Name", tag


def test_the_copy_has_many_physical_names(synth: Synthesized) -> None:
    names = list(physical_names(synth.doc(COPY)))
    assert len(names) > 60
    assert {key for _, key, _ in names} >= {"name", "bucket_prefix", "identifier", "alarm_name", "family", "tags.Name", "cluster_identifier", "function_name"}


def test_every_physical_name_of_the_copy_carries_the_suffix(synth: Synthesized) -> None:
    missing = [f"{address}.{key}={value!r}" for address, key, value in physical_names(synth.doc(COPY)) if SUFFIX not in value]
    assert missing == []


def test_no_physical_name_of_the_copy_equals_one_of_dev(synth: Synthesized) -> None:
    dev = {value for _, _, value in physical_names(synth.doc("order-api-dev"))}
    shared = sorted({value for _, _, value in physical_names(synth.doc(COPY))} & dev)
    assert shared == []


@pytest.mark.parametrize("stack", [COPY, "order-api-dev"])
def test_every_physical_name_of_an_environment_carries_its_prefix(synth: Synthesized, stack: str) -> None:
    label = stack.removeprefix("order-api-")
    stray = [f"{a}.{k}={v!r}" for a, k, v in physical_names(synth.doc(stack)) if stack not in v and f"/order-api/{label}/" not in v]
    assert stray == []


def test_the_state_key_and_tags_of_the_copy_are_its_own(synth: Synthesized) -> None:
    doc = synth.doc(COPY)
    assert doc["terraform"]["backend"]["s3"]["key"] == f"{COPY}/terraform.tfstate"
    assert doc["provider"]["aws"][0]["default_tags"][0]["tags"]["environment"] == f"dev-{SUFFIX}"


def test_a_planted_unsuffixed_name_is_caught() -> None:
    doc = {"resource": {"aws_cloudwatch_log_group": {"g": {"name": "/aws/vpc/order-api-dev/flow-logs"}}}}
    assert [v for _, _, v in physical_names(doc) if SUFFIX not in v] == ["/aws/vpc/order-api-dev/flow-logs"]
