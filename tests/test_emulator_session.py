"""make emulator: the session's settings, the adaptation every command makes against the
emulator, and the image that stands in for docker push."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from stacks.config import OVERRIDE_VARIABLES
from tests.conftest import Synthesized
from tools.common import stack
from tools.common.stack import DeployError, default_outdir, outputs_dir_of
from tools.emulator import __main__ as session
from tools.emulator import image, version_gap
from tools.emulator.discovery import ProviderPackage, Skip, Tools

PROVIDER = ProviderPackage(mirror=Path("/mirror"), version="5.100.0", os_arch="linux_amd64", package=Path("/mirror/terraform-provider-aws_v5.100.0"))


def tools() -> Tools:
    return Tools(Path("/usr/bin/terraform"), "1.11.4", PROVIDER)


def test_the_session_sets_every_override_and_keeps_to_loopback(tmp_path: Path) -> None:
    env = session.session_env("http://127.0.0.1:4566", tmp_path)
    assert set(OVERRIDE_VARIABLES) <= set(env)
    assert (env["AWS_ENDPOINT_URL"], env["ENVIRONMENTS"], env["CDKTF_OUTDIR"]) == ("http://127.0.0.1:4566", "dev", str(tmp_path / "cdktf.out"))
    assert env["HTTPS_PROXY"].startswith("http://127.0.0.1:") and env["TF_CLI_CONFIG_FILE"] == str(tmp_path / "terraformrc")
    assert env["TF_STATE_BUCKET"] == "" and env["AWS_ACCESS_KEY_ID"] == "testing"


def test_the_env_file_sets_exactly_those_values_in_a_shell(tmp_path: Path) -> None:
    env = {"A": "plain", "B": "it's $(not run) `either`", "C": ""}
    (tmp_path / "env").write_text(session.env_file(env))
    out = subprocess.run(["bash", "-c", '. ./env && printf "%s|%s|%s" "$A" "$B" "$C"'], cwd=tmp_path, capture_output=True, text=True, check=True).stdout
    assert out == "plain|it's $(not run) `either`|"


def test_fails_without_terraform_or_a_provider_in_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def no_provider(environ: Any, home: Any) -> Tools:
        raise Skip("no terraform on PATH")

    monkeypatch.setattr(session, "discover", no_provider)
    assert session.main([], {}, work=tmp_path / "emu") == 2
    assert capsys.readouterr().err == "error: make emulator needs terraform and an offline hashicorp/aws provider: no terraform on PATH\n"


@contextmanager
def fake_server(ready_file: Path, log_file: Path, env: Any) -> Iterator[str]:
    yield "http://127.0.0.1:4566"


def test_a_session_writes_its_files_and_removes_the_env_when_it_stops(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    work = tmp_path / "emu"
    monkeypatch.setattr(session, "discover", lambda environ, home: tools())
    monkeypatch.setattr(session.control, "running", fake_server)
    stop = threading.Event()
    seen: dict[str, str] = {}

    def stopper() -> None:
        while not (work / "env").exists():
            pass
        seen["env"] = (work / "env").read_text()
        stop.set()

    thread = threading.Thread(target=stopper)
    thread.start()
    assert session.main([], {"PATH": "/usr/bin"}, work=work, stop=stop) == 0
    thread.join()
    assert "export AWS_ENDPOINT_URL=http://127.0.0.1:4566" in seen["env"]
    assert '"/mirror"' in (work / "terraformrc").read_text() and (work / "aws-config").read_text() == ""
    assert not (work / "env").exists()
    out = capsys.readouterr().out
    assert out.startswith("emulator: moto ") and "hashicorp/aws 5.100.0 (offline)" in out and ". .emulator/env" not in out


def test_fails_a_second_emulator_for_one_checkout(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import fcntl

    work = tmp_path / "emu"
    work.mkdir()
    monkeypatch.setattr(session, "discover", lambda environ, home: tools())
    with open(work / ".lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        assert session.main([], {}, work=work) == 1
    assert "an emulator already runs for this checkout" in capsys.readouterr().err


def test_a_server_that_does_not_start_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    @contextmanager
    def broken(*_: Any) -> Iterator[str]:
        raise session.control.EmulatorError("moto exited with status 1 before listening (see moto.log)")
        yield ""

    monkeypatch.setattr(session, "discover", lambda environ, home: tools())
    monkeypatch.setattr(session.control, "running", broken)
    assert session.main([], {}, work=tmp_path / "emu") == 1
    assert capsys.readouterr().err == "error: moto exited with status 1 before listening (see moto.log)\n"


def test_ctrl_c_stops_the_session_quietly(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    class Interrupting(threading.Event):
        def wait(self, timeout: float | None = None) -> bool:
            raise KeyboardInterrupt

    monkeypatch.setattr(session, "discover", lambda environ, home: tools())
    monkeypatch.setattr(session.control, "running", fake_server)
    assert session.main([], {}, work=tmp_path / "emu", stop=Interrupting()) == 0
    assert capsys.readouterr().err == "emulator: stopped\n"


# ------------------------------------------------------------------------- adaptation


def test_emulated_stacks_are_adapted_and_said(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, synth_emulated: Synthesized) -> None:
    outdir = tmp_path / "cdktf.out"
    shutil.copytree(synth_emulated.outdir, outdir)
    monkeypatch.setattr(version_gap, "discover", lambda environ, home: tools())
    lines: list[str] = []
    assert version_gap.adapt_emulated(outdir, {}, tmp_path, lines.append) == lines
    dev = [line for line in lines if line.startswith("emulator: order-api-dev-e2e: ")]
    assert dev and "for hashicorp/aws 5.100.0 from /mirror: " in dev[0] and dev[0].endswith("6.x-only settings removed")
    doc = json.loads((outdir / "stacks" / "order-api-dev-e2e" / "cdk.tf.json").read_text())
    assert doc["terraform"]["required_providers"]["aws"]["version"] == "5.100.0"


def test_stacks_for_a_real_account_are_never_adapted(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, synth: Synthesized) -> None:
    outdir = tmp_path / "cdktf.out"
    shutil.copytree(synth.outdir, outdir)
    before = {p: p.read_bytes() for p in outdir.rglob("cdk.tf.json")}
    monkeypatch.setattr(version_gap, "discover", lambda environ, home: pytest.fail("no provider is looked for"))
    assert version_gap.adapt_emulated(outdir, {}, tmp_path) == []
    assert {p: p.read_bytes() for p in outdir.rglob("cdk.tf.json")} == before


def test_fails_an_emulated_synth_without_an_offline_provider(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def no_provider(environ: Any, home: Any) -> Tools:
        raise Skip("no terraform on PATH")

    monkeypatch.setattr(stack.process, "run_child", lambda *a, **k: subprocess.CompletedProcess(a, 0))
    monkeypatch.setattr(stack, "adapt_emulated", lambda outdir, environ, home: no_provider(environ, home))
    with pytest.raises(DeployError, match=r"^the stacks are aimed at an emulator, but no terraform on PATH: make emulator says what it needs$"):
        stack.synthesize(tmp_path / "cdktf.out")


@pytest.mark.parametrize(("environ", "expected"), [({}, None), ({"CDKTF_OUTDIR": ""}, None), ({"CDKTF_OUTDIR": "/x/emu/cdktf.out"}, Path("/x/emu/cdktf.out"))])
def test_the_tools_synthesize_where_cdktf_outdir_says(environ: dict[str, str], expected: Path | None) -> None:
    outdir = default_outdir(environ)
    assert outdir == (expected or stack.ROOT / "cdktf.out")
    assert outputs_dir_of(outdir) == outdir.parent / "cfn-outputs"


# ------------------------------------------------------------------------- image


@pytest.mark.parametrize("endpoint", ["", "https://ecr.us-east-1.amazonaws.com", "http://10.0.0.5:4566", "http://127.0.0.1.evil.example:4566"])
def test_fails_to_push_anywhere_but_a_local_emulator(monkeypatch: pytest.MonkeyPatch, endpoint: str, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    assert image.main(["latest"]) == 2
    assert capsys.readouterr().err.startswith(f"error: AWS_ENDPOINT_URL={endpoint!r} is not a local emulator")


@pytest.mark.parametrize("tag", [".hidden", "-x", "a b", "v1\n", "x" * 129])
def test_fails_an_invalid_tag(monkeypatch: pytest.MonkeyPatch, tag: str, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    assert image.main(["--", tag]) == 2
    assert "is invalid: letters, digits" in capsys.readouterr().err


def test_an_image_is_pushed_once_per_build(monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3  # type: ignore[import-untyped]
    from moto import mock_aws

    from tests.conftest import emulator_credentials

    emulator_credentials(monkeypatch)
    with mock_aws():
        ecr = boto3.client("ecr", region_name="us-east-1")
        ecr.create_repository(repositoryName="order-api")
        first = image.push(ecr, "order-api", "latest")
        assert image.push(ecr, "order-api", "latest") == first  # the same manifest again
        assert image.push(ecr, "order-api", "v2", build=2) != first
