"""Every pattern is ASCII-only: ``\\d`` would match Arabic-Indic or fullwidth digits.

A source scan keeps ``\\d``, ``\\w``, ``\\s`` and ``\\b`` out of every pattern that is not
compiled with ``re.ASCII``; every validator is fed a valid value whose digits are
swapped for the same digits of other scripts, and must refuse it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from stacks.config import (
    ConfigError,
    DatabaseConfig,
    EnvironmentConfig,
    LoadBalancerConfig,
    MonitoringConfig,
    NetworkConfig,
    RegistryConfig,
    ServiceConfig,
    StateConfig,
    build_app_config,
)
from tests.conftest import ROOT

#: Decimal digits 0-9 of other scripts (Unicode category Nd): Arabic-Indic, Extended
#: Arabic-Indic, Devanagari, Bengali, fullwidth.
ZEROS = {"arabic-indic": 0x660, "persian": 0x6F0, "devanagari": 0x966, "bengali": 0x9E6, "fullwidth": 0xFF10}
SCRIPTS = {name: "".join(chr(zero + i) for i in range(10)) for name, zero in ZEROS.items()}
UNICODE_CLASS = re.compile(r"\\[dwsbDWSB]")


def _sources() -> list[Path]:
    return [ROOT / "main.py", *sorted((ROOT / "stacks").rglob("*.py")), *sorted((ROOT / "tools").rglob("*.py"))]


def test_no_unicode_character_class_outside_an_ascii_pattern() -> None:
    offending = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in _sources()
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if UNICODE_CLASS.search(line) and "re.ASCII" not in line and "(?a" not in line
    ]
    assert offending == []


def test_fails_the_scan_on_a_unicode_class() -> None:
    assert UNICODE_CLASS.search(r'_RE = re.compile(r"^\d+$")')
    assert not UNICODE_CLASS.search(r'_RE = re.compile(r"^[0-9]+$")')


def _variants(value: str, digits: str) -> list[str]:
    """``value`` with one of its ASCII digits swapped for ``digits`` (each in turn), and with all."""
    one = [value[:i] + digits[int(c)] + value[i + 1 :] for i, c in enumerate(value) if c in "0123456789"]
    return [*one, value.translate(str.maketrans("0123456789", digits))]


KEY = "1234abcd-12ab-34cd-56ef-1234567890ab"
CLOUD = {"STATE_BACKEND": "cloud", "TF_CLOUD_ORGANIZATION": "acme"}

#: (variable, a valid value with ASCII digits, other variables it needs)
VARIABLES: list[tuple[str, str, dict[str, str]]] = [
    ("ENVIRONMENT_SUFFIX", "pr42", {}),
    ("AWS_REGION", "eu-west-1", {}),
    ("VPC_CIDR", "10.100.0.0/16", {"ENVIRONMENT_SUFFIX": "pr1"}),
    ("IMAGE_TAG", "1.2.3", {}),
    ("AWS_ENDPOINT_URL", "http://127.0.0.1:4566", {"ENVIRONMENTS": "dev"}),
    ("ALARM_EMAILS", "oncall1@example.com", {}),
    ("ALARM_HTTPS_ENDPOINTS", "https://hooks1.example.com:8443/a1?b=2", {}),
    ("ALARM_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:paging1", {}),
    ("STATE_BACKEND", "s3", {}),
    ("TF_STATE_BUCKET", "acme-state-1", {}),
    ("TF_STATE_REGION", "eu-central-1", {}),
    ("TF_STATE_KMS_KEY_ID", KEY, {}),
    ("TF_STATE_KMS_KEY_ID", "mrk-" + "0123456789abcdef" * 2, {}),
    ("TF_STATE_KMS_KEY_ID", f"arn:aws:kms:us-east-1:123456789012:key/{KEY}", {}),
    ("TF_STATE_KMS_KEY_ID", "alias/state1", {}),
    ("TF_STATE_BOOTSTRAP_BACKEND", "s3", {}),
    ("TF_CLOUD_ORGANIZATION", "acme1", {"STATE_BACKEND": "cloud"}),
    ("TF_CLOUD_PROJECT", "orders 2", CLOUD),
    ("TF_CLOUD_HOSTNAME", "tfe1.example.com", CLOUD),
    ("TF_WORKSPACE_PREFIX", "aws1-", CLOUD),
]


@pytest.mark.parametrize("script", sorted(SCRIPTS))
@pytest.mark.parametrize(("variable", "value", "context"), VARIABLES, ids=[f"{v}-{i}" for i, (v, _, _) in enumerate(VARIABLES)])
def test_fails_non_ascii_digits_in_every_variable(variable: str, value: str, context: dict[str, str], script: str) -> None:
    assert build_app_config({**context, variable: value}).environments  # the ASCII original is valid
    for variant in _variants(value, SCRIPTS[script]):
        with pytest.raises(ConfigError) as excinfo:
            build_app_config({**context, variable: variant})
        assert excinfo.value.field_name == variable


CERT = "arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"

#: (validator, a valid value with ASCII digits): every validator of a field that takes digits.
VALIDATORS: list[tuple[str, Callable[[str], object], str]] = [
    ("engine_version", lambda v: DatabaseConfig(engine_version=v), "8.0.mysql_aurora.3.08.2"),
    ("instance_class", lambda v: DatabaseConfig(instance_class=v), "db.r6g.large"),
    ("backup_window", lambda v: DatabaseConfig(backup_window=v), "03:00-04:00"),
    ("maintenance_window", lambda v: DatabaseConfig(maintenance_window=v), "sun:04:30-sun:05:30"),
    ("database_name", lambda v: DatabaseConfig(database_name=v), "orders2"),
    ("app_username", lambda v: DatabaseConfig(app_username=v), "orders_app2"),
    ("certificate_arn", lambda v: LoadBalancerConfig(certificate_arn=v), CERT),
    ("domain_name", lambda v: LoadBalancerConfig(domain_name=v, hosted_zone_name="example.com"), "api2.example.com"),
    ("health_check_matcher", lambda v: LoadBalancerConfig(health_check_matcher=v), "200-299"),
    ("test_listener_cidrs", lambda v: LoadBalancerConfig(test_listener_cidrs=(v,)), "10.1.0.0/16"),
    ("vpc_cidr", lambda v: NetworkConfig(vpc_cidr=v), "10.10.0.0/16"),
    ("alarm_emails", lambda v: MonitoringConfig(alarm_emails=(v,)), "oncall1@example.com"),
    ("alarm_https_endpoints", lambda v: MonitoringConfig(alarm_https_endpoints=(v,)), "https://hooks.example.com:8443/1"),
    ("alarm_topic_arn", lambda v: MonitoringConfig(alarm_topic_arn=v), "arn:aws:sns:us-east-1:123456789012:paging"),
    ("repository_name", lambda v: RegistryConfig(repository_name=v), "order-api2"),
    ("mutable_tags", lambda v: RegistryConfig(mutable_tags=(v,)), "v1"),
    ("image_tag", lambda v: ServiceConfig(image_tag=v), "1.0.0"),
    ("image_digest", lambda v: ServiceConfig(image_tag=v), "sha256:" + "0123456789abcdef" * 4),
    ("pending_orders_namespace", lambda v: ServiceConfig(pending_orders_namespace=v), "OrderApi2"),
    ("features", lambda v: ServiceConfig(features=((v, "1"),)), "orders.max-batch-size2"),
    ("bucket", lambda v: StateConfig(bucket=v), "acme-state-1"),
    ("kms_key_id", lambda v: StateConfig(kms_key_id=v), KEY),
    ("cloud_hostname", lambda v: StateConfig(cloud_hostname=v), "tfe1.example.com"),
    ("owner", lambda v: EnvironmentConfig(name="dev", owner=v), "team-1"),
    ("suffix", lambda v: EnvironmentConfig(name="dev", suffix=v), "pr42"),
]


@pytest.mark.parametrize("script", sorted(SCRIPTS))
@pytest.mark.parametrize(("factory", "value"), [(f, v) for _, f, v in VALIDATORS], ids=[name for name, _, _ in VALIDATORS])
def test_fails_non_ascii_digits_in_every_validator(factory: Callable[[str], object], value: str, script: str) -> None:
    factory(value)  # the ASCII original is valid
    for variant in _variants(value, SCRIPTS[script]):
        with pytest.raises(ConfigError):
            factory(variant)
