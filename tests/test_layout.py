"""tools/ is in packages by what they do: no flat room, no import cycle."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

PACKAGES = {"common", "ops", "review", "port", "e2e", "emulator", "dev"}
#: Modules per package before it should be split by concern.
ROOM = 8


def modules(package: Path) -> list[Path]:
    return sorted(p for p in package.glob("*.py") if p.name != "__init__.py")


def imports() -> dict[str, set[str]]:
    """Module -> the modules of tools/ it imports (at any depth of the file)."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / "tools").rglob("*.py")):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tools"):
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    deps.add(full if (ROOT / (full.replace(".", "/") + ".py")).exists() else node.module)
        found[name] = deps - {name}
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found = []
    for start in sorted(graph):
        stack = [(start, [start])]
        while stack:
            node, path = stack.pop()
            for dep in sorted(graph.get(node, ())):
                if dep == start:
                    found.append([*path, dep])
                elif dep not in path:
                    stack.append((dep, [*path, dep]))
    return found


def test_tools_holds_only_packages() -> None:
    assert modules(ROOT / "tools") == []
    assert {p.name for p in (ROOT / "tools").iterdir() if p.is_dir() and p.name != "__pycache__"} == PACKAGES


def test_no_package_is_a_flat_room() -> None:
    crowded = {name: len(modules(ROOT / "tools" / name)) for name in PACKAGES if len(modules(ROOT / "tools" / name)) > ROOM}
    assert crowded == {}


def test_every_package_says_what_it_is_for() -> None:
    for name in PACKAGES:
        assert ast.get_docstring(ast.parse((ROOT / "tools" / name / "__init__.py").read_text())), name


def test_no_import_cycle_in_tools() -> None:
    assert cycles(imports()) == []


def test_the_cycle_check_finds_a_planted_cycle() -> None:
    graph = imports()
    graph["tools.ops.release"] = {*graph["tools.ops.release"], "tools.ops.deploy"}
    assert ["tools.ops.deploy", "tools.ops.release", "tools.ops.deploy"] in cycles(graph)


def test_the_stack_facts_are_read_in_one_place() -> None:
    """deploy and release both read a stack's JSON through tools.common.stack, not each other."""
    graph = imports()
    assert "tools.common.stack" in graph["tools.ops.release"] and "tools.ops.deploy" not in graph["tools.ops.release"]
