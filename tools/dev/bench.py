"""Synthesis benchmark: every stack vs. the plain import of the AWS provider.

Runs both as whole processes, alternately, several times, and prints the
median wall time of each and their ratio.  The target is a ratio of at most
0.5 (synthesizing everything takes at most half the plain import).
Figures only: nothing here passes or fails on time.

Usage: ``python -m tools.dev.bench [runs]``
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from stacks import process
from stacks.config import OVERRIDE_VARIABLES

ROOT = Path(__file__).resolve().parents[2]


def provider_package() -> str:
    """The AWS bindings of the framework in use, read from the framework line of
    stacks/framework.py (importing the framework would start its runtime here)."""
    source = (ROOT / "stacks" / "framework.py").read_text()
    framework = "cdktn" if "\nfrom cdktn import (" in source else "cdktf"
    return {"cdktf": "cdktf_cdktf_provider_aws", "cdktn": "cdktn_provider_aws"}[framework]


def timed(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    process.run_child(cmd, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main(argv: list[str]) -> int:
    runs = int(argv[0]) if argv else 5
    # The default stacks: every override variable set empty, so neither the caller's
    # variables nor settings.env change what is measured.
    env = {k: v for k, v in os.environ.items() if k not in OVERRIDE_VARIABLES} | dict.fromkeys(OVERRIDE_VARIABLES, "")
    env["JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"] = "20"
    synth_times: list[float] = []
    import_times: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        env["CDKTF_OUTDIR"] = str(Path(tmp) / "cdktf.out")
        synth = [sys.executable, "main.py"]
        plain = [sys.executable, "-c", f"import {provider_package()}"]
        timed(synth, env)  # warm-up (file cache)
        for _ in range(runs):
            synth_times.append(timed(synth, env))
            import_times.append(timed(plain, env))
        stacks = sorted(p.name for p in (Path(env["CDKTF_OUTDIR"]) / "stacks").iterdir())
    synth_median = statistics.median(synth_times)
    import_median = statistics.median(import_times)
    ratio = synth_median / import_median
    print(f"runs: {runs} of each, alternating, after one warm-up; cores: {os.cpu_count()}")
    print(f"synth of all {len(stacks)} stacks ({', '.join(stacks)}):")
    print(f"  median {synth_median:.2f} s  (min {min(synth_times):.2f}, max {max(synth_times):.2f})")
    print(f"plain `import {provider_package()}`:")
    print(f"  median {import_median:.2f} s  (min {min(import_times):.2f}, max {max(import_times):.2f})")
    print(f"ratio synth/import: {ratio:.2f}  (target <= 0.50: {'met' if ratio <= 0.5 else 'NOT met'})")
    return 0


if __name__ == "__main__":
    process.run(lambda: main(sys.argv[1:]))
