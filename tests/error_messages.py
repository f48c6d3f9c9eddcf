"""The one-line messages the project prints to its users, read from the code (AST).

``tests/test_docs.py`` checks that docs/troubleshooting.md documents each of them.
What counts as a message:

- a literal (a string or an f-string) that starts with ``error:``, ``FAILED:`` or
  ``SKIPPED:`` and is printed (``print``, ``SystemExit``, ``sys.exit``, an argument
  parser's ``exit``);
- the message of a user-error exception: an exception class of the project whose
  instance an ``except ... as error`` handler prints that way (``print(f"error:
  {error}")``), or a subclass of one.  Its message is the literal handed to the class,
  or every literal that a function of the same module, whose result is handed to it,
  returns (``AwsError(describe(error))``);
- the literal that a function of the same module returns when its result is printed
  that way (``problem = input_problem(...)``, then ``print(f"error: {problem}")``);
- a configuration error (:class:`stacks.config.ConfigError`, raised directly or
  through ``_require``) whose field is an override variable or not a literal (a
  helper's parameter, a settings file's line): its *allowed* text, which is the part
  of ``NAME='value' is invalid: <allowed>`` the user reads.  A configuration error of
  an internal field (``service.cpu``) is reachable only by editing the catalogue; its
  field is checked against docs/configuration.md instead (:func:`internal_fields`).

- any literal that starts with ``warning:`` (printed, or handed to a function that prints it).

A message is a sequence of constant fragments and placeholders (whitespace collapsed,
the prefix and leading punctuation dropped).  Its *key* is its constant leading text:
the first fragments, in order, until they hold :data:`MIN_KEY` characters (all of them
when the message holds fewer), the last one cut at a word's end.  The page documents a message when one of its lines
holds the key's fragments in that order (:meth:`Message.documented_in`).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: Where the messages live: the tools, main.py and the configuration.
SOURCES = ("main.py", "tools", "stacks/config")
PREFIXES = ("error:", "FAILED:", "SKIPPED:")
WARNING = "warning:"
#: Constant characters a key holds at least (when the message has that many).
MIN_KEY = 20
#: Callables that print a message or end the process with one.
_PRINTERS = {"print", "SystemExit", "exit"}
#: Validation helpers: (name, position of the field argument, position of the allowed text or None).
_CONFIG_CALLS = {"ConfigError": (0, 2), "_require": (1, 3), "_int_in": (0, None), "_one_of": (0, None)}
#: What ``_int_in`` and ``_one_of`` say (stacks/config/validate.py).
_HELPER_ALLOWED = {"_int_in": "an integer from", "_one_of": "one of"}


@dataclass(frozen=True)
class Message:
    """One message: where it is, and its constant fragments (``None`` for a placeholder)."""

    path: str
    line: int
    parts: tuple[str | None, ...]

    @property
    def text(self) -> str:
        return "".join("<…>" if p is None else p for p in self.parts)

    @property
    def fragments(self) -> list[str]:
        joined = "".join("\0" if p is None else p for p in self.parts)
        for prefix in (*PREFIXES, WARNING):
            joined = joined.removeprefix(prefix)
        return [f for f in (normalise(f).lstrip(" :;,.") for f in joined.split("\0")) if f]

    @property
    def key(self) -> list[str]:
        """The leading fragments that hold :data:`MIN_KEY` characters, the last one cut at
        the first blank from there on (so wording further on may change freely)."""
        key: list[str] = []
        for fragment in self.fragments:
            need = MIN_KEY - sum(map(len, key))
            blank = fragment.find(" ", need)
            key.append(fragment if blank < 0 else fragment[:blank])
            if sum(map(len, key)) >= MIN_KEY:
                break
        return key

    def documented_in(self, lines: list[str]) -> bool:
        """Whether one of ``lines`` (see :func:`page_lines`) holds the key's fragments in order."""
        pattern = re.compile(".*?".join(re.escape(f) for f in self.key))
        return any(pattern.search(line) for line in lines)


def page_lines(text: str) -> list[str]:
    """A markdown page's lines as messages are looked up in them: code-span backticks and
    table escapes dropped, whitespace collapsed."""
    return [normalise(line.replace("`", "").replace("\\|", "|")) for line in text.splitlines()]


def normalise(text: str) -> str:
    return " ".join(text.split())


def _modules() -> Iterator[tuple[str, ast.Module]]:
    """Each source module, with :data:`_CONSTANTS` set to its string constants while it is read."""
    for source in SOURCES:
        path = ROOT / source
        for file in sorted([path] if path.is_file() else path.rglob("*.py")):
            module = ast.parse(file.read_text(), str(file))
            _CONSTANTS.clear()
            _CONSTANTS.update(
                {
                    t.id: n.value.value
                    for n in module.body
                    if isinstance(n, ast.Assign) and isinstance(n.value, ast.Constant) and isinstance(n.value.value, str)
                    for t in n.targets
                    if isinstance(t, ast.Name)
                }
            )
            yield str(file.relative_to(ROOT)), module


def _constants(module: ast.Module) -> dict[str, ast.expr]:
    """Module-level ``NAME = <string>`` assignments."""
    return {t.id: n.value for n in module.body if isinstance(n, ast.Assign) and _parts(n.value) is not None for t in n.targets if isinstance(t, ast.Name)}


#: Module-level string constants of the module being read (a placeholder naming one is its text).
_CONSTANTS: dict[str, str] = {}


def _parts(node: ast.expr) -> tuple[str | None, ...] | None:
    """The fragments of a string literal or f-string (``None`` for each placeholder)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return (node.value,)
    if isinstance(node, ast.JoinedStr):
        return tuple(_fragment(v) for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _parts(node.left), _parts(node.right)
        return (*(left or (None,)), *(right or (None,)))
    return None


def _fragment(value: ast.expr) -> str | None:
    if isinstance(value, ast.Constant) and isinstance(value.value, str):
        return value.value
    if isinstance(value, ast.FormattedValue) and isinstance(value.value, ast.Name) and value.format_spec is None and value.conversion == -1:
        return _CONSTANTS.get(value.value.id)
    return None


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _printed(call: ast.Call) -> ast.expr | None:
    """The message argument of a printing call, if it is one."""
    name = _name(call.func)
    if name not in _PRINTERS or not call.args:
        return None
    return call.args[-1] if name == "exit" else call.args[0]


def _prefixed(parts: tuple[str | None, ...] | None) -> bool:
    return bool(parts) and isinstance(parts[0], str) and parts[0].startswith(PREFIXES)  # type: ignore[index]


def _placeholder_names(node: ast.expr) -> set[str]:
    if not isinstance(node, ast.JoinedStr):
        return set()
    return {v.value.id for v in node.values if isinstance(v, ast.FormattedValue) and isinstance(v.value, ast.Name)}


def _returns(function: ast.FunctionDef, functions: dict[str, ast.FunctionDef], seen: set[str]) -> Iterator[tuple[str | None, ...]]:
    """The literal strings a function returns, following ``return g(...)`` into the module's ``g``."""
    if function.name in seen:
        return
    seen.add(function.name)
    for node in ast.walk(function):
        if isinstance(node, ast.Return) and node.value is not None:
            parts = _parts(node.value)
            if parts is not None:
                yield parts
            elif isinstance(node.value, ast.Call) and _name(node.value.func) in functions:
                yield from _returns(functions[_name(node.value.func)], functions, seen)


def user_error_classes() -> set[str]:
    """Exception classes of the project whose instances are printed as a message, and their subclasses."""
    defined: dict[str, list[str]] = {}
    printed: set[str] = set()
    for _, module in _modules():
        for node in ast.walk(module):
            if isinstance(node, ast.ClassDef):
                defined[node.name] = [_name(b) for b in node.bases]
            if isinstance(node, ast.ExceptHandler) and node.name and node.type is not None:
                types = node.type.elts if isinstance(node.type, ast.Tuple) else [node.type]
                for call in (n for stmt in node.body for n in ast.walk(stmt) if isinstance(n, ast.Call)):
                    message = _printed(call)
                    if message is not None and _prefixed(_parts(message)) and node.name in _placeholder_names(message):
                        printed |= {_name(t) for t in types}
    classes = printed & set(defined)
    while True:
        more = {name for name, bases in defined.items() if set(bases) & classes} - classes
        if not more:
            return classes
        classes |= more


def messages() -> list[Message]:
    """Every message (see the module docstring), in source order."""
    classes = user_error_classes()
    found: list[Message] = []
    for path, module in _modules():
        functions = {n.name: n for n in ast.walk(module) if isinstance(n, ast.FunctionDef)}

        def add(parts: tuple[str | None, ...], line: int, path: str = path) -> None:
            found.append(Message(path, line, parts))

        for scope in [module, *functions.values()]:
            assigned = {
                t.id: n.value
                for n in ast.walk(scope)
                if isinstance(n, ast.Assign) and isinstance(n.value, ast.Call)
                for t in n.targets
                if isinstance(t, ast.Name)
            }
            for call in (n for n in ast.walk(scope) if isinstance(n, ast.Call)):
                message = _printed(call)
                parts = _parts(message) if message is not None else None
                if message is not None and _prefixed(parts):
                    add(parts, call.lineno)  # type: ignore[arg-type]
                    if parts == (parts[0], None) and isinstance(message, ast.JoinedStr):  # type: ignore[index]
                        for name in _placeholder_names(message):
                            source = assigned.get(name)
                            if source is not None and _name(source.func) in functions:
                                for returned in _returns(functions[_name(source.func)], functions, set()):
                                    add(returned, source.lineno)
                if _name(call.func) in classes and call.args and _name(call.func) != "ConfigError":
                    argument = call.args[0]
                    parts = _parts(argument)
                    if parts is not None:
                        add(parts, call.lineno)
                    elif isinstance(argument, ast.Call) and _name(argument.func) in functions:
                        for returned in _returns(functions[_name(argument.func)], functions, set()):
                            add(returned, call.lineno)
        for node in ast.walk(module):
            parts = _parts(node) if isinstance(node, ast.Constant | ast.JoinedStr) else None
            if parts and isinstance(parts[0], str) and parts[0].startswith(WARNING):
                add(parts, getattr(node, "lineno", 0))
    unique = {(m.path, m.line, m.parts): m for m in found if m.fragments}
    return sorted(unique.values(), key=lambda m: (m.path, m.line))


@dataclass(frozen=True)
class ConfigCall:
    """A configuration error raised in the code: its field (literal or not) and allowed text."""

    path: str
    line: int
    field: str | None
    allowed: tuple[str | None, ...]


def config_errors() -> list[ConfigCall]:
    """Every ``ConfigError(...)``, ``_require(...)``, ``_int_in(...)`` and ``_one_of(...)`` call."""
    found = []
    for path, module in _modules():
        constants = _constants(module)
        for call in (n for n in ast.walk(module) if isinstance(n, ast.Call)):
            name = _name(call.func)
            if name not in _CONFIG_CALLS or (name == "ConfigError" and len(call.args) != 3):
                continue
            field_at, allowed_at = _CONFIG_CALLS[name]
            if len(call.args) <= field_at or (allowed_at is not None and len(call.args) <= allowed_at):
                continue
            field_node = call.args[field_at]
            field = field_node.value if isinstance(field_node, ast.Constant) and isinstance(field_node.value, str) else None
            if allowed_at is None:
                allowed: tuple[str | None, ...] | None = (_HELPER_ALLOWED[name],)
            else:
                node = call.args[allowed_at]
                node = constants.get(node.id, node) if isinstance(node, ast.Name) else node
                allowed = _parts(node)
            found.append(ConfigCall(path, call.lineno, field, allowed or (None,)))
    return found


def config_messages(override_variables: tuple[str, ...]) -> list[Message]:
    """The configuration errors a user meets through the override variables or the settings
    file, or raised by a helper for whatever field it is given: their *allowed* texts."""
    found = [Message(c.path, c.line, c.allowed) for c in config_errors() if c.field is None or c.field in override_variables]
    return [m for m in found if m.fragments]


def internal_fields(override_variables: tuple[str, ...]) -> dict[str, list[str]]:
    """Field name -> where: configuration errors of internal fields (the catalogue's)."""
    fields: dict[str, list[str]] = {}
    for c in config_errors():
        if c.field is not None and c.field not in override_variables:
            fields.setdefault(c.field, []).append(f"{c.path}:{c.line}")
    return fields


def field_name(field: str) -> str:
    """The attribute a field path names: ``service.features[`` -> ``features``."""
    return re.findall(r"[a-z_0-9]+", field)[-1]
