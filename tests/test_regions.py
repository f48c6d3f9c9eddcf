"""The region table: in step with botocore, and the region-dependent choices it drives."""

from __future__ import annotations

import json
import os
import re

import botocore  # type: ignore[import-untyped]
import pytest

from stacks.config import REGIONS, ConfigError, build_app_config, catalogue
from stacks.config.regions import NEWER_THAN_BOTOCORE, region, validate_az_letters

PARTITIONS = ("aws", "aws-cn", "aws-us-gov")


def botocore_regions() -> dict[str, str]:
    """``{region: partition}`` of the commercial, China and GovCloud partitions."""
    with open(os.path.join(os.path.dirname(botocore.__file__), "data", "endpoints.json")) as handle:
        data = json.load(handle)
    return {name: p["partition"] for p in data["partitions"] if p["partition"] in PARTITIONS for name in p["regions"]}


def test_table_is_botocores_regions_plus_the_newer_ones() -> None:
    known = botocore_regions()
    assert set(REGIONS) == set(known) | set(NEWER_THAN_BOTOCORE)
    assert not set(NEWER_THAN_BOTOCORE) & set(known), "botocore knows them now: drop them from NEWER_THAN_BOTOCORE"


def test_partitions_agree_with_botocore() -> None:
    known = botocore_regions()
    assert {name: r.partition for name, r in REGIONS.items() if name in known} == known


def test_table_entries_are_well_formed() -> None:
    accounts = [r.elb_account for r in REGIONS.values() if r.elb_account]
    assert all(re.fullmatch(r"\d{12}", a) for a in accounts)
    assert len(set(accounts)) == len(accounts)
    for entry in REGIONS.values():
        assert entry.az_letters is None or (len(entry.az_letters) >= 3 and all(re.fullmatch(r"[a-z]", x) for x in entry.az_letters))


@pytest.mark.parametrize("name", ["me-central-1", "ca-west-1", "ap-southeast-4", "il-central-1", "mx-central-1"])
def test_regions_after_august_2022_have_no_elb_account(name: str) -> None:
    assert REGIONS[name].elb_account is None


@pytest.mark.parametrize(("name", "offered"), [("us-east-1", True), ("eu-west-1", True), ("eu-north-1", False), ("sa-east-1", False), ("af-south-1", False)])
def test_backtrack_availability(name: str, offered: bool) -> None:
    assert REGIONS[name].backtrack is offered


@pytest.mark.parametrize(("name", "hours"), [("us-east-1", 24), ("eu-north-1", 0), ("sa-east-1", 0), ("af-south-1", 0)])
def test_prod_backtrack_is_chosen_by_region(name: str, hours: int) -> None:
    assert catalogue(name)["prod"].database.backtrack_window_hours == hours
    assert build_app_config({"AWS_REGION": name}).environments[-1].database.backtrack_window_hours == hours


def test_fails_unknown_region_with_one_line() -> None:
    with pytest.raises(ConfigError) as excinfo:
        region("AWS_REGION", "zz-nowhere-9")
    assert str(excinfo.value) == "AWS_REGION='zz-nowhere-9' is invalid: a known AWS region such as us-east-1 or eu-west-2 (see stacks/config/regions.py)"


def test_zone_letters_are_checked_where_known_and_syntax_only_elsewhere() -> None:
    validate_az_letters("AVAILABILITY_ZONE_LETTERS", "us-east-1", ("d", "e", "f"), 3)
    validate_az_letters("AVAILABILITY_ZONE_LETTERS", "il-central-1", ("x", "y", "z"), 3)
    with pytest.raises(ConfigError, match="zones that exist in us-east-2: a,b,c"):
        validate_az_letters("AVAILABILITY_ZONE_LETTERS", "us-east-2", ("a", "b", "d"), 3)
    with pytest.raises(ConfigError, match="3 distinct single lowercase letters"):
        validate_az_letters("AVAILABILITY_ZONE_LETTERS", "il-central-1", ("x", "y", "yy"), 3)


@pytest.mark.parametrize(
    ("name", "zones"),
    [("ca-central-1", ("a", "b", "d")), ("ap-northeast-1", ("a", "c", "d")), ("eu-west-1", ("a", "b", "c")), ("me-central-1", ("a", "b", "c"))],
)
def test_default_zones_are_ones_the_region_has(name: str, zones: tuple[str, ...]) -> None:
    config = build_app_config({"AWS_REGION": name})
    assert {e.network.az_letters for e in config.environments} == {zones}


NO_DATA_API = [
    "ap-south-2",
    "ap-southeast-4",
    "ap-southeast-6",
    "ca-west-1",
    "cn-north-1",
    "cn-northwest-1",
    "eu-central-2",
    "il-central-1",
    "us-gov-east-1",
    "us-gov-west-1",
]


def test_data_api_availability_is_the_documented_list() -> None:
    assert sorted(name for name, r in REGIONS.items() if not r.data_api) == NO_DATA_API


@pytest.mark.parametrize(("name", "offered"), [("us-east-1", True), ("il-central-1", False), ("us-gov-west-1", False), ("cn-north-1", False)])
def test_the_catalogue_follows_the_data_api_of_the_region(name: str, offered: bool) -> None:
    assert {env.database.data_api for env in catalogue(name).values()} == {offered}


def test_only_us_west_1_gives_most_accounts_fewer_zones_than_the_stacks_use() -> None:
    assert {name: r.usable_zones for name, r in REGIONS.items() if r.usable_zones is not None} == {"us-west-1": 2}


@pytest.mark.parametrize(
    ("arn", "found"),
    [
        ("arn:aws:sns:us-east-1:123456789012:paging", ("aws", "us-east-1")),
        ("arn:aws-us-gov:kms:us-gov-west-1:123456789012:alias/x", ("aws-us-gov", "us-gov-west-1")),
        ("alias/x", None),
        ("arn:", None),
    ],
)
def test_arn_partition_and_region(arn: str, found: tuple[str, str] | None) -> None:
    from stacks.config.regions import arn_partition_region

    assert arn_partition_region(arn) == found
