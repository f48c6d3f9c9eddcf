"""make github-vars and the deploy checks of the pipeline's identities."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import pytest

from stacks.config.pipeline import PipelineConfig
from tests.conftest import Synthesized
from tools.common.stack import DeployError
from tools.ops import deploy, github_vars

ARN = "arn:aws:iam::123456789012:role/order-api-pipeline-{}"
OUTPUTS = {
    "github_plan_role_arn": ARN.format("plan"),
    **{f"github_{w}_deploy_role_arn": ARN.format(f"{w}-deploy") for w in ("shared", "dev", "staging", "prod")},
    **{f"github_{w}_release_role_arn": ARN.format(f"{w}-release") for w in ("dev", "staging", "prod")},
}


def test_every_github_environment_gets_its_role() -> None:
    lines = github_vars.commands(PipelineConfig(repository="acme/order-api"), "eu-west-1", "acme-state", OUTPUTS)
    sets = [shlex.split(line) for line in lines if line.startswith("gh variable set")]
    by_env = {(cmd[cmd.index("--env") + 1] if "--env" in cmd else None, cmd[3]): cmd[-1] for cmd in sets}
    assert by_env == {
        (None, "AWS_REGION"): "eu-west-1",
        (None, "TF_STATE_BUCKET"): "acme-state",
        (None, "PLAN_ROLE_ARN"): ARN.format("plan"),
        ("shared", "AWS_ROLE_ARN"): ARN.format("shared-deploy"),
        ("dev", "AWS_ROLE_ARN"): ARN.format("dev-deploy"),
        ("staging", "AWS_ROLE_ARN"): ARN.format("staging-deploy"),
        ("production", "AWS_ROLE_ARN"): ARN.format("prod-deploy"),
        ("dev-release", "AWS_ROLE_ARN"): ARN.format("dev-release"),
        ("staging-release", "AWS_ROLE_ARN"): ARN.format("staging-release"),
        ("production-release", "AWS_ROLE_ARN"): ARN.format("prod-release"),
    }
    assert all(cmd[cmd.index("--repo") + 1] == "acme/order-api" for cmd in sets)
    assert sum(line.startswith("gh api --method PUT repos/acme/order-api/environments/") for line in lines) == 7


def test_main_reads_a_saved_outputs_file(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    saved = tmp_path / "outputs.json"
    saved.write_text(json.dumps({"order-api-identity": OUTPUTS}))
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/order-api")
    assert github_vars.main(["--outputs-file", str(saved)]) == 0
    assert f"--env production-release --body {ARN.format('prod-release')}" in capsys.readouterr().out


def test_fails_without_the_identity_stacks_outputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    saved = tmp_path / "outputs.json"
    saved.write_text(json.dumps({"order-api-dev": {}}))
    assert github_vars.main(["--outputs-file", str(saved)]) == 1
    assert capsys.readouterr().err.startswith(f"error: {saved} holds no outputs of order-api-identity: deploy it")


def test_fails_a_bad_repository_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/order api")
    assert github_vars.main(["--outputs-file", str(tmp_path / "none.json")]) == 2
    assert capsys.readouterr().err.startswith("error: GITHUB_REPOSITORY='acme/order api' is invalid")


def test_fails_to_deploy_the_identity_stack_for_the_placeholder_repository(synth: Synthesized) -> None:
    with pytest.raises(DeployError, match=r"its roles would trust the placeholder repository example-org/order-api: set GITHUB_REPOSITORY"):
        deploy.preflight(synth.doc("order-api-identity"), "order-api-identity")


class Iam:
    def __init__(self, exists: bool) -> None:
        self.exists = exists
        self.asked: list[str] = []

    def get_policy(self, PolicyArn: str) -> dict[str, Any]:
        self.asked.append(PolicyArn)
        if not self.exists:
            from botocore.exceptions import ClientError  # type: ignore[import-untyped]

            raise ClientError({"Error": {"Code": "NoSuchEntity", "Message": "not found"}}, "GetPolicy")
        return {"Policy": {}}


@pytest.mark.parametrize("exists", [True, False])
def test_an_environment_needs_the_pipelines_boundary(exists: bool) -> None:
    iam = Iam(exists)
    if exists:
        deploy.check_boundary("order-api-dev", iam, "arn:aws:sts::123456789012:assumed-role/admin/me")
    else:
        with pytest.raises(
            DeployError, match=r"permissions boundary order-api-workload-boundary is missing: an administrator runs make deploy STACK=order-api-identity first"
        ):
            deploy.check_boundary("order-api-dev", iam, "arn:aws:sts::123456789012:assumed-role/admin/me")
    assert iam.asked == ["arn:aws:iam::123456789012:policy/order-api-workload-boundary"]
