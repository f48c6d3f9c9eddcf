"""The release guards at their edges: the scan gate, EXPECT, the newest successful deployment,
and every stack checked before the first AWS session."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tools.common.ecs_deployments import DeploymentFailed, Service, live_digest
from tools.ops import release
from tools.ops.release import ReleaseError, Target

URI = "123456789012.dkr.ecr.us-east-1.amazonaws.com/order-api"
DIGEST = "sha256:" + "b" * 64
PROD = Target("order-api-prod", "prod", "us-east-1", None, "order-api-prod", "order-api-prod-api", "order-api")
DEV = Target("order-api-dev", "dev", "us-east-1", None, "order-api-dev", "order-api-dev-api", "order-api")
T0 = datetime(2026, 12, 1, tzinfo=UTC)


class Scans:
    def __init__(self, counts: dict[str, int]) -> None:
        self.counts = counts

    def describe_image_scan_findings(self, **_: Any) -> dict[str, Any]:
        return {"imageScanStatus": {"status": "COMPLETE"}, "imageScanFindings": {"findingSeverityCounts": self.counts}}


@pytest.mark.parametrize(("counts", "refused"), [({"CRITICAL": 1}, True), ({"CRITICAL": 0, "HIGH": 9}, False), ({}, False), ({"CRITICAL": 2}, True)])
def test_the_scan_gate_refuses_a_single_critical_finding(counts: dict[str, int], refused: bool) -> None:
    lines: list[str] = []
    image = release.Image(URI, DIGEST, ())
    if refused:
        with pytest.raises(ReleaseError, match=rf"has {counts['CRITICAL']} CRITICAL findings"):
            release.check_scan(Scans(counts), PROD, image, allow_critical=False, emit=lines.append)
    else:
        release.check_scan(Scans(counts), PROD, image, allow_critical=False, emit=lines.append)
    assert lines == []


def test_a_single_critical_finding_passes_only_with_the_override_said_out_loud() -> None:
    lines: list[str] = []
    release.check_scan(Scans({"CRITICAL": 1}), PROD, release.Image(URI, DIGEST, ()), allow_critical=True, emit=lines.append)
    assert lines == [f"ALLOW_CRITICAL=1: releasing {DIGEST[:19]} despite 1 CRITICAL findings"]


class Deployments:
    """ECS answering ListServiceDeployments with ``deployments`` (newest not necessarily first)
    and DescribeServiceRevisions with one digest per revision."""

    def __init__(self, deployments: list[tuple[str, int, str]]) -> None:
        self.deployments = [
            {"serviceDeploymentArn": f"arn:d/{i}", "status": status, "createdAt": T0 + timedelta(minutes=minute), "targetServiceRevisionArn": f"arn:r/{digest}"}
            for i, (status, minute, digest) in enumerate(deployments)
        ]

    def list_service_deployments(self, **_: Any) -> dict[str, Any]:
        return {"serviceDeployments": list(self.deployments)}

    def describe_service_revisions(self, serviceRevisionArns: list[str]) -> dict[str, Any]:
        return {
            "serviceRevisions": [
                {"serviceRevisionArn": arn, "containerImages": [{"containerName": "order-api", "imageDigest": arn.removeprefix("arn:r/")}]}
                for arn in serviceRevisionArns
            ]
        }


def digest(letter: str) -> str:
    return "sha256:" + letter * 64


@pytest.mark.parametrize("order", ["oldest first", "newest first", "newest in the middle"])
def test_promote_takes_the_newest_successful_deployment(order: str) -> None:
    rows = [("SUCCESSFUL", 10, digest("a")), ("SUCCESSFUL", 30, digest("c")), ("SUCCESSFUL", 20, digest("b")), ("ROLLBACK_SUCCESSFUL", 40, digest("d"))]
    if order == "newest first":
        rows = sorted(rows, key=lambda r: -r[1])
    elif order == "oldest first":
        rows = sorted(rows, key=lambda r: r[1])
    assert live_digest(Deployments(rows), Service("c", "s")) == digest("c")


def test_fails_to_promote_when_no_deployment_succeeded() -> None:
    with pytest.raises(DeploymentFailed, match="no successful deployment"):
        live_digest(Deployments([("ROLLBACK_SUCCESSFUL", 1, digest("a")), ("STOPPED", 2, digest("b"))]), Service("c", "s"))


@pytest.mark.parametrize(("expect", "refused"), [(digest("c"), False), (digest("c")[:-1] + "d", True), (digest("a"), True), (None, False)])
def test_expect_compares_the_digest_the_source_runs(expect: str | None, refused: bool, capsys: pytest.CaptureFixture[str]) -> None:
    ecs = Deployments([("SUCCESSFUL", 10, digest("a")), ("SUCCESSFUL", 30, digest("c"))])
    if refused:
        with pytest.raises(ReleaseError, match=rf"order-api-dev runs {digest('c')}, not {expect}: refusing to promote what was not tested"):
            release.promoted_digest(DEV, PROD, lambda target: (ecs, None), expect)
        return
    assert release.promoted_digest(DEV, PROD, lambda target: (ecs, None), expect) == digest("c")
    assert capsys.readouterr().out == f"promote: order-api-dev runs {digest('c')}; releasing it to order-api-prod\n"


@pytest.mark.parametrize(
    ("argv", "missing"),
    [(["order-api-staging", "--from", "order-api-nope"], "order-api-nope"), (["order-api-nope", "--from", "order-api-dev"], "order-api-nope")],
)
def test_every_stack_named_is_checked_before_the_first_aws_session(synth: Any, argv: list[str], missing: str, capsys: pytest.CaptureFixture[str]) -> None:
    def no_clients(target: Target) -> tuple[Any, Any]:
        raise AssertionError("no AWS session before every stack is known")

    assert release.main([*argv, "--skip-synth", "--outdir", str(synth.outdir)], environ={}, clients=no_clients) == 1
    assert capsys.readouterr().err.startswith(f"error: stack {missing} was not synthesized")
