"""Facts about a stack, read from its synthesized JSON (``cdktf.out/stacks/<stack>/cdk.tf.json``),
and the synthesis that writes it.  Every operation on an account starts here: the stack's
region and emulator endpoint, whether it is an environment (it runs a service) or a shared
stack, whether it is production, and the image its task definition names.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stacks import process
from stacks.config import PROJECT
from stacks.config.validate import shown
from tools.emulator.discovery import Skip
from tools.emulator.version_gap import adapt_emulated

ROOT = Path(__file__).resolve().parents[2]


#: A stack's name: the project's prefix, then lowercase letters and digits in hyphen-separated words.
_STACK_RE = re.compile(rf"{PROJECT}(-[a-z0-9]+)+")
STACK_NAME_LIMIT = 64


def stack_name_problem(value: str, variable: str) -> str | None:
    """What is wrong with a stack named by the user (``STACK``, ``FROM``, ``TO``), echoed escaped
    and cut as configuration errors are; None when it is a stack name."""
    if _STACK_RE.fullmatch(value) and len(value) <= STACK_NAME_LIMIT:
        return None
    return f"{variable}={shown(value)} is invalid: a stack name, {PROJECT}-<name> in lowercase letters, digits and single hyphens (make synth lists them)"


def default_outdir(environ: Mapping[str, str] | None = None) -> Path:
    """Where the tools synthesize and read the stacks: ``CDKTF_OUTDIR`` when set (as ``main.py``
    reads it), else ``cdktf.out`` in the project root."""
    environ = os.environ if environ is None else environ
    return Path(os.path.abspath(environ["CDKTF_OUTDIR"])) if environ.get("CDKTF_OUTDIR") else ROOT / "cdktf.out"


def outputs_dir_of(outdir: Path) -> Path:
    """The outputs files (``cfn-outputs/``) beside the synthesis they belong to."""
    return outdir.parent / "cfn-outputs"


_IMAGE_RE = re.compile(r"\$\{data\.aws_ecr_repository\.(?P<data>[A-Za-z0-9_-]+)\.repository_url\}(?::(?P<tag>[^@]+)|@(?P<digest>sha256:[0-9a-f]{64}))")


class DeployError(RuntimeError):
    """One line: what is wrong and what to do."""


class SynthesisFailed(DeployError):
    """``main.py`` failed and has said why in its own one line; ``code`` is its exit status."""

    def __init__(self, code: int) -> None:
        super().__init__(f"synthesis failed (exit {code})")
        self.code = code


@dataclass(frozen=True)
class Image:
    """The image an environment stack runs: a repository of the shared registry and a tag or digest."""

    repository: str
    tag: str | None
    digest: str | None

    @property
    def reference(self) -> str:
        return f"{self.repository}:{self.tag}" if self.tag else f"{self.repository}@{self.digest}"


def is_environment_stack(doc: Mapping[str, Any]) -> bool:
    return "aws_ecs_task_definition" in doc.get("resource", {})


def stack_image(doc: Mapping[str, Any]) -> Image:
    """The container image of an environment stack's task definition."""
    (task,) = doc["resource"]["aws_ecs_task_definition"].values()
    (container,) = json.loads(task["container_definitions"])
    match = _IMAGE_RE.fullmatch(container["image"])
    if match is None:
        raise DeployError(f"unexpected image reference {container['image']!r}")
    repository = doc["data"]["aws_ecr_repository"][match["data"]]["name"]
    return Image(repository, match["tag"], match["digest"])


def provider_target(doc: Mapping[str, Any], service: str = "ecr") -> tuple[str, str | None]:
    """``(region, emulator endpoint of ``service`` or None)`` of the stack's AWS provider."""
    provider = doc["provider"]["aws"][0]
    endpoints = provider.get("endpoints") or [{}]
    return provider["region"], endpoints[0].get(service)


def is_emulated(doc: Mapping[str, Any]) -> bool:
    """Whether the stack is aimed at a local emulator (``AWS_ENDPOINT_URL``)."""
    return provider_target(doc)[1] is not None


def is_production(doc: Mapping[str, Any]) -> bool:
    tags = doc["provider"]["aws"][0].get("default_tags", [{}])[0].get("tags", {})
    return bool(tags.get("environment") == "prod")


def cli_env() -> dict[str, str]:
    """The cdktf CLI's environment: telemetry off, no Node end-of-life banner."""
    return {**os.environ, "CHECKPOINT_DISABLE": "1", "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}


def synthesize(outdir: Path, env: Mapping[str, str] | None = None, *, adapt_to_emulator: bool = True) -> None:
    """``main.py`` into ``outdir``, in ``env`` (default: this process's environment).  Stacks
    aimed at a local emulator are then adapted to the offline provider, and the adaptation is
    said (:func:`tools.emulator.version_gap.adapt_emulated`); ``make e2e`` adapts its own."""
    environ = {**(os.environ if env is None else env), "CDKTF_OUTDIR": str(outdir)}
    result = process.run_child([sys.executable, "main.py"], what="the synthesis", nested=True, cwd=ROOT, env=environ)
    if result.returncode != 0:
        raise SynthesisFailed(result.returncode)
    if adapt_to_emulator:
        try:
            adapt_emulated(outdir, environ, Path.home())
        except Skip as reason:
            raise DeployError(f"the stacks are aimed at an emulator, but {reason}: make emulator says what it needs") from None


def load(outdir: Path, stack: str) -> dict[str, Any]:
    """The synthesized JSON of ``stack``, which must be the name of a synthesized stack."""
    path = outdir / "stacks" / stack / "cdk.tf.json"
    known = sorted(p.name for p in (outdir / "stacks").iterdir()) if (outdir / "stacks").is_dir() else []
    if stack not in known or not path.is_file():
        raise DeployError(f"stack {stack} was not synthesized (stacks: {', '.join(known) or 'none'}; a suffixed copy needs ENVIRONMENT_SUFFIX)")
    data: dict[str, Any] = json.loads(path.read_text())
    return data
