"""The AWS regions the stacks may deploy to, and what differs between them.

One table, one place.  Each region records:

- ``az_letters``: the zone letters that exist there, where known (``None``:
  only the letter syntax is checked).  A letter that does not exist fails the
  plan (``InvalidParameterValue`` on the subnet), so it is refused up front.
- ``elb_account``: the Elastic Load Balancing account that writes ALB access
  logs in regions that launched before August 2022.  Regions that launched
  later have no such account: their bucket policy must name the service
  principal ``logdelivery.elasticloadbalancing.amazonaws.com`` instead, and
  the provider's ``aws_elb_service_account`` data source fails there.  (AWS
  documents the service principal for every region; the stacks name the
  account as well where one exists, for log delivery set up before the
  principal existed.)
- ``backtrack``: whether Aurora MySQL Backtrack is offered (AWS lists it for a
  subset of regions only; asking for it elsewhere fails the cluster create).
- ``data_api``: whether the RDS Data API is offered for Aurora MySQL (the
  region table of the Aurora User Guide, "Supported Regions and Aurora DB
  engines for RDS Data API", lists where it is not; a region it does not name
  is taken to offer it).  ``make db-users`` needs it.
- ``usable_zones``: how many zones most accounts can use, where that is fewer
  than the zone letters (us-west-1: two of a, b, c, which two differs per account).

``tests/test_regions.py`` keeps the region names in step with botocore's
partition data; botocore is a development dependency, so the table (not
botocore) is what synthesis reads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stacks.config.validate import ConfigError, _require

#: The service principal that delivers ALB access logs in every region.
ELB_LOG_DELIVERY_PRINCIPAL = "logdelivery.elasticloadbalancing.amazonaws.com"


@dataclass(frozen=True)
class Region:
    """What the stacks need to know about one region (see the module docstring)."""

    name: str
    partition: str = "aws"
    az_letters: tuple[str, ...] | None = None
    elb_account: str | None = None
    backtrack: bool = False
    data_api: bool = True
    usable_zones: int | None = None

    def default_az_letters(self, count: int = 3) -> tuple[str, ...]:
        """The first ``count`` zones the table knows (``ca-central-1``: a, b, d), else a, b, c."""
        return (self.az_letters or tuple("abcdef"))[:count]


def _r(
    name: str,
    letters: str | None = None,
    elb: str | None = None,
    *,
    backtrack: bool = False,
    partition: str = "aws",
    data_api: bool = True,
    usable_zones: int | None = None,
) -> Region:
    return Region(name, partition, tuple(letters) if letters else None, elb, backtrack, data_api, usable_zones)


#: Every region the stacks accept.  Sources: botocore's partition data (names),
#: the ELB access log documentation (accounts), the Aurora Backtrack and RDS Data
#: API region availability tables (backtrack, data_api), the EC2 console's zone
#: lists (letters, usable_zones).
REGIONS: dict[str, Region] = {
    r.name: r
    for r in (
        _r("us-east-1", "abcdef", "127311923021", backtrack=True),
        _r("us-east-2", "abc", "033677994240", backtrack=True),
        _r("us-west-1", "abc", "027434742980", backtrack=True, usable_zones=2),
        _r("us-west-2", "abcd", "797873946194", backtrack=True),
        _r("ca-central-1", "abd", "985666609251", backtrack=True),
        _r("ca-west-1", data_api=False),
        _r("eu-central-1", "abc", "054676820928", backtrack=True),
        _r("eu-central-2", data_api=False),
        _r("eu-west-1", "abc", "156460612806", backtrack=True),
        _r("eu-west-2", "abc", "652711504416", backtrack=True),
        _r("eu-west-3", "abc", "009996457667", backtrack=True),
        _r("eu-north-1", "abc", "897822967062"),
        _r("eu-south-1", None, "635631232127"),
        _r("eu-south-2"),
        _r("ap-northeast-1", "acd", "582318560864", backtrack=True),
        _r("ap-northeast-2", "abcd", "600734575887", backtrack=True),
        _r("ap-northeast-3", None, "383597477331"),
        _r("ap-southeast-1", "abc", "114774131450", backtrack=True),
        _r("ap-southeast-2", "abc", "783225319266", backtrack=True),
        _r("ap-southeast-3", None, "589379963580"),
        _r("ap-southeast-4", data_api=False),
        _r("ap-southeast-5"),
        _r("ap-southeast-6", data_api=False),
        _r("ap-southeast-7"),
        _r("ap-south-1", "abc", "718504428378", backtrack=True),
        _r("ap-south-2", data_api=False),
        _r("ap-east-1", None, "754344448648"),
        _r("ap-east-2"),
        _r("sa-east-1", "abc", "507241528517"),
        _r("af-south-1", None, "098369216593"),
        _r("me-south-1", None, "076674570225"),
        _r("me-central-1"),
        _r("il-central-1", data_api=False),
        _r("mx-central-1"),
        _r("us-gov-west-1", None, "048591011584", partition="aws-us-gov", data_api=False),
        _r("us-gov-east-1", None, "190560391635", partition="aws-us-gov", data_api=False),
        _r("cn-north-1", None, "638102146993", partition="aws-cn", data_api=False),
        _r("cn-northwest-1", None, "037604701340", partition="aws-cn", data_api=False),
    )
}

#: Regions in the table that the pinned botocore does not list yet (launched after it).
NEWER_THAN_BOTOCORE = ("ap-east-2", "ap-southeast-6")

_LETTER_RE = re.compile(r"[a-z]")


def region(field_name: str, value: str) -> Region:
    """The table entry of ``value``, or a :class:`ConfigError` naming ``field_name``."""
    found = REGIONS.get(value or "")
    if found is None:
        raise ConfigError(field_name, value, "a known AWS region such as us-east-1 or eu-west-2 (see stacks/config/regions.py)")
    return found


def validate_region(field_name: str, value: str) -> None:
    region(field_name, value)


_ARN_RE = re.compile(r"^arn:(?P<partition>[a-z-]+):(?P<service>[a-z0-9-]+):(?P<region>[a-z0-9-]*):")


def arn_partition_region(arn: str) -> tuple[str, str] | None:
    """``(partition, region)`` of an ARN, or None for anything else."""
    match = _ARN_RE.match(arn)
    return (match["partition"], match["region"]) if match else None


def validate_az_letters(field_name: str, region_name: str, letters: tuple[str, ...], count: int) -> None:
    """``count`` distinct single lowercase letters that exist in the region (where the table knows them)."""
    _require(
        len(letters) == count and len(set(letters)) == count and all(_LETTER_RE.fullmatch(letter or "") for letter in letters),
        field_name,
        ",".join(letters),
        f"{count} distinct single lowercase letters (one per AZ), e.g. a,b,c",
    )
    known = REGIONS[region_name].az_letters if region_name in REGIONS else None
    if known is not None:
        _require(
            set(letters) <= set(known),
            field_name,
            ",".join(letters),
            f"zones that exist in {region_name}: {','.join(known)}",
        )
