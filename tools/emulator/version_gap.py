"""Bridge the gap between the provider the stacks target (6.x) and an older one found offline.

The stacks pin ``hashicorp/aws`` 6.x; a machine's filesystem mirror may hold only
5.x.  :func:`adapt` makes a synthesized stack (a copy, never ``cdktf.out``) usable
with the provider found:

- ``terraform.required_providers.aws.version`` becomes that provider's version
  (the stacks pin an exact version, so any other one would fail ``terraform init``);
- when the provider is older than 6.x, each entry of :data:`SIX_ONLY` (the one
  list of 6.x-only attributes the 5.x schema rejects) is removed or rewritten, and
  described, so the run can print what it therefore did not exercise.

With a 6.x provider nothing is removed.  :func:`adapt_emulated` applies it, in place, to
the stacks a command synthesized against a local emulator (``make emulator``), so
``make deploy`` and the other commands run there as ``make e2e`` does.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.emulator.discovery import discover

#: First provider major version that knows every attribute the stacks use.
TARGET_MAJOR = 6


@dataclass(frozen=True)
class Gap:
    """One 6.x-only attribute of a resource type.

    ``path`` is the attribute path inside the resource (``"*"``: every element of a
    block list).  Without ``value`` the attribute is removed; with it, only that
    value is replaced by ``replacement``.  ``reference`` rewrites expressions
    ``<type>.<name>.<attribute>`` to ``<type>.<name>.<replacement>`` instead.
    """

    resource_type: str
    path: tuple[str, ...]
    not_exercised: str
    value: str | None = None
    replacement: str | None = None
    reference: bool = False

    @property
    def name(self) -> str:
        shown = ".".join(self.path).replace(".*.", "[*].")
        if self.reference:
            return f"{self.resource_type}.{shown} (references -> .{self.replacement})"
        if self.value is not None:
            return f"{self.resource_type}.{shown} = {self.value} (-> {self.replacement})"
        return f"{self.resource_type}.{shown}"


#: Every 6.x-only attribute the stacks use that the 5.x schema rejects.
SIX_ONLY: tuple[Gap, ...] = (
    Gap(
        "aws_ecr_repository",
        ("image_tag_mutability_exclusion_filter",),
        "tags exempt from tag immutability (dev's mutable latest)",
    ),
    Gap(
        "aws_ecr_repository",
        ("image_tag_mutability",),
        "IMMUTABLE_WITH_EXCLUSION (every tag is immutable instead)",
        value="IMMUTABLE_WITH_EXCLUSION",
        replacement="IMMUTABLE",
    ),
    Gap(
        "aws_ecs_service",
        ("deployment_configuration",),
        "ECS-native blue/green deployments (strategy BLUE_GREEN, bake time)",
    ),
    Gap(
        "aws_ecs_service",
        ("load_balancer", "*", "advanced_configuration"),
        "the blue/green load balancer wiring (alternate target group, production and test listener rules, ECS role)",
    ),
    Gap(
        "aws_ecs_service",
        ("arn",),
        "the service's arn attribute (5.x: the id is the ARN, so the ecs_service_arn output is read from id)",
        replacement="id",
        reference=True,
    ),
)


def major(version: str) -> int:
    head = version.split(".", 1)[0]
    return int(head) if head.isdigit() else 0


def adapt(doc: dict[str, Any], provider_version: str, gaps: tuple[Gap, ...] = SIX_ONLY) -> tuple[dict[str, Any], list[str]]:
    """``(adapted copy of doc, one line per change)`` for ``provider_version``.

    The version constraint always follows the provider found; ``gaps`` apply only
    below :data:`TARGET_MAJOR`.  A change line reads ``<gap name>: <type>.<resource>``.
    """
    adapted = copy.deepcopy(doc)
    providers = adapted.get("terraform", {}).get("required_providers", {})
    if "aws" in providers:
        providers["aws"]["version"] = provider_version
    if major(provider_version) >= TARGET_MAJOR:
        return adapted, []
    changes: list[str] = []
    for gap in gaps:
        if gap.reference:
            changes += _rewrite_references(adapted, gap)
            continue
        for name, resource in adapted.get("resource", {}).get(gap.resource_type, {}).items():
            if _apply(resource, gap.path, gap):
                changes.append(f"{gap.name}: {gap.resource_type}.{name}")
    return adapted, changes


def _apply(node: Any, path: tuple[str, ...], gap: Gap) -> bool:
    """Remove (or replace the value of) ``path`` under ``node``; True when something changed."""
    head, rest = path[0], path[1:]
    if head == "*":
        items = node if isinstance(node, list) else [node] if isinstance(node, dict) else []
        return any([_apply(item, rest, gap) for item in items])
    if not isinstance(node, dict) or head not in node:
        return False
    if rest:
        return _apply(node[head], rest, gap)
    if gap.value is None:
        del node[head]
        return True
    if node[head] == gap.value:
        node[head] = gap.replacement
        return True
    return False


def _rewrite_references(doc: dict[str, Any], gap: Gap) -> list[str]:
    pattern = re.compile(rf"\b{re.escape(gap.resource_type)}\.([A-Za-z0-9_-]+)\.{re.escape(gap.path[0])}\b", re.ASCII)
    found: set[str] = set()

    def rewrite(text: str) -> str:
        def one(match: re.Match[str]) -> str:
            found.add(match[1])
            return f"{gap.resource_type}.{match[1]}.{gap.replacement}"

        return pattern.sub(one, text)

    for parent, key in list(_strings(doc)):
        parent[key] = rewrite(parent[key])
    return [f"{gap.name}: {gap.resource_type}.{name}" for name in sorted(found)]


def _strings(node: Any) -> Iterator[tuple[Any, Any]]:
    """``(container, key)`` of every string inside ``node``."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        if isinstance(value, str):
            yield node, key
        else:
            yield from _strings(value)


def not_exercised(changes: list[str], gaps: tuple[Gap, ...] = SIX_ONLY) -> list[str]:
    """What a run with these changes did not exercise: one line per gap that applied."""
    applied = {line.split(": ", 1)[0] for line in changes}
    return [gap.not_exercised for gap in gaps if gap.name in applied]


def adapt_emulated(outdir: Path, environ: Mapping[str, str], home: Path, emit: Callable[[str], None] = print) -> list[str]:
    """Adapt, in place, every synthesized stack of ``outdir`` that is aimed at a local emulator
    (its provider has endpoints: ``AWS_ENDPOINT_URL``) to the offline provider Terraform will
    install (:func:`tools.emulator.discovery.discover`), and say what changed, one line per
    stack.  Stacks for real AWS are never touched.  Raises :class:`~tools.emulator.discovery.Skip`
    when there is no offline provider to adapt to."""
    emulated = [
        p for p in sorted(outdir.glob("stacks/*/cdk.tf.json")) if (json.loads(p.read_text()).get("provider", {}).get("aws") or [{}])[0].get("endpoints")
    ]
    if not emulated:
        return []
    provider = discover(environ, home).provider
    lines = []
    for path in emulated:
        doc, changes = adapt(json.loads(path.read_text()), provider.version)
        path.write_text(json.dumps(doc, indent=2) + "\n")
        lines.append(
            f"emulator: {path.parent.name}: for hashicorp/aws {provider.version} from {provider.mirror}: "
            + (f"{len(changes)} 6.x-only settings removed" if changes else "nothing removed")
        )
    for line in lines:
        emit(line)
    return lines
