"""Rewrite the golden files: the synthesized JSON of the default stacks.

Synthesizes every default stack (state, registry, dev, staging, prod) and a
suffixed copy of dev and writes, under ``tests/golden/``:

- ``<stack>.json``: the stack's ``cdk.tf.json``, keys sorted, two-space indent;
- ``stateful_addresses.json``: sorted ``<stack> <type>.<name>`` of every
  stateful resource (types in :mod:`tools.review.stateful`).

``tests/test_golden.py`` compares a fresh synthesis with these files.  After
a deliberate change, run ``make snapshot`` and review the diff of
``tests/golden`` before committing it.

Usage: ``python -m tools.review.snapshot [golden_dir]``
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from stacks import process
from stacks.config import OVERRIDE_VARIABLES
from tools.review.stateful import stateful_addresses

ROOT = Path(__file__).resolve().parents[2]
GOLDEN_DIR = ROOT / "tests" / "golden"
ADDRESSES_FILE = "stateful_addresses.json"
#: The golden synthesis: the defaults plus a suffixed copy of dev (``order-api-dev-pr42``),
#: which is what the test session synthesizes too.
GOLDEN_OVERRIDES = {"ENVIRONMENT_SUFFIX": "pr42"}


def dumps(data: Any) -> str:
    """The one serialisation of golden files: deterministic and diff-friendly."""
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def synthesize_default(outdir: Path) -> dict[str, dict[str, Any]]:
    """Synthesize the golden stacks into ``outdir``; ``{stack: parsed JSON}``: every default stack
    and a suffixed copy of dev (:data:`GOLDEN_OVERRIDES`)."""
    env = {**os.environ, **dict.fromkeys(OVERRIDE_VARIABLES, ""), **GOLDEN_OVERRIDES, "CDKTF_OUTDIR": str(outdir)}
    result = process.run_child([sys.executable, "main.py"], what="the synthesis", nested=True, cwd=ROOT, env=env)
    if result.returncode != 0:
        raise SystemExit(result.returncode)  # main.py has said why in one line
    return {p.parent.name: json.loads(p.read_text()) for p in sorted((outdir / "stacks").glob("*/cdk.tf.json"))}


def all_stateful_addresses(stacks: dict[str, dict[str, Any]]) -> list[str]:
    return sorted(a for stack, doc in stacks.items() for a in stateful_addresses(stack, doc))


def write_golden(stacks: dict[str, dict[str, Any]], golden_dir: Path) -> list[Path]:
    """Replace the golden files in ``golden_dir`` with ``stacks``; return the files written."""
    golden_dir.mkdir(parents=True, exist_ok=True)
    for stale in golden_dir.glob("*.json"):
        stale.unlink()
    written = []
    for stack, doc in stacks.items():
        path = golden_dir / f"{stack}.json"
        path.write_text(dumps(doc))
        written.append(path)
    path = golden_dir / ADDRESSES_FILE
    path.write_text(dumps(all_stateful_addresses(stacks)))
    written.append(path)
    return written


def main(argv: list[str]) -> int:
    golden_dir = Path(argv[0]) if argv else GOLDEN_DIR
    with tempfile.TemporaryDirectory(prefix="snapshot-") as tmp:
        stacks = synthesize_default(Path(tmp) / "cdktf.out")
    for path in write_golden(stacks, golden_dir):
        print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    print("review the diff (git diff tests/golden) before committing")
    return 0


if __name__ == "__main__":
    process.run(lambda: main(sys.argv[1:]))
