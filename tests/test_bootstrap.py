"""``make bootstrap``: settings.env changes only after the state stack deployed, only the
keys it sets, with one line saying what changed; an existing state is not repointed
without asking; a failure leaves settings.env byte for byte as it was."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import main
from stacks.config import build_app_config
from tests.conftest import STATE_SETTINGS, Synthesized
from tools.common.aws_errors import AwsError
from tools.common.stack import DeployError, SynthesisFailed
from tools.ops import bootstrap

#: A settings file as a user keeps it: a byte order mark, CRLF, comments, other keys.
USER_FILE = "\ufeff# our account\r\nAWS_REGION=eu-west-1\r\n\r\n# alarms go to the team\r\nALARM_EMAILS=oncall@example.com\r\n".encode()


class Run:
    """Records the steps of a bootstrap whose synth, credential check and deploy are faked."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *, fail: str | None = None) -> None:
        self.steps: list[str] = []
        self.synth_env: dict[str, str] = {}
        self.settings = tmp_path / "settings.env"
        self.fail = fail
        monkeypatch.setattr(bootstrap, "SETTINGS_FILE", self.settings)
        monkeypatch.setattr(bootstrap, "STATE_FILE", tmp_path / "terraform-state" / "order-api-state.tfstate")
        monkeypatch.setattr(bootstrap, "synthesize", self.synthesize)
        monkeypatch.setattr(bootstrap, "load", lambda outdir, stack: {"provider": {"aws": [{"region": self.synth_env.get("AWS_REGION") or "us-east-1"}]}})
        monkeypatch.setattr(bootstrap, "check_credentials", self.check_credentials)
        monkeypatch.setattr(bootstrap, "deploy", self.deploy)

    def synthesize(self, outdir: Path, env: dict[str, str]) -> None:
        self.steps.append("synth")
        self.synth_env = dict(env)
        # what main.py would read: the environment first, then the file as it is now
        self.synth_overrides = main.read_overrides(env, self.settings)
        if self.fail == "synth":
            raise SynthesisFailed(3)  # main.py has printed its own line

    def check_credentials(self, region: str, endpoint: str | None) -> str:
        self.steps.append(f"credentials {region}")
        if self.fail == "credentials":
            raise AwsError("no AWS credentials found: run aws sso login")
        return "arn:aws:iam::123456789012:role/deploy"

    def deploy(self, stack: str, outdir: Path, outputs: Path) -> None:
        self.steps.append(f"deploy {stack}")
        if self.fail == "deploy":
            raise DeployError("cdktf deploy order-api-state failed (exit 1); see its output above")
        if self.fail == "interrupt":
            raise KeyboardInterrupt


def test_the_file_changes_only_after_the_deploy_and_only_its_keys(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = Run(monkeypatch, tmp_path)
    run.settings.write_bytes(USER_FILE)
    environ = {"TF_STATE_BUCKET": "acme-order-api-state", "AWS_REGION": "eu-west-2", "IMAGE_TAG": "9.9.9"}
    assert bootstrap.main([], environ) == 0
    assert run.steps == ["synth", "credentials eu-west-2", "deploy order-api-state"]
    # The synth saw the new values although the file still held the old ones.
    assert (run.synth_overrides["AWS_REGION"], run.synth_overrides["TF_STATE_BUCKET"], run.synth_overrides["ALARM_EMAILS"]) == (
        "eu-west-2",
        "acme-order-api-state",
        "oncall@example.com",
    )
    assert (
        run.settings.read_bytes()
        == (
            "\ufeff# our account\r\nAWS_REGION=eu-west-2\r\n\r\n# alarms go to the team\r\nALARM_EMAILS=oncall@example.com\r\n"
            "TF_STATE_BUCKET=acme-order-api-state\r\n"
        ).encode()
    )
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "settings.env: AWS_REGION eu-west-1 -> eu-west-2, TF_STATE_BUCKET (unset) -> acme-order-api-state"
    assert "IMAGE_TAG" not in run.settings.read_text()


def test_the_synth_sees_exactly_what_the_saved_file_will_give(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """An empty variable keeps the file's value in the saved file, so the synth sees that value too."""
    run = Run(monkeypatch, tmp_path)
    run.settings.write_bytes(USER_FILE)
    assert bootstrap.main([], {"AWS_REGION": "", "TF_STATE_BUCKET": "acme-order-api-state"}) == 0
    assert run.synth_overrides["AWS_REGION"] == "eu-west-1"
    assert run.steps[1] == "credentials eu-west-1"
    assert main.read_overrides({}, run.settings)["AWS_REGION"] == "eu-west-1"


def test_nothing_to_change_says_so(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = Run(monkeypatch, tmp_path)
    run.settings.write_bytes(USER_FILE)
    assert bootstrap.main([], {"AWS_REGION": "eu-west-1"}) == 0
    assert run.settings.read_bytes() == USER_FILE
    assert capsys.readouterr().out.splitlines()[0] == "settings.env: no change"


def test_a_new_file_is_written_after_a_first_bootstrap(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    run = Run(monkeypatch, tmp_path)
    assert bootstrap.main([], {"TF_STATE_BUCKET": "acme-order-api-state"}) == 0
    assert run.settings.read_text() == "TF_STATE_BUCKET=acme-order-api-state\n"


@pytest.mark.parametrize("fail", ["synth", "credentials", "deploy", "interrupt"])
def test_fails_and_leaves_the_file_byte_for_byte(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str], fail: str) -> None:
    run = Run(monkeypatch, tmp_path, fail=fail)
    run.settings.write_bytes(USER_FILE)
    code = bootstrap.main([], {"TF_STATE_BUCKET": "acme-order-api-state", "AWS_REGION": "eu-west-2"})
    assert code == {"interrupt": 130, "synth": 3}.get(fail, 1)
    assert run.settings.read_bytes() == USER_FILE
    err = capsys.readouterr().err.strip().splitlines()
    if fail == "synth":
        assert err == []  # the synth's own line is the one line
    else:
        assert len(err) == 1 and err[0].startswith("error: ") and err[0].endswith("(settings.env unchanged)")


def test_fails_on_a_bad_value_before_anything_runs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = Run(monkeypatch, tmp_path)
    run.settings.write_bytes(USER_FILE)
    assert bootstrap.main([], {"TF_STATE_BUCKET": "Bad_Bucket"}) == 2
    assert run.steps == [] and run.settings.read_bytes() == USER_FILE
    assert capsys.readouterr().err.startswith("error: TF_STATE_BUCKET='Bad_Bucket' is invalid:")


def test_fails_to_repoint_an_existing_bucket_without_the_flag(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = Run(monkeypatch, tmp_path)
    run.settings.write_text("TF_STATE_BUCKET=acme-state\nAWS_REGION=eu-west-1\n")
    before = run.settings.read_bytes()
    assert bootstrap.main([], {"TF_STATE_BUCKET": "other-state"}) == 2
    assert run.steps == [] and run.settings.read_bytes() == before
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "error: the state lives in bucket acme-state (eu-west-1) and this would point every stack at other-state (eu-west-1), where they would not "
        "find their state: keep TF_STATE_BUCKET=acme-state and TF_STATE_REGION=eu-west-1, or run make bootstrap ... REPOINT_STATE=1 to move on "
        "deliberately (README, Deploying)"
    ]
    assert bootstrap.main(["--repoint-state"], {"TF_STATE_BUCKET": "other-state"}) == 0
    assert run.settings.read_text() == "TF_STATE_BUCKET=other-state\nAWS_REGION=eu-west-1\n"


def test_fails_to_move_the_state_region_with_aws_region(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    run = Run(monkeypatch, tmp_path)
    run.settings.write_text("TF_STATE_BUCKET=acme-state\nAWS_REGION=eu-west-1\n")
    assert bootstrap.main([], {"AWS_REGION": "eu-west-2"}) == 2
    # Keeping the state where it is makes the same change fine.
    assert bootstrap.main([], {"AWS_REGION": "eu-west-2", "TF_STATE_REGION": "eu-west-1"}) == 0
    assert run.settings.read_text() == "TF_STATE_BUCKET=acme-state\nAWS_REGION=eu-west-2\nTF_STATE_REGION=eu-west-1\n"


def test_fails_to_repoint_the_bucket_the_local_state_records(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = Run(monkeypatch, tmp_path)
    state: dict[str, Any] = {
        "version": 4,
        "resources": [
            {
                "mode": "managed",
                "type": "aws_s3_bucket",
                "name": "state_bucket",
                "instances": [{"attributes": {"bucket": "first-state", "region": "us-east-1"}}],
            }
        ],
    }
    bootstrap.STATE_FILE.parent.mkdir(parents=True)
    bootstrap.STATE_FILE.write_text(json.dumps(state))
    assert bootstrap.main([], {"TF_STATE_BUCKET": "second-state"}) == 2
    assert "the state lives in bucket first-state (us-east-1)" in capsys.readouterr().err
    assert not run.settings.exists()
    assert bootstrap.main([], {"TF_STATE_BUCKET": "first-state"}) == 0


def test_recorded_bucket_ignores_what_is_not_a_state() -> None:
    assert bootstrap.recorded_bucket(Path("/nonexistent/state.tfstate")) is None
    assert bootstrap.recorded_bucket(Path(__file__)) is None


def test_a_setting_made_once_reaches_the_next_synths(tmp_path: Path, synth_state_settings: Synthesized, monkeypatch: pytest.MonkeyPatch) -> None:
    run = Run(monkeypatch, tmp_path)
    assert bootstrap.main([], STATE_SETTINGS) == 0
    # A later synth (make, or the cdktf CLI's) has no variables in its environment.
    overrides = main.read_overrides({}, run.settings)
    config = build_app_config(overrides)
    assert (config.state.bucket, config.region, config.state_region) == ("acme-order-api-state", "eu-west-1", "eu-central-1")
    assert {k: v for k, v in overrides.items() if v} == STATE_SETTINGS
    # synth_state_settings is the synthesis of exactly these overrides (plus two unrelated to state).
    dev = synth_state_settings.doc("order-api-dev")
    assert (dev["terraform"]["backend"]["s3"]["bucket"], dev["terraform"]["backend"]["s3"]["region"]) == ("acme-order-api-state", "eu-central-1")
    assert dev["provider"]["aws"][0]["region"] == "eu-west-1"


def test_bootstrap_says_what_is_next() -> None:
    lines = bootstrap.next_steps({"AWS_REGION": "eu-west-1", "TF_STATE_BUCKET": "acme"})
    assert "state of order-api-state: terraform-state/order-api-state.tfstate (keep it safe; README, State)" in lines
    assert lines[-5:] == [
        "  make deploy STACK=order-api-account",
        "  make deploy STACK=order-api-registry",
        "  docker push <account>.dkr.ecr.eu-west-1.amazonaws.com/order-api:<tag>   (a new dev starts with :latest unless IMAGE_TAG says otherwise)",
        "  make deploy STACK=order-api-dev",
        "  make release STACK=order-api-dev IMAGE=<tag or sha256:digest>   (every later image; README, Releasing)",
    ]


def test_against_an_emulator_the_settings_file_is_left_alone(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """make emulator's session sets every variable itself: bootstrap must not write them into
    the settings file of the real account, and keeps its local state beside CDKTF_OUTDIR."""
    run = Run(monkeypatch, tmp_path)
    run.settings.write_bytes(USER_FILE)
    seen: dict[str, Path] = {}
    monkeypatch.setattr(
        bootstrap,
        "load",
        lambda outdir, stack: (
            seen.setdefault("outdir", outdir) and {"provider": {"aws": [{"region": "us-east-1", "endpoints": [{"ecr": "http://127.0.0.1:5000"}]}]}}
        ),
    )
    monkeypatch.setattr(bootstrap, "recorded_bucket", lambda state_file: seen.setdefault("state", state_file) and None)
    environ = {
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:5000",
        "ENVIRONMENTS": "dev",
        "CDKTF_OUTDIR": str(tmp_path / "emu" / "cdktf.out"),
    }
    assert bootstrap.main([], environ) == 0
    assert run.settings.read_bytes() == USER_FILE
    assert capsys.readouterr().out.splitlines()[0].startswith("emulator: settings.env left as it was")
    assert seen == {"state": tmp_path / "emu" / "terraform-state" / "order-api-state.tfstate", "outdir": tmp_path / "emu" / "cdktf.out"}
