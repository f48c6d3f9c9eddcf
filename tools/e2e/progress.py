"""A line at least every 30 seconds while a long phase of ``make e2e`` runs.

A phase sends its output to its own log; meanwhile :class:`Ticker` reads that log and
prints, to the terminal, the elapsed time and the resources Terraform has finished so
far (``Creation complete``, ``Modifications complete``, ``Destruction complete``: the
same lines for the cdktf CLI and plain terraform).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from pathlib import Path

#: Seconds between two progress lines of a phase.
EVERY_SECONDS = 30.0
_ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_DONE = {"created": "Creation complete", "changed": "Modifications complete", "destroyed": "Destruction complete"}


def ansi_free(text: str) -> str:
    return _ANSI_RE.sub("", text)


def done_so_far(log_text: str) -> str:
    """``12 created, 1 changed`` (or ``nothing finished yet``) from a phase's log."""
    text = ansi_free(log_text)
    counts = {word: text.count(marker) for word, marker in _DONE.items()}
    said = [f"{count} {word}" for word, count in counts.items() if count]
    return ", ".join(said) or "nothing finished yet"


class Ticker:
    """Writes ``<label> <name> [  30s] <done so far>`` through ``write`` every ``every``
    seconds until stopped."""

    def __init__(
        self, label: str, log: Path, write: Callable[[str], object], *, every: float = EVERY_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.label, self.log, self.write, self.every, self.clock = label, log, write, every, clock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="e2e-progress", daemon=True)
        self._start = clock()

    def line(self) -> str:
        text = self.log.read_text(errors="replace") if self.log.is_file() else ""
        return f"{self.label} [{self.clock() - self._start:5.0f}s] {done_so_far(text)}"

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.write(self.line())

    def __enter__(self) -> Ticker:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
