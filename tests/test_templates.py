"""No input becomes a Terraform expression.

Terraform evaluates ``${...}`` and ``%{...}`` in every JSON string, so a value
from outside the code must never start one in the synthesized JSON.  The
guarantee is made in one place (:func:`stacks.config.overrides.refuse_templates`,
called first by ``build_app_config``, which every variable and ``settings.env``
go through); these properties check it from the outside:

- a template marker anywhere in any variable is refused with one line naming it;
- whatever any variable holds, an accepted configuration carries no marker;
- the synthesized JSON of every variable set at once, each with a marker where the
  value stays otherwise valid, holds no unescaped marker that came from the input.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stacks.config import OVERRIDE_VARIABLES, ConfigError, build_app_config
from stacks.config.overrides import TEMPLATE_ALLOWED
from tests.conftest import Synthesized, synthesize

PROPERTIES = settings(max_examples=200, deadline=None, derandomize=True, database=None)

#: Every variable at once, jointly valid (emulator endpoint, so no prod; S3 state with its own key).
VALID: dict[str, str] = {
    "ENVIRONMENT_SUFFIX": "tpl",
    "ENVIRONMENTS": "dev",
    "AWS_REGION": "eu-west-1",
    "AVAILABILITY_ZONE_LETTERS": "a,b,c",
    "VPC_CIDR": "10.100.0.0/16",
    "IMAGE_TAG": "1.2.3",
    "AWS_ENDPOINT_URL": "http://127.0.0.1:4566",
    "ALARM_EMAILS": "on%call@example.com,orders@example.com",
    "ALARM_HTTPS_ENDPOINTS": "https://hooks.example.com/alarm/$team?q=a%25b",
    "ALARM_TOPIC_ARN": "arn:aws:sns:eu-west-1:123456789012:paging",
    "TICKET_EMAILS": "orders%team@example.com",
    "TICKET_HTTPS_ENDPOINTS": "https://tickets.example.com/hooks/$orders?q=a%25b",
    "TICKET_TOPIC_ARN": "arn:aws:sns:eu-west-1:123456789012:tickets",
    "STATE_BACKEND": "s3",
    "TF_STATE_BUCKET": "acme-order-api-state",
    "TF_STATE_REGION": "eu-west-1",
    "TF_STATE_KMS_KEY_ID": "arn:aws:kms:eu-west-1:123456789012:alias/state",
    "TF_STATE_BOOTSTRAP_BACKEND": "s3",
    "TF_CLOUD_ORGANIZATION": "acme",
    "TF_CLOUD_PROJECT": "orders",
    "TF_CLOUD_HOSTNAME": "tfe.example.com",
    "TF_WORKSPACE_PREFIX": "aws-",
    "DEV_DOMAIN_NAME": "api.dev.acme-orders.com",
    "DEV_HOSTED_ZONE": "dev.acme-orders.com",
    "DEV_CERTIFICATE_ARN": "arn:aws:acm:eu-west-1:123456789012:certificate/0123abcd-0123-4567-89ab-0123456789ab",
    "STAGING_DOMAIN_NAME": "api.staging.acme-orders.com",
    "STAGING_HOSTED_ZONE": "staging.acme-orders.com",
    "STAGING_CERTIFICATE_ARN": "arn:aws:acm:eu-west-1:123456789012:certificate/1123abcd-0123-4567-89ab-0123456789ab",
    "PROD_DOMAIN_NAME": "api.acme-orders.com",
    "PROD_HOSTED_ZONE": "acme-orders.com",
    "PROD_CERTIFICATE_ARN": "arn:aws:acm:eu-west-1:123456789012:certificate/2123abcd-0123-4567-89ab-0123456789ab",
    "GITHUB_REPOSITORY": "acme/order-api",
    "GITHUB_OIDC_PROVIDER_ARN": "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com",
    "GITHUB_ENVIRONMENTS": "shared=shared,dev=dev,staging=staging,prod=production",
    "GITHUB_RELEASE_ENVIRONMENTS": "dev=dev-release,staging=staging-release,prod=production-release",
    "TF_CLOUD_OIDC_PROVIDER_ARN": "arn:aws:iam::123456789012:oidc-provider/tfe.example.com",
}
#: Text a marker carries, so a marker that reached the JSON is recognised there.
PAYLOAD = "HOSTILE"
MARKERS = ("${" + PAYLOAD + "}", "%{" + PAYLOAD + "}", '${file("/etc/' + PAYLOAD + '")}', "%{ if " + PAYLOAD + " }x%{ endif }", "$${" + PAYLOAD + "}")
#: What may end a value and start a template once code appends a ``{``.
TRAILERS = ("$", "%")


def test_the_valid_values_are_valid_together() -> None:
    assert set(VALID) == set(OVERRIDE_VARIABLES)
    config = build_app_config(VALID)
    assert [e.stack_name for e in config.environments] == ["order-api-dev", "order-api-dev-tpl"]


def _marked(value: str, marker: str, position: int) -> str:
    """``marker`` inserted into ``value`` (at its end for a negative ``position``)."""
    cut = len(value) if position < 0 else position % (len(value) + 1)
    return value[:cut] + marker + value[cut:]


@PROPERTIES
@given(variable=st.sampled_from(OVERRIDE_VARIABLES), marker=st.sampled_from(MARKERS), position=st.integers(0, 200))
def test_fails_a_marker_anywhere_in_any_variable(variable: str, marker: str, position: int) -> None:
    value = _marked(VALID[variable], marker, position)
    with pytest.raises(ConfigError) as excinfo:
        build_app_config({**VALID, variable: value})
    assert excinfo.value.field_name == variable
    assert excinfo.value.allowed == TEMPLATE_ALLOWED
    assert str(excinfo.value).startswith(f"{variable}=") and "\n" not in str(excinfo.value)


@PROPERTIES
@given(variable=st.sampled_from(OVERRIDE_VARIABLES), trailer=st.sampled_from(TRAILERS), item=st.integers(0, 3))
def test_fails_a_value_or_list_item_ending_where_a_template_could_start(variable: str, trailer: str, item: int) -> None:
    items = VALID[variable].split(",")
    items[item % len(items)] += trailer
    with pytest.raises(ConfigError) as excinfo:
        build_app_config({**VALID, variable: ",".join(items)})
    assert (excinfo.value.field_name, excinfo.value.allowed) == (variable, TEMPLATE_ALLOWED)


def _strings(node: Any) -> Iterator[str]:
    """Every string in a configuration or a JSON document (dataclass fields, keys, values)."""
    if isinstance(node, str):
        yield node
    elif dataclasses.is_dataclass(node) and not isinstance(node, type):
        for f in dataclasses.fields(node):
            yield from _strings(getattr(node, f.name))
    elif isinstance(node, Mapping):
        for key, value in node.items():
            yield from _strings(key)
            yield from _strings(value)
    elif isinstance(node, list | tuple):
        for value in node:
            yield from _strings(value)


def template_starts(text: str) -> list[int]:
    """Where Terraform starts a template sequence in ``text`` (``$${`` and ``%%{`` are escapes)."""
    found, i = [], 0
    while i < len(text) - 1:
        if text.startswith(("$${", "%%{"), i):
            i += 3
        elif text[i] in "$%" and text[i + 1] == "{":
            found.append(i)
            i += 2
        else:
            i += 1
    return found


TEXT = st.lists(st.sampled_from([*"${}%abc-./:@,0123456789 ", "${", "%{", "$${"]), max_size=20).map("".join)


@settings(PROPERTIES, max_examples=1000)
@given(variable=st.sampled_from(OVERRIDE_VARIABLES), keep=st.booleans(), text=TEXT)
def test_an_accepted_configuration_carries_no_template(variable: str, keep: bool, text: str) -> None:
    """Any text, alone or after the variable's valid value."""
    try:
        config = build_app_config({**VALID, variable: (VALID[variable] if keep else "") + text})
    except ConfigError:
        return  # refusals are the other properties' business
    assert all(template_starts(s) == [] for s in _strings(config))


def test_template_starts_follow_terraform_escapes() -> None:
    assert template_starts("${a}") == [0]
    assert template_starts("x%{ if a }") == [1]
    assert template_starts("$${a} %%{b} $$") == []
    assert template_starts("$$${a}") == []
    assert template_starts("a$") == []


def hostile_markers(doc: Mapping[str, Any], parts: list[str]) -> list[str]:
    """Template sequences in ``doc`` that came from the input: one that holds the marker
    payload, or one whose ``$``/``%`` or ``{`` lies inside a copy of an input ``part``."""
    found = []
    for text in _strings(doc):
        for start in template_starts(text):
            end = text.find("}", start)
            if PAYLOAD in text[start : end + 1 if end >= 0 else len(text)]:
                found.append(text)
            for part in parts:
                at = text.find(part)
                while part and at >= 0:
                    if at - 1 <= start <= at + len(part) - 1:
                        found.append(text)
                    at = text.find(part, at + 1)
    return found


def test_hostile_markers_are_found_where_they_would_be_evaluated() -> None:
    assert hostile_markers({"a": ["https://x/${HOSTILE}"]}, ["https://x/${HOSTILE}"]) != []
    assert hostile_markers({"a": "arn:x$" + "{aws_s3_bucket.b.arn}"}, ["arn:x$"]) != []
    assert hostile_markers({"a": "$${HOSTILE}"}, ["$${HOSTILE}"]) == []
    assert hostile_markers({"a": "${aws_s3_bucket.b.arn}/1.2.3"}, ["1.2.3", "a"]) == []


def accepted_with_markers(candidates: Mapping[str, list[str]]) -> dict[str, str]:
    """For each variable the first of its ``candidates`` the configuration accepts (every
    variable at once), else its valid value: each refused variable moves on to its next
    candidate, one at a time, until the whole configuration is accepted."""
    left = {name: [*values, VALID[name]] if values[-1:] != [VALID[name]] else list(values) for name, values in candidates.items()}
    while True:
        overrides = {name: values[0] for name, values in left.items()}
        try:
            build_app_config(overrides)
        except ConfigError as error:
            assert len(left[error.field_name]) > 1, str(error)
            left[error.field_name].pop(0)
        else:
            return overrides


def marked_candidates(value: str) -> list[str]:
    """``value`` with every marker at its end and in its middle, and with each trailer."""
    return [_marked(value, marker, position) for marker in MARKERS for position in (-1, len(value) // 2)] + [value + t for t in TRAILERS]


def check_synthesized(synthesized: Synthesized, overrides: Mapping[str, str]) -> None:
    parts = sorted({p for value in overrides.values() for p in (value, *[i.strip() for i in value.split(",")]) if p})
    for stack in synthesized.stack_names():
        found = hostile_markers(json.loads(synthesized.text(stack)), parts)
        assert found == [], f"{stack}: {found[:3]}"


def test_no_marker_from_any_variable_reaches_the_json() -> None:
    """One synthesis: every variable set, each carrying a marker (or a trailing ``$``/``%``)
    wherever the configuration accepts one."""
    overrides = accepted_with_markers({name: marked_candidates(VALID[name]) for name in OVERRIDE_VARIABLES})
    synthesized = synthesize(overrides, "templates")
    assert "order-api-dev-tpl" in synthesized.stack_names()
    check_synthesized(synthesized, overrides)
