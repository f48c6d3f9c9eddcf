"""Properties of the configuration over generated inputs (validation only; fast, deterministic).

- Any value of any override variable is either accepted or refused with one line that
  names the variable, shows the value escaped and capped, and never ``None``.
- For variables with a crisp rule, what is accepted is exactly what the rule allows.
- Through ``main.main``: a refused value exits 2 with one line and writes nothing.
"""

from __future__ import annotations

import contextlib
import io
import ipaddress
import os
import re
import string
from pathlib import Path
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import main
from stacks.config import OVERRIDE_VARIABLES, REGIONS, AppConfig, ConfigError, EnvironmentConfig, NetworkConfig, ServiceConfig, StateConfig, build_app_config
from stacks.config.state import valid_kms_key_id
from stacks.config.validate import ECHO_LIMIT

PROPERTIES = settings(max_examples=150, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])

#: Text that stresses parsers: printable, control and bidi characters, shell and JSON syntax.
NASTY = st.text(alphabet=st.sampled_from([*string.printable, "\u202e", "\u200b", "\x00", "é", "…", "`", "\\"]), max_size=300)
ANY_TEXT = st.one_of(NASTY, st.text(max_size=100), st.sampled_from(["", " ", "None", "null", "0", "-1", "a" * 10_000]))


def _assert_clean_error(error: ConfigError, blamed: set[str]) -> None:
    message = str(error)
    assert error.field_name in blamed, (error.field_name, blamed)
    assert message.startswith(error.field_name)
    assert "\n" not in message and "\r" not in message
    assert all(c.isprintable() for c in message), repr(message)
    assert "None" not in message or (error.value is not None and "None" in str(error.value))
    assert len(message) <= len(error.field_name) + ECHO_LIMIT + len(error.allowed) + 20


@PROPERTIES
@given(variable=st.sampled_from(OVERRIDE_VARIABLES), value=ANY_TEXT)
def test_any_value_is_accepted_or_refused_with_one_clean_line(variable: str, value: str) -> None:
    try:
        build_app_config({variable: value})
    except ConfigError as error:
        # A value may also surface a companion variable's rule (cloud needs an organization).
        _assert_clean_error(error, {variable, "TF_CLOUD_ORGANIZATION"})


REGION_LIKE = st.from_regex(r"[a-z]{2}(-gov)?-(east|west|north|south|central|southeast|northeast)-[0-9]", fullmatch=True)


@PROPERTIES
@given(value=st.one_of(REGION_LIKE, st.sampled_from(sorted(REGIONS)), ANY_TEXT))
def test_a_region_is_accepted_exactly_when_the_table_knows_it(value: str) -> None:
    try:
        config = build_app_config({"AWS_REGION": value})
    except ConfigError as error:
        assert error.field_name == "AWS_REGION"
        assert value.strip() not in REGIONS
    else:
        # Empty (after trimming) means not set: the default region.
        assert config.region == (value.strip() or "us-east-1") and config.region in REGIONS


KMS_SHAPES = st.one_of(
    st.uuids().map(str),
    st.from_regex(r"mrk-[0-9a-f]{32}", fullmatch=True),
    st.from_regex(r"alias/[A-Za-z0-9/_-]{1,260}", fullmatch=True),
    st.builds(lambda region, key: f"arn:aws:kms:{region}:123456789012:key/{key}", st.sampled_from(sorted(REGIONS)), st.uuids().map(str)),
    ANY_TEXT,
)


def _kms_oracle(value: str) -> bool:
    """An independent statement of AWS's key identifier shapes and limits."""
    uuid = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    key = rf"({uuid}|mrk-[0-9a-f]{{32}})"
    arn = r"arn:aws(-cn|-us-gov)?:kms:[a-z0-9-]+:\d{12}:"
    if re.fullmatch(key, value) or re.fullmatch(arn + "key/" + key, value):
        return True
    alias = re.fullmatch(r"(arn:aws(-cn|-us-gov)?:kms:[a-z0-9-]+:\d{12}:)?(alias/[A-Za-z0-9/_-]+)", value)
    return alias is not None and len(alias.group(3)) <= 256 and not value.endswith("/")


@PROPERTIES
@given(value=KMS_SHAPES)
def test_kms_key_ids_follow_the_real_shapes(value: str) -> None:
    assert valid_kms_key_id(value) == _kms_oracle(value)
    try:
        StateConfig(kms_key_id=value)
    except ConfigError as error:
        assert not _kms_oracle(value)
        _assert_clean_error(error, {"TF_STATE_KMS_KEY_ID"})
    else:
        assert _kms_oracle(value)


@PROPERTIES
@given(value=st.one_of(st.from_regex(r"[a-z0-9.-]{1,70}", fullmatch=True), ANY_TEXT))
def test_accepted_bucket_names_follow_the_s3_rules(value: str) -> None:
    try:
        config = build_app_config({"TF_STATE_BUCKET": value})
    except ConfigError as error:
        _assert_clean_error(error, {"TF_STATE_BUCKET"})
        return
    bucket = config.state.bucket
    assert 3 <= len(bucket) <= 63 and re.fullmatch(r"[a-z0-9][a-z0-9.-]*[a-z0-9]", bucket)
    assert ".." not in bucket and not re.fullmatch(r"\d+\.\d+\.\d+\.\d+", bucket)


@PROPERTIES
@given(value=st.one_of(st.from_regex(r"[a-z0-9-]{1,14}", fullmatch=True), ANY_TEXT))
def test_every_accepted_suffix_fits_every_32_character_name(value: str) -> None:
    try:
        config = build_app_config({"ENVIRONMENT_SUFFIX": value})
    except ConfigError as error:
        _assert_clean_error(error, {"ENVIRONMENT_SUFFIX"})
        return
    if not value.strip():
        assert [e.suffix for e in config.environments] == [None, None, None]
        return
    copy = config.environments[-1]
    assert len(f"{copy.name_prefix}-green") <= 32 and len(f"{copy.name_prefix}-alb") <= 32
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", copy.suffix or "")


@PROPERTIES
@given(
    cidr=st.builds(
        lambda a, b, prefix: str(ipaddress.IPv4Network(f"10.{a}.{b}.0/{prefix}", strict=False)), st.integers(0, 255), st.integers(0, 255), st.integers(8, 24)
    )
)
def test_an_accepted_vpc_gives_every_tier_room_and_never_overlaps(cidr: str) -> None:
    try:
        config = build_app_config({"ENVIRONMENT_SUFFIX": "pr1", "VPC_CIDR": cidr})
    except ConfigError as error:
        _assert_clean_error(error, {"VPC_CIDR"})
        return
    copy = config.environments[-1]
    plan = copy.network.subnet_plan
    assert all(ipaddress.IPv4Network(c).prefixlen <= 27 for c in plan["public"])
    assert copy.network.private_subnet_addresses * copy.network.az_count >= 2 * copy.service.max_tasks
    standing = [ipaddress.IPv4Network(e.network.vpc_cidr) for e in config.environments[:-1]]
    assert not any(ipaddress.IPv4Network(cidr).overlaps(s) for s in standing)


def _vpc_oracle(cidr: str) -> bool:
    """An independent statement of the VPC_CIDR rule (with ENVIRONMENT_SUFFIX, default sizes)."""
    match = re.fullmatch(r"([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})/([0-9]{1,2})", cidr)
    if match is None or any(len(part) > 1 and part[0] == "0" for part in match.groups()):
        return False
    octets, prefix = [int(part) for part in match.groups()[:4]], int(match[5])
    if any(o > 255 for o in octets) or not 16 <= prefix <= 19:
        return False
    address = int.from_bytes(bytes(octets), "big")
    if address & ((1 << (32 - prefix)) - 1):
        return False  # host bits set
    a, b = octets[:2]
    private = a == 10 or (a == 172 and 16 <= b <= 31) or (a == 192 and b == 168)
    return private and not (a == 172 and b == 17) and not (a == 10 and b in (10, 20, 30))  # dev, staging, prod: /16 each


CIDR_LIKE = st.one_of(
    # network-aligned blocks around the private ranges and the standing environments
    st.builds(
        lambda a, b, c, prefix: str(ipaddress.IPv4Network(f"{a}.{b}.{c}.0/{prefix}", strict=False)),
        st.sampled_from([10, 172, 192, 100, 169]),
        st.sampled_from([10, 15, 16, 17, 20, 30, 31, 32, 64, 100, 168, 254]),
        st.integers(0, 255),
        st.integers(14, 21),
    ),
    # anything in the notation's neighbourhood: host bits, leading zeros, netmasks
    st.builds(
        lambda octets, prefix, zero, netmask: (
            ".".join(("0" if zero and i == 1 else "") + str(o) for i, o in enumerate(octets))
            + "/"
            + (str(ipaddress.IPv4Network(f"0.0.0.0/{prefix}").netmask) if netmask else str(prefix))
        ),
        st.lists(st.one_of(st.sampled_from([0, 10, 16, 17, 31, 100, 127, 168, 169, 172, 192, 224, 240, 255]), st.integers(0, 255)), min_size=4, max_size=4),
        st.integers(0, 32),
        st.booleans(),
        st.booleans(),
    ),
)


#: Every combination of these, network-aligned: the private ranges and their edges, the
#: standing environments' blocks, 172.17, reserved ranges, prefixes around the limits.
CIDR_GRID = sorted(
    {
        str(ipaddress.IPv4Network(f"{a}.{b}.{c}.0/{prefix}", strict=False))
        for a in (0, 10, 100, 127, 169, 172, 192, 224, 240)
        for b in (10, 16, 17, 20, 31, 32, 168)
        for c in (0, 224)
        for prefix in (15, 16, 17, 19, 20)
    }
)


def test_every_aligned_block_of_the_grid_is_accepted_exactly_when_the_rule_allows_it() -> None:
    verdicts = {}
    for cidr in CIDR_GRID:
        try:
            build_app_config({"ENVIRONMENT_SUFFIX": "pr1", "VPC_CIDR": cidr})
            verdicts[cidr] = True
        except ConfigError:
            verdicts[cidr] = False
    assert {c for c, ok in verdicts.items() if ok != _vpc_oracle(c)} == set()
    assert 0 < sum(verdicts.values()) < len(verdicts)


@settings(PROPERTIES, max_examples=500)
@given(cidr=CIDR_LIKE)
def test_a_vpc_cidr_is_accepted_exactly_when_the_rule_allows_it(cidr: str) -> None:
    try:
        build_app_config({"ENVIRONMENT_SUFFIX": "pr1", "VPC_CIDR": cidr})
    except ConfigError as error:
        _assert_clean_error(error, {"VPC_CIDR"})
        assert not _vpc_oracle(cidr), cidr
    else:
        assert _vpc_oracle(cidr), cidr


@settings(max_examples=25, deadline=None, derandomize=True, database=None)
@given(variable=st.sampled_from(["AWS_REGION", "TF_STATE_BUCKET", "TF_STATE_KMS_KEY_ID", "ENVIRONMENT_SUFFIX"]), value=NASTY.filter(lambda v: v.strip() != ""))
def test_main_exits_2_with_one_line_and_writes_nothing(tmp_path_factory, variable: str, value: str) -> None:
    try:
        build_app_config({variable: value})
    except ConfigError:
        pass
    else:
        return  # an accepted value is not this property's business
    outdir = Path(tmp_path_factory.mktemp("main")) / "cdktf.out"
    env = {name: "" for name in OVERRIDE_VARIABLES} | {variable: value.replace("\x00", ""), "CDKTF_OUTDIR": str(outdir)}
    if "\x00" in value and not env[variable].strip():
        return
    stderr = io.StringIO()
    with mock.patch.dict(os.environ, env), contextlib.redirect_stderr(stderr):
        code = main.main()
    if code == 0:  # the value without NUL bytes was valid after all
        return
    assert code == main.EXIT_CONFIG_ERROR
    lines = stderr.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {variable}")
    assert not outdir.exists()


# ------------------------------------------------ validators, fed bad cases


def test_fails_overlapping_standing_environments() -> None:
    dev = EnvironmentConfig(name="dev", network=NetworkConfig(vpc_cidr="10.10.0.0/16"))
    staging = EnvironmentConfig(
        name="staging", network=NetworkConfig(vpc_cidr="10.10.128.0/17"), load_balancer=_https(), service=ServiceConfig(image_tag="1.0.0")
    )
    try:
        AppConfig(environments=(dev, staging), state=StateConfig(), region="us-east-1")
    except ConfigError as error:
        assert error.field_name == "staging.network.vpc_cidr"
        assert "does not overlap dev's 10.10.0.0/16" in error.allowed
    else:
        raise AssertionError("overlapping VPCs were accepted")


def test_fails_two_stacks_of_the_same_name() -> None:
    dev = EnvironmentConfig(name="dev")
    try:
        AppConfig(environments=(dev, dev), state=StateConfig(), region="us-east-1")
    except ConfigError as error:
        assert error.field_name == "environments"
    else:
        raise AssertionError("duplicate stacks were accepted")


def test_suffixed_copies_may_overlap_each_other_but_standing_ones_may_not() -> None:
    dev = EnvironmentConfig(name="dev", network=NetworkConfig(vpc_cidr="10.10.0.0/16"))
    copy = EnvironmentConfig(name="dev", suffix="pr1", network=NetworkConfig(vpc_cidr="10.10.0.0/16"))
    assert AppConfig(environments=(dev, copy), state=StateConfig(), region="us-east-1").environments[1].suffix == "pr1"


def test_fails_an_unknown_region_on_the_app() -> None:
    try:
        AppConfig(environments=(), state=StateConfig(), region="xx-nowhere-1")
    except ConfigError as error:
        assert error.field_name == "AWS_REGION"
    else:
        raise AssertionError("unknown region accepted")


def _https():
    from stacks.config import LoadBalancerConfig

    return LoadBalancerConfig(
        certificate_arn="arn:aws:acm:us-east-1:123456789012:certificate/" + "0" * 8 + "-0000-0000-0000-" + "0" * 12,
        domain_name="api.orders.example.com",
        hosted_zone_name="orders.example.com",
    )
