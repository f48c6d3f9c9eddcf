"""SIGINT and SIGTERM during every command: one line, 130 or 143 (through make too), and no
temporary directory left behind.

Each command is started in a copy of the checkout (its own cdktf.out and settings.env) and
stopped while it is busy: synthesizing, running a child (the cdktf CLI, checkov, git), waiting
on AWS (a loopback port that accepts and never answers), or reading an input that never comes
(a named pipe).  The signal goes to the command's whole process group, as a terminal's Ctrl-C,
as soon as that state shows from outside (/proc): the synthesis's jsii runtime (``node``) or the
child runs, a connection reaches the port, the pipe is being opened.  Only the IAM audit, pure
Python, is given a fixed moment.
"""

from __future__ import annotations

import ast
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from stacks.config import OVERRIDE_VARIABLES
from tests.conftest import ROOT, Synthesized, session

#: Entry points with a signal handling of their own: the emulator server stops on a signal by
#: design, and make e2e stops its emulator and says so (tests/test_e2e_lifecycle.py).
OWN_HANDLING = {"tools/emulator/server.py", "tools/e2e/__main__.py"}


def entry_points() -> list[str]:
    found = []
    for path in sorted((ROOT / "tools").rglob("*.py")):
        if 'if __name__ == "__main__":' in path.read_text() or path.name == "__main__.py":
            found.append(str(path.relative_to(ROOT)))
    return found


def test_every_entry_point_runs_under_the_process_module() -> None:
    """A command that forgets ``process.run`` answers a signal with a traceback."""
    missing = []
    for name in entry_points():
        if name in OWN_HANDLING:
            continue
        tree = ast.parse((ROOT / name).read_text())
        guard = [n for n in tree.body if isinstance(n, ast.If) and "__main__" in ast.unparse(n.test)]
        if not guard or "process.run(" not in ast.unparse(guard[0]):
            missing.append(name)
    assert missing == []
    assert "run()" in (ROOT / "main.py").read_text().rsplit('if __name__ == "__main__":', 1)[1]


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """main.py and tools/ copied (their ROOT is the copy), stacks/ and the environments linked."""
    copy = tmp_path / "checkout"
    copy.mkdir()
    shutil.copy2(ROOT / "main.py", copy / "main.py")
    shutil.copytree(ROOT / "tools", copy / "tools", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("stacks", "node_modules", "cdktf.json", "package.json", "package-lock.json", "tests", "policy"):
        (copy / name).symlink_to(ROOT / name)
    return copy


class Tarpit:
    """An endpoint that accepts connections and never answers; it counts what it accepted."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.accepted = 0


@pytest.fixture(scope="module")
def tarpit() -> Iterator[Tarpit]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    pit = Tarpit(f"http://127.0.0.1:{server.getsockname()[1]}")
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue
            pit.accepted += 1

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield pit
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def environment(tmp_path: Path, endpoint: str | None = None, **extra: str) -> dict[str, str]:
    temp = tmp_path / "tmp"
    temp.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in OVERRIDE_VARIABLES and not k.startswith(("AWS_", "MAKE", "MFLAGS"))}
    env.update(dict.fromkeys(OVERRIDE_VARIABLES, ""), TMPDIR=str(temp), CHECKPOINT_DISABLE="1", JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20")
    # Nothing reaches past loopback, whatever phase the signal finds the command in.
    env.update(HTTPS_PROXY="http://127.0.0.1:9", HTTP_PROXY="http://127.0.0.1:9", NO_PROXY="127.0.0.1,localhost")
    if endpoint:
        env.update(AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_MAX_ATTEMPTS="1", AWS_REGION="us-east-1")
        env.update(AWS_CONFIG_FILE=str(tmp_path / "none"), AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"), AWS_EC2_METADATA_DISABLED="true")
    env.update(extra)
    return env


#: When a started command counts as busy (it is then sent the signal).
Busy = Callable[[subprocess.Popen[str]], bool]


def running(name: str) -> Busy:
    """Busy once a process named ``name`` (or with ``name`` among its arguments) runs in the
    command's session: ``node`` is the jsii runtime of a synthesis, ``checkov.main`` a scan."""
    return lambda child: any(name == comm or name in argv for _, comm, argv in session(child.pid))


def reading(path: Path) -> Busy:
    """Busy once a process of the command's session waits on its input: blocked opening a named
    pipe (the kernel's ``wait_for_partner``), or holding ``path`` open."""

    def waits(pid: int) -> bool:
        with contextlib.suppress(OSError):
            if (Path(f"/proc/{pid}/wchan").read_text()) == "wait_for_partner":
                return True
            return any(os.readlink(fd) == str(path) for fd in Path(f"/proc/{pid}/fd").iterdir())
        return False

    return lambda child: any(waits(pid) for pid, _, _ in session(child.pid))


def waiting_on(pit: Tarpit) -> Busy:
    """Busy once a connection reaches ``pit`` after this call: the command waits on AWS."""
    before = pit.accepted
    return lambda _child: pit.accepted > before


def after(seconds: float) -> Busy:
    """Busy after ``seconds``: for a step nothing outside the process can see (a pure-Python audit)."""
    deadline = time.monotonic() + seconds
    return lambda _child: time.monotonic() >= deadline


def stop_while_busy(args: list[str], cwd: Path, env: dict[str, str], signum: int, busy: Busy) -> tuple[int, str]:
    """Run ``args`` in a process group of its own, send ``signum`` to the group as soon as it is
    ``busy`` (polled; at most a minute), and return its status and standard error."""
    child = subprocess.Popen(
        args, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    deadline = time.monotonic() + 60
    while child.poll() is None and not busy(child) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert child.poll() is None, f"{args} ended before the signal: {child.stderr.read() if child.stderr else ''}"
    assert time.monotonic() < deadline, f"{args} never got busy"
    os.killpg(child.pid, signum)
    _, err = child.communicate(timeout=120)
    return child.returncode, err


def assert_one_line(status: int, err: str, signum: int, tmp_path: Path, *, through_make: bool = False) -> None:
    name = signal.Signals(signum).name
    assert "Traceback" not in err and "Exception ignored" not in err, err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and lines[0].startswith(f"error: interrupted by {name}"), err
    assert status == (-signum if through_make else 128 + signum), (status, err)
    assert list((tmp_path / "tmp").iterdir()) == [], "a temporary directory was left behind"


SIGNALS = [signal.SIGINT, signal.SIGTERM]


def fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("signum", SIGNALS)
def test_synth(checkout: Path, tmp_path: Path, signum: int) -> None:
    status, err = stop_while_busy([sys.executable, "main.py"], checkout, environment(tmp_path), signum, running("node"))
    assert_one_line(status, err, signum, tmp_path)


#: Each entry point in the state where it waits longest, with one of the two signals (the
#: handling is the same code for both: stacks/process.py; test_process.py covers both).
WAITING_ON_AWS = [
    ("tools.ops.deploy", ["order-api-dev-pr42", "--skip-synth"], {}, signal.SIGINT),
    ("tools.ops.deploy", ["order-api-dev-pr42", "--skip-synth", "--outputs-only"], {}, signal.SIGTERM),
    ("tools.ops.release", ["order-api-dev", "v1", "--skip-synth"], {}, signal.SIGTERM),
    ("tools.ops.release", ["order-api-staging", "--from", "order-api-dev", "--skip-synth"], {}, signal.SIGINT),
    ("tools.ops.teardown", ["order-api-staging", "--skip-synth"], {"CONFIRM": "order-api-staging"}, signal.SIGINT),
]


@pytest.mark.parametrize(("module", "args", "extra", "signum"), WAITING_ON_AWS, ids=["deploy", "outputs", "release", "promote", "teardown"])
def test_a_command_waiting_on_aws(
    checkout: Path, tmp_path: Path, synth: Synthesized, tarpit: Tarpit, module: str, args: list[str], extra: dict[str, str], signum: int
) -> None:
    command = [sys.executable, "-m", module, *args, "--outdir", str(synth.outdir)]
    status, err = stop_while_busy(command, checkout, environment(tmp_path, tarpit.url, **extra), signum, waiting_on(tarpit))
    assert_one_line(status, err, signum, tmp_path)


def test_db_users_waiting_on_aws(checkout: Path, tmp_path: Path, synth: Synthesized, tarpit: Tarpit) -> None:
    command = [sys.executable, "-m", "tools.ops.db_users", "order-api-dev", "--synth-dir", str(synth.stacks_dir)]
    status, err = stop_while_busy(command, checkout, environment(tmp_path, tarpit.url), signal.SIGTERM, waiting_on(tarpit))
    assert_one_line(status, err, signal.SIGTERM, tmp_path)


SYNTHESIZING = {
    "tools.ops.deploy": (["order-api-dev"], signal.SIGTERM),
    "tools.ops.bootstrap": ([], signal.SIGINT),
    "tools.port.hcl_export": (["--out", "{tmp}/hcl.out"], signal.SIGTERM),
    "tools.review.synth_diff": (["--repo", str(ROOT), "--base=HEAD"], signal.SIGINT),
    "tools.review.snapshot": (["{tmp}/golden"], signal.SIGTERM),
    "tools.review.diagram": (["--check"], signal.SIGINT),
    "tools.dev.bench": (["1"], signal.SIGTERM),
    "tools.ops.github_vars": ([], signal.SIGTERM),
}


@pytest.mark.parametrize("module", sorted(SYNTHESIZING))
def test_a_command_while_it_synthesizes(checkout: Path, tmp_path: Path, module: str) -> None:
    args, signum = SYNTHESIZING[module]
    args = [arg.replace("{tmp}", str(tmp_path)) for arg in args]
    status, err = stop_while_busy([sys.executable, "-m", module, *args], checkout, environment(tmp_path), signum, running("node"))
    assert_one_line(status, err, signum, tmp_path)
    assert not (checkout / "settings.env").exists() and not (tmp_path / "hcl.out").exists()


def test_policy_scan_while_checkov_runs(checkout: Path, tmp_path: Path, synth: Synthesized) -> None:
    command = [sys.executable, "-m", "tools.review.policy_scan", str(synth.stacks_dir)]
    status, err = stop_while_busy(command, checkout, environment(tmp_path), signal.SIGINT, running("checkov.main"))
    assert_one_line(status, err, signal.SIGINT, tmp_path)


def test_cdktn_check_while_its_synthesis_runs(checkout: Path, tmp_path: Path) -> None:
    slow = tmp_path / "slow-python"
    slow.write_text("#!/bin/sh\nexec sleep 30\n")
    slow.chmod(0o755)
    command = [sys.executable, "-m", "tools.port.cdktn_check", "--python", str(slow), "--work", str(tmp_path / "work")]
    status, err = stop_while_busy(command, checkout, environment(tmp_path), signal.SIGTERM, running("sleep"))
    assert_one_line(status, err, signal.SIGTERM, tmp_path)


@pytest.mark.parametrize(("module", "signum"), [("tools.common.flatten_outputs", signal.SIGINT), ("tools.review.pr_comment", signal.SIGTERM)])
def test_a_command_reading_an_input_that_never_comes(checkout: Path, tmp_path: Path, module: str, signum: int) -> None:
    pipe = fifo(tmp_path / "input")
    args = [str(pipe), "order-api-dev"] if module == "tools.common.flatten_outputs" else [str(tmp_path / "none.md"), "synth-diff", str(pipe)]
    status, err = stop_while_busy([sys.executable, "-m", module, *args], checkout, environment(tmp_path), signum, reading(pipe))
    assert_one_line(status, err, signum, tmp_path)


def test_hcl_check_reading_an_export_that_never_comes(checkout: Path, tmp_path: Path) -> None:
    python = ROOT / "envs" / "hcl" / ".venv" / "bin" / "python"
    if not python.exists():
        pytest.skip("needs envs/hcl (make test installs it)")
    out = tmp_path / "hcl.out"
    (out / "stacks" / "order-api-dev").mkdir(parents=True)
    (out / "json" / "order-api-dev").mkdir(parents=True)
    hcl = fifo(out / "stacks" / "order-api-dev" / "cdk.tf")
    fifo(out / "json" / "order-api-dev" / "cdk.tf.json")
    status, err = stop_while_busy([str(python), "-m", "tools.port.hcl_check", "--out", str(out)], checkout, environment(tmp_path), signal.SIGINT, reading(hcl))
    assert_one_line(status, err, signal.SIGINT, tmp_path)


def test_cli_check_while_it_clones(checkout: Path, tmp_path: Path) -> None:
    """A slow ``git`` first on PATH: the fresh-clone check is stopped in its first step."""
    shims = tmp_path / "bin"
    shims.mkdir()
    (shims / "git").write_text("#!/bin/sh\nexec sleep 30\n")
    (shims / "git").chmod(0o755)
    env = environment(tmp_path)
    env["PATH"] = f"{shims}{os.pathsep}{env['PATH']}"
    status, err = stop_while_busy([sys.executable, "-m", "tools.dev.cli_check"], checkout, env, signal.SIGTERM, running("sleep"))
    assert_one_line(status, err, signal.SIGTERM, tmp_path)


def test_image_push_waiting_on_the_emulator(checkout: Path, tmp_path: Path, tarpit: Tarpit) -> None:
    command = [sys.executable, "-m", "tools.emulator.image", "latest"]
    status, err = stop_while_busy(command, checkout, environment(tmp_path, tarpit.url), signal.SIGINT, waiting_on(tarpit))
    assert_one_line(status, err, signal.SIGINT, tmp_path)


def test_iam_audit_while_it_audits(checkout: Path, tmp_path: Path) -> None:
    status, err = stop_while_busy([sys.executable, "-m", "tools.review.iam_audit"], checkout, environment(tmp_path), signal.SIGTERM, after(0.8))
    assert_one_line(status, err, signal.SIGTERM, tmp_path)


def test_the_emulator_stops_on_a_signal_and_leaves_no_session(checkout: Path, tmp_path: Path) -> None:
    """make emulator serves until stopped: a signal is its normal end (exit 0, one line), the
    session file goes, and so does the moto server it started."""
    env = environment(tmp_path)
    child = subprocess.Popen(
        [sys.executable, "-m", "tools.emulator"],
        cwd=checkout,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert child.stdout is not None
    first = child.stdout.readline()
    if not first.startswith("emulator: moto"):
        child.wait(timeout=60)
        pytest.skip(f"no emulator here: {child.stderr.read().strip() if child.stderr else first}")
    server = (checkout / ".emulator" / "moto.url").read_text().strip()
    assert (checkout / ".emulator" / "env").is_file()
    os.killpg(child.pid, signal.SIGTERM)
    _, err = child.communicate(timeout=60)
    assert (child.returncode, err) == (0, "emulator: stopped\n")
    assert not (checkout / ".emulator" / "env").exists()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", int(server.rsplit(":", 1)[1])), timeout=2).close()


def test_every_entry_point_is_stopped_by_a_test_here() -> None:
    tested = (
        {m for m, *_ in WAITING_ON_AWS}
        | set(SYNTHESIZING)
        | {
            "tools.ops.db_users",
            "tools.review.policy_scan",
            "tools.port.cdktn_check",
            "tools.common.flatten_outputs",
            "tools.review.pr_comment",
            "tools.port.hcl_check",
            "tools.dev.cli_check",
            "tools.emulator.image",
            "tools.review.iam_audit",
            "tools.emulator.__main__",
        }
    )
    # make clean removes directories and asks nothing: it cannot be caught waiting; its
    # handling is the same process.run (test_every_entry_point_runs_under_the_process_module).
    expected = {name.removesuffix(".py").replace("/", ".") for name in entry_points() if name not in OWN_HANDLING} - {"tools.dev.clean"}
    assert expected - tested == set()


@pytest.mark.parametrize(
    ("target", "variables", "signum"),
    [("synth", [], signal.SIGINT), ("hcl", [], signal.SIGTERM), ("teardown", ["STACK=order-api-staging", "CONFIRM=order-api-staging"], signal.SIGINT)],
)
def test_through_make(checkout: Path, tmp_path: Path, target: str, variables: list[str], signum: int) -> None:
    """make stops too: its status is the signal's (130 or 143 in a shell), and the one line is ours."""
    (checkout / "Makefile").write_text((ROOT / "Makefile").read_text())
    for name in (".venv", ".tools", "envs"):
        (checkout / name).symlink_to(ROOT / name)
    (checkout / "Pipfile.lock").symlink_to(ROOT / "Pipfile.lock")
    env = environment(tmp_path)
    status, err = stop_while_busy(["make", "--no-print-directory", target, *variables], checkout, env, signum, running("node"))
    assert_one_line(status, err, signum, tmp_path, through_make=True)
