"""AWS limits enforced at synth, at and just past each edge."""

from __future__ import annotations

import pytest

from stacks.config import ConfigError, LoadBalancerConfig, MonitoringConfig, build_app_config
from stacks.config.load_balancer import ACM_FIRST_NAME_LIMIT

ZONE = "acme-orders.com"
CERT = "arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"
TOPIC = "arn:aws:sns:us-east-1:123456789012:"


def domain(length: int) -> str:
    """A name of ``length`` characters in :data:`ZONE`, of labels of at most 10 characters."""
    prefix = ""
    while len(prefix) < length - len(ZONE) - 1:
        left = length - len(ZONE) - 1 - len(prefix)
        prefix += "a" * min(left, 10) if left <= 10 else "a" * min(left - 2, 9) + "."
    name = prefix + "." + ZONE
    assert len(name) == length and ".." not in name
    return name


def test_a_created_certificate_takes_a_first_name_of_64_characters() -> None:
    assert LoadBalancerConfig(domain_name=domain(ACM_FIRST_NAME_LIMIT), hosted_zone_name=ZONE).domain_name == domain(64)


def test_fails_a_created_certificate_whose_first_name_is_65_characters() -> None:
    with pytest.raises(ConfigError, match="at most 64 characters when a certificate is created"):
        LoadBalancerConfig(domain_name=domain(65), hosted_zone_name=ZONE)


def test_an_existing_certificate_serves_a_longer_domain() -> None:
    assert LoadBalancerConfig(domain_name=domain(200), hosted_zone_name=ZONE, certificate_arn=CERT).certificate_arn == CERT


@pytest.mark.parametrize(
    "certificate_id",
    [
        "------------------------------------",
        "12345678123412341234123456789012abcd",
        "12345678-1234-1234-1234-12345678901",
        "1234567-81234-1234-1234-123456789012",
        "12345678-1234-1234-1234-12345678901G",
    ],
)
def test_fails_a_malformed_certificate_id(certificate_id: str) -> None:
    with pytest.raises(ConfigError, match="an ACM certificate ARN"):
        LoadBalancerConfig(certificate_arn=CERT.rsplit("/", 1)[0] + "/" + certificate_id)


@pytest.mark.parametrize(
    ("name", "ok"), [("t" * 256, True), ("t" * 257, False), ("t" * 251 + ".fifo", True), ("t" * 252 + ".fifo", False), ("t.fifo", True), (".fifo", False)]
)
def test_sns_topic_names_are_at_most_256_characters_fifo_suffix_included(name: str, ok: bool) -> None:
    if ok:
        assert MonitoringConfig(alarm_topic_arn=TOPIC + name).alarm_topic_arn == TOPIC + name
        return
    with pytest.raises(ConfigError, match="an SNS topic ARN"):
        MonitoringConfig(alarm_topic_arn=TOPIC + name)


@pytest.mark.parametrize("selected", [None, "dev"])
def test_fails_two_environments_with_one_domain(selected: str | None) -> None:
    """Also when ENVIRONMENTS leaves one of them out: each is deployed some day."""
    overrides = {"DEV_DOMAIN_NAME": "api.acme-orders.com", "DEV_HOSTED_ZONE": ZONE, "STAGING_DOMAIN_NAME": "api.acme-orders.com", "STAGING_HOSTED_ZONE": ZONE}
    if selected:
        overrides["ENVIRONMENTS"] = selected
    with pytest.raises(ConfigError) as excinfo:
        build_app_config(overrides)
    assert str(excinfo.value) == "STAGING_DOMAIN_NAME='api.acme-orders.com' is invalid: a domain no other environment serves (DEV_DOMAIN_NAME has it)"


def test_two_environments_with_their_own_domains_in_one_zone() -> None:
    config = build_app_config(
        {"DEV_DOMAIN_NAME": "dev.acme-orders.com", "DEV_HOSTED_ZONE": ZONE, "STAGING_DOMAIN_NAME": "staging.acme-orders.com", "STAGING_HOSTED_ZONE": ZONE}
    )
    assert {env.name: env.load_balancer.domain_name for env in config.environments}["staging"] == "staging.acme-orders.com"


def test_fails_a_bad_domain_of_an_environment_left_out() -> None:
    with pytest.raises(ConfigError, match=r"^PROD_DOMAIN_NAME="):
        build_app_config({"ENVIRONMENTS": "dev", "PROD_DOMAIN_NAME": "not a domain", "PROD_HOSTED_ZONE": ZONE})


@pytest.mark.parametrize(
    ("variable", "value", "field", "expected"),
    [
        ("PROD_HOSTED_ZONE", "acme-orders.com.", "hosted_zone_name", "acme-orders.com"),
        ("PROD_DOMAIN_NAME", "api.acme-orders.com.", "domain_name", "api.acme-orders.com"),
    ],
)
def test_a_fully_qualified_name_is_accepted_without_its_root_dot(variable: str, value: str, field: str, expected: str) -> None:
    overrides = {"ENVIRONMENTS": "prod", "PROD_DOMAIN_NAME": "api.acme-orders.com", "PROD_HOSTED_ZONE": ZONE, variable: value}
    (prod,) = build_app_config(overrides).environments
    assert getattr(prod.load_balancer, field) == expected


@pytest.mark.parametrize(
    ("overrides", "check"),
    [
        (
            {"ALARM_HTTPS_ENDPOINTS": "https://hooks.example.com./alarm"},
            lambda c: c.environments[0].monitoring.alarm_https_endpoints == ("https://hooks.example.com./alarm",),
        ),
        ({"AWS_ENDPOINT_URL": "http://localhost.:4566", "ENVIRONMENTS": "dev"}, lambda c: c.endpoint_url == "http://localhost.:4566"),
        (
            {"STATE_BACKEND": "cloud", "TF_CLOUD_ORGANIZATION": "acme", "TF_CLOUD_HOSTNAME": "tfe.example.com.:8443"},
            lambda c: c.state.cloud_hostname == "tfe.example.com:8443",
        ),
    ],
)
def test_url_hosts_may_be_fully_qualified(overrides: dict[str, str], check) -> None:
    assert check(build_app_config(overrides))


@pytest.mark.parametrize("host", ["hooks..example.com", "hooks.example.com..", ".hooks.example.com"])
def test_fails_a_host_with_an_empty_label(host: str) -> None:
    with pytest.raises(ConfigError, match=r"^ALARM_HTTPS_ENDPOINTS="):
        build_app_config({"ALARM_HTTPS_ENDPOINTS": f"https://{host}/x"})
