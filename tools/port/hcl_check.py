"""``make hcl-check``: the HCL export is equivalent to the JSON and valid for Terraform, offline.

Two checks of ``hcl.out`` (written by ``make hcl``, :mod:`tools.port.hcl_export`):

1. **equivalence**: each ``hcl.out/stacks/<stack>/cdk.tf`` is parsed with python-hcl2
   and compared with ``hcl.out/json/<stack>/cdk.tf.json``, the JSON of the same
   synthesis: the same blocks, resources, data sources, outputs and providers, and
   attribute by attribute the same values (strings decoded as Terraform reads them:
   escapes in literal text, ``${...}`` code verbatim, heredocs with their final
   newline).  cdktf's ``//`` metadata is not configuration and is left out.
2. **validity**: ``terraform init -backend=false`` and ``terraform validate`` of every
   stack with the ``hashicorp/aws`` provider found offline, exactly as ``make e2e`` finds
   it (:mod:`tools.emulator.discovery`: a filesystem mirror or plugin cache, never a
   download).  With a provider older than 6.x the 6.x-only settings are removed first,
   the same list ``make e2e`` removes (:mod:`tools.emulator.version_gap`).  Without terraform
   or a provider this part prints ``SKIPPED: <reason>``.

It runs in its own environment (``envs/hcl``): python-hcl2 installs the module
``hcl2``, as checkov's fork does in the project's.

Usage: ``python -m tools.port.hcl_check [--out hcl.out]``
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from stacks import process
from tools.common import cli
from tools.emulator.discovery import Skip, Tools, cli_config, discover
from tools.emulator.version_gap import SIX_ONLY, TARGET_MAJOR, Gap, major
from tools.port.hcl_export import template_segments

ROOT = Path(__file__).resolve().parents[2]
#: Arguments whose values are references, bare in HCL and strings in JSON.
REFERENCE_LISTS = {"depends_on", "ignore_changes", "replace_triggered_by", "from", "to"}
#: Closed loopback port for proxies: nothing but the mirror can be reached.
CLOSED_PROXY = "http://127.0.0.1:9"
_UNICODE_RE = re.compile(r"\\(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8})")
_SIMPLE = {"\\": "\\", '"': '"', "n": "\n", "r": "\r", "t": "\t"}


class Blocks(list[Any]):
    """Nested blocks (``name { ... }``), as opposed to an attribute holding a list."""


# ------------------------------------------------------------------------- decoding


def unquote(text: str) -> str:
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text


def decode_string(raw: str) -> str:
    """The value Terraform reads from python-hcl2's text of a string (quotes kept)."""
    if not (len(raw) >= 2 and raw[0] == raw[-1] == '"'):
        return raw  # a bare expression: python-hcl2 gives "${expr}", as JSON writes it
    body = raw[1:-1]
    heredoc = re.match(r"<<(-?)([A-Za-z_][A-Za-z0-9_]*)\n", body)
    closing = re.search(rf"\n[ \t]*{heredoc[2]}$", body) if heredoc else None
    if heredoc and closing:
        lines = body[heredoc.end() : closing.start() + 1].split("\n")[:-1]
        if heredoc[1]:
            indent = min((len(line) - len(line.lstrip(" ")) for line in lines if line.strip()), default=0)
            lines = [line[indent:] for line in lines]
        return "".join(line + "\n" for line in lines)
    return "".join(piece if code else _unescape(piece) for code, piece in template_segments(body))


def _unescape(text: str) -> str:
    out, index = [], 0
    while index < len(text):
        if text[index] != "\\":
            out.append(text[index])
            index += 1
            continue
        unicode = _UNICODE_RE.match(text, index)
        if unicode:
            out.append(chr(int(unicode[1][1:], 16)))
            index = unicode.end()
        elif index + 1 < len(text) and text[index + 1] in _SIMPLE:
            out.append(_SIMPLE[text[index + 1]])
            index += 2
        else:
            raise ValueError(f"invalid escape in HCL string: {text[index : index + 2]!r}")
    return "".join(out)


def _value(node: Any, key: str = "") -> Any:
    if isinstance(node, str):
        text = decode_string(node)
        if key in REFERENCE_LISTS and text.startswith("${") and text.endswith("}"):
            return text[2:-1]
        return text
    if isinstance(node, list):
        items = [_value(item, key) for item in node]
        return Blocks(items) if node and all(isinstance(i, dict) and i.get("__is_block__") for i in node) else items
    if isinstance(node, dict):
        return {unquote(k): _value(v, unquote(k)) for k, v in node.items() if k not in ("__is_block__", "__comments__", "__inline_comments__")}
    return node


def json_shape(parsed: Mapping[str, Any]) -> dict[str, Any]:
    """python-hcl2's parse of a ``cdk.tf``, arranged like Terraform JSON (``cdk.tf.json``)."""
    doc: dict[str, Any] = {}
    for name, blocks in parsed.items():
        if name == "terraform":
            settings: dict[str, Any] = {}
            for block in blocks:
                for key, value in _value(block).items():
                    if key in ("required_providers", "cloud"):
                        settings[key] = value[0]
                    elif key == "backend":
                        settings[key] = {label: body for item in value for label, body in item.items()}
                    else:
                        settings[key] = value
            doc[name] = settings
        elif name == "provider":
            for block in blocks:
                for label, body in _value(block).items():
                    doc.setdefault(name, {}).setdefault(label, []).append(body)
        elif name in ("resource", "data"):
            for block in blocks:
                for rtype, by_name in _value(block).items():
                    doc.setdefault(name, {}).setdefault(rtype, {}).update(by_name)
        elif name in ("output", "variable", "locals", "module"):
            for block in blocks:
                doc.setdefault(name, {}).update(_value(block))
        else:  # removed, moved, import: unlabeled, repeatable
            doc[name] = [_value(block) for block in blocks]
    return doc


def without_metadata(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: without_metadata(v) for k, v in node.items() if k != "//"}
    if isinstance(node, list):
        return [without_metadata(v) for v in node]
    return node


# ------------------------------------------------------------------------- comparison


def differences(expected: Any, actual: Any, path: str = "") -> list[str]:
    """Every place where the HCL (``actual``, :func:`json_shape`) differs from the JSON."""
    if isinstance(actual, Blocks) and isinstance(expected, dict) and len(actual) == 1:
        actual = actual[0]  # one nested block: JSON may write it as an object
    if isinstance(expected, dict) and isinstance(actual, dict):
        found = []
        for key in sorted(set(expected) | set(actual)):
            where = f"{path}.{key}" if path else key
            if key not in actual:
                found.append(f"{where}: missing from the HCL")
            elif key not in expected:
                found.append(f"{where}: only in the HCL ({_short(actual[key])})")
            else:
                found += differences(expected[key], actual[key], where)
        return found
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return [f"{path}: {len(expected)} items in the JSON, {len(actual)} in the HCL"]
        return [d for index, (e, a) in enumerate(zip(expected, actual, strict=True)) for d in differences(e, a, f"{path}[{index}]")]
    if type(expected) is not type(actual) or expected != actual:
        return [f"{path}: JSON {_short(expected)}, HCL {_short(actual)}"]
    return []


def _short(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 80 else text[:77] + "..."


def counts(doc: Mapping[str, Any]) -> str:
    resources = sum(len(v) for v in doc.get("resource", {}).values())
    data = sum(len(v) for v in doc.get("data", {}).values())
    leaves = sum(1 for _ in _leaves(doc))
    return f"{resources} resources, {data} data sources, {len(doc.get('output', {}))} outputs, {leaves} values"


def _leaves(node: Any) -> Any:
    if isinstance(node, dict):
        for value in node.values():
            yield from _leaves(value)
    elif isinstance(node, list):
        for value in node:
            yield from _leaves(value)
    else:
        yield node


def parse(text: str) -> dict[str, Any]:
    import hcl2  # python-hcl2 (envs/hcl); checkov's fork in the project's environment differs

    if not hasattr(hcl2, "SerializationOptions"):
        raise RuntimeError("this needs python-hcl2 8 (envs/hcl), not checkov's fork: run make hcl-check")
    parsed: dict[str, Any] = hcl2.loads(text)
    return parsed


def check_equivalence(out: Path) -> dict[str, list[str]]:
    """``{stack: differences}`` for every stack of ``out``."""
    report = {}
    for stack_dir in sorted((out / "stacks").iterdir()):
        expected = without_metadata(json.loads((out / "json" / stack_dir.name / "cdk.tf.json").read_text()))
        actual = json_shape(parse((stack_dir / "cdk.tf").read_text()))
        report[stack_dir.name] = differences(expected, actual) or [f"equivalent: {counts(expected)}"]
    return report


# ------------------------------------------------------------------------- validity


def adapt(text: str, provider_version: str) -> tuple[str, list[str]]:
    """``text`` for the provider found: its version pinned, and below 6.x the 6.x-only
    settings of :data:`tools.emulator.version_gap.SIX_ONLY` taken out, line by line (the rest
    of the file is left byte for byte as it was)."""
    text = re.sub(r'(?m)^(      version += )"[^"]*"$', rf'\g<1>"{provider_version}"', text, count=1)
    if major(provider_version) >= TARGET_MAJOR:
        return text, []
    changes: list[str] = []
    for gap in (g for g in SIX_ONLY if g.reference):
        pattern = re.compile(rf"\b{re.escape(gap.resource_type)}\.([A-Za-z0-9_-]+)\.{re.escape(gap.path[0])}\b", re.ASCII)
        changes += [f"{gap.name}: {gap.resource_type}.{name}" for name in sorted(set(pattern.findall(text)))]
        text = pattern.sub(rf"{gap.resource_type}.\1.{gap.replacement}", text)
    lines: list[str | None] = list(text.split("\n"))
    for gap in (g for g in SIX_ONLY if not g.reference):
        header = re.compile(rf'^resource "{re.escape(gap.resource_type)}" "([^"]+)" {{\Z')
        for index, line in enumerate(lines):
            match = header.match(line or "")
            if match and _take_out(lines, index + 1, _closing_line(lines, index, ""), gap.path, "  ", gap):
                changes.append(f"{gap.name}: {gap.resource_type}.{match[1]}")
    return "\n".join(line for line in lines if line is not None), changes


def _closing_line(lines: list[str | None], index: int, indent: str) -> int:
    """Index of the line that closes the block opened at ``index`` (at ``indent``)."""
    return next(i for i in range(index + 1, len(lines)) if lines[i] in (f"{indent}}}", f"{indent}]"))


def _take_out(lines: list[str | None], start: int, end: int, path: tuple[str, ...], indent: str, gap: Gap) -> bool:
    """Remove (or re-value) ``path`` in the block body ``lines[start:end]``; True when changed."""
    head, rest = path[0], path[1:]
    changed, index = False, start
    while index < end:
        line = lines[index]
        opens_block = line == f"{indent}{head} {{"
        argument = re.match(rf"^{indent}{re.escape(head)} +=[ ](.*)$", line or "")
        if opens_block and rest:
            close = _closing_line(lines, index, indent)
            changed |= _take_out(lines, index + 1, close, rest[1:] if rest[0] == "*" else rest, indent + "  ", gap)
            index = close
        elif (opens_block or argument) and not rest and gap.value is None:
            close = _closing_line(lines, index, indent) if opens_block or (argument and argument[1] in ("[", "{")) else index
            lines[index : close + 1] = [None] * (close + 1 - index)
            changed, index = True, close
        elif argument and not rest and argument[1] == json.dumps(gap.value):
            lines[index] = f"{(line or '')[: argument.start(1)]}{json.dumps(gap.replacement)}"
            changed = True
        index += 1
    return changed


def check_validity(out: Path, tools: Tools, work: Path) -> dict[str, list[str]]:
    """``{stack: problems}`` from ``terraform validate`` of each stack, offline."""
    (work / "terraformrc").write_text(cli_config(tools.provider) + f"plugin_cache_dir = {json.dumps(str(work / 'plugin-cache'))}\n")
    (work / "plugin-cache").mkdir(exist_ok=True)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TF_", "AWS_"))},
        "TF_CLI_CONFIG_FILE": str(work / "terraformrc"),
        "CHECKPOINT_DISABLE": "1",
        "TF_IN_AUTOMATION": "1",
        "HTTP_PROXY": CLOSED_PROXY,
        "HTTPS_PROXY": CLOSED_PROXY,
        "NO_PROXY": "127.0.0.1,localhost",
    }
    report = {}
    for stack_dir in sorted((out / "stacks").iterdir()):
        text, changes = adapt((stack_dir / "cdk.tf").read_text(), tools.provider.version)
        directory = work / stack_dir.name
        directory.mkdir()
        (directory / "main.tf").write_text(text)
        problems = []
        for command in (["init", "-backend=false", "-input=false", "-no-color"], ["validate", "-no-color"]):
            result = process.run_child([str(tools.terraform), f"-chdir={directory}", *command], env=env, capture_output=True, text=True)
            if result.returncode != 0:
                problems = [f"terraform {command[0]}: {line}" for line in result.stderr.strip().splitlines() if line.strip()][:20]
                break
        gap = f" ({len(changes)} 6.x-only settings removed for hashicorp/aws {tools.provider.version})" if changes else ""
        report[stack_dir.name] = problems or [f"valid{gap}"]
    return report


def main(argv: list[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    parser = cli.parser("tools.port.hcl_check", "The HCL export: equivalent to the JSON, valid for Terraform.")
    parser.add_argument("--out", type=Path, default=ROOT / "hcl.out")
    args = parser.parse_args(argv)
    if not (args.out / "stacks").is_dir():
        print(f"error: {args.out} has no stacks; run make hcl first", file=sys.stderr)
        return 1
    failed = False
    for stack, lines in check_equivalence(args.out).items():
        ok = lines[0].startswith("equivalent")
        failed |= not ok
        print(f"{stack}: HCL {'=' if ok else '!='} JSON: {lines[0] if ok else f'{len(lines)} differences'}")
        if not ok:
            print("\n".join(f"    {line}" for line in lines))
    try:
        tools = discover(dict(os.environ if environ is None else environ), Path.home())
    except Skip as reason:
        print(f"SKIPPED: terraform validate of the HCL: {reason}")
        return int(failed)
    with tempfile.TemporaryDirectory(prefix="hcl-validate-") as tmp:
        for stack, lines in check_validity(args.out, tools, Path(tmp)).items():
            ok = lines[0].startswith("valid")
            failed |= not ok
            print(f"{stack}: terraform {tools.terraform_version} validate: {lines[0] if ok else 'INVALID'}")
            if not ok:
                print("\n".join(f"    {line}" for line in lines))
    return int(failed)


if __name__ == "__main__":
    process.run(main)
