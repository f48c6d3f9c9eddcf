"""Every pattern matches the whole value: a trailing newline, carriage return or NUL never
passes a validator (Python's ``$`` also matches before a final newline)."""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import replace
from functools import partial
from typing import Any

import pytest

from stacks.config import ConfigError, RegistryConfig, StateConfig, build_app_config, catalogue
from tests.conftest import ROOT
from tests.test_ascii import VALIDATORS
from tests.test_templates import VALID

TAILS = {"newline": "\n", "carriage return": "\r", "NUL": "\0"}


def config_objects() -> Iterator[tuple[str, Any]]:
    """Every configuration object of every environment, with the shared stacks' settings."""
    for name, env in catalogue("us-east-1").items():
        yield name, env
        for field in dataclasses.fields(env):
            value = getattr(env, field.name)
            if dataclasses.is_dataclass(value):
                yield f"{name}.{field.name}", value
    yield "state", StateConfig()
    yield "registry", RegistryConfig()


def _with_text(obj: Any, name: str, items: tuple[str, ...] | None, text: str) -> object:
    """``obj`` with ``text`` in field ``name`` (as the first of ``items`` for a tuple field)."""
    return replace(obj, **{name: text if items is None else (text, *items[1:])})


def string_fields() -> Iterator[tuple[str, Callable[[str], object], str]]:
    """(label, a factory that puts a text into one field, that field's valid text) for every
    string field and every first item of a tuple of strings."""
    for label, obj in config_objects():
        for field in dataclasses.fields(obj):
            value = getattr(obj, field.name)
            if isinstance(value, str) and value:
                yield f"{label}.{field.name}", partial(_with_text, obj, field.name, None), value
            elif isinstance(value, tuple) and value and isinstance(value[0], str):
                yield f"{label}.{field.name}", partial(_with_text, obj, field.name, value), value[0]
    for name, factory, value in VALIDATORS:
        yield name, factory, value


FIELDS = list(string_fields())


def test_the_sweep_covers_the_configuration() -> None:
    labels = {label for label, _, _ in FIELDS}
    assert len(FIELDS) > 60
    assert {"prod.service.image_tag", "dev.load_balancer.ssl_policy", "state.bucket", "registry.repository_name", "alarm_topic_arn"} <= labels


@pytest.mark.parametrize("tail", list(TAILS))
@pytest.mark.parametrize(("factory", "value"), [(f, v) for _, f, v in FIELDS], ids=[label for label, _, _ in FIELDS])
def test_fails_every_field_with_a_trailing_control_character(factory: Callable[[str], object], value: str, tail: str) -> None:
    factory(value)  # the value itself is valid
    with pytest.raises(ConfigError):
        factory(value + TAILS[tail])


@pytest.mark.parametrize("variable", sorted(VALID))
def test_fails_every_override_with_a_trailing_nul(variable: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        build_app_config({**VALID, variable: VALID[variable] + "\0"})
    assert excinfo.value.field_name == variable


@pytest.mark.parametrize("tail", ["\n", "\r", "\r\n", " \t"])
@pytest.mark.parametrize("variable", sorted(VALID))
def test_an_override_is_trimmed_of_surrounding_whitespace(variable: str, tail: str) -> None:
    """The documented trimming: a trailing line end is whitespace and is dropped, never matched."""
    assert build_app_config({**VALID, variable: VALID[variable] + tail}) == build_app_config(VALID)


def anchored_patterns() -> list[str]:
    """``re.compile`` literals in stacks/ and tools/ that end with an unescaped ``$`` or hold a
    ``$)`` lookahead end: both match before a final newline."""
    found = []
    for path in sorted([*(ROOT / "stacks").rglob("*.py"), *(ROOT / "tools").rglob("*.py")]):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "compile" and node.args:
                first = node.args[0]
                parts = [first] if isinstance(first, ast.Constant) else list(getattr(first, "values", []))
                text = "".join(p.value for p in parts if isinstance(p, ast.Constant) and isinstance(p.value, str))
                flags = ast.unparse(node.args[1]) if len(node.args) > 1 else ""
                if "MULTILINE" not in flags and "(?m)" not in text and ((text.endswith("$") and not text.endswith("\\$")) or "$)" in text):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_no_validation_pattern_ends_in_dollar() -> None:
    assert anchored_patterns() == []
