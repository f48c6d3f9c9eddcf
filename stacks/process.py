"""How every command of the project ends when it is stopped: one line, the signal's status.

``main.py`` and each tool run their work under :func:`run` (or, for ``main.py``, under
:class:`Signals` directly):

- the first SIGINT or SIGTERM raises :class:`Interrupted` (a ``KeyboardInterrupt``, so
  ``with`` blocks and ``finally`` clauses clean up: temporary directories go); later ones
  never interrupt the clean-up, they are passed on to the child processes still running;
- the command prints ``error: interrupted by SIGTERM`` (with what the interrupted step
  adds) and exits 128 + the signal's number: 130 for SIGINT, 143 for SIGTERM, which make
  reports as its own status;
- a child (terraform, the cdktf CLI, ``main.py``) runs in a process group of its own
  (:func:`run_child`): the signal reaches it exactly once, forwarded, and the command waits
  for it to stop (terraform then writes its state and releases its lock) instead of
  killing it;
- output to a closed pipe (``make bootstrap | head``) ends quietly.

Standard library only: ``make clean`` runs it without the project's environment.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
#: Seconds a signalled child may take to stop before the command says it is waiting for it.
QUIET_STOP_SECONDS = 3.0
#: Set for a command of the project that another one runs (:func:`run_child` with ``nested``):
#: on a signal the outer command says the one line, the inner one stays silent.
NESTED = "ORDER_API_NESTED"


def says_interruptions() -> bool:
    """Whether this command prints the line of an interruption (not when it runs nested)."""
    return os.environ.get(NESTED) != "1"


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived.  A ``KeyboardInterrupt``, so no ``except Exception`` swallows
    it and code that handles Ctrl-C handles SIGTERM the same way."""

    def __init__(self, signum: int, detail: str = "") -> None:
        super().__init__(signum)
        self.signum = signum
        #: What the interrupted step adds to the one line (``; it goes on in ECS: ...``).
        self.detail = detail

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name

    @property
    def status(self) -> int:
        return 128 + self.signum

    def line(self) -> str:
        return f"error: interrupted by {self.name}{self.detail}"


def interrupted_by(error: BaseException) -> Interrupted:
    """``error`` as an :class:`Interrupted` (a plain ``KeyboardInterrupt`` is a SIGINT)."""
    return error if isinstance(error, Interrupted) else Interrupted(signal.SIGINT)


class Signals:
    """SIGINT and SIGTERM handlers: the first signal raises :class:`Interrupted`; every later
    one (and any after :meth:`quiet`) is only recorded and passed on to the running children."""

    def __init__(self) -> None:
        self.received: list[int] = []
        self.raising = True
        self.children: set[int] = set()
        self._previous: dict[int, Any] = {}

    def install(self) -> Signals:
        for signum in STOP_SIGNALS:
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def quiet(self) -> None:
        """From now on a signal never raises: clean-up runs to its end."""
        self.raising = False

    def restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        self.received.append(signum)
        if self.raising and len(self.received) == 1:
            raise Interrupted(signum)
        for pgid in list(self.children):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signum)


#: The handlers of the running command (None outside :func:`run`).
current: Signals | None = None


def _quiet_stdout() -> None:
    """Flush standard output; a reader that went away (a closed pipe) is not an error."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def run(main: Callable[[], int]) -> NoReturn:
    """Run a command's ``main`` and exit with its status, or with the signal's (see the module
    docstring).  ``main`` may catch :class:`Interrupted` itself to say more and return a status."""
    global current
    current = signals = Signals().install()
    stop: Interrupted | None = None
    try:
        code = main()
    except Interrupted as signalled:
        stop, code = signalled, signalled.status
    except BrokenPipeError:
        code = 128 + signal.SIGPIPE
    except BaseException as error:
        if not signals.received or isinstance(error, SystemExit):
            raise
        # A child died of the same signal before this process handled it (a group signal).
        stop = Interrupted(signals.received[0])
        code = stop.status
    finally:
        signals.quiet()
    if stop is not None and says_interruptions():
        print(stop.line(), file=sys.stderr)
    _quiet_stdout()
    sys.exit(code)


@contextlib.contextmanager
def _registered(pgid: int) -> Iterator[None]:
    if current is not None:
        current.children.add(pgid)
    try:
        yield
    finally:
        if current is not None:
            current.children.discard(pgid)


def run_child(args: Sequence[str], *, what: str | None = None, nested: bool = False, **kwargs: Any) -> subprocess.CompletedProcess[Any]:
    """``subprocess.run(args, **kwargs)`` with the child in a process group of its own and its
    standard input closed (unless ``stdin`` says otherwise).  On SIGINT or SIGTERM the signal
    is passed to that group, the child is waited for (``what`` names it in the line that says
    so), and :class:`Interrupted` is raised once it has stopped.  ``nested``: the child is a
    command of the project, which then leaves the interruption's line to this one (and whose
    exit status 130 or 143 means it was interrupted)."""
    check = kwargs.pop("check", False)
    if nested:
        kwargs["env"] = {**(kwargs.get("env") or os.environ), NESTED: "1"}
    kwargs.setdefault("stdin", subprocess.DEVNULL)
    if kwargs.pop("capture_output", False):
        kwargs["stdout"] = kwargs["stderr"] = subprocess.PIPE
    with subprocess.Popen(args, process_group=0, **kwargs) as child, _registered(child.pid):
        try:
            out, err = child.communicate()
        except KeyboardInterrupt as error:
            stop = interrupted_by(error)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child.pid, stop.signum)
            try:
                child.communicate(timeout=QUIET_STOP_SECONDS)
            except subprocess.TimeoutExpired:
                # A long stop (terraform saving its state): say why the command is still there.
                print(f"{stop.name}: waiting for {what or os.path.basename(str(args[0]))} to stop", file=sys.stderr, flush=True)
                child.communicate()
            raise stop from None
    stopped_by = -child.returncode if child.returncode < 0 else child.returncode - 128 if nested else 0
    if stopped_by in STOP_SIGNALS:
        # It died of (or, nested, ended on) a SIGINT or SIGTERM that reached it, not through this process.
        raise Interrupted(stopped_by)
    if check and child.returncode:
        raise subprocess.CalledProcessError(child.returncode, args, out, err)
    return subprocess.CompletedProcess(args, child.returncode, out, err)


def descendants(root: int) -> list[int]:
    """Process ids below ``root``, parents first (Linux ``/proc``; empty elsewhere)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(stat.parent.name))
    found, queue = [], [root]
    while queue:
        for child in children.get(queue.pop(0), []):
            found.append(child)
            queue.append(child)
    return found
