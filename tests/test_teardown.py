"""make teardown: a standing environment removed deliberately, keeping what it says it keeps."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Synthesized, emulator_credentials
from tools.common.stack import DeployError
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


def test_a_retired_alias_frees_the_name_and_keeps_the_key_findable(aws: Any) -> None:
    kms = aws("kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/order-api-dev-database", TargetKeyId=key_id)
    assert teardown.retire_alias(kms, "alias/order-api-dev-database") == (f"alias/order-api-dev-database-retired-{key_id}", key_id)
    aliases = {a["AliasName"]: a.get("TargetKeyId") for a in kms.list_aliases()["Aliases"]}
    assert aliases[f"alias/order-api-dev-database-retired-{key_id}"] == key_id and "alias/order-api-dev-database" not in aliases
    kms.create_alias(AliasName="alias/order-api-dev-database", TargetKeyId=kms.create_key()["KeyMetadata"]["KeyId"])  # a new deploy's
    assert teardown.retire_alias(kms, "alias/order-api-missing") is None


def test_retiring_again_after_a_failed_delete_finishes(aws: Any) -> None:
    kms = aws("kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/order-api-dev-database", TargetKeyId=key_id)
    kms.create_alias(AliasName=f"alias/order-api-dev-database-retired-{key_id}", TargetKeyId=key_id)  # the first run got this far
    assert teardown.retire_alias(kms, "alias/order-api-dev-database") is not None
    assert "alias/order-api-dev-database" not in {a["AliasName"] for a in kms.list_aliases()["Aliases"]}


class FakeTerraform:
    """Records the state operations in the shared event list; holds a small state."""

    def __init__(self, state: dict[str, dict[str, Any]], events: list[str]) -> None:
        self.state = state
        self.calls = events

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


def _not_found(code: str) -> Exception:
    error = Exception(code)
    error.response = {"Error": {"Code": code}}  # type: ignore[attr-defined]
    return error


class FakeAws:
    """The calls a teardown makes, answered from memory, recorded in the shared event list."""

    def __init__(
        self, events: list[str], *, legacy_repository: bool = False, autoscaled: tuple[str, ...] = (), snapshot_exists: bool = True, fail: str = ""
    ) -> None:
        self.calls = events
        self.legacy_repository = legacy_repository
        self.autoscaled = autoscaled
        self.snapshot_exists = snapshot_exists
        self.aliases = {"alias/order-api-staging-database": "k1", "alias/order-api-prod-database": "k2", "alias/order-api-prod-service": "k3"}
        self.fail = fail

    def __call__(self, service: str) -> Any:
        return self

    def _record(self, call: str) -> None:
        if self.fail and call.startswith(self.fail):
            raise RuntimeError(f"{call} failed")
        self.calls.append(call)

    def head_bucket(self, Bucket: str) -> None:
        if self.fail == "state bucket":
            raise _not_found("404")

    def describe_repositories(self, repositoryNames: list[str]) -> dict[str, Any]:
        if not self.legacy_repository:
            raise _not_found("RepositoryNotFoundException")
        return {"repositories": [{"repositoryName": repositoryNames[0]}]}

    def list_object_versions(self, **kwargs: Any) -> dict[str, Any]:
        return {"Versions": [{"Key": "alb/x", "VersionId": "1"}], "IsTruncated": False}

    def delete_objects(self, Bucket: str, Delete: dict[str, Any]) -> None:
        self._record(f"empty {Bucket} ({len(Delete['Objects'])})")

    def modify_db_cluster(self, **kwargs: Any) -> None:
        self._record(f"cluster deletion protection {kwargs['DeletionProtection']}")

    def modify_load_balancer_attributes(self, **kwargs: Any) -> None:
        self._record("load balancer " + ", ".join(f"{a['Key']}={a['Value']}" for a in kwargs["Attributes"]))

    def describe_scalable_targets(self, **kwargs: Any) -> dict[str, Any]:
        return {"ScalableTargets": [{}] if self.autoscaled else []}

    def deregister_scalable_target(self, **kwargs: Any) -> None:
        self._record(f"deregister {kwargs['ResourceId']}")

    def describe_db_clusters(self, **kwargs: Any) -> dict[str, Any]:
        members = [{"DBInstanceIdentifier": i} for i in ("order-api-prod-aurora-writer", *self.autoscaled)]
        return {"DBClusters": [{"DBClusterMembers": members}]}

    def delete_db_instance(self, DBInstanceIdentifier: str) -> None:
        self._record(f"delete {DBInstanceIdentifier}")

    def get_waiter(self, name: str) -> Any:
        calls = self.calls
        return type("Waiter", (), {"wait": lambda _self, **kw: calls.append(f"wait {kw['DBInstanceIdentifier']}")})()

    def describe_db_cluster_snapshots(self, DBClusterSnapshotIdentifier: str) -> dict[str, Any]:
        return {"DBClusterSnapshots": [{"Status": "available"}] if self.snapshot_exists else []}

    def describe_key(self, KeyId: str) -> dict[str, Any]:
        if KeyId not in self.aliases:
            raise _not_found("NotFoundException")
        return {"KeyMetadata": {"KeyId": self.aliases[KeyId]}}

    def create_alias(self, AliasName: str, TargetKeyId: str) -> None:
        self._record(f"alias {AliasName}")

    def delete_alias(self, AliasName: str) -> None:
        self._record(f"free {AliasName}")
        del self.aliases[AliasName]


def _state(synth: Synthesized, stack: str) -> dict[str, dict[str, Any]]:
    plan = plan_of(synth.doc(stack), stack)
    cluster = f"aws_rds_cluster.{synth.logical_id(stack, 'aws_rds_cluster', 'database/cluster')}"
    alb = f"aws_lb.{synth.logical_id(stack, 'aws_lb', 'load_balancer/alb')}"
    state: dict[str, dict[str, Any]] = {a: {} for a in [*plan.database_key, *plan.service_key, *plan.backup_vault, *plan.log_bucket]}
    for vault in plan.backup_vault:
        state[vault] = {"name": f"{stack}-database-20261130120000"}
    state[cluster] = {"final_snapshot_identifier": f"{stack}-final-20261130120000"}
    state[alb] = {"arn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/x/1"}
    bucket = next(a for a in plan.log_bucket if a.startswith("aws_s3_bucket."))
    state[bucket] = {"bucket": f"{stack}-alb-logs-1"}
    return state


def _run(synth: Synthesized, stack: str, fake: FakeAws, terraform: FakeTerraform | None = None, fail_destroy: bool = False, **kwargs: Any) -> teardown.Kept:
    def destroy(s: str, outdir: Path) -> None:
        if fail_destroy:
            raise TeardownError("terraform destroy failed")
        fake.calls.append(f"destroy {s}")
        assert terraform is not None
        terraform.state = {a: v for a, v in terraform.state.items() if a in plan_of(synth.doc(stack), stack).backup_vault}  # kept ones are out already

    terraform = terraform or FakeTerraform(_state(synth, stack), fake.calls)
    return teardown.teardown(
        stack,
        synth.outdir,
        confirm=stack,
        clients=lambda region, endpoint: fake,
        terraform=terraform,  # type: ignore[arg-type]
        destroy=destroy,
        emit=lambda line: None,
        credentials=lambda region, endpoint: "arn:aws:iam::123456789012:role/platform",
        **kwargs,
    )


def test_a_teardown_edits_the_state_after_the_steps_in_aws_and_frees_the_names_after_the_destroy(synth: Synthesized) -> None:
    fake = FakeAws([])
    kept = _run(synth, "order-api-staging", fake)
    plan = plan_of(synth.doc("order-api-staging"), "order-api-staging")
    assert fake.calls == [
        "init",
        "load balancer access_logs.s3.enabled=false",  # before the bucket is emptied: no log lands after it
        "empty order-api-staging-alb-logs-1 (1)",
        "state rm " + " ".join(plan.database_key),
        "destroy order-api-staging",
        "alias alias/order-api-staging-database-retired-k1",
        "free alias/order-api-staging-database",
    ]
    assert any(line.startswith("final snapshot order-api-staging-final-20261130120000 (available)") for line in kept.lines)
    assert "key k1 under alias alias/order-api-staging-database-retired-k1 (was alias/order-api-staging-database, now free for a new deploy)" in kept.lines


def test_keeping_the_log_bucket_leaves_it_and_its_settings_out_of_state(synth: Synthesized) -> None:
    fake = FakeAws([])
    kept = _run(synth, "order-api-staging", fake, log_bucket="keep")
    plan = plan_of(synth.doc("order-api-staging"), "order-api-staging")
    assert "state rm " + " ".join([*plan.database_key, *plan.log_bucket]) in fake.calls
    assert not any(call.startswith("empty") for call in fake.calls)
    assert "access-log bucket order-api-staging-alb-logs-1 with its logs" in kept.lines


def test_prod_loses_its_protections_and_its_autoscaled_readers_before_the_state_is_edited(synth: Synthesized) -> None:
    fake = FakeAws([], legacy_repository=True, autoscaled=("application-autoscaling-1a2b",))
    kept = _run(synth, "order-api-prod", fake, allow_prod=True)
    plan = plan_of(synth.doc("order-api-prod"), "order-api-prod")
    assert fake.calls == [
        "init",
        "load balancer access_logs.s3.enabled=false, deletion_protection.enabled=false",
        "cluster deletion protection False",
        "empty order-api-prod-alb-logs-1 (1)",
        "deregister cluster:order-api-prod-aurora",
        "delete application-autoscaling-1a2b",
        "wait application-autoscaling-1a2b",
        "state rm " + " ".join([*plan.database_key, *plan.backup_vault, *plan.service_key]),
        "destroy order-api-prod",
        "alias alias/order-api-prod-database-retired-k2",
        "free alias/order-api-prod-database",
        "alias alias/order-api-prod-service-retired-k3",
        "free alias/order-api-prod-service",
    ]
    assert "AWS Backup vault order-api-prod-database-20261130120000 and its recovery points" in kept.lines
    assert any("old repository order-api-prod" in line for line in kept.lines)


@pytest.mark.parametrize("step", ["load balancer", "empty", "cluster deletion"])
def test_a_failing_step_in_aws_leaves_the_state_as_it_was(synth: Synthesized, step: str) -> None:
    fake = FakeAws([], fail=step)
    with pytest.raises(RuntimeError, match="failed"):
        _run(synth, "order-api-prod", fake, allow_prod=True)
    assert not any(call.startswith("state rm") for call in fake.calls)


def test_a_rerun_after_a_failed_destroy_finishes_the_job(synth: Synthesized) -> None:
    events: list[str] = []
    terraform = FakeTerraform(_state(synth, "order-api-staging"), events)
    first = FakeAws(events)
    with pytest.raises(TeardownError, match="terraform destroy failed"):
        _run(synth, "order-api-staging", first, terraform, fail_destroy=True)
    assert "alias/order-api-staging-database" in first.aliases and not any(e.startswith("free") for e in events)
    events.clear()
    kept = _run(synth, "order-api-staging", FakeAws(events), terraform)
    assert events == [
        "init",
        "load balancer access_logs.s3.enabled=false",
        "empty order-api-staging-alb-logs-1 (1)",
        "state rm ",  # the key left the state in the first run
        "destroy order-api-staging",
        "alias alias/order-api-staging-database-retired-k1",
        "free alias/order-api-staging-database",
    ]
    assert any(line.startswith("final snapshot order-api-staging-final-20261130120000") for line in kept.lines)


def test_a_rerun_after_a_finished_teardown_changes_nothing(synth: Synthesized) -> None:
    events: list[str] = []
    fake = FakeAws(events)
    del fake.aliases["alias/order-api-staging-database"]  # freed by the first run
    kept = _run(synth, "order-api-staging", fake, FakeTerraform({}, events))
    assert events == ["init", "state rm ", "destroy order-api-staging"]
    assert "alias alias/order-api-staging-database: already freed" in kept.lines


def test_fails_before_terraform_without_the_state_bucket(synth: Synthesized) -> None:
    fake = FakeAws([], fail="state bucket")
    with pytest.raises(DeployError, match="its state bucket order-api-terraform-state does not exist"):
        _run(synth, "order-api-staging", fake)
    assert fake.calls == []  # not even terraform init


def test_fails_when_the_final_snapshot_is_missing_after_the_destroy(synth: Synthesized) -> None:
    with pytest.raises(TeardownError, match="its final snapshot order-api-staging-final-20261130120000 is not there"):
        _run(synth, "order-api-staging", FakeAws([], snapshot_exists=False))


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
