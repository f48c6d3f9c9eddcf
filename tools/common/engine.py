"""Plain Terraform as a deploy engine: the synthesized JSON, applied without the cdktf CLI.

``make deploy ENGINE=terraform`` (and ``make destroy``) run, in the stack's own
directory (``<outdir>/stacks/<stack>``, where the cdktf CLI runs Terraform too, so
both engines share its ``.terraform`` and its state):

- ``terraform init -input=false``,
- ``terraform apply -auto-approve -input=false [-parallelism=N]`` (or ``destroy``),
- ``terraform output -json``, written as the cdktf CLI writes its outputs file
  (``{stack: {output: value}}``, nested by construct where the stack's ``"//".outputs``
  says so; sensitive outputs left out), so what follows a deploy (flat outputs,
  database users) is the same code for both engines.

This is how HCP Terraform or any CI runs the JSON: nothing here needs Node.js.
Telemetry is off (``CHECKPOINT_DISABLE=1``) and Terraform knows it runs unattended
(``TF_IN_AUTOMATION``, ``TF_INPUT=0``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from stacks import process

ENGINES = ("cdktf", "terraform")


def engine_name(value: str) -> str:
    """``ENGINE`` as given (``make deploy ENGINE=``: empty means the default, the cdktf CLI)."""
    return value or ENGINES[0]


class EngineError(RuntimeError):
    """One line: which Terraform command failed for which stack."""


def terraform_env() -> dict[str, str]:
    return {**os.environ, "CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1", "TF_INPUT": "0"}


def terraform(stack_dir: Path, *args: str, capture: bool = False) -> str:
    """``terraform -chdir=<stack_dir> <args>``; its standard output when ``capture``."""
    command = ["terraform", f"-chdir={stack_dir}", *args]
    try:
        result = process.run_child(command, what=f"terraform {args[0]}", env=terraform_env(), capture_output=capture, text=True)
    except FileNotFoundError:
        raise EngineError("terraform is not on PATH (the terraform engine runs it directly)") from None
    if result.returncode != 0:
        detail = f": {result.stderr.strip().splitlines()[-1]}" if capture and result.stderr.strip() else "; see its output above"
        raise EngineError(f"terraform {args[0]} {stack_dir.name} failed (exit {result.returncode}){detail}")
    return result.stdout if capture else ""


def _parallelism(parallelism: int | None) -> list[str]:
    return [f"-parallelism={parallelism}"] if parallelism else []


def apply(stack: str, outdir: Path, outputs_file: Path, *, parallelism: int | None = None) -> None:
    """Init and apply ``stack``, then write its outputs to ``outputs_file`` as the cdktf CLI does."""
    stack_dir = outdir / "stacks" / stack
    terraform(stack_dir, "init", "-input=false")
    terraform(stack_dir, "apply", "-auto-approve", "-input=false", *_parallelism(parallelism))
    values = json.loads(terraform(stack_dir, "output", "-json", capture=True) or "{}")
    doc = json.loads((stack_dir / "cdk.tf.json").read_text())
    mapping = doc.get("//", {}).get("outputs", {}).get(stack)
    outputs_file.parent.mkdir(parents=True, exist_ok=True)
    outputs_file.write_text(json.dumps(outputs_document(stack, values, mapping), indent=2, sort_keys=True) + "\n")


def destroy(stack: str, outdir: Path, *, parallelism: int | None = None) -> None:
    stack_dir = outdir / "stacks" / stack
    terraform(stack_dir, "init", "-input=false")
    terraform(stack_dir, "destroy", "-auto-approve", "-input=false", *_parallelism(parallelism))


def outputs_document(stack: str, values: Mapping[str, Any], mapping: Mapping[str, Any] | None) -> dict[str, Any]:
    """``{stack: ...}`` from ``terraform output -json``, shaped like the cdktf CLI's outputs file.

    ``mapping`` is the stack's ``"//".outputs[stack]`` tree (construct id -> subtree, or ->
    the output's Terraform name); without it the outputs stay flat.  Sensitive outputs are
    left out, as ``--outputs-file-include-sensitive-outputs=false`` does."""
    public = {name: entry["value"] for name, entry in values.items() if not entry.get("sensitive")}
    if mapping is None:
        return {stack: public}
    return {stack: _nest(mapping, public)}


def _nest(mapping: Mapping[str, Any], public: Mapping[str, Any]) -> dict[str, Any]:
    nested: dict[str, Any] = {}
    for key, entry in mapping.items():
        if isinstance(entry, str):
            if entry in public:
                nested[key] = public[entry]
        elif inner := _nest(entry, public):
            nested[key] = inner
    return nested
