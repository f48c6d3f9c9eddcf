"""EventBridge event patterns evaluated as the EventBridge User Guide documents them, for
the subset the stacks write: nested fields, lists of allowed values (exact, or
``{"wildcard": ...}``), ``$or``, and array fields in the event (any element matches)."""

from __future__ import annotations

import fnmatch
from typing import Any


def _value_matches(allowed: Any, value: Any) -> bool:
    if isinstance(allowed, dict):
        (operator, operand), *rest = allowed.items()
        assert not rest and operator == "wildcard", f"unsupported operator {allowed}"
        return isinstance(value, str) and fnmatch.fnmatchcase(value, operand)
    return bool(allowed == value)


def matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    """Whether ``event`` matches ``pattern``."""
    for key, rule in pattern.items():
        if key == "$or":
            if not any(matches(part, event) for part in rule):
                return False
            continue
        if key not in event:
            return False
        value = event[key]
        if isinstance(rule, dict):
            if not (isinstance(value, dict) and matches(rule, value)):
                return False
            continue
        values = value if isinstance(value, list) else [value]
        if not any(_value_matches(allowed, v) for allowed in rule for v in values):
            return False
    return True
