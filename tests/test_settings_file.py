"""settings.env: split on LF only (CRLF allowed), no hidden line breaks, a regular file or none."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import main
from stacks.config import ConfigError, edit_settings, parse_settings
from tests.conftest import ROOT, main_env

#: Characters some parser takes for a line or record end while an editor shows one line.
HIDDEN = {
    "form feed": "\f",
    "line tabulation": "\v",
    "file separator": "\x1c",
    "group separator": "\x1d",
    "record separator": "\x1e",
    "next line": "\x85",
    "line separator": "\u2028",
    "paragraph separator": "\u2029",
    "lone carriage return": "\r",
    "NUL": "\0",
    "escape": "\x1b",
}


@pytest.mark.parametrize("name", list(HIDDEN))
def test_fails_a_line_that_would_set_a_second_variable(name: str) -> None:
    text = f"# state\nAWS_REGION=eu-west-1{HIDDEN[name]}TF_STATE_BUCKET=someone-elses-bucket\n"
    with pytest.raises(ConfigError) as excinfo:
        parse_settings(text)
    assert excinfo.value.field_name == "settings.env line 2"
    assert f"U+{ord(HIDDEN[name]):04X}" in str(excinfo.value)
    assert "\n" not in str(excinfo.value)


def test_line_numbers_count_lf_only() -> None:
    with pytest.raises(ConfigError, match=r"^settings\.env line 3="):
        parse_settings("AWS_REGION=eu-west-1\r\n\r\nIMAGE_TAG=1\u20282\n")


@pytest.mark.parametrize("ending", ["\n", "\r\n"])
def test_lf_and_crlf_lines_and_tabs_are_read(ending: str) -> None:
    text = f"AWS_REGION=eu-west-1{ending}#\tcomment{ending}IMAGE_TAG=\t1.2.3\t# pinned{ending}"
    assert parse_settings(text) == {"AWS_REGION": "eu-west-1", "IMAGE_TAG": "1.2.3"}


def test_editing_splits_as_reading_does() -> None:
    text = "AWS_REGION=eu-west-1 # region\r\nIMAGE_TAG=1\r\n"
    assert edit_settings(text, {"AWS_REGION": "eu-central-1", "TF_STATE_BUCKET": "b"}) == (
        "AWS_REGION=eu-central-1 # region\r\nIMAGE_TAG=1\r\nTF_STATE_BUCKET=b\r\n"
    )
    assert edit_settings("", {"AWS_REGION": "eu-west-1"}) == "AWS_REGION=eu-west-1\n"
    assert edit_settings("IMAGE_TAG=1", {"AWS_REGION": "eu-west-1"}) == "IMAGE_TAG=1\nAWS_REGION=eu-west-1\n"


def _make(kind: str, path: Path) -> None:
    if kind == "a directory":
        path.mkdir()
    elif kind == "not a regular file":
        os.mkfifo(path)
    elif kind == "a device":
        path.symlink_to("/dev/null")
    else:
        path.symlink_to(path.parent / "missing")


@pytest.mark.parametrize(
    ("kind", "shown"),
    [("a directory", "a directory"), ("not a regular file", "not a regular file"), ("a device", "not a regular file"), ("a broken link", "a broken link")],
)
def test_fails_a_settings_file_that_is_not_a_regular_file(tmp_path: Path, kind: str, shown: str) -> None:
    settings = tmp_path / "settings.env"
    _make(kind, settings)
    with pytest.raises(ConfigError) as excinfo:
        main.settings_text(settings)
    assert str(excinfo.value) == f"settings.env={shown!r} is invalid: a regular file of NAME=value lines, or none"


def test_no_settings_file_is_no_settings(tmp_path: Path) -> None:
    assert main.settings_text(tmp_path / "settings.env") is None


def test_synth_refuses_a_settings_directory_in_one_line(tmp_path: Path) -> None:
    """In a copy of the checkout, so the real settings.env is never touched."""
    copy = tmp_path / "checkout"
    copy.mkdir()
    (copy / "main.py").write_text((ROOT / "main.py").read_text())
    (copy / "stacks").symlink_to(ROOT / "stacks")
    (copy / "settings.env").mkdir()
    env = main_env(tmp_path / "cdktf.out")
    env.pop("AWS_REGION")
    proc = subprocess.run([sys.executable, str(copy / "main.py")], cwd=copy, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == ["error: settings.env='a directory' is invalid: a regular file of NAME=value lines, or none"]
    assert not (tmp_path / "cdktf.out").exists()


def test_a_last_line_without_an_end_is_read() -> None:
    assert parse_settings("# x\nAWS_REGION=eu-west-1") == {"AWS_REGION": "eu-west-1"}
