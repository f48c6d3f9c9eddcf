"""``make clean``: remove build output and caches, never anything of the user's.

The output directories (``cdktf.out``, or where ``CDKTF_OUTDIR`` points, and
``hcl.out``) go only when they are outputs of the project (:mod:`stacks.output_dir`);
if one is not, nothing at all is removed and one line says why.  Caches and the
scratch directories of interrupted runs are the project's by name.
``terraform-state/`` and ``settings.env`` are never touched.  Standard library only.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from stacks import output_dir, process

ROOT = Path(__file__).resolve().parents[2]
#: Caches and scratch output of the project's own tools, by name (globs relative to the root).
CACHES = (".cdktf.out.*", ".hcl.out.*", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".coverage", ".coverage.*", ".cdktn-check")


def targets(root: Path, environ: dict[str, str]) -> list[tuple[Path, str]]:
    """The output directories to remove, each with the variable that names it."""
    found = [(root / "cdktf.out", "cdktf.out"), (root / "hcl.out", "hcl.out")]
    if environ.get("CDKTF_OUTDIR"):
        found.append((Path(os.path.abspath(environ["CDKTF_OUTDIR"])), "CDKTF_OUTDIR"))
    return found


def clean(root: Path, environ: dict[str, str]) -> list[str]:
    """Remove the outputs and caches; the names removed.  Raises :class:`~stacks.output_dir.NotOurs`
    before removing anything when an output directory is not the project's."""
    outputs = targets(root, environ)
    for path, variable in outputs:
        output_dir.check_replaceable(path, variable)
    removed = [variable for path, variable in outputs if output_dir.remove(path, variable)]
    for pattern in CACHES:
        for path in sorted(root.glob(pattern)):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
            removed.append(path.name)
    return removed


def main() -> int:
    try:
        removed = clean(ROOT, dict(os.environ))
    except output_dir.NotOurs as error:
        print(f"error: make clean: {error}", file=sys.stderr)
        return 2
    print(f"removed: {', '.join(removed) or 'nothing'}")
    return 0


if __name__ == "__main__":
    process.run(main)
