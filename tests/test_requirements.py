"""Every stack declares the Terraform it needs and the provider it was written for."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from importlib.metadata import metadata

import pytest

from stacks.aws import cloudwatch_log_resource_policy
from stacks.framework import App, TerraformStack, Testing
from stacks.provider import aws_provider
from stacks.requirements import (
    AWS_PROVIDER_SOURCE,
    AWS_PROVIDER_VERSION,
    REQUIRED_VERSION,
    TERRAFORM_MIN_VERSION,
    newer_provider_attribute,
    require_provider_version,
)
from tests.conftest import Synthesized
from tools.port.terraform_requirements import UnknownConstruct, constructs, functions, minimum, version_key

FIXTURES = ("synth", "synth_cloud", "synth_emulated", "synth_state_settings", "synth_prod_digest")


@pytest.fixture(scope="module")
def every_stack(request: pytest.FixtureRequest) -> dict[str, dict]:
    """Every stack of every synthesized configuration: S3, cloud and local state, emulator, prod alone."""
    docs = {}
    for name in FIXTURES:
        synthesized: Synthesized = request.getfixturevalue(name)
        docs.update({f"{name}/{stack}": synthesized.doc(stack) for stack in synthesized.stack_names()})
    return docs


def test_every_stack_declares_the_required_version(every_stack: dict[str, dict]) -> None:
    assert {stack: doc["terraform"].get("required_version") for stack, doc in every_stack.items()} == dict.fromkeys(every_stack, REQUIRED_VERSION)


def test_the_required_version_is_the_newest_construct_used(every_stack: dict[str, dict]) -> None:
    """The constraint is exactly the release of the newest construct any stack uses: not older (a
    confusing failure on an old Terraform), not newer (refusing a Terraform that would work)."""
    newest = max((minimum(doc) for doc in every_stack.values()), key=version_key)
    assert newest == TERRAFORM_MIN_VERSION
    used = {construct: version for doc in every_stack.values() for construct, version in constructs(doc).items()}
    assert {c: v for c, v in used.items() if v != "1.0.0"} == {
        "backend s3.use_lockfile": "1.10.0",
        "backend s3.endpoints": "1.6.0",
        "backend s3.use_path_style": "1.6.0",
        "block removed": "1.7.0",
        "removed lifecycle.destroy": "1.7.0",
        "resource terraform_data": "1.4.0",
        "terraform.cloud": "1.1.0",
        "cloud hostname": "1.1.0",
        "cloud organization": "1.1.0",
        "cloud workspaces.name": "1.1.0",
        "cloud workspaces.project": "1.6.0",
    }


def test_every_stack_pins_the_full_provider_source(every_stack: dict[str, dict]) -> None:
    pins = {stack: doc["terraform"]["required_providers"] for stack, doc in every_stack.items()}
    assert pins == {stack: {"aws": {"source": "hashicorp/aws", "version": AWS_PROVIDER_VERSION}} for stack in every_stack}
    assert AWS_PROVIDER_SOURCE == "hashicorp/aws"


def test_the_pin_is_the_release_the_bindings_wrap() -> None:
    description = metadata("cdktf-cdktf-provider-aws").get_payload()  # type: ignore[attr-defined]
    assert f"bindings for hashicorp/aws provider version {AWS_PROVIDER_VERSION}" in description


@pytest.mark.parametrize(
    ("doc", "construct", "version"),
    [
        ({"removed": [{"from": "a.b", "lifecycle": {"destroy": False}}]}, "block removed", "1.7.0"),
        ({"moved": [{"from": "a.b", "to": "a.c"}]}, "block moved", "1.1.0"),
        ({"import": [{"to": "a.b", "id": "x"}]}, "block import", "1.5.0"),
        ({"check": {"c": {}}}, "block check", "1.5.0"),
        ({"terraform": {"backend": {"s3": {"use_lockfile": True}}}}, "backend s3.use_lockfile", "1.10.0"),
        ({"terraform": {"cloud": {"workspaces": {"project": "p"}}}}, "cloud workspaces.project", "1.6.0"),
        ({"resource": {"terraform_data": {"t": {}}}}, "resource terraform_data", "1.4.0"),
        ({"resource": {"aws_x": {"x": {"lifecycle": {"replace_triggered_by": ["a"]}}}}}, "lifecycle replace_triggered_by", "1.2.0"),
        ({"resource": {"aws_x": {"x": {"password_wo": "p"}}}}, "write-only argument password_wo", "1.11.0"),
        ({"output": {"o": {"value": "${startswith(var.a, 'x')}"}}}, "function startswith", "1.3.0"),
        ({"output": {"o": {"value": "${provider::aws::arn_parse(var.a)}"}}}, "function provider::aws::arn_parse", "1.8.0"),
    ],
)
def test_each_construct_maps_to_the_release_that_introduced_it(doc: dict, construct: str, version: str) -> None:
    assert constructs(doc)[construct] == version
    assert minimum(doc) == version


def test_functions_are_read_from_expressions_only() -> None:
    doc = {"output": {"o": {"value": 'name (s) ${formatdate("f(x)", timestamp())} $${strcontains(a)} ${jsonencode({a = tolist([1])})}'}}}
    assert functions(doc) == {"formatdate", "timestamp", "jsonencode", "tolist"}


@pytest.mark.parametrize(
    "doc",
    [
        {"ephemeral_thing": {}},
        {"terraform": {"backend": {"gcs": {"bucket": "b"}}}},
        {"terraform": {"backend": {"s3": {"new_argument": True}}}},
        {"resource": {"aws_x": {"x": {"lifecycle": {"action_trigger": []}}}}},
        {"output": {"o": {"value": "${futurefunction(1)}"}}},
    ],
)
def test_fails_on_a_construct_without_a_known_version(doc: dict) -> None:
    with pytest.raises(UnknownConstruct, match=r"add it to tools/port/terraform_requirements\.py|add its arguments"):
        constructs(doc)


@pytest.mark.skipif(shutil.which("terraform") is None, reason="no terraform on PATH")
def test_the_terraform_on_path_satisfies_the_constraint() -> None:
    found = json.loads(subprocess.run(["terraform", "version", "-json"], capture_output=True, text=True, check=True).stdout)["terraform_version"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", found), found
    assert version_key(found) >= version_key(TERRAFORM_MIN_VERSION), f"terraform {found} on PATH is older than {REQUIRED_VERSION}"


# ------------------------------------------------------- attributes newer than the bindings


def _stack() -> TerraformStack:
    stack = TerraformStack(App(), "newer")
    aws_provider(stack, region="us-east-1", tags={}, endpoint_url=None)
    return stack


#: A CloudWatch Logs resource policy scoped to one log group (``resource_arn``,
#: hashicorp/terraform-provider-aws#46813): absent from the bindings of 6.25.0 and of
#: 6.35.1 (cdktn-provider-aws 23.2.1), present from 6.36.0 (cdktn-provider-aws 23.3.0).
SCOPED_POLICY_SINCE = "6.36.0"


def test_a_newer_attribute_reaches_the_json_and_raises_the_provider_pin() -> None:
    stack = _stack()
    policy = cloudwatch_log_resource_policy.CloudwatchLogResourcePolicy(stack, "waf_logs", policy_name="p", policy_document="{}")
    newer_provider_attribute(policy, "resource_arn", "arn:aws:logs:us-east-1:123456789012:log-group:aws-waf-logs-x", since=SCOPED_POLICY_SINCE)
    # The API takes a policy name or a resource ARN, not both: the bindings require the name, an override drops it.
    policy.add_override("policy_name", None)
    doc = json.loads(Testing.synth(stack))
    body = doc["resource"]["aws_cloudwatch_log_resource_policy"]["waf_logs"]
    assert body["resource_arn"].endswith(":log-group:aws-waf-logs-x") and "policy_name" not in body
    assert doc["terraform"]["required_providers"]["aws"] == {"source": "hashicorp/aws", "version": SCOPED_POLICY_SINCE}


def test_the_provider_pin_is_never_lowered() -> None:
    stack = _stack()
    assert require_provider_version(stack, "6.50.0") == "6.50.0"
    policy = cloudwatch_log_resource_policy.CloudwatchLogResourcePolicy(stack, "p", policy_name="p", policy_document="{}")
    newer_provider_attribute(policy, "resource_arn", "arn:aws:logs:us-east-1:123456789012:log-group:g", since=SCOPED_POLICY_SINCE)
    assert require_provider_version(stack, "6.10.0") == "6.50.0"
    assert json.loads(Testing.synth(stack))["terraform"]["required_providers"]["aws"]["version"] == "6.50.0"


def test_without_newer_attributes_the_pin_is_the_bindings_release() -> None:
    stack = _stack()
    assert require_provider_version(stack, "6.0.0") == AWS_PROVIDER_VERSION
    assert json.loads(Testing.synth(stack))["terraform"]["required_providers"]["aws"]["version"] == AWS_PROVIDER_VERSION
