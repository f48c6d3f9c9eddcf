"""Output directories the project may replace, and nothing else.

Synthesis (``main.py``, ``CDKTF_OUTDIR``), the HCL export (``hcl.out``) and ``make
clean`` replace or delete a whole directory.  They do so only when the directory
is absent, empty, or was written by the project: it holds the stamp file
:data:`STAMP`, which every output gets before it is published.  Anything else
(a folder of the user's, the checkout, ``terraform-state/``, a file, a symlink)
is refused with one line naming the variable or option that pointed there.

A cdktf output written before the stamp existed (only ``manifest.json`` and
``stacks/``) also counts as the project's, so an existing checkout keeps working.
``make clean`` runs it without the project's environment: it needs only the standard
library and the configuration package.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from stacks.config.state import LOCAL_STATE_DIR

#: File in every output directory the project writes.
STAMP = ".order-api-output"
STAMP_TEXT = "Written by the order API project's synthesis; make clean or the next synthesis replaces this directory.\n"
#: What a cdktf output holds (an output from before the stamp: exactly these).
_CDKTF_ENTRIES = frozenset({"manifest.json", "stacks"})


class NotOurs(ValueError):
    """The path holds something the project did not write; ``str()`` is one line."""


def stamp(directory: Path) -> None:
    """Mark ``directory`` as an output of the project."""
    (directory / STAMP).write_text(STAMP_TEXT)


def _legacy_cdktf_output(directory: Path, entries: set[str]) -> bool:
    if entries != _CDKTF_ENTRIES or not (directory / "stacks").is_dir() or (directory / "stacks").is_symlink():
        return False
    try:
        manifest = json.loads((directory / "manifest.json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and isinstance(manifest.get("stacks"), dict)


def why_not_ours(path: Path) -> str | None:
    """Why ``path`` may not be replaced, or None when it is absent, an empty directory or
    an output of the project."""
    if path.name == LOCAL_STATE_DIR:
        return f"is where the local state lives ({LOCAL_STATE_DIR}/ beside the output), never an output directory"
    if path.is_symlink():
        return "is a symbolic link"
    if not path.exists():
        return None
    if not path.is_dir():
        return "is a file, not an output directory"
    entries = {entry.name for entry in path.iterdir()}
    stamped = (path / STAMP).is_file() and not (path / STAMP).is_symlink()
    if not entries or stamped or _legacy_cdktf_output(path, entries):
        return None
    return f"holds files the project did not write (no {STAMP} stamp)"


def check_replaceable(path: Path, variable: str) -> None:
    """Raise :class:`NotOurs` (one line naming ``variable``) unless the project may replace ``path``."""
    reason = why_not_ours(path)
    if reason is not None:
        raise NotOurs(f"{variable}={str(path)!r} {reason}: name a new or empty directory (nothing was written or deleted)")


def remove(path: Path, variable: str) -> bool:
    """Delete ``path`` if the project may (:func:`check_replaceable`); whether it existed."""
    check_replaceable(path, variable)
    if not path.exists():
        return False
    shutil.rmtree(path)
    return True
