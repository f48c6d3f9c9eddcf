"""Synthesis benchmark: every stack vs. the plain import of the AWS provider, and the tests.

Runs both as whole processes, alternately, several times, and prints the
median wall time of each and their ratio.  The target is a ratio of at most
0.5 (synthesizing everything takes at most half the plain import).  Then the
test suite, as ``make test`` runs pytest (workers, coverage; its coverage data
in a temporary file), once to warm up and once timed, against the same plain
import: the inner loop's target is at most 3 times the import.
Figures only: nothing here passes or fails on time.

Usage: ``python -m tools.dev.bench [runs] [--no-tests]``
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


def timed(cmd: list[str], env: dict[str, str], *, check: bool = True) -> float:
    """Wall seconds of ``cmd``; with ``check=False`` a failed run is -1 (its time means nothing)."""
    start = time.perf_counter()
    done = process.run_child(cmd, cwd=ROOT, env=env, check=check, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start if done.returncode == 0 else -1.0


#: The pytest command of ``make test`` (the Makefile's test recipe; a test keeps them equal).
PYTEST = ["-m", "pytest", "-n", "auto", "--maxprocesses", "4", "--cov", "--cov-report="]


def test_suite(env: dict[str, str], import_median: float, tmp: str) -> list[str]:
    """The lines on the test suite: one warm-up run, one timed, and the ratio to the import."""
    env = {**env, "COVERAGE_FILE": str(Path(tmp) / "coverage")}
    timed([sys.executable, *PYTEST], env, check=False)
    seconds = timed([sys.executable, *PYTEST], env, check=False)
    if seconds < 0:
        return ["tests: the suite failed, so its time is no figure (run make test)"]
    ratio = seconds / import_median
    return [
        f"tests (pytest as make test runs it, warm; {' '.join(PYTEST[1:])}):",
        f"  {seconds:.1f} s",
        f"ratio tests/import: {ratio:.1f}  (target <= 3.0: {'met' if ratio <= 3 else 'NOT met'})",
    ]


def main(argv: list[str]) -> int:
    with_tests = "--no-tests" not in argv
    argv = [a for a in argv if a != "--no-tests"]
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
        import_median = statistics.median(import_times)
        tests = test_suite(env, import_median, tmp) if with_tests else []
    synth_median = statistics.median(synth_times)
    ratio = synth_median / import_median
    print(f"runs: {runs} of each, alternating, after one warm-up; cores: {os.cpu_count()}")
    print(f"synth of all {len(stacks)} stacks ({', '.join(stacks)}):")
    print(f"  median {synth_median:.2f} s  (min {min(synth_times):.2f}, max {max(synth_times):.2f})")
    print(f"plain `import {provider_package()}`:")
    print(f"  median {import_median:.2f} s  (min {min(import_times):.2f}, max {max(import_times):.2f})")
    print(f"ratio synth/import: {ratio:.2f}  (target <= 0.50: {'met' if ratio <= 0.5 else 'NOT met'})")
    for line in tests:
        print(line)
    return 0


if __name__ == "__main__":
    process.run(lambda: main(sys.argv[1:]))
