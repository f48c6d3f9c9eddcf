"""Flatten the cdktf CLI's outputs file for one stack.

``cdktf deploy --outputs-file F`` writes ``{stack: {output_name: value}}``;
outputs declared inside a construct are nested one level per construct id
(``{stack: {construct: {output_name: value}}}``).  The stack's synthesized
``cdk.tf.json`` records that nesting under ``"//".outputs``: when it is
available it says which keys are constructs, so an output whose value is
itself a map is never mistaken for one.  Without it, the stack's top-level
keys are the outputs (this project declares every output on the stack).

The result, ``{output_name: value}``, is what the integration tests read
(``cfn-outputs/flat-outputs.json``).  Sensitive outputs are absent from the
CLI's file unless it was told to include them.

Usage: ``python -m tools.common.flatten_outputs OUTPUTS_FILE STACK [-o FLAT_FILE] [--synth-dir cdktf.out/stacks]``
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from stacks import process
from tools.common import cli


class OutputsError(ValueError):
    pass


def _walk(values: Mapping[str, Any], mapping: Mapping[str, Any], flat: dict[str, Any], where: str) -> None:
    for key, entry in mapping.items():
        if key not in values:
            continue  # sensitive outputs are left out of the CLI's file
        if isinstance(entry, str):
            if key in flat:
                raise OutputsError(f"output {key!r} appears twice ({where}/{key}); rename one of them")
            flat[key] = values[key]
        elif isinstance(values[key], Mapping):
            _walk(values[key], entry, flat, f"{where}/{key}")


def flatten(outputs: Mapping[str, Any], stack: str, mapping: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``{output_name: value}`` of ``stack``.  ``mapping``: the stack's ``"//".outputs[stack]``, if known."""
    if stack not in outputs:
        known = ", ".join(sorted(outputs)) or "none"
        raise OutputsError(f"stack {stack!r} is not in the outputs file (stacks: {known})")
    values = outputs[stack]
    if not isinstance(values, Mapping):
        raise OutputsError(f"outputs of {stack!r} are not an object")
    if mapping is None:
        return dict(sorted(values.items()))
    flat: dict[str, Any] = {}
    _walk(values, mapping, flat, stack)
    return dict(sorted(flat.items()))


def output_mapping(synth_dir: Path, stack: str) -> Mapping[str, Any] | None:
    """The ``"//".outputs`` construct tree of the synthesized stack, if present."""
    path = synth_dir / stack / "cdk.tf.json"
    if not path.is_file():
        return None
    tree = json.loads(path.read_text()).get("//", {}).get("outputs", {})
    found = tree.get(stack)
    return found if isinstance(found, Mapping) else None


def write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser("tools.common.flatten_outputs", "Flatten the cdktf outputs file for one stack.")
    parser.add_argument("outputs_file", type=Path)
    parser.add_argument("stack")
    parser.add_argument("-o", "--output", type=Path, help="write here (atomically) instead of standard output")
    parser.add_argument("--synth-dir", type=Path, default=Path("cdktf.out/stacks"), help="synthesized stacks, for the output nesting")
    args = parser.parse_args(argv)
    try:
        outputs = json.loads(args.outputs_file.read_text())
        flat = flatten(outputs, args.stack, output_mapping(args.synth_dir, args.stack))
    except (OSError, json.JSONDecodeError, OutputsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    text = json.dumps(flat, indent=2, sort_keys=True) + "\n"
    if args.output:
        write_atomically(args.output, text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    process.run(main)
