"""The CDK framework is imported in one place, so moving to CDK Terrain is a one-line change."""

from __future__ import annotations

import ast
import subprocess

from stacks import framework
from tests.conftest import ROOT

#: Top-level packages of a framework or its AWS bindings.
FRAMEWORK_PACKAGES = {"cdktf", "cdktn", "constructs", *framework.PROVIDER_PACKAGES.values()}


def python_files() -> list[str]:
    files = subprocess.run(["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    return [f for f in files if (ROOT / f).is_file()]


def framework_imports(path: str) -> list[tuple[int, str, bool]]:
    """``(line, package, type-checking only)`` of every import of a framework package in ``path``."""
    tree = ast.parse((ROOT / path).read_text())
    type_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            type_only |= {id(child) for stmt in node.body for child in ast.walk(stmt)}
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Import | ast.ImportFrom):
            continue
        names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module or ""]
        for name in names:
            if name.split(".")[0] in FRAMEWORK_PACKAGES:
                found.append((node.lineno, name.split(".")[0], id(node) in type_only))
    return found


def test_only_the_framework_module_imports_the_framework() -> None:
    offenders = [
        f"{path}:{line} imports {package}"
        for path in python_files()
        if path != "stacks/framework.py"
        for line, package, type_only in framework_imports(path)
        # stacks/aws.py names the cdktf bindings for the type checker only.
        if not (path == "stacks/aws.py" and type_only and package == framework.PROVIDER_PACKAGES["cdktf"])
    ]
    assert offenders == []


def test_the_switch_is_one_line() -> None:
    lines = (ROOT / "stacks/framework.py").read_text().splitlines()
    switch = [line.split("#")[0].strip() for line in lines if line.startswith(("from cdktf", "from cdktn", "import cdktf", "import cdktn"))]
    assert switch == ["from cdktf import ("]
    assert {package for _, package, _ in framework_imports("stacks/framework.py")} == {"cdktf", "constructs"}


def test_the_bindings_follow_the_framework() -> None:
    assert framework.FRAMEWORK == "cdktf"
    assert framework.PROVIDER_PACKAGE == "cdktf_cdktf_provider_aws"
    assert framework.PROVIDER_PACKAGES["cdktn"] == "cdktn_provider_aws"


def test_the_type_checker_sees_exactly_the_submodules_loaded_at_run_time() -> None:
    import stacks.aws as aws

    tree = ast.parse((ROOT / "stacks/aws.py").read_text())
    (static,) = [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module == framework.PROVIDER_PACKAGES["cdktf"]]
    assert sorted(alias.name for alias in static.names) == sorted(set(aws.__all__) - {"install"})
    assert all(getattr(aws, name).__name__ == f"{aws.PACKAGE}.{name}" for name in aws.__all__ if name != "install")
