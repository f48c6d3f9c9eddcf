"""Plain Terraform as a deploy engine: same steps, same outputs file, same follow-up as the cdktf CLI."""

from __future__ import annotations

import inspect
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Synthesized
from tools.common import engine
from tools.e2e.lifecycle import ROUND_ENGINES, ROUNDS, Lifecycle
from tools.ops import deploy

VALUES = {
    "vpc_id": "vpc-1",
    "task_definition_arn": "arn:aws:ecs:us-east-1:123456789012:task-definition/order-api-dev-api:1",
    "alb_dns_name": "alb.example.com",
    "database_users": '{"orders_app": ["SELECT"]}',
}
SECRET = {"database_secret_arn": {"value": "arn:aws:secretsmanager:us-east-1:123456789012:secret:x", "sensitive": True, "type": "string"}}


def terraform_output(values: dict[str, Any]) -> dict[str, Any]:
    """What ``terraform output -json`` prints for ``values`` (plus a sensitive output)."""
    return {name: {"value": value, "sensitive": False, "type": "string"} for name, value in values.items()} | SECRET


class FakeTerraform:
    """Records every ``terraform`` command; ``output -json`` prints :data:`VALUES`."""

    def __init__(self, returncode: int = 0, stderr: str = "") -> None:
        self.calls: list[list[str]] = []
        self.envs: list[dict[str, str]] = []
        self.returncode, self.stderr = returncode, stderr

    def __call__(self, args: list[str], **kwargs: Any) -> Any:
        self.calls.append(args)
        self.envs.append(kwargs["env"])
        stdout = json.dumps(terraform_output(VALUES)) if args[2:4] == ["output", "-json"] else ""
        return type("Result", (), {"returncode": self.returncode, "stdout": stdout, "stderr": self.stderr})()


def test_outputs_are_shaped_like_the_cli_outputs_file() -> None:
    values = terraform_output({"vpc_id": "vpc-1", "network_cidr_ABC": "10.0.0.0/16"})
    mapping = {"vpc_id": "vpc_id", "network": {"cidr": "network_cidr_ABC", "gone": "not_applied"}, "database_secret_arn": "database_secret_arn"}
    assert engine.outputs_document("s", values, mapping) == {"s": {"vpc_id": "vpc-1", "network": {"cidr": "10.0.0.0/16"}}}
    assert engine.outputs_document("s", values, None) == {"s": {"vpc_id": "vpc-1", "network_cidr_ABC": "10.0.0.0/16"}}


def test_apply_runs_init_apply_output_in_the_stack_directory(synth: Synthesized, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeTerraform()
    monkeypatch.setattr(engine.process, "run_child", fake)
    engine.apply("order-api-dev", synth.outdir, tmp_path / "outputs.json", parallelism=20)
    chdir = f"-chdir={synth.stacks_dir / 'order-api-dev'}"
    assert fake.calls == [
        ["terraform", chdir, "init", "-input=false"],
        ["terraform", chdir, "apply", "-auto-approve", "-input=false", "-parallelism=20"],
        ["terraform", chdir, "output", "-json"],
    ]
    assert all(env["CHECKPOINT_DISABLE"] == "1" and env["TF_IN_AUTOMATION"] == "1" for env in fake.envs)
    assert json.loads((tmp_path / "outputs.json").read_text()) == {"order-api-dev": VALUES}


def test_destroy_runs_init_and_destroy(synth: Synthesized, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeTerraform()
    monkeypatch.setattr(engine.process, "run_child", fake)
    engine.destroy("order-api-dev-pr42", synth.outdir)
    assert [call[2:] for call in fake.calls] == [["init", "-input=false"], ["destroy", "-auto-approve", "-input=false"]]


def test_fails_on_one_line_when_terraform_fails(synth: Synthesized, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine.process, "run_child", FakeTerraform(returncode=1))
    with pytest.raises(engine.EngineError, match=r"^terraform init order-api-dev failed \(exit 1\); see its output above$"):
        engine.apply("order-api-dev", synth.outdir, synth.outdir / "unused.json")
    monkeypatch.setattr(engine.process, "run_child", FakeTerraform(returncode=1, stderr="Error: x\n\nNo state\n"))
    with pytest.raises(engine.EngineError, match=r"^terraform output order-api-dev failed \(exit 1\): No state$"):
        engine.terraform(synth.stacks_dir / "order-api-dev", "output", "-json", capture=True)


def test_fails_on_one_line_without_terraform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(engine.EngineError, match=r"^terraform is not on PATH"):
        engine.terraform(tmp_path, "version")


def test_both_engines_write_the_same_flat_outputs_and_provision_the_users(
    synth: Synthesized, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, account_ready: list[str]
) -> None:
    steps: list[str] = []
    monkeypatch.setattr(deploy, "preflight", lambda doc, stack, ecr_client, logs_client, caller_arn=None: None)
    monkeypatch.setattr(deploy, "settle", lambda stack, doc, declared, since: steps.append(f"settle {stack}"))

    def fake_users(stack: str, synth_dir: Path) -> list[str]:
        steps.append(f"db-users {stack}")
        return []

    monkeypatch.setattr(deploy.db_users, "run", fake_users)

    def fake_cdktf(command: str, stack: str, outdir: Path, *extra: str) -> None:
        steps.append(f"cdktf {command}")
        outputs_file = Path(extra[extra.index("--outputs-file") + 1])
        outputs_file.write_text(json.dumps({stack: VALUES}))  # the CLI leaves sensitive outputs out

    monkeypatch.setattr(deploy, "cdktf", fake_cdktf)
    monkeypatch.setattr(engine.process, "run_child", FakeTerraform())
    flat = {}
    for name in engine.ENGINES:
        deploy.deploy("order-api-dev", synth.outdir, tmp_path / name, engine_name=name)
        flat[name] = (tmp_path / name / "flat-outputs.json").read_text()
    assert flat["cdktf"] == flat["terraform"]
    assert json.loads(flat["terraform"]) == VALUES
    assert steps == ["cdktf deploy", "db-users order-api-dev", "settle order-api-dev", "db-users order-api-dev", "settle order-api-dev"]


def test_make_destroy_takes_the_engine(synth: Synthesized, monkeypatch: pytest.MonkeyPatch, account_ready: list[str]) -> None:
    from tools.ops import release

    seen: list[str] = []
    monkeypatch.setattr(deploy, "check_credentials", lambda region, endpoint=None: "123456789012")
    monkeypatch.setattr(release.Releaser, "forget", lambda self: seen.append(f"forget {self.target.stack}"))
    monkeypatch.setattr(engine, "destroy", lambda stack, outdir, parallelism=None: seen.append(f"terraform destroy {stack} {parallelism}"))
    monkeypatch.setattr(deploy, "cdktf", lambda command, stack, outdir, *extra: seen.append(f"cdktf {command} {stack} {list(extra)}"))
    for name in engine.ENGINES:
        args = ["order-api-dev-pr42", "--destroy", "--skip-synth", "--outdir", str(synth.outdir), "--parallelism", "5", "--engine", name]
        assert deploy.main(args) == 0
    assert seen == [
        "cdktf destroy order-api-dev-pr42 ['--terraform-parallelism', '5']",
        "forget order-api-dev-pr42",
        "terraform destroy order-api-dev-pr42 5",
        "forget order-api-dev-pr42",
    ]


def test_an_engine_error_is_one_line(synth: Synthesized, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], account_ready: list[str]) -> None:
    monkeypatch.setattr(engine.process, "run_child", FakeTerraform(returncode=3))
    monkeypatch.setattr(deploy, "check_credentials", lambda region, endpoint=None: "123456789012")
    assert deploy.main(["order-api-registry", "--skip-synth", "--outdir", str(synth.outdir), "--engine", "terraform"]) == 1
    assert capsys.readouterr().err == "error: terraform init order-api-registry failed (exit 3); see its output above\n"


def test_destroying_a_stack_that_was_not_synthesized_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert deploy.main(["order-api-dev-x", "--destroy", "--skip-synth", "--outdir", str(tmp_path), "--engine", "terraform"]) == 1
    assert capsys.readouterr().err.startswith("error: stack order-api-dev-x was not synthesized")


def test_make_e2e_runs_a_round_with_each_engine() -> None:
    """Round 1 deploys with the first engine (the cdktf CLI), round 2 through make with the other."""
    assert sorted(ROUND_ENGINES[:ROUNDS]) == sorted(engine.ENGINES)
    assert "ROUND_ENGINES[0]" in inspect.getsource(Lifecycle.round_one) and "ROUND_ENGINES[1]" in inspect.getsource(Lifecycle.round_two)


@pytest.mark.skipif(shutil.which("terraform") is None, reason="no terraform on PATH")
def test_a_real_terraform_applies_reports_and_destroys(tmp_path: Path) -> None:
    """Offline, with Terraform's built-in provider only: the real commands and the real output format."""
    stack_dir = tmp_path / "out" / "stacks" / "s"
    stack_dir.mkdir(parents=True)
    doc = {
        "//": {"outputs": {"s": {"greeting": "greeting", "inner": {"token": "inner_token_1A2B"}}}},
        "terraform": {"backend": {"local": {"path": str(tmp_path / "state.tfstate")}}},
        "resource": {"terraform_data": {"t": {"input": "hello"}}},
        "output": {
            "greeting": {"value": "${terraform_data.t.output}"},
            "inner_token_1A2B": {"value": "secret", "sensitive": True},
        },
    }
    (stack_dir / "cdk.tf.json").write_text(json.dumps(doc))
    engine.apply("s", tmp_path / "out", tmp_path / "outputs.json")
    assert json.loads((tmp_path / "outputs.json").read_text()) == {"s": {"greeting": "hello"}}
    engine.destroy("s", tmp_path / "out")
    assert json.loads((tmp_path / "state.tfstate").read_text())["resources"] == []
