"""The command line: clean errors, warnings, the settings file, signals, concurrency, determinism.

Most tests run ``main.py`` in a real process, as a user does.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import main
from stacks import output_dir, process
from stacks.config import OVERRIDE_VARIABLES, build_app_config
from tests.conftest import ROOT, SUFFIX, Synthesized, leftovers, main_env, run_main, session, snapshot_tree

ALL_STACKS = [
    "order-api-account",
    "order-api-dev",
    f"order-api-dev-{SUFFIX}",
    "order-api-identity",
    "order-api-prod",
    "order-api-registry",
    "order-api-staging",
    "order-api-state",
]


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    outdir = tmp_path_factory.mktemp("first") / "cdktf.out"
    result = run_main(outdir, ENVIRONMENT_SUFFIX=SUFFIX, ENVIRONMENT_SUFIX="typo")
    assert result.returncode == 0, result.stderr
    return outdir, result


def test_synth_writes_every_stack(first_run: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    outdir, _ = first_run
    stacks = sorted(p.name for p in (outdir / "stacks").iterdir())
    assert stacks == ALL_STACKS
    assert all((outdir / "stacks" / s / "cdk.tf.json").is_file() for s in stacks)
    assert (outdir / "manifest.json").is_file()
    assert leftovers(outdir.parent) == []


def test_a_process_synth_is_byte_identical_to_the_test_synth(first_run: tuple[Path, subprocess.CompletedProcess[str]], synth: Synthesized) -> None:
    outdir, _ = first_run
    published = snapshot_tree(outdir)
    assert published.pop(output_dir.STAMP) == output_dir.STAMP_TEXT.encode()
    assert published == snapshot_tree(synth.outdir)


def test_misspelt_variable_warns_and_synthesis_goes_on(first_run: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    _, result = first_run
    assert "warning: ENVIRONMENT_SUFIX is not read; did you mean ENVIRONMENT_SUFFIX?" in result.stderr.splitlines()
    assert "Traceback" not in result.stderr


def test_prod_without_alarm_destination_warns_once(first_run: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    _, result = first_run
    warnings = [line for line in result.stderr.splitlines() if "alarms reach nobody" in line]
    assert warnings == [
        "warning: order-api-prod: alarms reach nobody; set ALARM_EMAILS, ALARM_HTTPS_ENDPOINTS or ALARM_TOPIC_ARN "
        "(make deploy refuses order-api-prod without one)"
    ]


@pytest.mark.parametrize(
    ("overrides", "line"),
    [
        ({"ENVIRONMENT_SUFFIX": "Feature_X"}, "error: ENVIRONMENT_SUFFIX='Feature_X' is invalid:"),
        ({"AWS_REGION": "zz-nowhere-9"}, "error: AWS_REGION='zz-nowhere-9' is invalid: a known AWS region"),
        ({"STATE_BACKEND": "cloud"}, "error: TF_CLOUD_ORGANIZATION is not set: required when STATE_BACKEND=cloud"),
        ({"TF_STATE_BUCKET": "UPPER"}, "error: TF_STATE_BUCKET='UPPER' is invalid:"),
        ({"ENVIRONMENT_SUFFIX": "pr7", "VPC_CIDR": "10.30.0.0/16"}, "error: VPC_CIDR='10.30.0.0/16' is invalid: a block that does not overlap prod's"),
        ({"AWS_ENDPOINT_URL": "http://127.0.0.1:5000"}, "error: AWS_ENDPOINT_URL='http://127.0.0.1:5000' is invalid: an emulator endpoint is refused for prod"),
    ],
)
def test_fails_cleanly_and_leaves_output_untouched(first_run: tuple[Path, subprocess.CompletedProcess[str]], overrides: dict[str, str], line: str) -> None:
    outdir, _ = first_run
    before = snapshot_tree(outdir)
    result = run_main(outdir, **overrides)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(line)
    assert result.stdout == ""
    assert snapshot_tree(outdir) == before
    assert leftovers(outdir.parent) == []


def main_with_settings_file(data: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    """``main.main()`` with ``data`` as its settings file and no override variable set."""
    settings = tmp_path / "settings.env"
    settings.write_bytes(data)
    monkeypatch.setattr(main, "SETTINGS_FILE", settings)
    for name in OVERRIDE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CDKTF_OUTDIR", str(tmp_path / "cdktf.out"))
    return main.main()


def test_fails_on_a_bad_settings_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    assert main_with_settings_file(b"TF_STATE_BUCKET=acme-state\nAWS_REGON=eu-west-1\n", tmp_path, monkeypatch) == main.EXIT_CONFIG_ERROR
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: settings.env line 2='AWS_REGON' is invalid: one of " + ", ".join(OVERRIDE_VARIABLES)]
    assert not (tmp_path / "cdktf.out").exists()


def test_fails_on_a_settings_file_in_another_encoding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    assert main_with_settings_file(b"# state bucket\nTF_STATE_BUCKET=acme-\xe9tat\n", tmp_path, monkeypatch) == main.EXIT_CONFIG_ERROR
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "error: settings.env line 2=b'TF_STATE_BUCKET=acme-\\xe9tat' is invalid: UTF-8 text (this line is in another encoding: save the file as UTF-8)"
    ]
    assert not (tmp_path / "cdktf.out").exists()


def test_fails_on_an_unreadable_settings_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = tmp_path / "settings.env"
    settings.write_text("AWS_REGION=eu-west-1\n")

    def denied(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", denied)
    with pytest.raises(main.ConfigError) as excinfo:
        main.read_overrides({}, settings)
    assert str(excinfo.value) == "settings.env='Permission denied' is invalid: a settings file this user can read, or none"


def test_a_settings_file_with_a_bom_and_crlf_is_read(tmp_path: Path) -> None:
    settings = tmp_path / "settings.env"
    settings.write_bytes("\ufeffAWS_REGION=eu-west-1\r\nTF_STATE_BUCKET=acme-state\r\n".encode())
    overrides = main.read_overrides({}, settings)
    assert (overrides["AWS_REGION"], overrides["TF_STATE_BUCKET"]) == ("eu-west-1", "acme-state")


def test_settings_file_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    settings = tmp_path / "settings.env"
    settings.write_text("# state\nTF_STATE_BUCKET=acme-state\n\nAWS_REGION=eu-west-1\nIMAGE_TAG=1.2.3\n")
    overrides = main.read_overrides({"AWS_REGION": "eu-west-2", "IMAGE_TAG": ""}, settings)
    assert overrides["TF_STATE_BUCKET"] == "acme-state"
    assert overrides["AWS_REGION"] == "eu-west-2"
    # Present but empty in the environment: not set, and the file's value is hidden.
    assert overrides["IMAGE_TAG"] == ""
    assert set(overrides) == set(OVERRIDE_VARIABLES)


def test_without_a_settings_file_only_the_environment_counts(tmp_path: Path) -> None:
    overrides = main.read_overrides({"AWS_REGION": "eu-west-2"}, tmp_path / "absent.env")
    assert overrides["AWS_REGION"] == "eu-west-2"
    assert overrides["TF_STATE_BUCKET"] is None


def test_main_in_process_synthesizes_and_publishes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], synth: Synthesized
) -> None:
    for name in OVERRIDE_VARIABLES:
        monkeypatch.setenv(name, "")
    monkeypatch.setenv("ENVIRONMENT_SUFFIX", SUFFIX)
    monkeypatch.setenv("ENVIRONMENTS", "dev")
    monkeypatch.setenv("IMAGETAG", "1.2.3")
    outdir = tmp_path / "cdktf.out"
    monkeypatch.setenv("CDKTF_OUTDIR", str(outdir))
    assert main.main() == 0
    published = sorted(p.name for p in (outdir / "stacks").iterdir())
    assert published == ["order-api-account", "order-api-dev", f"order-api-dev-{SUFFIX}", "order-api-identity", "order-api-registry", "order-api-state"]
    for stack in published:
        assert (outdir / "stacks" / stack / "cdk.tf.json").read_bytes() == (synth.stacks_dir / stack / "cdk.tf.json").read_bytes()
    assert capsys.readouterr().err.splitlines() == ["warning: IMAGETAG is not read; did you mean IMAGE_TAG?"]


def test_a_guardrail_violation_fails_synthesis_with_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from stacks import aspects

    monkeypatch.setattr(aspects, "PUBLIC_PORTS", (443,))  # the ALB's port 80 now breaks a rule
    for name in OVERRIDE_VARIABLES:
        monkeypatch.setenv(name, "")
    monkeypatch.setenv("ENVIRONMENTS", "dev")
    outdir = tmp_path / "cdktf.out"
    monkeypatch.setenv("CDKTF_OUTDIR", str(outdir))
    assert main.main() == main.EXIT_SYNTH_ERROR
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: synthesis failed:") and "ingress from the internet" in lines[0]
    assert not outdir.exists()
    assert leftovers(tmp_path) == []


def test_fails_on_an_output_directory_that_cannot_be_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    for name in OVERRIDE_VARIABLES:
        monkeypatch.setenv(name, "")
    monkeypatch.setenv("ENVIRONMENTS", "dev")
    monkeypatch.setenv("CDKTF_OUTDIR", str(blocker / "cdktf.out"))
    assert main.main() == main.EXIT_SYNTH_ERROR
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: cannot write the synthesis to {blocker / 'cdktf.out'} (File exists): check CDKTF_OUTDIR"]


# ------------------------------------------------------------------ signals


def _start_synth(tmp_path: Path, *, runtime_up: bool = True) -> tuple[subprocess.Popen[str], Path]:
    """A synth in its own session, with a private TMPDIR, returned once jsii's runtime is up
    (its temporary folder exists), or with ``runtime_up=False`` as soon as its ``node`` runs."""
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    env = main_env(tmp_path / "cdktf.out", ENVIRONMENTS="dev") | {"TMPDIR": str(tmpdir)}
    process = subprocess.Popen([sys.executable, "main.py"], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 60

    def ready() -> bool:
        if runtime_up:
            return bool(list(tmpdir.glob("order-api-synth-*/jsii-kernel-*")))
        return any(name == "node" for _, name, _ in session(process.pid))

    while not ready():
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        assert time.monotonic() < deadline, "jsii never started"
        time.sleep(0.01)
    return process, tmpdir


def _session_is_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.parametrize(("signum", "to_group", "status"), [(signal.SIGTERM, False, 143), (signal.SIGINT, True, 130)])
def test_signal_ends_synth_with_one_line_and_nothing_left(tmp_path: Path, signum: int, to_group: bool, status: int) -> None:
    """SIGTERM to the process, or Ctrl-C (SIGINT to the whole foreground group, node included)."""
    process, tmpdir = _start_synth(tmp_path)
    if to_group:
        os.killpg(process.pid, signum)
    else:
        process.send_signal(signum)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == status
    assert stderr.strip().splitlines() == [f"error: interrupted by {signal.Signals(signum).name}; nothing was published"]
    assert not (tmp_path / "cdktf.out").exists()
    assert leftovers(tmp_path) == []
    assert list(tmpdir.iterdir()) == []
    deadline = time.monotonic() + 10
    while not _session_is_gone(process.pid):
        assert time.monotonic() < deadline, "the jsii node process outlived the synth"
        time.sleep(0.1)


def test_a_signal_while_the_runtime_starts_ends_the_runtime_too(tmp_path: Path) -> None:
    """SIGTERM to the process alone while jsii waits for its new runtime's first answer (jsii
    does not know that ``node`` yet): the run ends it before removing its temporary folder,
    and exits only then."""
    process, tmpdir = _start_synth(tmp_path, runtime_up=False)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert (process.returncode, stderr) == (143, "error: interrupted by SIGTERM; nothing was published\n")
    assert [name for _, name, _ in session(process.pid)] == []
    assert list(tmpdir.iterdir()) == []


# -------------------------------------------------------------- concurrency


def test_two_synths_at_once_succeed_leave_one_whole_output_and_keep_local_state(tmp_path: Path, synth: Synthesized) -> None:
    outdir = tmp_path / "cdktf.out"
    state = tmp_path / "terraform-state" / "order-api-state.tfstate"
    state.parent.mkdir()
    state.write_bytes(b'{"version": 4, "serial": 3}\n')
    env = main_env(outdir, ENVIRONMENT_SUFFIX=SUFFIX, ENVIRONMENTS="dev")
    processes = [subprocess.Popen([sys.executable, "main.py"], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for child in processes:
        _, stderr = child.communicate(timeout=120)
        assert child.returncode == 0, stderr
    # One whole synthesis: every stack it has, exactly as the test session synthesized it.
    published = sorted(p.name for p in (outdir / "stacks").iterdir())
    assert published == ["order-api-account", "order-api-dev", f"order-api-dev-{SUFFIX}", "order-api-identity", "order-api-registry", "order-api-state"]
    for stack in published:
        assert (outdir / "stacks" / stack / "cdk.tf.json").read_bytes() == (synth.stacks_dir / stack / "cdk.tf.json").read_bytes()
    assert leftovers(tmp_path) == []
    # terraform-state/ beside cdktf.out is never touched, and is where the state stack points.
    assert state.read_bytes() == b'{"version": 4, "serial": 3}\n'
    backend_path = outdir / "stacks" / "order-api-state" / "../../../terraform-state/order-api-state.tfstate"
    assert backend_path.resolve() == state.resolve()


def test_publish_under_contention_never_fails_and_never_leaves_a_gap(tmp_path: Path) -> None:
    outdir = tmp_path / "out"
    errors: list[BaseException] = []
    missing: list[int] = []
    stop = threading.Event()

    def publisher(tag: str) -> None:
        for i in range(150):
            scratch = tmp_path / f".out.{tag}{i}"
            scratch.mkdir()
            (scratch / "marker").write_text(f"{tag}{i}")
            try:
                main.publish(scratch, outdir)
            except BaseException as error:
                errors.append(error)

    def reader() -> None:
        while not (outdir / "marker").exists():
            time.sleep(0.001)
        while not stop.is_set():
            if not (outdir / "marker").exists():
                missing.append(1)

    watcher = threading.Thread(target=reader)
    watcher.start()
    workers = [threading.Thread(target=publisher, args=(tag,)) for tag in "ab"]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    stop.set()
    watcher.join()
    assert errors == []
    assert missing == []
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.lock", "out"]


def test_publish_falls_back_to_renames_where_there_is_no_exchange(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(main, "_exchange", lambda a, b: False)
    outdir = tmp_path / "out"
    for generation in ("one", "two"):
        scratch = tmp_path / f".out.{generation}"
        scratch.mkdir()
        (scratch / "marker").write_text(generation)
        main.publish(scratch, outdir)
    assert (outdir / "marker").read_text() == "two"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.lock", "out"]


# ------------------------------------------- the same paths, in-process


class _FakeProcess:
    """Stands in for the jsii runtime's node process."""

    def __init__(self, *, alive: bool, stubborn: bool = False) -> None:
        self.alive, self.stubborn, self.calls = alive, stubborn, []  # type: ignore[var-annotated]

    def poll(self) -> int | None:
        return None if self.alive else 0

    def terminate(self) -> None:
        self.calls.append("terminate")
        self.alive = self.stubborn

    def wait(self, timeout: float) -> None:
        self.calls.append("wait")
        if self.alive:
            raise subprocess.TimeoutExpired("node", timeout)

    def kill(self) -> None:
        self.calls.append("kill")
        self.alive = False


class _FakeNode:
    def __init__(self, process: _FakeProcess) -> None:
        self._process = process
        self.stopped = False
        self.closed = False
        self._ctx_stack = self

    def stop(self) -> None:
        self.stopped = True

    def close(self) -> None:
        self.closed = True


def _fake_kernel(monkeypatch: pytest.MonkeyPatch, node: object) -> Any:
    """A jsii runtime module whose provider's ``_process`` is ``node`` (a handle, None, or a
    property as jsii's own); the provider is returned."""
    runtime = type(sys)("jsii._runtime")
    runtime.kernel = type("Kernel", (), {"provider": type("Provider", (), {"_process": node})()})()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "jsii._runtime", runtime)
    return runtime.kernel.provider


def test_stop_jsii_asks_a_live_runtime_to_stop_gracefully(monkeypatch: pytest.MonkeyPatch) -> None:
    node = _FakeNode(_FakeProcess(alive=True))
    _fake_kernel(monkeypatch, node)
    main._stop_jsii(graceful=True)
    assert node.stopped and node._process.calls == []


def test_stop_jsii_terminates_after_a_signal_and_kills_if_needed(monkeypatch: pytest.MonkeyPatch) -> None:
    polite, stubborn = _FakeNode(_FakeProcess(alive=True)), _FakeNode(_FakeProcess(alive=True, stubborn=True))
    for node, calls in ((polite, ["terminate", "wait"]), (stubborn, ["terminate", "wait", "kill"])):
        _fake_kernel(monkeypatch, node)
        main._stop_jsii(graceful=False)
        assert node._process.calls == calls and node.closed and not node.stopped


def test_stop_jsii_after_ctrl_c_only_cleans_up(monkeypatch: pytest.MonkeyPatch) -> None:
    node = _FakeNode(_FakeProcess(alive=False))
    _fake_kernel(monkeypatch, node)
    main._stop_jsii(graceful=False)
    assert node._process.calls == [] and node.closed


def test_stop_jsii_never_starts_a_runtime_whose_start_a_signal_cut_short(monkeypatch: pytest.MonkeyPatch) -> None:
    """jsii memoizes its runtime in a property that starts one when read: the clean-up reads the
    memo, so before the first runtime answered it finds none (and starts none), then finds it."""
    from jsii._utils import memoized_property

    started: list[_FakeNode] = []

    def start(_provider: object) -> _FakeNode:
        started.append(_FakeNode(_FakeProcess(alive=True)))
        return started[-1]

    provider = _fake_kernel(monkeypatch, memoized_property(start))
    main._stop_jsii(graceful=False)
    assert (started, main._jsii_process()) == ([], None)
    node = provider._process
    assert main._jsii_node() is node
    main._stop_jsii(graceful=False)
    assert started == [node] and node._process.calls == ["terminate", "wait"] and node.closed


@pytest.mark.parametrize("stubborn", [False, True])
def test_ending_the_descendants_ends_their_children_too(stubborn: bool) -> None:
    """Children and grandchildren end: on SIGTERM, or (ignoring it) killed once the time is up."""
    trap = "trap '' TERM; " if stubborn else ""
    shell = subprocess.Popen(["sh", "-c", f"{trap}sleep 30 & sleep 30; wait"])
    deadline = time.monotonic() + 10
    while len(sleeps := process.descendants(shell.pid)) < 2:
        assert time.monotonic() < deadline, "the shell never started its two children"
        time.sleep(0.01)
    started = time.monotonic()
    main._end_descendants(shell.pid, timeout=2.0)
    assert not any(main._running(pid) for pid in sleeps)
    assert (time.monotonic() - started >= 2.0) == stubborn
    shell.kill()
    shell.wait(timeout=10)
    assert not main._running(shell.pid)


def test_stop_jsii_without_a_runtime_does_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "jsii._runtime", raising=False)
    main._stop_jsii(graceful=True)
    _fake_kernel(monkeypatch, None)
    main._stop_jsii(graceful=False)


def test_run_turns_a_signal_into_one_line_and_its_exit_status(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def interrupted() -> int:
        os.kill(os.getpid(), signal.SIGTERM)
        return 0

    exits: list[int] = []
    monkeypatch.setattr(main, "main", interrupted)
    monkeypatch.setattr(main, "_stop_jsii", lambda graceful: exits.append(-1 if graceful else -2))
    monkeypatch.setattr(main, "_end_descendants", lambda: None)
    monkeypatch.setattr(main.os, "_exit", lambda code: exits.append(code))
    previous = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    try:
        main.run()
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
        signal.signal(signal.SIGINT, previous[0])
        signal.signal(signal.SIGTERM, previous[1])
    assert exits == [-2, 143]
    assert capsys.readouterr().err == "error: interrupted by SIGTERM; nothing was published\n"


def test_run_exits_with_mains_status_and_stops_the_runtime_gracefully(monkeypatch: pytest.MonkeyPatch) -> None:
    stops: list[bool] = []
    monkeypatch.setattr(main, "main", lambda: 3)
    monkeypatch.setattr(main, "_stop_jsii", lambda graceful: stops.append(graceful))
    monkeypatch.setattr(main, "_end_descendants", lambda: None)
    previous = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    try:
        with pytest.raises(SystemExit) as excinfo:
            main.run()
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
        signal.signal(signal.SIGINT, previous[0])
        signal.signal(signal.SIGTERM, previous[1])
    assert excinfo.value.code == 3 and stops == [True]


def test_exchange_is_linux_only(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "x").write_text("a")
    assert main._exchange(a, b) is True and (b / "x").read_text() == "a"
    monkeypatch.setattr(main.sys, "platform", "darwin")
    assert main._exchange(a, b) is False


def test_exchange_needs_a_libc_with_renameat2(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import ctypes

    monkeypatch.setattr(ctypes, "CDLL", lambda *args, **kwargs: object())
    assert main._exchange(tmp_path, tmp_path) is False


class _Died:
    """The runtime's node process, ended by ``status`` (negative: a signal), or still running."""

    def __init__(self, status: int | None) -> None:
        self.status = status

    def wait(self, timeout: float) -> int:
        if self.status is None:
            raise subprocess.TimeoutExpired("node", timeout)
        return self.status


@pytest.mark.parametrize(
    ("status", "expected"), [(-signal.SIGTERM, signal.SIGTERM), (-signal.SIGINT, signal.SIGINT), (1, None), (-signal.SIGKILL, None), (None, None)]
)
def test_the_runtime_ended_by_a_stop_signal_is_recognised(monkeypatch: pytest.MonkeyPatch, status: int | None, expected: int | None) -> None:
    monkeypatch.setattr(main, "_jsii_process", lambda: _Died(status))
    assert main._signal_that_ended_the_runtime() == expected


def test_without_a_runtime_no_signal_ended_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "jsii._runtime", raising=False)
    assert main._signal_that_ended_the_runtime() is None


def test_a_synthesis_error_from_a_runtime_killed_by_a_signal_is_the_signal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import stacks.app

    class App:
        def synth(self) -> None:
            raise RuntimeError("Error on jsii API channel")

    monkeypatch.setattr(stacks.app, "build_app", lambda config, outdir: App())
    monkeypatch.setattr(main, "_signal_that_ended_the_runtime", lambda: signal.SIGTERM)
    with pytest.raises(process.Interrupted) as excinfo:
        main.synthesize(build_app_config({"ENVIRONMENTS": "dev"}), tmp_path / "cdktf.out")
    assert excinfo.value.signum == signal.SIGTERM
    assert capsys.readouterr().err == ""
    assert list(tmp_path.iterdir()) == []


def _run_main(monkeypatch: pytest.MonkeyPatch, body: Any, ended_by: int | None) -> list[int]:
    exits: list[int] = []
    monkeypatch.setattr(main, "main", body)
    monkeypatch.setattr(main, "_stop_jsii", lambda graceful: None)
    monkeypatch.setattr(main, "_end_descendants", lambda: None)
    monkeypatch.setattr(main, "_signal_that_ended_the_runtime", lambda: ended_by)
    monkeypatch.setattr(main.os, "_exit", lambda code: exits.append(code))
    previous = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    try:
        main.run()
    finally:
        signal.signal(signal.SIGINT, previous[0])
        signal.signal(signal.SIGTERM, previous[1])
    return exits


def test_run_takes_a_crash_of_a_signalled_runtime_for_the_signal(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def crash() -> int:
        raise ValueError("Expecting value: line 1 column 1 (char 0)")

    assert _run_main(monkeypatch, crash, signal.SIGINT) == [130]
    assert capsys.readouterr().err == "error: interrupted by SIGINT; nothing was published\n"


def test_run_does_not_hide_a_real_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    def crash() -> int:
        raise ValueError("a bug")

    with pytest.raises(ValueError, match="a bug"):
        _run_main(monkeypatch, crash, None)


def test_the_runtimes_own_failure_lines_are_held_and_shown_only_without_a_signal(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def relayed() -> int:
        def sink() -> None:
            print("b'Error on jsii API channel'", file=sys.stderr)

        thread = threading.Thread(target=sink, name="process.stderr_sink")
        thread.start()
        thread.join()
        print("warning: from the stacks", file=sys.stderr)
        return 0

    with pytest.raises(SystemExit):
        _run_main(monkeypatch, relayed, None)
    assert capsys.readouterr().err == "warning: from the stacks\nb'Error on jsii API channel'\n"

    def relayed_then_signalled() -> int:
        relayed()
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)
        return 0

    assert _run_main(monkeypatch, relayed_then_signalled, None) == [143]
    assert capsys.readouterr().err == "warning: from the stacks\nerror: interrupted by SIGTERM; nothing was published\n"


def test_the_held_stream_is_otherwise_the_real_one() -> None:
    import io

    real = io.StringIO()
    held = main._HeldRuntimeErrors(real)
    held.write("shown\n")
    assert held.getvalue() == "shown\n" and held.held == []


def test_a_nested_synth_leaves_the_interruption_line_to_its_caller(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def signalled() -> int:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)
        return 0

    monkeypatch.setenv(process.NESTED, "1")
    assert _run_main(monkeypatch, signalled, None) == [130]
    assert capsys.readouterr().err == ""
