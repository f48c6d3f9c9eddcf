"""What only the account can tell before Terraform starts: the state bucket, the quotas, the zone.

Each check refuses with one line that names the fix (:class:`~tools.common.stack.DeployError`);
:func:`account_preflight` returns what it checked, for the one line ``make deploy`` prints.

- :func:`check_state_bucket`: the S3 backend's bucket exists and the caller may read it
  (``HeadBucket``), so a missing bucket is one line, not Terraform's thirty ending in
  ``NoSuchBucket``.  Run before every command that reads a stack's state.
- :func:`check_quotas`: the Elastic IPs (one per NAT gateway) and VPCs the stack would add fit
  the region's quotas, counting what is in use.  The quotas come from Service Quotas (the
  applied value, else AWS's default from the same API, else the documented default of 5 when
  the API cannot be read, which the line says).
- :func:`check_hosted_zones`: the public Route 53 zone of each domain exists in the account.

On an emulator the quota and zone checks are skipped, and the line says so: an emulator has
no quotas, and its zones are not the account's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from stacks.config.names import STATE_STACK
from tools.common.aws_errors import error_code
from tools.common.stack import DeployError, is_emulated, provider_target

Clients = Callable[[str], Any]


@dataclass(frozen=True)
class Quota:
    """A regional quota the stacks use: Service Quotas' codes and AWS's documented default."""

    what: str
    service_code: str
    quota_code: str
    resource_type: str
    default: int


#: The NAT gateways' addresses: dev 1, staging 1, prod 3, each suffixed copy 1.
ELASTIC_IPS = Quota("Elastic IPs", "ec2", "L-0263D0A3", "aws_eip", 5)
#: One VPC per environment; the default VPC counts too.
VPCS = Quota("VPCs", "vpc", "L-F678F1CE", "aws_vpc", 5)
#: Errors that mean the caller may not read the bucket, as S3 answers HeadBucket (no body).
_FORBIDDEN = ("403", "AccessDenied", "Forbidden")
_MISSING = ("404", "NoSuchBucket", "NotFound")


def boto_clients(region: str, endpoint: str | None) -> Clients:
    """``client(service)`` of one boto3 session in ``region`` (at ``endpoint`` when emulated)."""
    import boto3  # type: ignore[import-untyped]

    session = boto3.session.Session(region_name=region)
    return lambda service: session.client(service, endpoint_url=endpoint)


def environment_of(doc: Mapping[str, Any]) -> str:
    return str(doc["provider"]["aws"][0].get("default_tags", [{}])[0].get("tags", {}).get("environment", ""))


def check_state_bucket(doc: Mapping[str, Any], stack: str, clients: Callable[[str, str | None], Clients]) -> str | None:
    """The S3 backend's bucket exists and can be read; its name, or None for other backends
    and for the state stack itself (whose first deploy creates the bucket)."""
    backend = doc.get("terraform", {}).get("backend", {}).get("s3")
    if not backend or stack == STATE_STACK:
        return None
    bucket, region = str(backend["bucket"]), str(backend["region"])
    s3 = clients(region, (backend.get("endpoints") or {}).get("s3"))("s3")
    try:
        s3.head_bucket(Bucket=bucket)
    except Exception as error:
        code = error_code(error)
        if code in _MISSING:
            raise DeployError(
                f"{stack}: its state bucket {bucket} does not exist in {region}: run make bootstrap first "
                "(README, A new account), or set TF_STATE_BUCKET and TF_STATE_REGION to the bucket that holds the state"
            ) from None
        if code in _FORBIDDEN:
            raise DeployError(f"{stack}: the state bucket {bucket} ({region}) exists but this caller may not read it: use a role with access to it") from None
        if code == "301":
            raise DeployError(f"{stack}: the state bucket {bucket} is not in {region}: set TF_STATE_REGION to its region") from None
        raise
    return bucket


def quota_value(quotas: Any, quota: Quota) -> tuple[int, str]:
    """The quota's value and where it came from (applied, AWS's default, or the documented default)."""
    for call, source in ((quotas.get_service_quota, "applied"), (quotas.get_aws_default_service_quota, "AWS default")):
        try:
            return int(call(ServiceCode=quota.service_code, QuotaCode=quota.quota_code)["Quota"]["Value"]), source
        except Exception as error:
            code = error_code(error)
            if not code:
                raise
            if code != "NoSuchResourceException":
                return quota.default, f"documented default; Service Quotas said {code}"
    return quota.default, "documented default"


def _in_use(ec2: Any, quota: Quota, environment: str) -> tuple[int, int]:
    """(in use in the region, of them the environment's own)."""
    mine = [{"Name": "tag:environment", "Values": [environment]}]
    if quota is ELASTIC_IPS:
        return len(ec2.describe_addresses()["Addresses"]), len(ec2.describe_addresses(Filters=mine)["Addresses"])
    count = 0
    for page in ec2.get_paginator("describe_vpcs").paginate():
        count += len(page["Vpcs"])
    own = sum(len(page["Vpcs"]) for page in ec2.get_paginator("describe_vpcs").paginate(Filters=mine))
    return count, own


def check_quotas(doc: Mapping[str, Any], stack: str, client: Clients) -> list[str]:
    """Each quota's line (``Elastic IPs: 1 new, 3 of 5 in use``); refuses what would not fit."""
    region, _ = provider_target(doc)
    notes = []
    for quota in (ELASTIC_IPS, VPCS):
        declared = len(doc.get("resource", {}).get(quota.resource_type, {}))
        if not declared:
            continue
        in_use, own = _in_use(client("ec2"), quota, environment_of(doc))
        new = max(0, declared - own)
        limit, source = quota_value(client("service-quotas"), quota)
        if in_use + new > limit:
            raise DeployError(
                f"{stack}: needs {new} more {quota.what} but {in_use} of {limit} are in use in {region} (quota {quota.quota_code}, {source}): "
                f"free some, or ask for more: aws service-quotas request-service-quota-increase --service-code {quota.service_code} "
                f"--quota-code {quota.quota_code} --desired-value {in_use + new} --region {region}"
            )
        notes.append(f"{quota.what} {new} new, {in_use} of {limit} in use")
    return notes


def check_hosted_zones(doc: Mapping[str, Any], stack: str, route53: Any) -> list[str]:
    """The public zones the stack looks up exist in the account; their names."""
    found = []
    for body in doc.get("data", {}).get("aws_route53_zone", {}).values():
        name = str(body["name"]).rstrip(".")
        zones = route53.list_hosted_zones_by_name(DNSName=name, MaxItems="10")["HostedZones"]
        if not any(z["Name"].rstrip(".") == name and not z.get("Config", {}).get("PrivateZone") for z in zones):
            raise DeployError(
                f"{stack}: the public hosted zone {name} does not exist in this account: create it and delegate the domain to it, "
                "or set the environment's *_HOSTED_ZONE to the zone that holds its domain"
            )
        found.append(name)
    return found


def account_preflight(doc: Mapping[str, Any], stack: str, clients: Callable[[str, str | None], Clients]) -> str:
    """Quotas and zones of an environment stack (skipped on an emulator); the line that says what was checked."""
    if is_emulated(doc):
        return "skipped on the emulator: quotas, hosted zones"
    region, _ = provider_target(doc)
    client = clients(region, None)
    notes = check_quotas(doc, stack, client)
    zones = check_hosted_zones(doc, stack, client("route53"))
    return "; ".join([*notes, *([f"hosted zone {', '.join(zones)}"] if zones else [])]) or "no quota or zone to check"
