"""The oldest Terraform that understands a synthesized stack.

:func:`constructs` lists every construct a ``cdk.tf.json`` uses that matters for
the Terraform version (top-level blocks, ``terraform`` settings, backend and
cloud arguments, resource types, lifecycle arguments, functions, write-only
arguments) with the release that introduced it; :func:`minimum` is their
maximum.  Anything not in these tables raises :class:`UnknownConstruct`, so a
new construct cannot slip in without its version being looked up.

Versions are from the Terraform changelog: 1.0 is the floor (the v1.x
compatibility promise); every later entry names the release that added it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

FLOOR = "1.0.0"

#: Top-level blocks.
BLOCKS = {
    "//": FLOOR,  # cdktf's metadata: a JSON comment property
    "terraform": FLOOR,
    "provider": FLOOR,
    "resource": FLOOR,
    "data": FLOOR,
    "output": FLOOR,
    "variable": FLOOR,
    "locals": FLOOR,
    "module": FLOOR,
    "moved": "1.1.0",
    "import": "1.5.0",
    "check": "1.5.0",
    "removed": "1.7.0",
    "ephemeral": "1.10.0",
}
#: Arguments of the ``terraform`` block.
SETTINGS = {"required_version": FLOOR, "required_providers": FLOOR, "backend": FLOOR, "provider_meta": FLOOR, "cloud": "1.1.0"}
#: Backend arguments, per backend type; 1.6 rewrote the S3 backend (``endpoints``, ``use_path_style``).
BACKEND_ARGUMENTS: dict[str, dict[str, str]] = {
    "local": {"path": FLOOR, "workspace_dir": FLOOR},
    "s3": {
        **dict.fromkeys(
            (
                "bucket",
                "key",
                "region",
                "encrypt",
                "kms_key_id",
                "acl",
                "dynamodb_table",
                "profile",
                "role_arn",
                "workspace_key_prefix",
                "skip_credentials_validation",
                "skip_region_validation",
                "skip_metadata_api_check",
                "max_retries",
            ),
            FLOOR,
        ),
        "endpoints": "1.6.0",
        "use_path_style": "1.6.0",
        "use_lockfile": "1.10.0",
    },
}
#: Arguments of the ``cloud`` block (``workspaces.project``: hashicorp/terraform#33489, 1.6).
CLOUD_ARGUMENTS = {
    "organization": "1.1.0",
    "hostname": "1.1.0",
    "token": "1.1.0",
    "workspaces.name": "1.1.0",
    "workspaces.tags": "1.1.0",
    "workspaces.project": "1.6.0",
}
#: Built-in resource types.
RESOURCE_TYPES = {"terraform_data": "1.4.0"}
#: ``lifecycle`` arguments of a resource.
LIFECYCLE = {
    "create_before_destroy": FLOOR,
    "prevent_destroy": FLOOR,
    "ignore_changes": FLOOR,
    "replace_triggered_by": "1.2.0",
    "precondition": "1.2.0",
    "postcondition": "1.2.0",
}
#: Meta-arguments of a resource or data source besides ``lifecycle`` (and cdktf's ``//``).
META_ARGUMENTS = {"depends_on", "count", "for_each", "provider", "provisioner", "connection"}
#: ``lifecycle`` of a ``removed`` block (``destroy``: 1.7, with the block).
REMOVED_LIFECYCLE = {"destroy": "1.7.0"}
#: Functions added after 1.0.
NEWER_FUNCTIONS = {
    "startswith": "1.3.0",
    "endswith": "1.3.0",
    "timecmp": "1.3.0",
    "strcontains": "1.5.0",
    "plantimestamp": "1.5.0",
    "issensitive": "1.8.0",
    "templatestring": "1.9.0",
    "ephemeralasnull": "1.10.0",
}
#: Functions Terraform 1.0 already has.
FLOOR_FUNCTIONS = frozenset(
    [
        "abs",
        "ceil",
        "floor",
        "log",
        "max",
        "min",
        "parseint",
        "pow",
        "signum",
        "chomp",
        "format",
        "formatlist",
        "indent",
        "join",
        "lower",
        "regex",
        "regexall",
        "replace",
        "split",
        "strrev",
        "substr",
        "title",
        "trim",
        "trimprefix",
        "trimsuffix",
        "trimspace",
        "upper",
        "alltrue",
        "anytrue",
        "chunklist",
        "coalesce",
        "coalescelist",
        "compact",
        "concat",
        "contains",
        "distinct",
        "element",
        "flatten",
        "index",
        "keys",
        "length",
        "list",
        "lookup",
        "map",
        "matchkeys",
        "merge",
        "one",
        "range",
        "reverse",
        "setintersection",
        "setproduct",
        "setsubtract",
        "setunion",
        "slice",
        "sort",
        "sum",
        "transpose",
        "values",
        "zipmap",
        "base64decode",
        "base64encode",
        "base64gzip",
        "csvdecode",
        "jsondecode",
        "jsonencode",
        "textdecodebase64",
        "textencodebase64",
        "urlencode",
        "yamldecode",
        "yamlencode",
        "abspath",
        "dirname",
        "pathexpand",
        "basename",
        "file",
        "fileexists",
        "fileset",
        "filebase64",
        "templatefile",
        "formatdate",
        "timeadd",
        "timestamp",
        "base64sha256",
        "base64sha512",
        "bcrypt",
        "filebase64sha256",
        "filebase64sha512",
        "filemd5",
        "filesha1",
        "filesha256",
        "filesha512",
        "md5",
        "rsadecrypt",
        "sha1",
        "sha256",
        "sha512",
        "uuid",
        "uuidv5",
        "cidrhost",
        "cidrnetmask",
        "cidrsubnet",
        "cidrsubnets",
        "can",
        "defaults",
        "nonsensitive",
        "sensitive",
        "tobool",
        "tolist",
        "tomap",
        "tonumber",
        "toset",
        "tostring",
        "try",
        "type",
    ]
)
#: Write-only arguments (``*_wo``, ``*_wo_version``) need 1.11.
WRITE_ONLY = "1.11.0"
_WRITE_ONLY_RE = re.compile(r"_wo(_version)?\Z")
_FUNCTION_RE = re.compile(r"(?<![\w.])((?:provider::[\w-]+::)?[a-z_][a-z0-9_]*)\(", re.ASCII)


class UnknownConstruct(ValueError):
    """A construct without a known minimum version: add it to a table above."""


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def constructs(doc: Mapping[str, Any]) -> dict[str, str]:
    """``{construct: oldest Terraform release that has it}`` for every construct ``doc`` uses."""
    found: dict[str, str] = {}
    for block in doc:
        found[f"block {block}"] = _known(BLOCKS, block, "top-level block")
    settings = doc.get("terraform", {})
    for name in settings:
        found[f"terraform.{name}"] = _known(SETTINGS, name, "terraform setting")
    for backend_type, arguments in settings.get("backend", {}).items():
        table = BACKEND_ARGUMENTS.get(backend_type)
        if table is None:
            raise UnknownConstruct(f"backend {backend_type!r}: add its arguments to BACKEND_ARGUMENTS")
        for name in arguments:
            found[f"backend {backend_type}.{name}"] = _known(table, name, f"{backend_type} backend argument")
    cloud = settings.get("cloud", {})
    for name, value in cloud.items():
        for key in [f"{name}.{inner}" for inner in value] if isinstance(value, Mapping) else [name]:
            found[f"cloud {key}"] = _known(CLOUD_ARGUMENTS, key, "cloud argument")
    for section in ("resource", "data"):
        for resource_type, by_name in doc.get(section, {}).items():
            if section == "resource" and resource_type in RESOURCE_TYPES:
                found[f"resource {resource_type}"] = RESOURCE_TYPES[resource_type]
            for body in by_name.values():
                found.update(_resource_constructs(body))
    for removed in doc.get("removed", []):
        for name in removed.get("lifecycle", {}):
            found[f"removed lifecycle.{name}"] = _known(REMOVED_LIFECYCLE, name, "removed lifecycle argument")
    for function in sorted(functions(doc)):
        found[f"function {function}"] = _function_version(function)
    return found


def _resource_constructs(body: Mapping[str, Any]) -> dict[str, str]:
    found: dict[str, str] = {}
    for name in body.get("lifecycle", {}):
        found[f"lifecycle {name}"] = _known(LIFECYCLE, name, "lifecycle argument")
    for name in body:
        if name in META_ARGUMENTS:
            found[f"meta-argument {name}"] = FLOOR
        elif _WRITE_ONLY_RE.search(name):
            found[f"write-only argument {name}"] = WRITE_ONLY
    return found


def _known(table: Mapping[str, str], name: str, what: str) -> str:
    if name not in table:
        raise UnknownConstruct(f"{what} {name!r} has no known minimum Terraform version: add it to tools/port/terraform_requirements.py")
    return table[name]


def _function_version(name: str) -> str:
    if name.startswith("provider::"):
        return "1.8.0"
    if name in NEWER_FUNCTIONS:
        return NEWER_FUNCTIONS[name]
    if name in FLOOR_FUNCTIONS:
        return FLOOR
    raise UnknownConstruct(f"function {name!r} has no known minimum Terraform version: add it to tools/port/terraform_requirements.py")


def functions(doc: Any) -> set[str]:
    """Names of the functions called in any ``${...}`` expression of ``doc``."""
    return {name for text in _strings(doc) for expression in expressions(text) for name in _FUNCTION_RE.findall(expression)}


def expressions(text: str) -> list[str]:
    """The code of each ``${...}`` in a template string, its string literals blanked
    (``$${`` is an escaped, literal ``${``)."""
    found, index = [], 0
    while (start := text.find("${", index)) >= 0:
        if start > 0 and text[start - 1] == "$":
            index = start + 2
            continue
        depth, position, code = 1, start + 2, []
        while position < len(text) and depth:
            char = text[position]
            if char == '"':
                end = position + 1
                while end < len(text) and text[end] != '"':
                    end += 2 if text[end] == "\\" else 1
                code.append('""')
                position = end + 1
                continue
            depth += {"{": 1, "}": -1}.get(char, 0)
            if depth:
                code.append(char)
            position += 1
        found.append("".join(code))
        index = position
    return found


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, Mapping):
        for key, value in node.items():
            if key != "//":
                yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)


def minimum(doc: Mapping[str, Any]) -> str:
    """The oldest Terraform release that has every construct of ``doc``."""
    return max(constructs(doc).values(), key=version_key)
