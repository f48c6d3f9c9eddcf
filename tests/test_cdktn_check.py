"""make cdktn-check: the one-line switch, and a comparison that explains every difference."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tools.port import cdktn_check
from tools.port.cdktn_check import CheckError, check, compare, switched_copy


def test_the_copy_is_switched_by_exactly_one_line(tmp_path: Path) -> None:
    copy = switched_copy(tmp_path / "project")
    original = (cdktn_check.ROOT / "stacks" / "framework.py").read_text().splitlines()
    switched = (copy / "stacks" / "framework.py").read_text().splitlines()
    changed = [(a, b) for a, b in zip(original, switched, strict=True) if a != b]
    assert len(changed) == 1 and changed[0][1].startswith("from cdktn import (")
    assert (copy / "main.py").read_text() == (cdktn_check.ROOT / "main.py").read_text()
    assert not (copy / "settings.env").exists()


@pytest.mark.parametrize("lines", [0, 2])
def test_fails_unless_the_framework_line_is_unique(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lines: int) -> None:
    project = tmp_path / "root"
    (project / "stacks").mkdir(parents=True)
    (project / "main.py").write_text("")
    (project / "stacks" / "framework.py").write_text("from cdktf import (\n    App,\n)\n" * lines)
    monkeypatch.setattr(cdktn_check, "ROOT", project)
    with pytest.raises(CheckError, match=f"exactly one line starting 'from cdktf import \\(' \\(found {lines}\\)"):
        switched_copy(tmp_path / "copy")


def test_differences_are_every_changed_added_or_removed_value() -> None:
    a = {"resource": {"aws_s3_bucket": {"b": {"bucket": "x", "tags": {"a": "1"}}}}, "//": {"metadata": {"version": "0.21.0"}}}
    b = {"resource": {"aws_s3_bucket": {"b": {"bucket": "y", "force_destroy": None}}}, "//": {"metadata": {"version": "0.24.0"}}}
    assert compare(a, b) == [
        ("//.metadata.version", "0.21.0", "0.24.0"),
        ("resource.aws_s3_bucket.b.bucket", "x", "y"),
        ("resource.aws_s3_bucket.b.force_destroy", None, None),
        ("resource.aws_s3_bucket.b.tags.a", "1", None),
    ]


def _write(root: Path, stack: str, doc: dict) -> None:
    (root / "stacks" / stack).mkdir(parents=True, exist_ok=True)
    (root / "stacks" / stack / "cdk.tf.json").write_text(json.dumps(doc))


def test_only_explained_differences_pass(tmp_path: Path) -> None:
    doc = {"resource": {"aws_s3_bucket": {"b": {"bucket": "x"}}}, "//": {"metadata": {"version": "0.21.0"}}}
    _write(tmp_path / "a", "s", doc)
    _write(tmp_path / "b", "s", {**doc, "//": {"metadata": {"version": "0.24.0"}}})
    lines, ok = check(tmp_path / "a", tmp_path / "b")
    assert ok and lines[0] == "s: 1 resources, 0 data sources, 0 outputs, 2 values; 1 differences, 0 unexplained"
    _write(tmp_path / "b", "s", {"resource": {"aws_s3_bucket": {"b": {"bucket": "y"}}}, "//": {"metadata": {"version": "0.21.0"}}})
    lines, ok = check(tmp_path / "a", tmp_path / "b")
    assert not ok and lines[1] == '    resource.aws_s3_bucket.b.bucket: "x" -> "y" (UNEXPLAINED)'


def test_fails_when_the_stacks_differ(tmp_path: Path) -> None:
    _write(tmp_path / "a", "s", {})
    _write(tmp_path / "b", "t", {})
    assert check(tmp_path / "a", tmp_path / "b") == (["different stacks: cdktf ['s'], cdktn ['t']"], False)


def test_fails_on_one_line_without_cdktn(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cdktn_check.main(["--python", sys.executable, "--work", str(tmp_path)]) == 1
    assert capsys.readouterr().err == f"error: {sys.executable} has no cdktn and cdktn-provider-aws (make cdktn-check installs them)\n"
