#!/usr/bin/env python
"""Synthesize every stack of the order API to ``cdktf.out/stacks/<stack>/cdk.tf.json``.

This is the only place that reads the environment (see the README's
configuration table).  A configuration error prints one line to stderr and
exits with status 2 before anything is written.  Stacks are synthesized into
a scratch directory next to the output and published only when all of them
succeeded, so a failed run leaves the previous output untouched.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

from stacks.config import OVERRIDE_VARIABLES, ConfigError, build_app_config

EXIT_CONFIG_ERROR = 2
EXIT_SYNTH_ERROR = 3


def publish(scratch: Path, outdir: Path) -> None:
    """Replace ``outdir`` with the freshly synthesized ``scratch`` directory."""
    old = outdir.with_name(outdir.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if outdir.exists():
        outdir.rename(old)
    scratch.rename(outdir)
    shutil.rmtree(old, ignore_errors=True)


def main() -> int:
    overrides = {name: os.environ.get(name) for name in OVERRIDE_VARIABLES}
    try:
        config = build_app_config(overrides)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_CONFIG_ERROR

    # Imported only after validation: loading the provider takes a moment.
    from stacks.app import build_app

    outdir = Path(os.environ.get("CDKTF_OUTDIR") or "cdktf.out").resolve()
    outdir.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{outdir.name}.", dir=outdir.parent))
    scratch.chmod(0o755)
    try:
        build_app(config, outdir=str(scratch)).synth()
    except RuntimeError as error:  # jsii surfaces validation failures as RuntimeError
        shutil.rmtree(scratch, ignore_errors=True)
        detail = " | ".join(line.strip() for line in str(error).splitlines() if line.strip())
        print(f"error: synthesis failed: {detail}", file=sys.stderr)
        return EXIT_SYNTH_ERROR
    publish(scratch, outdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
