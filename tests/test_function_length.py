"""No function or method of main.py, stacks/ or tools/ is over :data:`MAX_LINES` lines.

A function's span runs from its ``def`` line to the last line of its body (decorators
excluded): a longer one is split into named steps, as ``Service`` and ``Database`` are.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

MAX_LINES = 80


def _sources() -> list[Path]:
    return [ROOT / "main.py", *sorted((ROOT / "stacks").rglob("*.py")), *sorted((ROOT / "tools").rglob("*.py"))]


def too_long(source: str, where: str) -> list[str]:
    """``where:line name (span lines)`` for each function of ``source`` over :data:`MAX_LINES` lines."""
    return [
        f"{where}:{node.lineno} {node.name} ({span} lines)"
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and (span := (node.end_lineno or node.lineno) - node.lineno + 1) > MAX_LINES
    ]


def test_no_function_over_the_limit() -> None:
    offending = [line for path in _sources() for line in too_long(path.read_text(), str(path.relative_to(ROOT)))]
    assert not offending, f"over {MAX_LINES} lines (split them into named steps):\n" + "\n".join(offending)


def test_finds_a_planted_long_function() -> None:
    def function(name: str, body_lines: int) -> str:
        return f"def {name}():\n" + "    x = 1\n" * body_lines

    # At the limit, one over it, at the limit under two decorators (not counted), and a method one over it.
    decorated = "@staticmethod\n@property\n" + function("decorated", MAX_LINES - 1)
    method = "class C:\n    async def method(self):\n" + "        x = 1\n" * MAX_LINES
    source = function("fits", MAX_LINES - 1) + function("planted", MAX_LINES) + decorated + method
    assert too_long(source, "planted.py") == [
        f"planted.py:{MAX_LINES + 1} planted ({MAX_LINES + 1} lines)",
        f"planted.py:{3 * MAX_LINES + 5} method ({MAX_LINES + 1} lines)",
    ]
