"""checkov over synthesized stacks, with reasoned exceptions.

checkov ignores inline skips in cdktf's ``"//"`` metadata and its own baseline
format has no room for a reason, so exceptions live in
``policy/checkov-exceptions.toml``: a check id, resource patterns (as checkov
names them, ``fnmatch`` style), optional stacks, and a written reason.  A
finding that no exception covers fails the scan; so does an exception that no
longer matches anything (the list must not rot).

Usage: ``python -m tools.review.policy_scan cdktf.out/stacks``
"""

from __future__ import annotations

import fnmatch
import json
import os
import sys
import tempfile
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from stacks import process

EXCEPTIONS_FILE = Path(__file__).resolve().parents[2] / "policy" / "checkov-exceptions.toml"


@dataclass(frozen=True)
class Finding:
    check_id: str
    stack: str
    resource: str
    name: str

    def __str__(self) -> str:
        return f"{self.check_id} {self.stack} {self.resource}: {self.name}"


@dataclass(frozen=True)
class Exception_:
    check: str
    resources: tuple[str, ...]
    stacks: tuple[str, ...]
    reason: str

    def covers(self, finding: Finding) -> bool:
        return (
            finding.check_id == self.check
            and any(fnmatch.fnmatchcase(finding.resource, p) for p in self.resources)
            and (not self.stacks or any(fnmatch.fnmatchcase(finding.stack, p) for p in self.stacks))
        )


def load_exceptions(path: Path = EXCEPTIONS_FILE) -> list[Exception_]:
    data = tomllib.loads(path.read_text())
    result = []
    for i, entry in enumerate(data.get("exception", [])):
        reason = str(entry.get("reason", "")).strip()
        if len(reason) < 20:
            raise ValueError(f"{path.name}: exception #{i + 1} ({entry.get('check')}) needs a written reason")
        result.append(
            Exception_(
                check=entry["check"],
                resources=tuple(entry["resources"]),
                stacks=tuple(entry.get("stacks", ())),
                reason=reason,
            )
        )
    return result


#: Top-level blocks checkov's terraform_json parser cannot read (unlabeled blocks); they
#: carry no resource settings, so the scan reads a copy of each stack without them.
UNSCANNED_BLOCKS = ("removed", "moved", "import")


def scannable_copy(stacks_dir: Path, dest: Path) -> Path:
    """``stacks_dir`` copied to ``dest`` with :data:`UNSCANNED_BLOCKS` left out of every stack,
    and the ``terraform`` block's plain values (``required_version``), which that parser
    cannot read either, left out of it."""
    for source in sorted(stacks_dir.glob("*/cdk.tf.json")):
        doc = {k: v for k, v in json.loads(source.read_text()).items() if k not in UNSCANNED_BLOCKS}
        if "terraform" in doc:
            doc["terraform"] = {k: v for k, v in doc["terraform"].items() if isinstance(v, dict)}
        target = dest / source.parent.name / source.name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(doc, indent=2))
    return dest


def run_checkov(stacks_dir: Path) -> list[Finding]:
    """Run checkov offline over every ``cdk.tf.json`` below ``stacks_dir``."""
    with tempfile.TemporaryDirectory(prefix="policy-scan-") as tmp:
        (Path(tmp) / "tmp").mkdir()
        return _run_checkov(scannable_copy(stacks_dir, Path(tmp) / "stacks"), Path(tmp) / "tmp")


def _run_checkov(stacks_dir: Path, temp: Path) -> list[Finding]:
    # checkov's own temporary files (its parser's cache) go to ``temp``, removed with the copy.
    env = dict(os.environ, CHECKOV_RUN_SCA_PACKAGE_SCAN_V2="false", BC_SKIP_MAPPING="TRUE", TMPDIR=str(temp))
    proc = process.run_child(
        [
            sys.executable,
            "-m",
            "checkov.main",
            "-d",
            str(stacks_dir),
            "--framework",
            "terraform_json",
            "--skip-download",
            "--quiet",
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"checkov failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
    reports = json.loads(proc.stdout)
    if isinstance(reports, dict):
        reports = [reports]
    findings = []
    for report in reports:
        if report.get("summary", {}).get("parsing_errors"):
            raise RuntimeError(f"checkov could not parse: {report['results'].get('parsing_errors')}")
        for failed in report.get("results", {}).get("failed_checks", []):
            stack = Path(failed["file_path"]).parent.name
            findings.append(Finding(failed["check_id"], stack, failed["resource"], failed["check_name"]))
    return sorted(set(findings), key=str)


F = TypeVar("F")
F_contra = TypeVar("F_contra", contravariant=True)


class Covering(Protocol[F_contra]):
    """An exception of a baseline file: it says which findings it covers."""

    def covers(self, finding: F_contra, /) -> bool: ...


E = TypeVar("E", bound=Covering[Any])


def evaluate(findings: Sequence[F], exceptions: Sequence[E]) -> tuple[list[F], list[E]]:
    """``(findings no exception covers, exceptions that cover nothing)``: for checkov's
    baseline here and the IAM audit's (:mod:`tools.review.iam_audit`)."""
    unexplained = [f for f in findings if not any(e.covers(f) for e in exceptions)]
    stale = [e for e in exceptions if not any(e.covers(f) for f in findings)]
    return unexplained, stale


def main(argv: list[str]) -> int:
    stacks_dir = Path(argv[0] if argv else "cdktf.out/stacks")
    findings = run_checkov(stacks_dir)
    exceptions = load_exceptions()
    unexplained, stale = evaluate(findings, exceptions)
    print(f"checkov: {len(findings)} findings, {len(findings) - len(unexplained)} covered by {len(exceptions)} reasoned exceptions")
    for finding in unexplained:
        print(f"  NOT EXCEPTED: {finding}")
    for exc in stale:
        print(f"  STALE EXCEPTION (matches nothing): {exc.check} {list(exc.resources)}")
    return 1 if unexplained or stale else 0


if __name__ == "__main__":
    process.run(lambda: main(sys.argv[1:]))
