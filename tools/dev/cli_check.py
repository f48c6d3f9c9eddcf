"""The quick start as a new user runs it, in a fresh clone, then the cdktf CLI.

1. ``git clone`` of this repository's ``HEAD`` into a temporary directory;
2. a ``settings.env`` naming another state bucket (as ``make bootstrap`` writes it);
3. ``make synth`` there (the first quick-start command: it sets up the locked
   Python environment and the locked cdktf CLI);
4. a local state file is put in ``terraform-state/``;
5. ``npx cdktf synth`` with nothing on ``PATH`` but the directories of
   ``python3`` and ``node`` (and the system's ``/usr/bin:/bin`` for ``sh``);
6. checks: the CLI exited 0, wrote every stack, both synths used the settings
   file, and the state file is byte for byte what it was.

Prints one line per step with its duration.  Standard library only: it runs
before any project environment exists.  Usage: ``python3 -m tools.dev.cli_check``
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from stacks import process

ROOT = Path(__file__).resolve().parents[2]
EXPECTED_STACKS = {"order-api-state", "order-api-account", "order-api-registry", "order-api-dev", "order-api-staging", "order-api-prod"}
STATE_BYTES = b'{"version": 4, "serial": 7, "lineage": "cli-check"}\n'
SETTINGS_BUCKET = "cli-check-order-api-state"


def minimal_path() -> str:
    """Only the directories holding ``python3`` and ``node``, plus ``/usr/bin:/bin``."""
    dirs = []
    for tool in ("python3", "node"):
        found = shutil.which(tool)
        if found is None:
            raise SystemExit(f"error: {tool} is not on PATH")
        dirs.append(str(Path(found).parent))
    return os.pathsep.join(dict.fromkeys([*dirs, "/usr/bin", "/bin"]))


def check_bucket(clone: Path, after: str) -> None:
    """The settings file reached the synth: the environments' backend names its bucket."""
    doc = json.loads((clone / "cdktf.out" / "stacks" / "order-api-dev" / "cdk.tf.json").read_text())
    bucket = doc["terraform"]["backend"]["s3"]["bucket"]
    if bucket != SETTINGS_BUCKET:
        raise SystemExit(f"error: after {after} the state bucket is {bucket}, not {SETTINGS_BUCKET} from settings.env")


def step(name: str, args: list[str], cwd: Path, env: dict[str, str]) -> None:
    start = time.monotonic()
    result = process.run_child(args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    print(f"{name}: exit {result.returncode} in {time.monotonic() - start:.1f} s", flush=True)
    if result.returncode != 0:
        print(result.stdout[-4000:], file=sys.stderr)
        raise SystemExit(f"error: {name} failed")


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="order-api-cli-check-") as tmp:
        clone = Path(tmp) / "order-api"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PIPENV_", "VIRTUAL_ENV"))}
        step("git clone", ["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(clone)], Path(tmp), env)
        (clone / "settings.env").write_text(f"TF_STATE_BUCKET={SETTINGS_BUCKET}\n")
        env = {k: v for k, v in env.items() if k != "TF_STATE_BUCKET"}
        step("make synth", ["make", "synth"], clone, env)
        check_bucket(clone, "make synth")
        state = clone / "terraform-state" / "order-api-state.tfstate"
        state.parent.mkdir()
        state.write_bytes(STATE_BYTES)
        cli_env = {"PATH": minimal_path(), "HOME": os.environ.get("HOME", tmp), "CHECKPOINT_DISABLE": "1", "CI": "1"}
        step("npx cdktf synth (PATH: python3 and node only)", ["npx", "--no-install", "cdktf", "synth"], clone, cli_env)
        stacks = {p.name for p in (clone / "cdktf.out" / "stacks").iterdir()}
        if not stacks >= EXPECTED_STACKS:
            raise SystemExit(f"error: the CLI synthesized {sorted(stacks)}, expected {sorted(EXPECTED_STACKS)}")
        check_bucket(clone, "npx cdktf synth")
        if state.read_bytes() != STATE_BYTES:
            raise SystemExit("error: the local state file changed during synth")
        print(f"cli-check: ok ({len(stacks)} stacks; settings.env read by both synths; terraform-state/ untouched)")
    return 0


if __name__ == "__main__":
    process.run(main)
