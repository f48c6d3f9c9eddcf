"""make teardown: a standing environment removed deliberately, keeping what it says it keeps."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Synthesized, emulator_credentials
from tools.ops import teardown
from tools.ops.teardown import Plan, TeardownError, check_request, plan_of

moto = pytest.importorskip("moto")
boto3 = pytest.importorskip("boto3")


def test_the_plan_names_what_a_teardown_keeps(synth: Synthesized) -> None:
    dev, prod = plan_of(synth.doc("order-api-dev"), "order-api-dev"), plan_of(synth.doc("order-api-prod"), "order-api-prod")
    assert dev.database_key == ["aws_kms_key.database_key_CA7EEF20", "aws_kms_alias.database_key_alias_99DBCD5F"]
    assert (dev.production, dev.disposable, dev.backup_vault) == (False, False, [])
    assert prod.production and prod.backup_vault == [f"aws_backup_vault.{synth.logical_id('order-api-prod', 'aws_backup_vault', 'database/backup_vault')}"]
    bucket = synth.logical_id("order-api-dev", "aws_s3_bucket", "load_balancer/access_logs_bucket")
    # The bucket and every resource that configures it (so keeping it changes nothing of it).
    assert f"aws_s3_bucket.{bucket}" in dev.log_bucket
    assert {a.split(".")[0] for a in dev.log_bucket} == {
        "aws_s3_bucket",
        "aws_s3_bucket_lifecycle_configuration",
        "aws_s3_bucket_ownership_controls",
        "aws_s3_bucket_policy",
        "aws_s3_bucket_public_access_block",
        "aws_s3_bucket_server_side_encryption_configuration",
        "aws_s3_bucket_versioning",
    }
    assert dev.cluster_identifier == "order-api-dev-aurora"
    assert plan_of(synth.doc("order-api-dev-pr42"), "order-api-dev-pr42").disposable


def _plan(**changes: Any) -> Plan:
    base = {
        "stack": "order-api-staging",
        "environment": "staging",
        "prefix": "order-api-staging",
        "production": False,
        "disposable": False,
        "database_key": [],
        "service_key": [],
        "backup_vault": [],
        "log_bucket": [],
        "cluster_identifier": "order-api-staging-aurora",
    }
    return Plan(**{**base, **changes})


@pytest.mark.parametrize(
    ("plan", "confirm", "allow_prod", "message"),
    [
        (_plan(), None, False, "repeat its name, CONFIRM=order-api-staging"),
        (_plan(), "order-api-stagin", False, "repeat its name, CONFIRM=order-api-staging"),
        (_plan(stack="order-api-prod", environment="prod", production=True), "order-api-prod", False, "is production: set ALLOW_PROD=1 as well"),
        (_plan(stack="order-api-dev-pr42", environment="dev-pr42", disposable=True), "order-api-dev-pr42", False, "disposable copy: make destroy"),
    ],
)
def test_fails_without_the_confirmations(plan: Plan, confirm: str | None, allow_prod: bool, message: str) -> None:
    with pytest.raises(TeardownError, match=message):
        check_request(plan, confirm, allow_prod)


def test_prod_goes_with_both_confirmations() -> None:
    check_request(_plan(stack="order-api-prod", environment="prod", production=True), "order-api-prod", True)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    emulator_credentials(monkeypatch)
    with moto.mock_aws():
        yield lambda service: boto3.client(service, region_name="us-east-1")


def test_emptying_removes_every_version_and_delete_marker(aws: Any) -> None:
    s3 = aws("s3")
    s3.create_bucket(Bucket="order-api-staging-alb-logs-1")
    s3.put_bucket_versioning(Bucket="order-api-staging-alb-logs-1", VersioningConfiguration={"Status": "Enabled"})
    for body in (b"one", b"two"):
        s3.put_object(Bucket="order-api-staging-alb-logs-1", Key="alb/log.gz", Body=body)
    s3.delete_object(Bucket="order-api-staging-alb-logs-1", Key="alb/log.gz")
    assert teardown.empty_bucket(s3, "order-api-staging-alb-logs-1") == 3
    s3.delete_bucket(Bucket="order-api-staging-alb-logs-1")  # BucketNotEmpty before


class FakeTerraform:
    """Records the state operations; holds a small state."""

    def __init__(self, state: dict[str, dict[str, Any]]) -> None:
        self.state = state
        self.calls: list[str] = []

    def init(self) -> None:
        self.calls.append("init")

    def values(self) -> dict[str, dict[str, Any]]:
        return dict(self.state)

    def forget(self, addresses: list[str]) -> list[str]:
        present = [a for a in addresses if a in self.state]
        self.calls.append("state rm " + " ".join(present))
        for address in present:
            del self.state[address]
        return present


class FakeAws:
    """The calls a teardown makes, answered from memory."""

    def __init__(self, *, legacy_repository: bool = False, autoscaled: tuple[str, ...] = (), snapshot_exists: bool = True) -> None:
        self.calls: list[str] = []
        self.legacy_repository = legacy_repository
        self.autoscaled = autoscaled
        self.snapshot_exists = snapshot_exists

    def __call__(self, service: str) -> Any:
        return self

    def describe_repositories(self, repositoryNames: list[str]) -> dict[str, Any]:
        if not self.legacy_repository:
            error = Exception("not found")
            error.response = {"Error": {"Code": "RepositoryNotFoundException"}}  # type: ignore[attr-defined]
            raise error
        return {"repositories": [{"repositoryName": repositoryNames[0]}]}

    def list_object_versions(self, **kwargs: Any) -> dict[str, Any]:
        return {"Versions": [{"Key": "alb/x", "VersionId": "1"}], "IsTruncated": False}

    def delete_objects(self, Bucket: str, Delete: dict[str, Any]) -> None:
        self.calls.append(f"empty {Bucket} ({len(Delete['Objects'])})")

    def modify_db_cluster(self, **kwargs: Any) -> None:
        self.calls.append(f"cluster deletion protection {kwargs['DeletionProtection']}")

    def modify_load_balancer_attributes(self, **kwargs: Any) -> None:
        self.calls.append(f"load balancer {kwargs['Attributes']}")

    def describe_scalable_targets(self, **kwargs: Any) -> dict[str, Any]:
        return {"ScalableTargets": [{}] if self.autoscaled else []}

    def deregister_scalable_target(self, **kwargs: Any) -> None:
        self.calls.append(f"deregister {kwargs['ResourceId']}")

    def describe_db_clusters(self, **kwargs: Any) -> dict[str, Any]:
        members = [{"DBInstanceIdentifier": i} for i in ("order-api-prod-aurora-writer", *self.autoscaled)]
        return {"DBClusters": [{"DBClusterMembers": members}]}

    def delete_db_instance(self, DBInstanceIdentifier: str) -> None:
        self.calls.append(f"delete {DBInstanceIdentifier}")

    def get_waiter(self, name: str) -> Any:
        calls = self.calls
        return type("Waiter", (), {"wait": lambda _self, **kw: calls.append(f"wait {kw['DBInstanceIdentifier']}")})()

    def describe_db_cluster_snapshots(self, DBClusterSnapshotIdentifier: str) -> dict[str, Any]:
        return {"DBClusterSnapshots": [{"Status": "available"}] if self.snapshot_exists else []}


def _state(synth: Synthesized, stack: str) -> dict[str, dict[str, Any]]:
    plan = plan_of(synth.doc(stack), stack)
    cluster = f"aws_rds_cluster.{synth.logical_id(stack, 'aws_rds_cluster', 'database/cluster')}"
    alb = f"aws_lb.{synth.logical_id(stack, 'aws_lb', 'load_balancer/alb')}"
    state: dict[str, dict[str, Any]] = {a: {} for a in [*plan.database_key, *plan.service_key, *plan.backup_vault, *plan.log_bucket]}
    state[cluster] = {"final_snapshot_identifier": f"{stack}-final-20261130120000"}
    state[alb] = {"arn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/x/1"}
    bucket = next(a for a in plan.log_bucket if a.startswith("aws_s3_bucket."))
    state[bucket] = {"bucket": f"{stack}-alb-logs-1"}
    return state


def _run(synth: Synthesized, stack: str, fake: FakeAws, **kwargs: Any) -> tuple[teardown.Kept, FakeTerraform, list[str]]:
    terraform = FakeTerraform(_state(synth, stack))
    destroyed: list[str] = []
    kept = teardown.teardown(
        stack,
        synth.outdir,
        confirm=stack,
        clients=lambda region, endpoint: fake,
        terraform=terraform,  # type: ignore[arg-type]
        destroy=lambda s, outdir: destroyed.append(s),
        emit=lambda line: None,
        credentials=lambda region, endpoint: "arn:aws:iam::123456789012:role/platform",
        **kwargs,
    )
    return kept, terraform, destroyed


def test_a_teardown_keeps_the_key_empties_the_bucket_then_destroys(synth: Synthesized) -> None:
    fake = FakeAws()
    kept, terraform, destroyed = _run(synth, "order-api-staging", fake)
    plan = plan_of(synth.doc("order-api-staging"), "order-api-staging")
    assert terraform.calls == ["init", "state rm " + " ".join(plan.database_key)]
    assert fake.calls == ["empty order-api-staging-alb-logs-1 (1)"]
    assert destroyed == ["order-api-staging"]
    assert any(line.startswith("final snapshot order-api-staging-final-20261130120000 (available)") for line in kept.lines)
    assert any("alias/order-api-staging-database" in line for line in kept.lines)


def test_keeping_the_log_bucket_leaves_it_and_its_settings_out_of_state(synth: Synthesized) -> None:
    fake = FakeAws()
    kept, terraform, _ = _run(synth, "order-api-staging", fake, log_bucket="keep")
    plan = plan_of(synth.doc("order-api-staging"), "order-api-staging")
    assert terraform.calls[1] == "state rm " + " ".join([*plan.database_key, *plan.log_bucket])
    assert not any(call.startswith("empty") for call in fake.calls)
    assert "access-log bucket order-api-staging-alb-logs-1 with its logs" in kept.lines


def test_prod_loses_its_protections_and_its_autoscaled_readers_before_the_destroy(synth: Synthesized) -> None:
    fake = FakeAws(legacy_repository=True, autoscaled=("application-autoscaling-1a2b",))
    kept, terraform, destroyed = _run(synth, "order-api-prod", fake, allow_prod=True)
    plan = plan_of(synth.doc("order-api-prod"), "order-api-prod")
    assert terraform.calls[1] == "state rm " + " ".join([*plan.database_key, *plan.backup_vault, *plan.service_key])
    assert fake.calls == [
        "empty order-api-prod-alb-logs-1 (1)",
        "cluster deletion protection False",
        "load balancer [{'Key': 'deletion_protection.enabled', 'Value': 'false'}]",
        "deregister cluster:order-api-prod-aurora",
        "delete application-autoscaling-1a2b",
        "wait application-autoscaling-1a2b",
    ]
    assert destroyed == ["order-api-prod"]
    assert any("AWS Backup vault" in line for line in kept.lines) and any("old repository order-api-prod" in line for line in kept.lines)


def test_fails_when_the_final_snapshot_is_missing_after_the_destroy(synth: Synthesized) -> None:
    with pytest.raises(TeardownError, match="its final snapshot order-api-staging-final-20261130120000 is not there"):
        _run(synth, "order-api-staging", FakeAws(snapshot_exists=False))


def test_main_refuses_a_bad_log_bucket_choice_and_an_unconfirmed_stack(synth: Synthesized, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["order-api-staging", "--skip-synth", "--outdir", str(synth.outdir)]
    assert teardown.main(args, environ={"LOG_BUCKET": "delete"}) == 2
    assert "LOG_BUCKET='delete' is invalid" in capsys.readouterr().err
    assert teardown.main(args, environ={}) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "CONFIRM=order-api-staging" in err


def test_fails_without_credentials_in_one_line_before_terraform_runs(
    synth: Synthesized, no_credentials: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(teardown.Terraform, "init", lambda self: pytest.fail("terraform init ran without credentials"))
    args = ["order-api-staging", "--skip-synth", "--outdir", str(synth.outdir)]
    assert teardown.main(args, environ={"CONFIRM": "order-api-staging"}) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: no AWS credentials found") and err.count("\n") == 1


class FakeRun:
    def __init__(self, code: int, stdout: str = "", stderr: str = "") -> None:
        self.result = type("Result", (), {"returncode": code, "stdout": stdout, "stderr": stderr})()
        self.args: list[list[str]] = []

    def __call__(self, args: list[str], **kwargs: Any) -> Any:
        self.args.append(args)
        return self.result


def test_terraform_runs_in_the_stack_directory_and_fails_in_one_line(tmp_path: Path) -> None:
    shown = {"values": {"root_module": {"resources": [{"address": "aws_lb.a", "values": {"arn": "x"}}]}}}
    ok = FakeRun(0, json.dumps(shown))
    assert teardown.Terraform(tmp_path, run=ok).values() == {"aws_lb.a": {"arn": "x"}}
    assert ok.args == [["terraform", "show", "-json"]]
    failing = FakeRun(1, stderr="Error: Backend initialization required\n\nrun terraform init\n")
    with pytest.raises(TeardownError, match=r"^terraform state in .* failed: run terraform init$"):
        teardown.Terraform(tmp_path, run=failing).in_state()
