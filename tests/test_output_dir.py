"""Output paths own nothing of the user's: synthesis, the HCL export and make clean replace
only an absent or empty directory or an earlier output of the project."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from stacks import output_dir
from tests.conftest import ROOT, main_env, run_main, snapshot_tree
from tools.dev import clean


def user_checkout(tmp_path: Path) -> Path:
    """A stand-in for a user's checkout: a .git folder, a README, local state and settings."""
    root = tmp_path / "checkout"
    (root / ".git").mkdir(parents=True)
    (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (root / "README.md").write_text("# mine\n")
    (root / "terraform-state").mkdir()
    (root / "terraform-state" / "order-api-state.tfstate").write_text('{"version": 4}\n')
    (root / "settings.env").write_text("AWS_REGION=eu-west-1\n")
    (root / "notes").mkdir()
    (root / "notes" / "todo.txt").write_text("keep me\n")
    return root


def cases(root: Path) -> dict[str, Path]:
    link = root.parent / "link-to-notes"
    if not link.exists():
        link.symlink_to(root / "notes")
    return {
        "a folder holding a file": root / "notes",
        "the checkout root": root,
        "terraform-state/": root / "terraform-state",
        "a file path": root / "settings.env",
        "the README": root / "README.md",
        "a symlink": link,
    }


CASES = ["a folder holding a file", "the checkout root", "terraform-state/", "a file path", "the README", "a symlink"]


@pytest.mark.parametrize("case", CASES)
def test_fails_synthesis_into_what_the_user_owns(tmp_path: Path, case: str) -> None:
    root = user_checkout(tmp_path)
    target = cases(root)[case]
    before = snapshot_tree(tmp_path)
    proc = run_main(target)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: CDKTF_OUTDIR={str(target)!r} "), proc.stderr
    assert snapshot_tree(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkout", "link-to-notes"]


def test_the_real_checkout_is_never_replaceable() -> None:
    assert output_dir.why_not_ours(ROOT) is not None
    assert output_dir.why_not_ours(ROOT / "README.md") == "is a file, not an output directory"


def _files(path: Path, files: dict[str, str | None]) -> None:
    """``path`` as a directory holding ``files`` (None: a directory)."""
    path.mkdir()
    for name, text in files.items():
        (path / name).mkdir() if text is None else (path / name).write_text(text)


LAYOUTS: dict[str, tuple[dict[str, str | None] | None, str | None]] = {
    "absent": (None, None),
    "empty": ({}, None),
    "stamped": ({output_dir.STAMP: output_dir.STAMP_TEXT, "stacks": None}, None),
    "cdktf output before the stamp": ({"manifest.json": json.dumps({"stacks": {}}), "stacks": None}, None),
    "manifest without stacks": ({"manifest.json": "{}", "stacks": None}, "holds files the project did not write"),
    "manifest not json": ({"manifest.json": "not json", "stacks": None}, "holds files the project did not write"),
    "stacks a file": ({"manifest.json": '{"stacks": {}}', "stacks": ""}, "holds files the project did not write"),
    "extra file": ({"manifest.json": '{"stacks": {}}', "stacks": None, "x": ""}, "holds files the project did not write"),
    "stamp a directory": ({output_dir.STAMP: None}, "holds files the project did not write"),
}


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_what_counts_as_an_output_of_the_project(tmp_path: Path, layout: str) -> None:
    files, expected = LAYOUTS[layout]
    path = tmp_path / "out"
    if files is not None:
        _files(path, files)
    reason = output_dir.why_not_ours(path)
    assert reason is None if expected is None else expected in (reason or "")


def test_fails_a_symlinked_stamp(tmp_path: Path) -> None:
    (tmp_path / "real").write_text("x")
    out = tmp_path / "out"
    out.mkdir()
    (out / output_dir.STAMP).symlink_to(tmp_path / "real")
    assert output_dir.why_not_ours(out) is not None


def test_a_synthesis_is_stamped_and_replaces_its_own_output(tmp_path: Path) -> None:
    outdir = tmp_path / "cdktf.out"
    first = run_main(outdir, ENVIRONMENTS="dev")
    assert first.returncode == 0, first.stderr
    assert (outdir / output_dir.STAMP).read_text() == output_dir.STAMP_TEXT
    (outdir / "stacks" / "stale").mkdir()
    second = run_main(outdir, ENVIRONMENTS="dev")
    assert second.returncode == 0, second.stderr
    assert not (outdir / "stacks" / "stale").exists()


def test_publish_refuses_what_appeared_while_synthesizing(tmp_path: Path) -> None:
    import main

    scratch, outdir = tmp_path / "scratch", tmp_path / "out"
    scratch.mkdir()
    outdir.mkdir()
    (outdir / "mine.txt").write_text("mine")
    with pytest.raises(output_dir.NotOurs):
        main.publish(scratch, outdir)
    assert (outdir / "mine.txt").read_text() == "mine"
    assert not scratch.exists()


def test_main_in_process_refuses_before_synthesizing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import main

    root = user_checkout(tmp_path)
    for name, value in main_env(root).items():
        monkeypatch.setenv(name, value)
    assert main.main() == 2
    assert capsys.readouterr().err.startswith(f"error: CDKTF_OUTDIR={str(root)!r} holds files the project did not write")


def test_main_in_process_refuses_what_appears_before_publishing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import main

    outdir = tmp_path / "out"
    for name, value in main_env(outdir, ENVIRONMENTS="dev").items():
        monkeypatch.setenv(name, value)

    def synthesize(config: object, target: Path) -> int:
        target.mkdir()
        (target / "mine.txt").write_text("mine")
        output_dir.check_replaceable(target, "CDKTF_OUTDIR")
        return 0

    monkeypatch.setattr(main, "synthesize", synthesize)
    assert main.main() == 2
    assert "holds files the project did not write" in capsys.readouterr().err
    assert (outdir / "mine.txt").read_text() == "mine"


# ------------------------------------------------------------------------- make clean


def test_clean_removes_outputs_and_caches_only(tmp_path: Path) -> None:
    root = user_checkout(tmp_path)
    for name in ("cdktf.out", "hcl.out"):
        (root / name / "stacks").mkdir(parents=True)
        output_dir.stamp(root / name)
    (root / ".cdktf.out.abc123").mkdir()
    (root / ".cdktf.out.lock").write_text("")
    (root / ".mypy_cache").mkdir()
    removed = clean.clean(root, {})
    assert sorted(removed) == [".cdktf.out.abc123", ".cdktf.out.lock", ".mypy_cache", "cdktf.out", "hcl.out"]
    assert sorted(p.name for p in root.iterdir()) == [".git", "README.md", "notes", "settings.env", "terraform-state"]


@pytest.mark.parametrize("case", CASES)
def test_fails_clean_of_what_the_user_owns_and_removes_nothing(tmp_path: Path, case: str) -> None:
    root = user_checkout(tmp_path)
    (root / ".mypy_cache").mkdir()
    target = cases(root)[case]
    before = snapshot_tree(tmp_path)
    with pytest.raises(output_dir.NotOurs, match=r"^CDKTF_OUTDIR="):
        clean.clean(root, {"CDKTF_OUTDIR": str(target)})
    assert snapshot_tree(tmp_path) == before
    assert (root / ".mypy_cache").is_dir()


def test_fails_clean_of_a_cdktf_out_the_user_made(tmp_path: Path) -> None:
    root = user_checkout(tmp_path)
    (root / "cdktf.out").mkdir()
    (root / "cdktf.out" / "mine.txt").write_text("mine")
    with pytest.raises(output_dir.NotOurs, match=r"^cdktf\.out="):
        clean.clean(root, {})
    assert (root / "cdktf.out" / "mine.txt").read_text() == "mine"


def test_make_clean_refuses_in_one_line(tmp_path: Path) -> None:
    root = user_checkout(tmp_path)
    env = {**os.environ, "CDKTF_OUTDIR": str(root)}
    proc = subprocess.run([sys.executable, "-m", "tools.dev.clean"], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"error: make clean: CDKTF_OUTDIR={str(root)!r} holds files the project did not write (no {output_dir.STAMP} stamp): "
        "name a new or empty directory (nothing was written or deleted)"
    ]


# ------------------------------------------------------------------------- HCL export


def test_fails_an_hcl_export_into_what_the_user_owns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tools.port import hcl_export

    root = user_checkout(tmp_path)
    before = snapshot_tree(tmp_path)
    assert hcl_export.main(["--out", str(root / "notes")]) == 1
    assert capsys.readouterr().err == (
        f"error: --out={str(root / 'notes')!r} holds files the project did not write (no {output_dir.STAMP} stamp): "
        "name a new or empty directory (nothing was written or deleted)\n"
    )
    assert snapshot_tree(tmp_path) == before


def test_clean_of_a_checkout_without_outputs_removes_only_caches(tmp_path: Path) -> None:
    root = user_checkout(tmp_path)
    (root / ".ruff_cache").mkdir()
    assert clean.clean(root, {}) == [".ruff_cache"]
    assert output_dir.remove(root / "cdktf.out", "cdktf.out") is False
