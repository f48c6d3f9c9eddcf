"""Stack outputs: the product's integration points, each described and documented.

What each output points at is checked in ``tests/test_stack_wiring.py``.
"""

from __future__ import annotations

import re

import pytest

from tests.conftest import ROOT, Synthesized
from tests.integration.conftest import REQUIRED_OUTPUTS

ENV_STACKS = ["order-api-dev", "order-api-staging", "order-api-prod", "order-api-dev-pr42"]


def documented_outputs() -> set[str]:
    """Output names in the Outputs table of docs/components.md (first column, backticked)."""
    text = (ROOT / "docs" / "components.md").read_text()
    section = text.split("## Outputs", 1)[1].split("\n## ", 1)[0]
    table = [line for line in section.splitlines() if line.startswith("| `")]
    return {name for line in table for name in re.findall(r"`([a-z_]+)`", line.split("|")[1])}


@pytest.mark.parametrize("stack", ENV_STACKS)
def test_every_environment_exports_exactly_the_documented_outputs(synth: Synthesized, stack: str) -> None:
    assert set(synth.doc(stack)["output"]) == documented_outputs()


def test_the_integration_tests_read_only_outputs_that_exist(synth: Synthesized) -> None:
    assert set(REQUIRED_OUTPUTS) <= set(synth.doc("order-api-dev")["output"])


@pytest.mark.parametrize("stack", [*ENV_STACKS, "order-api-state", "order-api-identity", "order-api-account", "order-api-registry"])
def test_every_output_is_described(synth: Synthesized, stack: str) -> None:
    outputs = synth.doc(stack)["output"]
    undescribed = [name for name, body in outputs.items() if len(body.get("description", "")) < 8]
    assert undescribed == []


@pytest.mark.parametrize("stack", ENV_STACKS)
def test_only_the_master_secret_reference_is_sensitive(synth: Synthesized, stack: str) -> None:
    outputs = synth.doc(stack)["output"]
    assert [name for name, body in outputs.items() if body["sensitive"]] == ["database_secret_arn"]


def test_https_url_where_there_is_a_certificate(synth: Synthesized) -> None:
    assert synth.doc("order-api-prod")["output"]["alb_url"]["value"] == "https://api.orders.example.com"
    assert synth.doc("order-api-dev")["output"]["alb_url"]["value"] == "http://" + synth.ref("order-api-dev", "aws_lb", "load_balancer/alb", "dns_name")
