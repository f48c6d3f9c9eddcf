"""Start moto (:mod:`tools.emulator.server`) in a subprocess and always stop it.

The server runs in its own session, so a Ctrl-C in the terminal reaches the
harness, which then stops it; SIGTERM to the harness does the same (see
:func:`tools.e2e.lifecycle.main`).  Its output goes to a log file.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_SECONDS = 90
STOP_TIMEOUT_SECONDS = 10


class EmulatorError(RuntimeError):
    """The emulator did not start."""


@contextmanager
def running(ready_file: Path, log_file: Path, env: Mapping[str, str]) -> Iterator[str]:
    """Yield the URL of a fresh moto server on 127.0.0.1; stop it however the block ends."""
    ready_file.unlink(missing_ok=True)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "tools.emulator.server", str(ready_file)],
            cwd=ROOT,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield _wait_ready(process, ready_file, log_file)
    finally:
        stop(process)


def _wait_ready(process: subprocess.Popen[bytes], ready_file: Path, log_file: Path) -> str:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not ready_file.is_file():
        if process.poll() is not None:
            raise EmulatorError(f"moto exited with status {process.returncode} before listening (see {log_file})")
        if time.monotonic() > deadline:
            raise EmulatorError(f"moto did not listen within {START_TIMEOUT_SECONDS} s (see {log_file})")
        time.sleep(0.1)
    url = ready_file.read_text().strip()
    if not url.startswith("http://127.0.0.1:"):
        raise EmulatorError(f"moto reported {url!r}, not a loopback URL")
    return url


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL after :data:`STOP_TIMEOUT_SECONDS`."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
