"""``make cdktn-check``: rehearse the move from cdktf (archived) to CDK Terrain (``cdktn``).

1. Synthesize every stack as the project is, with cdktf (``main.py``).
2. Copy ``main.py`` and ``stacks/``, make the one-line switch in ``stacks/framework.py``
   (``from cdktf import (`` -> ``from cdktn import (``; the copy must have exactly one
   such line), and synthesize the copy with the Python of ``envs/cdktn`` (``cdktn`` and
   ``cdktn-provider-aws``, pinned and hash-locked in ``envs/cdktn/Pipfile.lock``).
3. Compare the two, stack by stack: the same stacks, resources, data sources,
   outputs and values.  Every difference must be in :data:`EXPLAINED`, with its reason;
   anything else fails the check.

Both synthesize each of :data:`CONFIGURATIONS` (every override variable set, so a
developer's ``settings.env`` plays no part): the default stacks (S3 and local state),
and a suffixed copy of dev with Terraform Cloud state.

Everything it writes is under ``.cdktn-check/`` (git-ignored).

Usage: ``python -m tools.port.cdktn_check --python envs/cdktn/.venv/bin/python``
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from stacks import process
from stacks.config import OVERRIDE_VARIABLES
from tools.common import cli

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / ".cdktn-check"
SWITCH = ("from cdktf import (", "from cdktn import (")
#: Configurations synthesized by both frameworks (override variables; the others empty).
CONFIGURATIONS: dict[str, dict[str, str]] = {
    "default": {},
    "copy-cloud": {
        "ENVIRONMENTS": "dev",
        "ENVIRONMENT_SUFFIX": "pr42",
        "STATE_BACKEND": "cloud",
        "TF_CLOUD_ORGANIZATION": "acme",
        "TF_CLOUD_PROJECT": "order-api",
    },
}
#: Differences that the move explains: JSON path -> why.
EXPLAINED = {
    "//.metadata.version": "the framework's version, recorded in its metadata comment (not configuration: Terraform ignores //)",
}


class CheckError(RuntimeError):
    """One line: what failed."""


def switched_copy(dest: Path) -> Path:
    """``main.py`` and ``stacks/`` copied to ``dest``, switched to cdktn."""
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    shutil.copy2(ROOT / "main.py", dest / "main.py")
    shutil.copytree(ROOT / "stacks", dest / "stacks", ignore=shutil.ignore_patterns("__pycache__"))
    framework = dest / "stacks" / "framework.py"
    lines = framework.read_text().splitlines(keepends=True)
    hits = [i for i, line in enumerate(lines) if line.startswith(SWITCH[0])]
    if len(hits) != 1:
        raise CheckError(f"stacks/framework.py must have exactly one line starting {SWITCH[0]!r} (found {len(hits)})")
    lines[hits[0]] = lines[hits[0]].replace(SWITCH[0], SWITCH[1], 1)
    framework.write_text("".join(lines))
    return dest


def synthesize(python: str, project: Path, outdir: Path, overrides: dict[str, str]) -> float:
    """``python main.py`` in ``project`` into ``outdir`` with ``overrides``; the seconds it took."""
    shutil.rmtree(outdir, ignore_errors=True)
    env = {**os.environ, **dict.fromkeys(OVERRIDE_VARIABLES, ""), **overrides}
    env.update(CDKTF_OUTDIR=str(outdir), JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20", PYTHONDONTWRITEBYTECODE="1")
    start = time.monotonic()
    result = process.run_child([os.path.abspath(python), "main.py"], what="the synthesis", cwd=project, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        tail = (result.stderr.strip() or result.stdout.strip()).splitlines()[-1:] or ["no output"]
        raise CheckError(f"synthesis with {python} failed (exit {result.returncode}): {tail[0]}")
    return time.monotonic() - start


def leaves(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """``(path, value)`` of every scalar of a synthesized document."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from leaves(value, f"{path}.{key}" if path else key)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from leaves(value, f"{path}[{index}]")
    else:
        yield path, node


def compare(cdktf_doc: dict[str, Any], cdktn_doc: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """``(path, cdktf value, cdktn value)`` of every value that differs (``None``: absent)."""
    a, b = dict(leaves(cdktf_doc)), dict(leaves(cdktn_doc))
    return [(path, a.get(path), b.get(path)) for path in sorted(set(a) | set(b)) if a.get(path) != b.get(path) or (path in a) != (path in b)]


def summary(doc: dict[str, Any]) -> str:
    resources = sum(len(v) for v in doc.get("resource", {}).values())
    data = sum(len(v) for v in doc.get("data", {}).values())
    return f"{resources} resources, {data} data sources, {len(doc.get('output', {}))} outputs, {sum(1 for _ in leaves(doc))} values"


def check(cdktf_out: Path, cdktn_out: Path) -> tuple[list[str], bool]:
    """The report lines, and whether every difference is explained."""
    stacks_a = sorted(p.name for p in (cdktf_out / "stacks").iterdir())
    stacks_b = sorted(p.name for p in (cdktn_out / "stacks").iterdir())
    if stacks_a != stacks_b:
        return [f"different stacks: cdktf {stacks_a}, cdktn {stacks_b}"], False
    lines, ok = [], True
    for stack in stacks_a:
        doc_a = json.loads((cdktf_out / "stacks" / stack / "cdk.tf.json").read_text())
        doc_b = json.loads((cdktn_out / "stacks" / stack / "cdk.tf.json").read_text())
        found = compare(doc_a, doc_b)
        unexplained = [d for d in found if d[0] not in EXPLAINED]
        ok &= not unexplained
        lines.append(f"{stack}: {summary(doc_a)}; {len(found)} differences, {len(unexplained)} unexplained")
        for path, old, new in found:
            why = EXPLAINED.get(path, "UNEXPLAINED")
            lines.append(f"    {path}: {json.dumps(old)} -> {json.dumps(new)} ({why})")
    return lines, ok


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser("tools.port.cdktn_check", "Synthesize with CDK Terrain and compare with cdktf.")
    parser.add_argument("--python", required=True, help="the Python of the CDK Terrain environment (envs/cdktn)")
    parser.add_argument("--work", type=Path, default=WORK)
    args = parser.parse_args(argv)
    versions = subprocess.run(
        [args.python, "-c", "from importlib.metadata import version as v; print(v('cdktn'), v('cdktn-provider-aws'))"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    if len(versions) != 2:
        print(f"error: {args.python} has no cdktn and cdktn-provider-aws (make cdktn-check installs them)", file=sys.stderr)
        return 1
    print(f"cdktn {versions[0]} with cdktn-provider-aws {versions[1]}; the one-line switch in a copy of stacks/framework.py")
    all_ok = True
    try:
        project = switched_copy(args.work / "project")
        for label, overrides in CONFIGURATIONS.items():
            cdktf_seconds = synthesize(sys.executable, ROOT, args.work / label / "cdktf.out", overrides)
            cdktn_seconds = synthesize(args.python, project, args.work / label / "cdktn.out", overrides)
            lines, ok = check(args.work / label / "cdktf.out", args.work / label / "cdktn.out")
            all_ok &= ok
            settings = " ".join(f"{k}={v}" for k, v in overrides.items()) or "defaults"
            print(f"configuration {label} ({settings}): synth cdktf {cdktf_seconds:.1f}s, cdktn {cdktn_seconds:.1f}s")
            print("\n".join(f"  {line}" for line in lines))
    except CheckError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print("cdktn-check: every difference explained" if all_ok else "cdktn-check: FAILED, unexplained differences above")
    return 0 if all_ok else 1


if __name__ == "__main__":
    process.run(main)
