"""make passes every input as data: from its command line or the environment, never evaluated."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from stacks.config import OVERRIDE_VARIABLES
from tests.conftest import ROOT

MAKEFILE = (ROOT / "Makefile").read_text()
#: Variables the tools read that are the operating system's or the test harness's, not a user's input.
SYSTEM = {"PATH", "HOME", "TMPDIR", "XDG_DATA_HOME", "XDG_DATA_DIRS", "MOTO_IAM_LOAD_MANAGED_POLICIES"}

needs_make = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def inputs() -> set[str]:
    found = re.search(r"^INPUTS := (.*?)\n\$\(foreach", MAKEFILE, re.M | re.S)
    assert found is not None
    return set(found[1].replace("\\", " ").split())


def phony_targets() -> list[str]:
    found = re.search(r"^\.PHONY: (.*)$", MAKEFILE, re.M)
    assert found is not None
    return found[1].split()


def environ_reads(path: Path) -> set[str]:
    """Names a module reads from an environment mapping: ``environ[...]``, ``environ.get(...)``
    and ``env.get(...)`` with a literal name."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load) and isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
            target = node.value
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get" and node.args:
            target, first = node.func.value, node.args[0]
            if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
                continue
            node = ast.Subscript(value=target, slice=first)
        else:
            continue
        base = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
        if base in ("environ", "env") and isinstance(node.slice, ast.Constant) and re.fullmatch(r"[A-Z][A-Z0-9_]*", str(node.slice.value)):
            names.add(str(node.slice.value))
    return names


def read_by_the_code() -> set[str]:
    """Every variable a recipe (``$$NAME``) or a tool or main.py reads from the environment."""
    recipes = set(re.findall(r"\$\$\{?([A-Z][A-Z0-9_]*)", MAKEFILE))
    modules = [ROOT / "main.py", *sorted((ROOT / "tools").rglob("*.py"))]
    return recipes | set(OVERRIDE_VARIABLES) | {name for path in modules for name in environ_reads(path)}


def test_inputs_cover_every_variable_the_recipes_and_tools_read() -> None:
    missing = read_by_the_code() - SYSTEM - inputs()
    assert not missing, f"add to the Makefile's INPUTS: {sorted(missing)}"


def test_the_derivation_sees_the_tools_inputs() -> None:
    """A control: the scan finds what the tools are known to read."""
    assert {"ALLOW_CRITICAL", "ALLOW_PROD", "CONFIRM", "LOG_BUCKET", "CDKTF_OUTDIR", "STACK", "IMAGE", "FROM", "TO"} <= read_by_the_code()


def test_fails_a_variable_missing_from_inputs(tmp_path: Path) -> None:
    module = tmp_path / "tool.py"
    module.write_text("import os\nNEW = os.environ.get('NEW_SETTING')\nOTHER = env['OTHER_ONE']\n")
    assert environ_reads(module) == {"NEW_SETTING", "OTHER_ONE"}
    assert not {"NEW_SETTING", "OTHER_ONE"} <= inputs()


@needs_make
@pytest.mark.parametrize("where", ["environment", "command line"])
def test_no_input_is_evaluated_by_any_target(tmp_path: Path, where: str) -> None:
    """Every input holds a payload that would create a marker file if make evaluated it;
    ``make -n`` expands every recipe of every target, and no marker appears."""
    payloads = {name: f"$(shell touch {tmp_path}/{name}.make)${{shell touch {tmp_path}/{name}.brace}}`touch {tmp_path}/{name}.tick`" for name in inputs()}
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    args: list[str] = []
    if where == "environment":
        env |= payloads
    else:
        args = [f"{name}={value}" for name, value in payloads.items()]
    for target in phony_targets():
        proc = subprocess.run(["make", "-n", target, *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        assert list(tmp_path.iterdir()) == [], (target, proc.stdout[-500:], proc.stderr[-500:])


@needs_make
def test_environment_values_reach_the_recipe_as_given(tmp_path: Path) -> None:
    probe = 'probe: ; @printf "%s|%s|%s" "$$REPOINT_STATE" "$$BASE" "$$PYTHON"'
    env = {"PATH": "/usr/bin:/bin", "REPOINT_STATE": "$(shell echo ran)", "BASE": "${x}", "PYTHON": "py$(y)"}
    proc = subprocess.run(["make", "-s", "--eval", probe, "probe"], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert proc.stdout == "$(shell echo ran)|${x}|py$(y)", proc.stdout + proc.stderr


@needs_make
@pytest.mark.parametrize(("value", "flag"), [("1", True), ("yes", True), ("true", True), ("", False), ("0", False), ("$(shell echo 1)", False)])
def test_repoint_state_becomes_a_flag_only_for_its_documented_values(value: str, flag: bool) -> None:
    env = {"PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        ["make", "-n", "--no-print-directory", "bootstrap", f"REPOINT_STATE={value}"], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    line = proc.stdout.strip().splitlines()[-1]
    script = re.sub(r"\.venv/bin/python -m \S+", "printf '[%s]'", line)
    out = subprocess.run(["bash", "-c", script], env={"REPOINT_STATE": value, "PATH": "/usr/bin:/bin"}, capture_output=True, text=True, check=False).stdout
    assert out == ("[--repoint-state]" if flag else "[]"), (line, out)


def test_the_benchmark_times_the_pytest_command_of_make_test() -> None:
    from tools.dev.bench import PYTEST

    (recipe,) = [line.strip() for line in (ROOT / "Makefile").read_text().splitlines() if line.strip().startswith("$(PY) -m pytest -n")]
    assert recipe.removeprefix("$(PY) ").split() == PYTEST
