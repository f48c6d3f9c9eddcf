"""The command line: clean errors, nothing half-written, deterministic output."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from stacks.config import OVERRIDE_VARIABLES
from tests.conftest import ROOT


def run_main(outdir: Path, **overrides: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in OVERRIDE_VARIABLES}
    env.update(overrides, CDKTF_OUTDIR=str(outdir))
    return subprocess.run([sys.executable, "main.py"], cwd=ROOT, env=env, capture_output=True, text=True, check=False)


def snapshot_tree(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    outdir = tmp_path_factory.mktemp("first") / "cdktf.out"
    result = run_main(outdir)
    assert result.returncode == 0, result.stderr
    return outdir


def test_synth_writes_every_stack(first_run: Path) -> None:
    stacks = sorted(p.name for p in (first_run / "stacks").iterdir())
    assert stacks == ["order-api-dev", "order-api-prod", "order-api-staging", "order-api-state"]
    assert all((first_run / "stacks" / s / "cdk.tf.json").is_file() for s in stacks)
    assert (first_run / "manifest.json").is_file()


def test_two_synths_are_byte_identical(first_run: Path, tmp_path: Path) -> None:
    second = tmp_path / "cdktf.out"
    assert run_main(second).returncode == 0
    assert snapshot_tree(first_run) == snapshot_tree(second)


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        ({"ENVIRONMENT_SUFFIX": "Feature_X"}, "ENVIRONMENT_SUFFIX"),
        ({"AWS_REGION": "narnia"}, "AWS_REGION"),
        ({"STATE_BACKEND": "cloud"}, "TF_CLOUD_ORGANIZATION"),
        ({"TF_STATE_BUCKET": "UPPER"}, "TF_STATE_BUCKET"),
        ({"ENVIRONMENT_SUFFIX": "pr7", "VPC_CIDR": "10.30.0.0/16"}, "VPC_CIDR"),
    ],
)
def test_fails_cleanly_and_leaves_output_untouched(first_run: Path, overrides: dict[str, str], variable: str) -> None:
    before = snapshot_tree(first_run)
    result = run_main(first_run, **overrides)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {variable}=")
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert snapshot_tree(first_run) == before
    assert not list(first_run.parent.glob(".cdktf.out.*"))
