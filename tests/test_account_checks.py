"""make deploy's account preflight: the state bucket, the quotas and the hosted zones, each
refused in one line before Terraform starts (moto in-process; no network)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import Synthesized, emulator_credentials
from tools.common.stack import DeployError
from tools.ops import account_checks
from tools.ops.account_checks import ELASTIC_IPS, VPCS, account_preflight, check_hosted_zones, check_quotas, check_state_bucket, quota_value

moto = pytest.importorskip("moto")
boto3 = pytest.importorskip("boto3")


class Quotas:
    """Service Quotas answering from a table; a code instead raises that error."""

    def __init__(self, applied: dict[str, float] | None = None, default: dict[str, float] | None = None, refuse: str = "") -> None:
        self.applied, self.default, self.refuse = applied or {}, default or {}, refuse

    def _answer(self, table: dict[str, float], QuotaCode: str) -> dict[str, Any]:
        if self.refuse:
            raise _error(self.refuse)
        if QuotaCode not in table:
            raise _error("NoSuchResourceException")
        return {"Quota": {"Value": table[QuotaCode]}}

    def get_service_quota(self, ServiceCode: str, QuotaCode: str) -> dict[str, Any]:
        return self._answer(self.applied, QuotaCode)

    def get_aws_default_service_quota(self, ServiceCode: str, QuotaCode: str) -> dict[str, Any]:
        return self._answer(self.default, QuotaCode)


def _error(code: str) -> Exception:
    error = Exception(code)
    error.response = {"Error": {"Code": code}}  # type: ignore[attr-defined]
    return error


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    emulator_credentials(monkeypatch)
    with moto.mock_aws():
        yield lambda service: boto3.client(service, region_name="us-east-1")


def _with(aws: Any, quotas: Quotas) -> Any:
    return lambda service: quotas if service == "service-quotas" else aws(service)


# ------------------------------------------------------------------------------ state bucket


def test_a_missing_state_bucket_is_one_line_naming_bootstrap(synth: Synthesized, aws: Any) -> None:
    with pytest.raises(DeployError, match=r"^order-api-dev: its state bucket order-api-terraform-state does not exist in us-east-1: run make bootstrap first"):
        check_state_bucket(synth.doc("order-api-dev"), "order-api-dev", lambda region, endpoint: aws)


def test_an_existing_state_bucket_passes(synth: Synthesized, aws: Any) -> None:
    aws("s3").create_bucket(Bucket="order-api-terraform-state")
    assert check_state_bucket(synth.doc("order-api-dev"), "order-api-dev", lambda region, endpoint: aws) == "order-api-terraform-state"


def test_the_state_stack_and_other_backends_are_not_checked(synth: Synthesized) -> None:
    refuse = lambda region, endpoint: pytest.fail("S3 asked")  # noqa: E731
    assert check_state_bucket(synth.doc("order-api-state"), "order-api-state", refuse) is None
    local = copy.deepcopy(synth.doc("order-api-dev"))
    local["terraform"]["backend"] = {"local": {"path": "x"}}
    assert check_state_bucket(local, "order-api-dev", refuse) is None


@pytest.mark.parametrize(
    ("code", "message"),
    [("403", "exists but this caller may not read it"), ("301", "is not in us-east-1: set TF_STATE_REGION"), ("500", None)],
)
def test_fails_a_state_bucket_it_cannot_use(synth: Synthesized, code: str, message: str | None) -> None:
    class S3:
        def head_bucket(self, Bucket: str) -> None:
            raise _error(code)

    check = lambda: check_state_bucket(synth.doc("order-api-dev"), "order-api-dev", lambda region, endpoint: lambda service: S3())  # noqa: E731
    if message is None:  # anything else is left to the one-line AWS error handling
        with pytest.raises(Exception, match="500"):
            check()
    else:
        with pytest.raises(DeployError, match=message):
            check()


# ------------------------------------------------------------------------------ quotas


def test_quota_values_come_from_service_quotas_then_defaults() -> None:
    assert quota_value(Quotas(applied={"L-0263D0A3": 10}), ELASTIC_IPS) == (10, "applied")
    assert quota_value(Quotas(default={"L-0263D0A3": 5}), ELASTIC_IPS) == (5, "AWS default")
    assert quota_value(Quotas(refuse="AccessDeniedException"), VPCS) == (5, "documented default; Service Quotas said AccessDeniedException")
    assert quota_value(Quotas(), VPCS) == (5, "documented default")


def test_dev_fits_an_empty_account(synth: Synthesized, aws: Any) -> None:
    notes = check_quotas(synth.doc("order-api-dev"), "order-api-dev", _with(aws, Quotas(applied={"L-0263D0A3": 5, "L-F678F1CE": 5})))
    assert notes == ["Elastic IPs 1 new, 0 of 5 in use", "VPCs 1 new, 1 of 5 in use"]  # moto's default VPC counts, as AWS's does


def test_fails_a_stack_whose_nat_addresses_do_not_fit(synth: Synthesized, aws: Any) -> None:
    for _ in range(3):
        aws("ec2").allocate_address(Domain="vpc")
    with pytest.raises(DeployError) as refused:
        check_quotas(synth.doc("order-api-prod"), "order-api-prod", _with(aws, Quotas(applied={"L-0263D0A3": 5, "L-F678F1CE": 5})))
    assert str(refused.value) == (
        "order-api-prod: needs 3 more Elastic IPs but 3 of 5 are in use in us-east-1 (quota L-0263D0A3, applied): free some, or ask for more: "
        "aws service-quotas request-service-quota-increase --service-code ec2 --quota-code L-0263D0A3 --desired-value 6 --region us-east-1"
    )


def test_what_the_environment_already_has_is_not_counted_twice(synth: Synthesized, aws: Any) -> None:
    ec2 = aws("ec2")
    for _ in range(4):
        ec2.allocate_address(Domain="vpc")
    ec2.allocate_address(Domain="vpc", TagSpecifications=[{"ResourceType": "elastic-ip", "Tags": [{"Key": "environment", "Value": "dev"}]}])
    ec2.create_vpc(CidrBlock="10.10.0.0/16", TagSpecifications=[{"ResourceType": "vpc", "Tags": [{"Key": "environment", "Value": "dev"}]}])
    notes = check_quotas(synth.doc("order-api-dev"), "order-api-dev", _with(aws, Quotas(applied={"L-0263D0A3": 5, "L-F678F1CE": 5})))
    assert notes == ["Elastic IPs 0 new, 5 of 5 in use", "VPCs 0 new, 2 of 5 in use"]


def test_fails_a_vpc_over_the_quota(synth: Synthesized, aws: Any) -> None:
    with pytest.raises(DeployError, match=r"needs 1 more VPCs but 1 of 1 are in use .*--service-code vpc --quota-code L-F678F1CE --desired-value 2"):
        check_quotas(synth.doc("order-api-dev"), "order-api-dev", _with(aws, Quotas(applied={"L-0263D0A3": 5, "L-F678F1CE": 1})))


# ------------------------------------------------------------------------------ hosted zones


def test_fails_without_the_public_zone(synth: Synthesized, aws: Any) -> None:
    route53 = aws("route53")
    route53.create_hosted_zone(
        Name="staging.orders.example.com", CallerReference="private", HostedZoneConfig={"PrivateZone": True}, VPC={"VPCRegion": "us-east-1", "VPCId": "vpc-1"}
    )
    with pytest.raises(DeployError, match=r"^order-api-staging: the public hosted zone staging.orders.example.com does not exist in this account"):
        check_hosted_zones(synth.doc("order-api-staging"), "order-api-staging", route53)
    route53.create_hosted_zone(Name="staging.orders.example.com", CallerReference="public")
    assert check_hosted_zones(synth.doc("order-api-staging"), "order-api-staging", route53) == ["staging.orders.example.com"]
    assert check_hosted_zones(synth.doc("order-api-dev"), "order-api-dev", route53) == []  # no domain: nothing to look up


def test_the_emulator_skips_quotas_and_zones_and_says_so(synth_emulated: Synthesized) -> None:
    line = account_preflight(synth_emulated.doc("order-api-dev-e2e"), "order-api-dev-e2e", lambda region, endpoint: pytest.fail("AWS asked"))
    assert line == "skipped on the emulator: quotas, hosted zones"


def test_the_preflight_line_names_what_it_checked(synth: Synthesized, aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(account_checks, "quota_value", lambda quotas, quota: (5, "applied"))
    assert account_preflight(synth.doc("order-api-dev"), "order-api-dev", lambda region, endpoint: aws) == (
        "Elastic IPs 1 new, 0 of 5 in use; VPCs 1 new, 1 of 5 in use"
    )


@pytest.mark.parametrize("action", ["--outputs-only", "--destroy"])
def test_outputs_and_destroy_stop_at_a_missing_state_bucket_in_one_line(
    synth: Synthesized, aws: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], action: str
) -> None:
    from tools.ops import deploy

    monkeypatch.setattr(deploy, "check_credentials", lambda region, endpoint: "arn:aws:iam::123456789012:role/platform")
    monkeypatch.setattr(account_checks, "boto_clients", lambda region, endpoint: aws)
    monkeypatch.setattr(deploy, "cdktf", lambda *args: pytest.fail("terraform ran without its state bucket"))
    args = ["order-api-dev-pr42", action, "--skip-synth", "--outdir", str(synth.outdir)]
    assert deploy.main(args, environ={"CONFIRM": ""}) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: order-api-dev-pr42: its state bucket order-api-terraform-state does not exist")
