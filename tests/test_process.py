"""stacks/process.py: every command ends on SIGINT or SIGTERM with one line and 128+n,
children get the signal once and are waited for, a closed pipe ends quietly."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from stacks import process
from stacks.process import Interrupted, Signals


@pytest.fixture
def handlers() -> Iterator[None]:
    """Whatever a test installs, the previous handlers come back afterwards."""
    previous = {signum: signal.getsignal(signum) for signum in process.STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        process.current = None


def run(main: Callable[[], int]) -> int:
    with pytest.raises(SystemExit) as excinfo:
        process.run(main)
    return int(excinfo.value.code or 0)


def test_interrupted_names_the_signal_and_its_status() -> None:
    stop = Interrupted(signal.SIGTERM, "; it goes on")
    assert (stop.name, stop.status, stop.line()) == ("SIGTERM", 143, "error: interrupted by SIGTERM; it goes on")
    assert isinstance(stop, KeyboardInterrupt)
    assert process.interrupted_by(KeyboardInterrupt()).signum == signal.SIGINT
    assert process.interrupted_by(stop) is stop


def test_run_exits_with_mains_status(handlers: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(lambda: 3) == 3
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_is_one_line_and_its_status(handlers: None, capsys: pytest.CaptureFixture[str], signum: int, status: int) -> None:
    def main() -> int:
        os.kill(os.getpid(), signum)
        time.sleep(5)
        return 0

    assert run(main) == status
    assert capsys.readouterr().err == f"error: interrupted by {signal.Signals(signum).name}\n"


def test_a_second_signal_never_interrupts_the_clean_up(handlers: None, capsys: pytest.CaptureFixture[str]) -> None:
    cleaned: list[str] = []

    def main() -> int:
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)
        finally:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)
            cleaned.append("done")
        return 0

    assert run(main) == 143
    assert cleaned == ["done"]
    assert capsys.readouterr().err == "error: interrupted by SIGTERM\n"


def test_an_error_caused_by_the_same_signal_counts_as_the_signal(handlers: None, capsys: pytest.CaptureFixture[str]) -> None:
    def main() -> int:
        assert process.current is not None
        process.current.received.append(signal.SIGTERM)  # as if handled while a child's death surfaced
        raise RuntimeError("child died")

    assert run(main) == 143
    assert capsys.readouterr().err == "error: interrupted by SIGTERM\n"


def test_an_error_without_a_signal_is_not_hidden(handlers: None) -> None:
    with pytest.raises(RuntimeError, match="a bug"):
        process.run(lambda: (_ for _ in ()).throw(RuntimeError("a bug")))


def test_a_system_exit_after_a_signal_keeps_its_status(handlers: None) -> None:
    def main() -> int:
        assert process.current is not None
        process.current.received.append(signal.SIGINT)
        raise SystemExit(2)

    assert run(main) == 2


def test_a_closed_pipe_ends_quietly(handlers: None) -> None:
    def main() -> int:
        raise BrokenPipeError

    assert run(main) == 128 + signal.SIGPIPE


def test_flushing_into_a_closed_pipe_is_not_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    read, write = os.pipe()

    class Closed(io.StringIO):
        def flush(self) -> None:
            raise BrokenPipeError

        def fileno(self) -> int:
            return write

    monkeypatch.setattr(sys, "stdout", Closed())
    process._quiet_stdout()
    os.write(write, b"x")  # now /dev/null: nothing reaches the pipe
    os.close(write)
    assert os.read(read, 10) == b""
    os.close(read)


# ------------------------------------------------------------------------- children


def test_a_child_runs_in_its_own_group_with_no_input() -> None:
    result = process.run_child(
        [sys.executable, "-c", "import os, sys; print(os.getpgid(0) == os.getpid(), sys.stdin.read() == '')"], capture_output=True, text=True
    )
    assert (result.returncode, result.stdout) == (0, "True True\n")


def test_a_failing_child_with_check_raises() -> None:
    with pytest.raises(subprocess.CalledProcessError):
        process.run_child(["false"], check=True)
    assert process.run_child(["false"]).returncode == 1


@pytest.mark.parametrize("signum", process.STOP_SIGNALS)
def test_a_child_that_died_of_a_stop_signal_is_an_interruption(signum: int) -> None:
    with pytest.raises(Interrupted) as excinfo:
        process.run_child(["bash", "-c", f"kill -{signum} $$"])
    assert excinfo.value.signum == signum


def _signal_soon(signum: int, delay: float = 0.5) -> threading.Timer:
    timer = threading.Timer(delay, os.kill, (os.getpid(), signum))
    timer.start()
    return timer


@pytest.mark.parametrize("signum", process.STOP_SIGNALS)
def test_a_signal_is_passed_to_the_child_which_is_waited_for(
    handlers: None, signum: int, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The child traps the signal, takes a moment to stop (as terraform saves its state), and
    is waited for: its last words are written before Interrupted is raised, and, as it takes
    longer than the quiet time, the command says it waits."""
    monkeypatch.setattr(process, "QUIET_STOP_SECONDS", 0.1)
    process.current = Signals().install()
    saved = tmp_path / "saved"
    # The trap runs once the shell's foreground command ends; that command (a loop of short
    # sleeps, not one long sleep left holding the output pipe) ends as the signal arrives.
    script = f"trap 'sleep 0.3; echo saved > {saved}; exit 0' {signal.Signals(signum).name.removeprefix('SIG')}; while :; do sleep 0.1; done"
    _signal_soon(signum)
    with pytest.raises(Interrupted) as excinfo:
        process.run_child(["bash", "-c", script], what="terraform apply", stdout=subprocess.PIPE, text=True)
    assert excinfo.value.signum == signum
    assert saved.read_text() == "saved\n"
    assert capsys.readouterr().err == f"{signal.Signals(signum).name}: waiting for terraform apply to stop\n"


def test_a_child_that_stops_at_once_adds_no_line(handlers: None, capsys: pytest.CaptureFixture[str]) -> None:
    process.current = Signals().install()
    _signal_soon(signal.SIGTERM, 0.3)
    with pytest.raises(Interrupted):
        process.run_child(["sleep", "10"], what="the synthesis")
    assert capsys.readouterr().err == ""


def test_a_plain_ctrl_c_reaches_the_child_once() -> None:
    """Without the project's handlers (Python's own KeyboardInterrupt)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        _signal_soon(signal.SIGINT)
        started = time.monotonic()
        with pytest.raises(Interrupted):
            process.run_child(["sleep", "10"])
        assert time.monotonic() - started < 5
    finally:
        signal.signal(signal.SIGINT, previous)


def test_later_signals_are_passed_to_the_running_children(handlers: None) -> None:
    signals = Signals().install()
    child = subprocess.Popen(["sleep", "10"], process_group=0)
    signals.children.add(child.pid)
    signals.received.append(signal.SIGINT)  # the first one was handled already
    signals._handle(signal.SIGTERM, None)
    assert child.wait(timeout=5) == -signal.SIGTERM
    signals.children.add(child.pid)  # gone: passing it on is not an error
    signals._handle(signal.SIGTERM, None)
    signals.restore()
    assert signal.getsignal(signal.SIGTERM) is not signals._handle
