#!/usr/bin/env python
"""Synthesize every stack of the order API to ``cdktf.out/stacks/<stack>/cdk.tf.json``.

This is the only place that reads configuration: the override variables
(README, "Configuration") from the environment, or else from the git-ignored
settings file ``settings.env`` at the project root.  A configuration error
prints one line to stderr and exits with status 2 before anything is written.
Stacks are synthesized into a scratch directory next to the output and
published only when all of them succeeded, by an atomic swap under a lock, so
a failed, interrupted or concurrent run never leaves a mix, a half-written
tree, or a moment without output.  Only an absent or empty directory, or an
earlier output of the project (it carries a stamp file), is ever replaced:
anything else that ``CDKTF_OUTDIR`` names is refused in one line
(:mod:`stacks.output_dir`).  SIGINT and SIGTERM end the run with one
line, status 130 or 143, and nothing left behind (scratch directory, the jsii
runtime's temporary files, its ``node`` process).
"""

from __future__ import annotations

import inspect
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, TextIO

from stacks import output_dir, process
from stacks.config import OVERRIDE_VARIABLES, AppConfig, ConfigError, build_app_config, decode_settings, misspelt, parse_settings

EXIT_CONFIG_ERROR = 2
EXIT_SYNTH_ERROR = 3
ROOT = Path(__file__).resolve().parent
#: Git-ignored file of override settings (``NAME=value`` lines); environment variables win.
SETTINGS_FILE = ROOT / "settings.env"


#: Set once the new output is in place (a signal may still arrive afterwards).
_published = False
#: The signal handlers of this run (:func:`run`).
_signals: process.Signals | None = None


def settings_text(settings_file: Path) -> str | None:
    """The settings file's text (UTF-8; a byte order mark dropped), or None without one.
    Raises :class:`ConfigError` (one line naming the file) when it is not a regular file
    (a directory, a device, a pipe) or cannot be read."""
    if not settings_file.exists() and not settings_file.is_symlink():
        return None
    if not settings_file.is_file():
        kind = "a directory" if settings_file.is_dir() else "a broken link" if not settings_file.exists() else "not a regular file"
        raise ConfigError(settings_file.name, kind, "a regular file of NAME=value lines, or none")
    try:
        data = settings_file.read_bytes()
    except OSError as error:
        raise ConfigError(settings_file.name, error.strerror or type(error).__name__, "a settings file this user can read, or none") from None
    return decode_settings(data, settings_file.name)


def read_overrides(environ: Mapping[str, str], settings_file: Path | None = None) -> dict[str, str | None]:
    """Each override variable from ``environ``, else from the settings file (default :data:`SETTINGS_FILE`)."""
    settings_file = settings_file or SETTINGS_FILE
    text = settings_text(settings_file)
    settings = parse_settings(text, settings_file.name) if text is not None else {}
    return {name: environ[name] if name in environ else settings.get(name) for name in OVERRIDE_VARIABLES}


@contextmanager
def _locked(outdir: Path) -> Iterator[None]:
    """Exclusive lock (``.<outdir>.lock`` beside it) while the output is swapped."""
    import fcntl

    with open(outdir.with_name(f".{outdir.name}.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two directories (Linux ``renameat2(RENAME_EXCHANGE)``); False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    return renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


def publish(scratch: Path, outdir: Path) -> None:
    """Replace ``outdir`` with the freshly synthesized ``scratch`` directory.

    Under a lock, so concurrent synths publish one after the other; by an atomic
    exchange where the platform has one (then ``outdir`` always exists), else by
    two renames.  ``scratch`` holds the previous output afterwards and is removed.
    Only an absent or empty ``outdir`` or an output of the project is replaced
    (:mod:`stacks.output_dir`, checked again under the lock); else
    :class:`~stacks.output_dir.NotOurs`.
    """
    global _published
    blocked = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
    try:
        with _locked(outdir):
            output_dir.check_replaceable(outdir, "CDKTF_OUTDIR")
            output_dir.stamp(scratch)
            if not outdir.exists():
                scratch.rename(outdir)
            elif not _exchange(scratch, outdir):
                old = scratch.with_name(scratch.name + ".old")
                outdir.rename(old)
                scratch.rename(outdir)
                old.rename(scratch)
            _published = True
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, blocked)


class _HeldRuntimeErrors:
    """``sys.stderr`` while synthesizing.  What the jsii runtime's relay thread (jsii, pinned
    with cdktf, names it ``process.stderr_sink``) prints as text, which it does only for the
    runtime's own failure messages, is held; :func:`run` shows it at the end unless the run
    was interrupted (then the runtime died of the same signal, and its lines are noise).
    Everything else, the relayed output of the stacks included, passes straight through."""

    def __init__(self, real: TextIO) -> None:
        self.real = real
        self.held: list[str] = []

    def write(self, text: str) -> int:
        if threading.current_thread().name == "process.stderr_sink":
            self.held.append(text)
            return len(text)
        return self.real.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def _jsii_node() -> Any:
    """jsii's handle on its runtime, or None before the runtime answered.  jsii (pinned with
    cdktf) keeps it on ``kernel.provider._process``, a memoized property that starts a runtime
    when first read: its memo is read here without reading the property, so that clean-up after
    a signal that came while the runtime started never starts another."""
    if "jsii._runtime" not in sys.modules:
        return None
    provider = getattr(sys.modules["jsii._runtime"].kernel, "provider", None)
    memo = inspect.getattr_static(provider, "_process", None)
    if isinstance(memo, property) and memo.fget is not None:
        stored = inspect.getclosurevars(memo.fget).nonlocals.get("stored") or [None]
        return stored[0]
    return memo


def _jsii_process() -> subprocess.Popen[bytes] | None:
    """The jsii runtime's ``node`` process (``_process`` of :func:`_jsii_node`), or None."""
    return getattr(_jsii_node(), "_process", None)


def _signal_that_ended_the_runtime() -> int | None:
    """SIGINT or SIGTERM when the runtime's ``node`` process died of one: a signal to the
    whole process group reached it first, and its end surfaced here as an error."""
    node = _jsii_process()
    try:
        status = node.wait(timeout=2) if node is not None else None
    except subprocess.TimeoutExpired:
        return None
    return -status if status is not None and -status in process.STOP_SIGNALS else None


def _stop_jsii(*, graceful: bool) -> None:
    """End the jsii runtime's ``node`` process: its own ``stop`` when ``graceful``, else
    terminate it (a terminal's Ctrl-C may have ended it already)."""
    node = _jsii_node()
    child = getattr(node, "_process", None)
    if child is None:
        return
    if graceful and child.poll() is None:
        node.stop()
        return
    if child.poll() is None:
        child.terminate()
        try:
            child.wait(timeout=5)
        except Exception:
            child.kill()
    node._ctx_stack.close()


def _running(pid: int) -> bool:
    """Whether ``pid`` still runs (an ended process not yet reaped does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def _end_descendants(root: int | None = None, timeout: float = 5.0) -> None:
    """End every process this run started, and theirs, before the private temporary directory
    goes, so that none writes into it afterwards or outlives the run: a jsii runtime interrupted
    while it starts is not known to jsii yet (it keeps the handle once the runtime answered), and
    a signal sent to this process alone never reached it.  They are terminated, and killed after
    ``timeout`` seconds.  ``root``: another process than this one (whose descendants it reaps
    only where they are its children)."""
    left = process.descendants(os.getpid() if root is None else root)
    for signum, seconds in ((signal.SIGTERM, timeout), (signal.SIGKILL, 1.0)):
        for pid in left:
            with suppress(ProcessLookupError):
                os.kill(pid, signum)
        deadline = time.monotonic() + seconds
        while left and time.monotonic() < deadline:
            with suppress(ChildProcessError):
                while os.waitpid(-1, os.WNOHANG)[0]:
                    pass
            left = [pid for pid in left if _running(pid)]
            time.sleep(0.02 if left else 0)


def synthesize(config: AppConfig, outdir: Path) -> int:
    """Synthesize into a scratch directory beside ``outdir`` and publish it."""
    # Imported only after validation: loading the provider takes a moment.
    from stacks.app import build_app

    outdir.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{outdir.name}.", dir=outdir.parent))
    try:
        scratch.chmod(0o755)
        try:
            build_app(config, outdir=str(scratch)).synth()
        except RuntimeError as error:  # jsii surfaces validation failures as RuntimeError
            if (signum := _signal_that_ended_the_runtime()) is not None:
                raise process.Interrupted(signum) from None
            detail = " | ".join(line.strip() for line in str(error).splitlines() if line.strip())
            print(f"error: synthesis failed: {detail}", file=sys.stderr)
            return EXIT_SYNTH_ERROR
        publish(scratch, outdir)
        return 0
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def main() -> int:
    # Absolute, but a symbolic link stays one (it is refused, never followed).
    outdir = Path(os.path.abspath(os.environ.get("CDKTF_OUTDIR") or "cdktf.out"))
    try:
        overrides = read_overrides(os.environ)
        config = build_app_config(overrides)
        output_dir.check_replaceable(outdir, "CDKTF_OUTDIR")
    except (ConfigError, output_dir.NotOurs) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_CONFIG_ERROR
    for warning in misspelt(os.environ) + [f"warning: {w}" for w in config.warnings]:
        print(warning, file=sys.stderr)
    try:
        return synthesize(config, outdir)
    except output_dir.NotOurs as error:  # it changed while the stacks were synthesized
        print(f"error: {error}", file=sys.stderr)
        return EXIT_CONFIG_ERROR
    except OSError as error:
        print(f"error: cannot write the synthesis to {outdir} ({error.strerror or error}): check CDKTF_OUTDIR", file=sys.stderr)
        return EXIT_SYNTH_ERROR


def run() -> None:
    """Entry point: :func:`main` with clean signal handling (see the module docstring and
    :mod:`stacks.process`).

    Every temporary file of the run (the jsii runtime's and its ``node`` kernel's)
    goes to a private directory that is removed at the end, however the run ends.
    """
    global _published, _signals
    _published = False
    _signals = signals = process.Signals().install()
    private_tmp = tempfile.mkdtemp(prefix="order-api-synth-")
    os.environ["TMPDIR"] = private_tmp
    tempfile.tempdir = None
    stderr = sys.stderr
    sys.stderr = held = _HeldRuntimeErrors(stderr)
    stop: process.Interrupted | None = None
    try:
        code = main()
    except process.Interrupted as signalled:
        stop, code = signalled, signalled.status
    except Exception:
        signum = _signal_that_ended_the_runtime()
        if signum is None:
            raise
        stop = process.Interrupted(signum)
        code = stop.status
    finally:
        signals.quiet()
        _stop_jsii(graceful=not signals.received)
        _end_descendants()
        shutil.rmtree(private_tmp, ignore_errors=True)
        sys.stderr = stderr
        if stop is None:
            stderr.writelines(held.held)
    if stop is None:
        sys.exit(code)
    outcome = "the new output had been published" if _published else "nothing was published"
    if process.says_interruptions():
        print(f"{stop.line()}; {outcome}", file=sys.stderr)
    sys.stderr.flush()
    # Skip interpreter shutdown: jsii's exit hook would talk to the ended runtime.
    os._exit(code)


if __name__ == "__main__":
    run()
