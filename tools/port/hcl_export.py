"""``make hcl``: every stack as HCL, from ``cdktf synth --hcl``, with cdktf's rendering defects repaired.

HashiCorp's own way off cdktf is its HCL export.  This runs it into ``hcl.out/``
(``hcl.out/stacks/<stack>/cdk.tf``, the same layout and relative paths as
``cdktf.out``, so ``terraform -chdir=hcl.out/stacks/<stack>`` works the same), and
also synthesizes the JSON of the same configuration into ``hcl.out/json/`` (what the
HCL must be equivalent to: ``tools/port/hcl_check.py``, ``make hcl-check``).

cdktf 0.21's HCL renderer (``cdktf/lib/hcl/render.js``, frozen with the archived
project) gets five things wrong for these stacks; each is repaired here from the
JSON of the same run, and ``make hcl-check`` proves the result equivalent:

1. **strings**: a string with a ``${...}`` is written between quotes as it is, so
   quotes and backslashes in its literal text are not escaped (the dashboard body and
   the container definitions, JSON documents with references in them, come out as
   invalid HCL, and cdktf's formatter then re-spaces them); a string without one has its quotes escaped but not its backslashes;
   a multi-line string becomes a heredoc, which adds a final newline.  Such strings
   are rewritten as HCL quoted templates with their literal text escaped
   (:func:`hcl_string`).
2. **untyped attributes**: an attribute the bindings have no type for (marked by a
   ``# Warning`` comment; the WAF rules' ``statement``) is written as an object where
   the provider expects nested blocks.  It is re-rendered as blocks (:func:`hcl_blocks`).
3. **output strings** that look like a number (``"3306"``) or start like JSON are
   written unquoted, so the output changes type.  They are quoted.
4. **top-level blocks from stack overrides** other than ``terraform`` are dropped: the
   ``removed`` block that keeps the old per-environment ECR repository in the account
   is missing.  It is appended (:func:`removed_block`).
5. **plain ``terraform`` settings** (``required_version``) are rendered as
   ``0 = "required_version"``.  The line gets its real name and value.

Usage: ``python -m tools.port.hcl_export [--out hcl.out]`` (the configuration comes from
the environment and ``settings.env``, as for ``make synth``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stacks import output_dir, process
from tools.common import cli

ROOT = Path(__file__).resolve().parents[2]
#: Top-level blocks cdktf's HCL renderer writes (anything else in the JSON is dropped).
RENDERED_BLOCKS = {"//", "terraform", "provider", "resource", "data", "output", "moved", "import", "locals", "variable", "module"}
#: ``terraform`` settings cdktf renders as blocks; the others come out as ``<index> = "<name>"``.
TERRAFORM_BLOCKS = ("required_providers", "backend", "cloud")
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


class ExportError(RuntimeError):
    """One line: what failed."""


@dataclass
class Repairs:
    """What was repaired in one stack."""

    strings: list[str] = field(default_factory=list)
    untyped: list[str] = field(default_factory=list)
    blocks: list[str] = field(default_factory=list)
    settings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = [
            f"{len(self.strings)} strings ({', '.join(sorted(set(self.strings)))})" if self.strings else "",
            f"{len(self.untyped)} untyped attributes as blocks ({', '.join(sorted(set(self.untyped)))})" if self.untyped else "",
            f"{len(self.blocks)} dropped blocks ({', '.join(self.blocks)})" if self.blocks else "",
            f"terraform settings ({', '.join(self.settings)})" if self.settings else "",
        ]
        return "; ".join(p for p in parts if p) or "nothing"


# ------------------------------------------------------------------------- rendering


def template_segments(text: str) -> Iterator[tuple[bool, str]]:
    """``(is_code, text)`` pieces of a Terraform template: ``${...}`` and ``%{...}`` are code
    (kept verbatim, string literals inside them included), the rest is literal text.
    ``$${`` and ``%%{`` are literal (escaped) openers."""
    index, literal = 0, []
    while index < len(text):
        pair = text[index : index + 2]
        if text[index : index + 3] in ("$${", "%%{"):
            literal.append(text[index : index + 3])
            index += 3
        elif pair in ("${", "%{"):
            if literal:
                yield False, "".join(literal)
                literal = []
            end = _code_end(text, index + 2)
            yield True, text[index:end]
            index = end
        else:
            literal.append(text[index])
            index += 1
    if literal:
        yield False, "".join(literal)


def _code_end(text: str, index: int) -> int:
    """Index just past the ``}`` that closes the template code starting at ``index``."""
    depth = 1
    while index < len(text):
        char = text[index]
        if char == '"':
            index += 1
            while index < len(text) and text[index] != '"':
                index += 2 if text[index] == "\\" else 1
        elif char in "{}":
            depth += 1 if char == "{" else -1
            if depth == 0:
                return index + 1
        index += 1
    raise ExportError(f"unterminated template code in {text[:80]!r}")


def hcl_string(value: str) -> str:
    """``value`` as an HCL quoted template with the same meaning as the JSON string."""
    pieces = [piece if code else "".join(_ESCAPES.get(c, c) for c in piece) for code, piece in template_segments(value)]
    return '"' + "".join(pieces) + '"'


def cdktf_string(value: str) -> str:
    """How cdktf 0.21 renders a string (``renderString`` in ``cdktf/lib/hcl/render.js``)."""
    if value == "":
        return '""'
    lines = re.split(r"\r\n|[\n\r]", value)
    if len(lines) > 1:
        return "<<EOF\n" + "\n".join(lines) + "\nEOF"
    if "${" in value:
        return f'"{value}"'
    return '"' + re.sub(r'(?<!\\)"', '\\"', value) + '"'


def strings_of(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """``(path, value)`` of every string in a synthesized document, cdktf's ``//`` metadata left out."""
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, Mapping):
        for key, value in node.items():
            if key != "//":
                yield from strings_of(value, f"{path}.{key}" if path else key)
    elif isinstance(node, list):
        for item in node:
            yield from strings_of(item, f"{path}[]")


def removed_block(entry: Mapping[str, Any]) -> str:
    """A ``removed`` block in HCL (its ``from`` is an address, not a string)."""
    lines = ["removed {", f"  from = {entry['from']}"]
    if "lifecycle" in entry:
        lines.append("  lifecycle {")
        lines += [f"    {name} = {json.dumps(value)}" for name, value in entry["lifecycle"].items()]
        lines.append("  }")
    return "\n".join([*lines, "}"])


# ------------------------------------------------------------------------- repair


def repair(hcl: str, doc: Mapping[str, Any]) -> tuple[str, Repairs]:
    """``hcl`` (cdktf's rendering of ``doc``) with the five defects of the module docstring repaired."""
    done = Repairs()
    hcl = _repair_untyped(hcl, doc, done)
    for path, value in strings_of(doc):
        if path.startswith("output.") and path.endswith(".value"):
            hcl = _repair_output(hcl, path.split(".")[1], value, done)
            continue
        wrong, right = cdktf_string(value), hcl_string(value)
        if wrong != right:
            hcl = _replace_string(hcl, path, wrong, right)
            done.strings.append(path.split(".")[-1])
    for name in doc:
        if name in RENDERED_BLOCKS:
            continue
        if name != "removed":
            raise ExportError(f"top-level block {name!r} is dropped by cdktf's HCL renderer and has no repair")
        hcl = hcl.rstrip("\n") + "\n\n" + "\n\n".join(removed_block(entry) for entry in doc[name]) + "\n"
        done.blocks.append(f"{len(doc[name])} {name}")
    settings = [key for key in doc.get("terraform", {}) if key not in TERRAFORM_BLOCKS]
    for index, key in enumerate(settings):
        line = f'  {index} = "{key}"'
        if line not in hcl.splitlines():
            raise ExportError(f"terraform.{key}: cdktf's rendering of this setting was not found in its HCL; the repair needs updating")
        hcl = hcl.replace(f"\n{line}\n", f"\n  {key} = {hcl_value(doc['terraform'][key])}\n", 1)
        done.settings.append(key)
    return hcl, done


def _block(hcl: str, header: str) -> tuple[int, int]:
    """``(start, end)`` of the body of the top-level block that opens with ``header``."""
    start = hcl.find(header + " {\n")
    if start < 0:
        raise ExportError(f"{header}: not found in cdktf's HCL; the repair needs updating")
    end = hcl.find("\n}", start)
    return start, end if end >= 0 else len(hcl)


def _value_span(hcl: str, start: int, end: int, name: str, indent: str = "  ") -> tuple[int, int] | None:
    """Where the value of the attribute ``name`` (at ``indent``) between ``start`` and ``end`` is written."""
    match = re.compile(rf"(?m)^{indent}{re.escape(name)} +=[ ]").search(hcl, start, end)
    if match is None:  # a block cdktf's formatter gave up on is written without indentation
        match = re.compile(rf"(?m)^{re.escape(name)} +=[ ]").search(hcl, start, end)
    if match is None:
        return None
    begin = match.end()
    if hcl.startswith("<<EOF\n", begin):
        return begin, hcl.index("\nEOF", begin) + 4
    if hcl[begin] in "[{":
        return begin, _closing(hcl, begin)
    line_end = hcl.find("\n", begin)
    return begin, line_end if line_end >= 0 else len(hcl)


def _closing(text: str, index: int) -> int:
    """Index just past the bracket that closes the one at ``index`` (strings skipped)."""
    depth, position = 0, index
    while position < len(text):
        char = text[position]
        if char == '"':
            position += 1
            while text[position] != '"':
                position += 2 if text[position] == "\\" else 1
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
            if depth == 0:
                return position + 1
        position += 1
    raise ExportError(f"unbalanced brackets after {text[index : index + 40]!r}")


def _replace_string(hcl: str, path: str, wrong: str, right: str) -> str:
    """Put ``right`` where cdktf wrote ``wrong`` for the string at ``path``.

    cdktf formats its output, which re-spaces an invalid string (``"{" key ":"``), so an
    attribute of a resource or data source, or a key of a map attribute
    (``restore_metadata_overrides.vpcSecurityGroupIds``), is found by its place; any
    other string must appear exactly as cdktf renders it."""
    parts = path.split(".")
    if len(parts) >= 4 and parts[0] in ("resource", "data") and "[" not in path:
        span: tuple[int, int] | None = _block(hcl, f'{parts[0]} "{parts[1]}" "{parts[2]}"')
        for depth, name in enumerate(parts[3:], start=1):
            span = _value_span(hcl, span[0], span[1], name, "  " * depth) if span is not None else None
        if span is not None:
            return hcl[: span[0]] + right + hcl[span[1] :]
    if wrong in hcl:
        return hcl.replace(wrong, right)
    if right in hcl:  # an identical string, repaired before
        return hcl
    raise ExportError(f"{path}: cdktf's rendering of this string was not found in its HCL; the repair needs updating")


def _repair_output(hcl: str, name: str, value: str, done: Repairs) -> str:
    """cdktf writes an output's string value as a number when it looks like one (``"3306"``)
    and as HCL when it starts with ``{``, ``[`` or a quote (a JSON document): quote it."""
    start, end = _block(hcl, f'output "{name}"')
    span = _value_span(hcl, start, end, "value")
    right = hcl_string(value)
    if span is None:
        raise ExportError(f"output.{name}.value: not found in cdktf's HCL; the repair needs updating")
    if hcl[span[0] : span[1]] == right:
        return hcl
    done.strings.append(f"output {name}")
    return hcl[: span[0]] + right + hcl[span[1] :]


#: The comment cdktf puts before an attribute its bindings have no type for (rendered as an
#: object where the provider expects nested blocks).
_UNTYPED_RE = re.compile(r"(?m)^( +)# Warning: The following attribute is of an unexpected type\.(?:.*\n)*?\n\1([a-z_0-9]+) +=[ ]")


def _repair_untyped(hcl: str, doc: Mapping[str, Any], done: Repairs) -> str:
    """Re-render, from the JSON, every attribute cdktf flags as untyped, as nested blocks."""
    for rtype, by_name in doc.get("resource", {}).items():
        for name, body in by_name.items():
            start, end = _block(hcl, f'resource "{rtype}" "{name}"')
            flagged = list(_UNTYPED_RE.finditer(hcl, start, end))
            if not flagged:
                continue
            values = {attribute: _occurrences(body, attribute) for attribute in {m[2] for m in flagged}}
            for match in reversed(flagged):
                indent, attribute = match[1], match[2]
                if not values[attribute]:
                    raise ExportError(f"{rtype}.{name}: cdktf flagged more {attribute} attributes than the JSON holds; the repair needs updating")
                value = values[attribute].pop()
                value_end = _closing(hcl, match.end()) if hcl[match.end()] in "[{" else hcl.find("\n", match.end())
                hcl = hcl[: match.start()] + "\n".join(hcl_blocks(attribute, value, indent)) + hcl[value_end:]
                done.untyped.append(f"{rtype}.{attribute}")
            if any(values.values()):
                raise ExportError(f"{rtype}.{name}: cdktf flagged fewer attributes than the JSON holds; the repair needs updating")
    return hcl


def _occurrences(node: Any, key: str) -> list[Any]:
    """Values of ``key`` in ``node``, in document order, not looking inside a match."""
    found: list[Any] = []
    if isinstance(node, Mapping):
        for name, value in node.items():
            found += [value] if name == key else _occurrences(value, key)
    elif isinstance(node, list):
        for item in node:
            found += _occurrences(item, key)
    return found


def hcl_value(value: Any) -> str:
    """A JSON value as an HCL expression (objects as ``{ key = value }``)."""
    if isinstance(value, str):
        return hcl_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(hcl_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{json.dumps(k)} = {hcl_value(v)}" for k, v in value.items()) + " }"
    return json.dumps(value)


def hcl_blocks(name: str, value: Any, indent: str) -> list[str]:
    """``value`` as nested blocks ``name { ... }``: an object is a block, a list of objects
    repeated blocks, anything else an argument."""
    if isinstance(value, Mapping):
        lines = [f"{indent}{name} {{"]
        for key, inner in value.items():
            lines += hcl_blocks(key, inner, indent + "  ")
        return [*lines, f"{indent}}}"]
    if isinstance(value, list) and value and all(isinstance(item, Mapping) for item in value):
        return [line for item in value for line in hcl_blocks(name, item, indent)]
    return [f"{indent}{name} = {hcl_value(value)}"]


# ------------------------------------------------------------------------- command


def synthesize(outdir: Path, *, hcl: bool) -> None:
    """``main.py`` (JSON) or ``cdktf synth --hcl`` into ``outdir``."""
    env = {**os.environ, "CHECKPOINT_DISABLE": "1", "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20", "CDKTF_OUTDIR": str(outdir)}
    command = ["npx", "--no-install", "cdktf", "synth", "--hcl", "--output", str(outdir)] if hcl else [sys.executable, "main.py"]
    result = process.run_child(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        tail = (result.stderr.strip() or result.stdout.strip()).splitlines()[-1:] or ["no output"]
        raise ExportError(f"{' '.join(command[:4])} failed (exit {result.returncode}): {tail[0]}")


def export(out: Path) -> dict[str, Repairs]:
    """Write ``out/stacks/<stack>/cdk.tf`` (repaired HCL) and ``out/json/<stack>/cdk.tf.json``.
    ``out`` is replaced only when it is absent, empty or an earlier output (:mod:`stacks.output_dir`)."""
    try:
        output_dir.check_replaceable(out, "--out")
    except output_dir.NotOurs as error:
        raise ExportError(str(error)) from None
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{out.name}.", dir=out.parent) as tmp:
        scratch = Path(tmp)
        synthesize(scratch / "json-synth", hcl=False)
        synthesize(scratch / "hcl-synth", hcl=True)
        result = scratch / "out"
        repairs: dict[str, Repairs] = {}
        for stack_dir in sorted((scratch / "hcl-synth" / "stacks").iterdir()):
            stack = stack_dir.name
            doc = json.loads((scratch / "json-synth" / "stacks" / stack / "cdk.tf.json").read_text())
            hcl, repairs[stack] = repair((stack_dir / "cdk.tf").read_text(), doc)
            (result / "stacks" / stack).mkdir(parents=True)
            (result / "stacks" / stack / "cdk.tf").write_text(hcl)
            shutil.copy2(stack_dir / "metadata.json", result / "stacks" / stack / "metadata.json")
            (result / "json" / stack).mkdir(parents=True)
            shutil.copy2(scratch / "json-synth" / "stacks" / stack / "cdk.tf.json", result / "json" / stack / "cdk.tf.json")
        output_dir.stamp(result)
        output_dir.remove(out, "--out")
        result.rename(out)
    return repairs


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser("tools.port.hcl_export", "Every stack as HCL (cdktf synth --hcl, repaired).")
    parser.add_argument("--out", type=Path, default=ROOT / "hcl.out")
    args = parser.parse_args(argv)
    try:
        repairs = export(args.out)
    except ExportError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for stack, done in repairs.items():
        print(f"{stack}: {args.out.name}/stacks/{stack}/cdk.tf (repaired: {done.summary()})")
    return 0


if __name__ == "__main__":
    process.run(main)
