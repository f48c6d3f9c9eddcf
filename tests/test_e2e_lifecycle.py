"""make e2e: the run's environment, the pushed image, the report parsing and the leftover check (no terraform, no server)."""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stacks.config import OVERRIDE_VARIABLES
from tools.e2e import leftovers
from tools.e2e.lifecycle import CLOSED_PROXY, Paths, _junit_counts, harness_env, minimal_image, override_values

CALLER = {
    "PATH": "/usr/bin",
    "HOME": "/home/dev",
    "AWS_PROFILE": "production-admin",
    "AWS_SESSION_TOKEN": "secret",
    "AWS_ROLE_ARN": "arn:aws:iam::111111111111:role/deploy",
    "AWS_WEB_IDENTITY_TOKEN_FILE": "/var/run/token",
    "TF_WORKSPACE": "prod",
    "TF_CLI_ARGS_apply": "-auto-approve",
    "TF_PLUGIN_CACHE_DIR": "/home/dev/.terraform.d/plugin-cache",
    "TF_STATE_BUCKET": "acme-prod-state",
    "IMAGE_TAG": "9.9.9",
    "ENVIRONMENTS": "prod",
}


def test_the_run_never_inherits_aws_or_terraform_settings(tmp_path: Path) -> None:
    env = harness_env(CALLER, Paths(tmp_path), "http://127.0.0.1:5000")
    assert env["PATH"] == "/usr/bin" and env["HOME"] == "/home/dev"
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "TF_WORKSPACE", "TF_CLI_ARGS_apply", "TF_PLUGIN_CACHE_DIR"):
        assert name not in env
    assert (env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], env["AWS_REGION"]) == ("testing", "testing", "us-east-1")
    assert env["AWS_CONFIG_FILE"] == env["AWS_SHARED_CREDENTIALS_FILE"] == str(tmp_path / "aws-config")
    assert env["TF_CLI_CONFIG_FILE"] == str(tmp_path / "terraformrc")
    assert env["HTTPS_PROXY"] == env["HTTP_PROXY"] == CLOSED_PROXY
    assert env["NO_PROXY"] == "127.0.0.1,localhost"
    assert env["CHECKPOINT_DISABLE"] == "1" and env["CDKTF_DISABLE_PLUGIN_CACHE_ENV"] == "1"
    assert env["CDKTF_OUTDIR"] == str(tmp_path / "cdktf.out")


def test_every_override_variable_is_set_so_settings_env_never_leaks(tmp_path: Path) -> None:
    env = harness_env(CALLER, Paths(tmp_path), "http://127.0.0.1:5000")
    assert {name: env[name] for name in OVERRIDE_VARIABLES} == override_values("http://127.0.0.1:5000")
    assert env["ENVIRONMENT_SUFFIX"] == "e2e" and env["ENVIRONMENTS"] == "dev"
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5000"
    assert env["TF_STATE_BUCKET"] == env["IMAGE_TAG"] == ""


def test_before_the_emulator_starts_no_override_is_set(tmp_path: Path) -> None:
    env = harness_env(CALLER, Paths(tmp_path), None)
    assert not set(OVERRIDE_VARIABLES) - {"AWS_REGION"} & set(env)


def test_the_pushed_image_is_a_valid_manifest_of_one_empty_layer() -> None:
    manifest_text, media_type = minimal_image()
    manifest = json.loads(manifest_text)
    assert media_type == manifest["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
    assert manifest["schemaVersion"] == 2
    (layer,) = manifest["layers"]
    blob = gzip.compress(bytes(1024), mtime=0)
    digest = f"sha256:{hashlib.sha256(blob).hexdigest()}"
    assert layer == {"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": len(blob), "digest": digest}
    assert manifest["config"]["digest"].startswith("sha256:") and len(manifest["config"]["digest"]) == 71
    assert minimal_image() == (manifest_text, media_type), "deterministic: a second push is the same image"


def test_junit_counts(tmp_path: Path) -> None:
    report = tmp_path / "r.xml"
    report.write_text(
        '<testsuites><testsuite name="pytest">'
        '<testcase name="a"/><testcase name="b"/>'
        '<testcase name="c"><skipped message="needs the data plane ... emulator"/></testcase>'
        '<testcase name="d"><failure message="boom"/></testcase>'
        "</testsuite></testsuites>"
    )
    assert _junit_counts(report) == {"passed": 2, "failed": 1, "skipped": 1, "skip_reasons": ["needs the data plane ... emulator"]}
    assert _junit_counts(tmp_path / "missing.xml")["passed"] == 0


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    moto = pytest.importorskip("moto")
    boto3 = pytest.importorskip("boto3")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with moto.mock_aws():
        yield lambda service: boto3.client(service, region_name="us-east-1")


def test_leftovers_list_what_belongs_to_the_copy(emulator: Any) -> None:
    assert leftovers.find(emulator, "order-api-dev-e2e", "dev-e2e") == []
    ec2 = emulator("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.100.0.0/16", TagSpecifications=[{"ResourceType": "vpc", "Tags": [{"Key": "environment", "Value": "dev-e2e"}]}])["Vpc"]
    ec2.create_vpc(CidrBlock="10.10.0.0/16", TagSpecifications=[{"ResourceType": "vpc", "Tags": [{"Key": "environment", "Value": "dev"}]}])
    emulator("s3").create_bucket(Bucket="order-api-dev-e2e-alb-logs-1")
    emulator("s3").create_bucket(Bucket="order-api-dev-alb-logs-1")
    emulator("ecs").create_cluster(clusterName="order-api-dev-e2e")
    kms = emulator("kms")
    kept = kms.create_key(Tags=[{"TagKey": "environment", "TagValue": "dev-e2e"}])["KeyMetadata"]["KeyId"]
    scheduled = kms.create_key(Tags=[{"TagKey": "environment", "TagValue": "dev-e2e"}])["KeyMetadata"]["KeyId"]
    kms.schedule_key_deletion(KeyId=scheduled, PendingWindowInDays=7)
    found = leftovers.find(emulator, "order-api-dev-e2e", "dev-e2e")
    assert found == sorted(
        [
            f"VPC {vpc['VpcId']}",
            "S3 bucket order-api-dev-e2e-alb-logs-1",
            "ECS cluster order-api-dev-e2e (ACTIVE)",
            f"KMS key {kept} (no alias, Enabled)",
        ]
    )
    emulator("ecs").delete_cluster(cluster="order-api-dev-e2e")
    assert not [f for f in leftovers.find(emulator, "order-api-dev-e2e", "dev-e2e") if f.startswith("ECS")]


@pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="needs Linux /proc")
def test_descendants_include_grandchildren() -> None:
    import os
    import subprocess
    import sys
    import time

    from stacks.process import descendants as _descendants

    script = "import subprocess, sys; subprocess.run([sys.executable, '-c', 'import time; time.sleep(30)'])"
    child = subprocess.Popen([sys.executable, "-c", script])
    try:
        grandchildren: list[int] = []
        for _ in range(200):
            grandchildren = _descendants(child.pid)
            if grandchildren:
                break
            time.sleep(0.05)
        assert len(grandchildren) == 1
        mine = _descendants(os.getpid())
        assert child.pid in mine and grandchildren[0] in mine
        assert mine.index(child.pid) < mine.index(grandchildren[0]), "parents first"
    finally:
        for pid in [*_descendants(child.pid), child.pid]:
            os.kill(pid, 9)
        child.wait()


def test_a_developers_settings_file_is_never_read(tmp_path: Path) -> None:
    from main import read_overrides

    settings = tmp_path / "settings.env"
    settings.write_text("TF_STATE_BUCKET=acme-prod-state\nENVIRONMENTS=prod\nIMAGE_TAG=9.9.9\nALARM_EMAILS=oncall@example.com\n")
    overrides = read_overrides(harness_env(CALLER, Paths(tmp_path), "http://127.0.0.1:5000"), settings)
    assert overrides == override_values("http://127.0.0.1:5000")


@pytest.mark.parametrize(
    ("item", "kept"),
    [
        ("DB cluster snapshot order-api-dev-final-20261130101500 (manual)", True),
        ("KMS key 1234abcd (alias/order-api-dev-database-retired-1234abcd, Enabled)", True),
        ("KMS alias alias/order-api-dev-database-retired-1234abcd", True),
        ("KMS key 1234abcd (alias/order-api-dev-database, Enabled)", False),  # the name must be free for a new deploy
        ("KMS alias alias/order-api-dev-database", False),
        ("KMS key 5678 (alias/order-api-dev-service, Enabled)", False),
        ("KMS alias alias/order-api-dev-logs", False),
        ("DB cluster snapshot rds:order-api-dev-aurora-2026 (automated)", False),
        ("S3 bucket order-api-dev-alb-logs-1", False),
        ("DB cluster snapshot order-api-dev-e2e-final-1 (manual)", False),
    ],
)
def test_after_a_teardown_only_the_snapshot_and_the_database_key_may_remain(item: str, kept: bool) -> None:
    from tools.e2e.lifecycle import kept_by_teardown

    assert kept_by_teardown(item, "order-api-dev") is kept
