"""Offline diff of the synthesized stacks between a base revision and the working tree.

Synthesizes the base revision (extracted with ``git archive`` into a scratch
directory and run with its own ``main.py``) and the working tree, under the
same settings and variables (``settings.env`` of the working tree, under the
environment, passed to both as variables: a git-ignored file is not in the
base revision, and a diff must show what the code changed), then
prints, per stack, the resources added, removed and changed (with the changed
attribute paths; cdktf's ``"//"`` metadata is ignored) and the outputs that
changed.  The output is markdown, posted as a pull request comment.

Deletions of stateful resources and changes that force a resource to be
replaced (see :mod:`tools.review.stateful`) are set in **bold**: those are the lines a
reviewer must not miss.

The diff logic (:func:`diff_stacks`, :func:`render_markdown`) works on plain
dicts; the git and synth plumbing is separate (:func:`main`).

Usage::

    python -m tools.review.synth_diff                 # base: merge base of HEAD and main
    python -m tools.review.synth_diff --base v1.2.0   # any git revision
    python -m tools.review.synth_diff --base-dir A --head-dir B   # two synthesized cdktf.out/stacks folders
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from stacks import process
from stacks.config import OVERRIDE_VARIABLES, ConfigError
from tools.common import cli
from tools.review.stateful import REPLACE_FORCING, VERSIONED_TYPES, forces_replacement, is_downgrade, is_stateful

ROOT = Path(__file__).resolve().parents[2]
METADATA_KEY = "//"
#: GitHub comments hold at most 65,536 characters.
MAX_COMMENT_CHARS = 60_000
#: Changed attribute paths listed per resource before "and N more".
MAX_PATHS = 12

Stacks = Mapping[str, Mapping[str, Any]]


# --------------------------------------------------------------------------
# Pure diff logic
# --------------------------------------------------------------------------


def changed_paths(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Dotted paths (list items by index) where ``old`` and ``new`` differ; ``"//"`` keys are ignored."""
    if isinstance(old, dict) and isinstance(new, dict):
        paths: list[str] = []
        for key in sorted(set(old) | set(new)):
            if key == METADATA_KEY:
                continue
            path = f"{prefix}.{key}" if prefix else str(key)
            if key not in old or key not in new:
                paths.append(path)
            else:
                paths.extend(changed_paths(old[key], new[key], path))
        return paths
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        paths = []
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            paths.extend(changed_paths(a, b, f"{prefix}.{i}" if prefix else str(i)))
        return paths
    return [] if old == new else [prefix or "(value)"]


def _strip_metadata(body: Any) -> Any:
    if isinstance(body, dict):
        return {k: _strip_metadata(v) for k, v in body.items() if k != METADATA_KEY}
    if isinstance(body, list):
        return [_strip_metadata(v) for v in body]
    return body


def _resources(doc: Mapping[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """Address -> (type, body) for managed resources and data sources."""
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    for rtype, by_name in doc.get("resource", {}).items():
        for name, body in by_name.items():
            found[f"{rtype}.{name}"] = (rtype, body)
    for rtype, by_name in doc.get("data", {}).items():
        for name, body in by_name.items():
            found[f"data.{rtype}.{name}"] = (rtype, body)
    return found


@dataclass(frozen=True)
class ResourceChange:
    address: str
    resource_type: str
    kind: Literal["added", "removed", "changed"]
    #: Changed attribute paths (``changed`` only).
    paths: tuple[str, ...] = ()
    #: For a removal: the address of an added resource with an identical body (a renamed construct id).
    renamed_to: str | None = None
    #: ``(old, new)`` engine versions when the change lowers one (see :func:`tools.review.stateful.is_downgrade`).
    downgrade: tuple[str, str] | None = None
    #: A removal that a ``removed`` block (``destroy = false``) turns into leaving the state:
    #: the object stays in the account.
    forgotten: bool = False
    #: Changed paths under the resource's ``lifecycle.ignore_changes``: Terraform never applies them.
    ignored_paths: tuple[str, ...] = ()
    #: For a replacement: ``<address>.<attribute>`` of the resources whose ignored attributes
    #: name this one (what ECS owns: the listener rules' forwards, the service's load balancers).
    held_by: tuple[str, ...] = ()

    @property
    def is_data_source(self) -> bool:
        return self.address.startswith("data.")

    @property
    def replace_paths(self) -> tuple[str, ...]:
        if self.kind != "changed" or self.is_data_source:
            return ()
        return tuple(p for p in self.paths if forces_replacement(self.resource_type, p))

    @property
    def blocked(self) -> bool:
        """A change Terraform will not apply (ignored), or a replacement that what ignores
        changes still names (the old resource stays in use: its deletion fails)."""
        return bool(self.ignored_paths) or bool(self.held_by and self.replace_paths)

    @property
    def destructive(self) -> bool:
        """A stateful resource deleted, or any listed resource replaced."""
        if self.is_data_source:
            return False
        if self.kind == "removed":
            return is_stateful(self.resource_type) and not self.forgotten
        return bool(self.replace_paths) or self.downgrade is not None


@dataclass(frozen=True)
class StackDiff:
    stack: str
    status: Literal["added", "removed", "changed", "unchanged"]
    resources: tuple[ResourceChange, ...] = ()
    #: (output name, "added" | "removed" | "changed")
    outputs: tuple[tuple[str, str], ...] = ()
    #: Changed paths outside resources and outputs (backend, provider, ...).
    settings: tuple[str, ...] = ()
    resource_count: int = 0

    def of_kind(self, kind: str) -> list[ResourceChange]:
        return [c for c in self.resources if c.kind == kind]

    @property
    def destructive(self) -> list[ResourceChange]:
        return [c for c in self.resources if c.destructive]

    @property
    def blocked(self) -> list[ResourceChange]:
        return [c for c in self.resources if c.blocked]


@dataclass(frozen=True)
class Report:
    stacks: tuple[StackDiff, ...] = field(default_factory=tuple)

    @property
    def has_changes(self) -> bool:
        return any(s.status != "unchanged" for s in self.stacks)

    @property
    def destructive(self) -> list[tuple[str, ResourceChange]]:
        return [(s.stack, c) for s in self.stacks for c in s.destructive]

    @property
    def blocked(self) -> list[tuple[str, ResourceChange]]:
        return [(s.stack, c) for s in self.stacks for c in s.blocked]


_REFERENCE_RE = re.compile(r"\$\{([a-z0-9_]+\.[A-Za-z0-9_-]+)\.", re.ASCII)


def ignored_attributes(body: Mapping[str, Any]) -> list[str]:
    """The top-level attributes a resource's ``lifecycle.ignore_changes`` names."""
    ignored = body.get("lifecycle", {}).get("ignore_changes", [])
    return [str(a).split(".")[0].split("[")[0] for a in ignored] if isinstance(ignored, list) else []


def held_references(resources: Mapping[str, tuple[str, dict[str, Any]]]) -> dict[str, list[str]]:
    """Address -> the ``<address>.<attribute>`` whose ignored attribute references it."""
    held: dict[str, list[str]] = {}
    for address, (_, body) in resources.items():
        for attribute in ignored_attributes(body):
            for target in set(_REFERENCE_RE.findall(json.dumps(body.get(attribute, "")))):
                held.setdefault(target, []).append(f"{address}.{attribute}")
    return held


def kept_by_removed_blocks(doc: Mapping[str, Any]) -> set[str]:
    """Addresses a ``removed`` block lets leave the state without destroying them."""
    blocks = doc.get("removed", [])
    blocks = [blocks] if isinstance(blocks, dict) else blocks
    return {b["from"] for b in blocks if isinstance(b, dict) and b.get("lifecycle", {}).get("destroy") is False}


def diff_stack(stack: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> StackDiff:
    old_res, new_res = _resources(old), _resources(new)
    added = sorted(set(new_res) - set(old_res))
    removed = sorted(set(old_res) - set(new_res))
    changes: list[ResourceChange] = [ResourceChange(a, new_res[a][0], "added") for a in added]
    forgotten = kept_by_removed_blocks(new)
    # A removal whose body reappears unchanged under another name: a renamed construct id.
    added_bodies = {a: json.dumps(_strip_metadata(new_res[a][1]), sort_keys=True) for a in added}
    for address in removed:
        rtype, body = old_res[address]
        key = json.dumps(_strip_metadata(body), sort_keys=True)
        twin = next((a for a in added if new_res[a][0] == rtype and added_bodies[a] == key), None)
        changes.append(ResourceChange(address, rtype, "removed", renamed_to=twin, forgotten=address in forgotten))
    held = held_references(old_res)
    for address in sorted(set(old_res) & set(new_res)):
        paths = changed_paths(old_res[address][1], new_res[address][1])
        if paths:
            rtype = new_res[address][0]
            before, after = old_res[address][1].get("engine_version"), new_res[address][1].get("engine_version")
            downgrade = (str(before), str(after)) if rtype in VERSIONED_TYPES and is_downgrade(before, after) else None
            ignored = set(ignored_attributes(old_res[address][1])) & set(ignored_attributes(new_res[address][1]))
            under = tuple(p for p in paths if p.split(".")[0] in ignored)
            holders = tuple(sorted(held.get(address, [])))
            changes.append(ResourceChange(address, rtype, "changed", tuple(paths), downgrade=downgrade, ignored_paths=under, held_by=holders))

    old_out, new_out = old.get("output", {}), new.get("output", {})
    outputs = [(n, "added") for n in sorted(set(new_out) - set(old_out))]
    outputs += [(n, "removed") for n in sorted(set(old_out) - set(new_out))]
    outputs += [(n, "changed") for n in sorted(set(old_out) & set(new_out)) if changed_paths(old_out[n], new_out[n])]

    skip = {"resource", "data", "output", METADATA_KEY}
    settings = changed_paths({k: v for k, v in old.items() if k not in skip}, {k: v for k, v in new.items() if k not in skip})
    status: Literal["changed", "unchanged"] = "changed" if changes or outputs or settings else "unchanged"
    return StackDiff(stack, status, tuple(changes), tuple(outputs), tuple(settings), len(new_res))


def diff_stacks(base: Stacks, head: Stacks) -> Report:
    """Compare two ``{stack name: parsed cdk.tf.json}`` mappings."""
    result = []
    for stack in sorted(set(base) | set(head)):
        if stack not in base:
            result.append(StackDiff(stack, "added", resource_count=len(_resources(head[stack]))))
        elif stack not in head:
            result.append(StackDiff(stack, "removed", resource_count=len(_resources(base[stack]))))
        else:
            result.append(diff_stack(stack, base[stack], head[stack]))
    return Report(tuple(result))


# --------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------


def _paths_text(paths: tuple[str, ...] | list[str], limit: int = MAX_PATHS) -> str:
    shown = ", ".join(f"`{p}`" for p in paths[:limit])
    return shown + (f" and {len(paths) - limit} more" if len(paths) > limit else "")


def _change_line(change: ResourceChange) -> str:
    address = f"`{change.address}`"
    if change.kind == "added":
        return f"- {address}"
    if change.kind == "removed":
        hint = ""
        if change.renamed_to:
            hint = f" (same settings as added `{change.renamed_to}`: a renamed id; Terraform destroys and recreates it unless a `moved` block says otherwise)"
        if change.forgotten:
            return f"- {address}: leaves the state and stays in the account (a `removed` block with destroy = false){hint}"
        if change.destructive:
            return f"- **{address}: stateful, deleting it destroys its data**{hint}"
        return f"- {address}{hint}"
    if change.downgrade is not None:
        before, after = change.downgrade
        return f"- **{address}: engine_version {before} -> {after} is a DOWNGRADE: AWS cannot downgrade an engine; the apply fails or replaces the database**"
    replace = change.replace_paths
    if change.held_by and replace:
        return (
            f"- **{address}: REPLACED while {', '.join(f'`{h}`' for h in change.held_by)} (changes left to ECS) still names it: "
            f"{_paths_text(replace)} forces a new resource, and the old one cannot be deleted while in use; the apply fails (docs: Releasing)**"
        )
    if change.ignored_paths:
        applied = [p for p in change.paths if p not in change.ignored_paths]
        rest = f"; applied: {_paths_text(applied)}" if applied else ""
        return (
            f"- **{address}: NOT APPLIED: {_paths_text(change.ignored_paths)} is under lifecycle.ignore_changes (ECS owns it on a live service); "
            f"Terraform leaves it as it is (docs: Releasing)**{rest}"
        )
    if replace:
        kind = "stateful, its data is lost" if is_stateful(change.resource_type) else "clients see a new resource"
        others = [p for p in change.paths if p not in replace]
        rest = f"; also {_paths_text(others)}" if others else ""
        return f"- **{address}: REPLACED ({kind}): {_paths_text(replace)} forces a new resource**{rest}"
    return f"- {address}: {_paths_text(change.paths)}"


def _stack_lines(diff: StackDiff) -> Iterator[str]:
    if diff.status == "unchanged":
        yield f"### `{diff.stack}`: no changes"
        return
    if diff.status == "added":
        yield f"### `{diff.stack}`: new stack ({diff.resource_count} resources)"
        return
    if diff.status == "removed":
        yield f"### `{diff.stack}`: **stack removed** ({diff.resource_count} resources no longer synthesized; nothing manages them any more)"
        return
    added, removed, changed = diff.of_kind("added"), diff.of_kind("removed"), diff.of_kind("changed")
    yield f"### `{diff.stack}`: {len(added)} added, {len(removed)} removed, {len(changed)} changed"
    for title, group in (("Added", added), ("Removed", removed), ("Changed", changed)):
        if group:
            yield ""
            yield f"{title}:"
            yield ""
            yield from (_change_line(c) for c in group)
    if diff.outputs:
        yield ""
        yield "Outputs: " + ", ".join(f"{kind} `{name}`" for name, kind in diff.outputs)
    if diff.settings:
        yield ""
        yield f"Settings (backend, provider, ...): {_paths_text(list(diff.settings))}"


def render_markdown(report: Report, *, base_label: str, head_label: str, max_chars: int = MAX_COMMENT_CHARS) -> str:
    lines = [f"## Synth diff: `{base_label}` -> `{head_label}`", ""]
    destructive, blocked = report.destructive, report.blocked
    if blocked:
        lines.append(f"**{len(blocked)} change(s) Terraform cannot apply while ECS owns the load balancer settings. Check each bold line below.**")
    if destructive:
        lines.append(f"**{len(destructive)} destructive change(s): a stateful resource deleted or a resource replaced. Check each bold line below.**")
    elif not blocked and report.has_changes:
        lines.append("No deletions of stateful resources and no replacements.")
    else:
        lines.append("No changes in the synthesized stacks.")
    for diff in report.stacks:
        lines.append("")
        lines.extend(_stack_lines(diff))
    lines.append("")
    lines.append(
        "<sub>Offline diff of the synthesized JSON. Bold: deletion of a stateful resource or a change of an attribute that forces replacement "
        f"(types checked: {', '.join(sorted(REPLACE_FORCING))}). The plan, when present, is authoritative.</sub>"
    )
    text = "\n".join(lines) + "\n"
    if len(text) > max_chars:
        cut = text.rfind("\n", 0, max_chars - 200)
        text = text[:cut] + "\n\n... (truncated: run `make diff` locally for the full report)\n"
    return text


def render_text(report: Report) -> str:
    """Plain summary of the stacks that differ (for test failure messages)."""
    lines = []
    for diff in report.stacks:
        if diff.status in ("added", "removed"):
            lines.append(f"{diff.stack}: stack {diff.status}")
            continue
        for change in diff.resources:
            detail = f" ({', '.join(change.paths[:MAX_PATHS])}{' ...' if len(change.paths) > MAX_PATHS else ''})" if change.paths else ""
            flag = (" [DESTRUCTIVE]" if change.destructive else "") + (" [NOT APPLIED]" if change.blocked else "")
            lines.append(f"{diff.stack}: {change.kind} {change.address}{detail}{flag}")
        lines.extend(f"{diff.stack}: output {kind} {name}" for name, kind in diff.outputs)
        if diff.settings:
            lines.append(f"{diff.stack}: settings changed ({', '.join(diff.settings[:MAX_PATHS])})")
    return "\n".join(lines)


# --------------------------------------------------------------------------
# git and synth plumbing
# --------------------------------------------------------------------------


class DiffError(RuntimeError):
    pass


def _git(*args: str, cwd: Path = ROOT) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise DiffError(f"git {' '.join(args)}: {proc.stderr.strip()}")
    return proc.stdout.strip()


def default_base(cwd: Path = ROOT) -> str:
    """Merge base of HEAD with main (or origin/main); else HEAD~1; else HEAD."""
    for branch in ("main", "origin/main"):
        try:
            return _git("merge-base", "HEAD", branch, cwd=cwd)
        except DiffError:
            continue
    for rev in ("HEAD~1", "HEAD"):
        try:
            return _git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", cwd=cwd)
        except DiffError:
            continue
    raise DiffError("no base revision: the repository has no commits")


def resolve(rev: str, cwd: Path = ROOT) -> str:
    """The commit ``rev`` names (never read as an option of git)."""
    if not rev or rev.startswith("-"):
        raise DiffError(f"--base {rev!r}: not a git revision")
    try:
        return _git("rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}", cwd=cwd)
    except DiffError:
        raise DiffError(f"--base {rev!r}: not a commit of this repository") from None


def synth_environment(repo: Path, environ: Mapping[str, str]) -> dict[str, str]:
    """One environment for both synths: every override variable as ``repo``'s own synth
    reads it (the environment, else ``repo/settings.env``; empty: not set)."""
    import main  # the project's reader of the override variables

    try:
        overrides = main.read_overrides(environ, repo / "settings.env")
    except ConfigError as error:
        raise DiffError(str(error)) from None
    return {**environ, **{name: overrides.get(name) or "" for name in OVERRIDE_VARIABLES}}


def export_revision(rev: str, dest: Path, cwd: Path = ROOT) -> None:
    """Write the tree of ``rev`` into ``dest`` (``git archive``: the repository is not touched)."""
    archive = dest.parent / "base.tar"
    with archive.open("wb") as out:
        proc = subprocess.run(["git", "archive", "--format=tar", rev], cwd=cwd, stdout=out, stderr=subprocess.PIPE, check=False)
    if proc.returncode != 0:
        raise DiffError(f"git archive {rev}: {proc.stderr.decode().strip()}")
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter=_inside_the_tree)
    archive.unlink()


def _inside_the_tree(member: tarfile.TarInfo, path: str) -> tarfile.TarInfo | None:
    """``tarfile``'s ``data`` filter, except that a link out of the tree (an absolute one, or
    one climbing out) is left out instead of failing the export: the synthesis reads none."""
    try:
        return tarfile.data_filter(member, path)
    except (tarfile.AbsoluteLinkError, tarfile.LinkOutsideDestinationError):
        return None


def synthesize(source: Path, outdir: Path, environ: Mapping[str, str] | None = None) -> Path:
    """Run ``source``'s own ``main.py`` with this interpreter in ``environ`` (default:
    this process's); return its ``stacks`` folder."""
    env = {k: v for k, v in (os.environ if environ is None else environ).items() if k != "PYTHONPATH"}
    env["CDKTF_OUTDIR"] = str(outdir)
    env["JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"] = "20"
    proc = process.run_child([sys.executable, "main.py"], what="the synthesis", cwd=source, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise DiffError(f"synthesis in {source.name} failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
    for candidate in (outdir / "stacks", source / "cdktf.out" / "stacks"):  # older revisions ignore CDKTF_OUTDIR
        if candidate.is_dir():
            return candidate
    raise DiffError(f"synthesis in {source.name} wrote no stacks")


def load_stacks(stacks_dir: Path) -> dict[str, dict[str, Any]]:
    return {p.parent.name: json.loads(p.read_text()) for p in sorted(stacks_dir.glob("*/cdk.tf.json"))}


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser("tools.review.synth_diff", __doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--base", help="git revision to compare with (default: merge base of HEAD and main)")
    parser.add_argument("--base-dir", type=Path, help="an already synthesized stacks folder instead of --base")
    parser.add_argument("--head-dir", type=Path, help="an already synthesized stacks folder instead of the working tree")
    parser.add_argument("--repo", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    repo: Path = args.repo.resolve()
    try:
        with tempfile.TemporaryDirectory(prefix="synth-diff-") as tmp_name:
            tmp = Path(tmp_name)
            env = synth_environment(repo, os.environ) if not (args.base_dir and args.head_dir) else None
            if args.base_dir:
                base_dir, base_label = args.base_dir, str(args.base_dir)
            else:
                rev = resolve(args.base, repo) if args.base is not None else default_base(repo)
                short = _git("rev-parse", "--short", rev, cwd=repo)
                base_label = f"{args.base} ({short})" if args.base is not None else short
                export_revision(rev, tmp / "base", cwd=repo)
                base_dir = synthesize(tmp / "base", tmp / "base-out", env)
            if args.head_dir:
                head_dir, head_label = args.head_dir, str(args.head_dir)
            else:
                head_dir, head_label = synthesize(repo, tmp / "head-out", env), "working tree"
            report = diff_stacks(load_stacks(base_dir), load_stacks(head_dir))
    except DiffError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    sys.stdout.write(render_markdown(report, base_label=base_label, head_label=head_label))
    return 0


if __name__ == "__main__":
    process.run(main)
