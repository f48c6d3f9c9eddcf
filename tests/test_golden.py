"""Golden files: the synthesized JSON of the default stacks is reviewed, not accidental.

``tests/golden/<stack>.json`` holds the reviewed output of every default
stack (state, registry, dev, staging, prod) and of a suffixed copy of dev
(``order-api-dev-pr42``); ``make snapshot`` rewrites them.  A
difference fails with a summary (resources added, removed and changed, with
the attribute paths), not a dump.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from stacks.app import SHARED_STACKS
from stacks.config import build_app_config
from tests.conftest import Synthesized
from tools.review.snapshot import ADDRESSES_FILE, GOLDEN_DIR, GOLDEN_OVERRIDES, all_stateful_addresses
from tools.review.synth_diff import diff_stacks, render_text

GOLDEN_STACKS = sorted([*SHARED_STACKS, *(env.stack_name for env in build_app_config(GOLDEN_OVERRIDES).environments)])
REGENERATE = "If the change is intended, run `make snapshot` and review the diff of tests/golden before committing."


def golden(stack: str) -> dict[str, Any]:
    path = GOLDEN_DIR / f"{stack}.json"
    if not path.is_file():
        pytest.fail(f"{path.relative_to(GOLDEN_DIR.parent.parent)} is missing. {REGENERATE}")
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def test_golden_files_cover_exactly_the_default_stacks() -> None:
    files = sorted(p.stem for p in GOLDEN_DIR.glob("*.json") if p.name != ADDRESSES_FILE)
    assert files == GOLDEN_STACKS, f"golden files {files} != default stacks {GOLDEN_STACKS}. {REGENERATE}"


def test_session_synth_is_the_golden_synthesis(synth: Synthesized) -> None:
    assert synth.stack_names() == GOLDEN_STACKS


@pytest.mark.parametrize("stack", GOLDEN_STACKS)
def test_synth_matches_golden(synth: Synthesized, stack: str) -> None:
    fresh = synth.doc(stack)
    expected = golden(stack)
    if fresh != expected:
        report = diff_stacks({stack: expected}, {stack: fresh})
        summary = render_text(report) or "(only cdktf metadata differs)"
        pytest.fail(f"{stack} differs from tests/golden/{stack}.json:\n{summary}\n{REGENERATE}", pytrace=False)


def test_stateful_addresses_are_pinned(synth: Synthesized) -> None:
    path: Path = GOLDEN_DIR / ADDRESSES_FILE
    assert path.is_file(), f"{path.name} is missing. {REGENERATE}"
    pinned = json.loads(path.read_text())
    current = all_stateful_addresses({stack: synth.doc(stack) for stack in GOLDEN_STACKS})
    gone = sorted(set(pinned) - set(current))
    new = sorted(set(current) - set(pinned))
    if gone or new:
        lines = [f"  - {a} (no longer synthesized: Terraform would destroy it)" for a in gone]
        lines += [f"  + {a}" for a in new]
        pytest.fail(
            "The addresses of stateful resources changed:\n"
            + "\n".join(lines)
            + "\nRenaming a stateful resource (its construct id or its parent's) destroys it and its data. "
            "If this is deliberate (a new resource, or a move handled with a `moved` block), run `make snapshot`.",
            pytrace=False,
        )
