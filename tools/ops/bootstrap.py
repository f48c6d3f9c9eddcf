"""One-command bootstrap of an account: deploy the state bucket, then save the state settings.

``make bootstrap [AWS_REGION=...] [TF_STATE_BUCKET=...] [TF_STATE_REGION=...] [TF_STATE_KMS_KEY_ID=...] [REPOINT_STATE=1]``

1. The state settings given in the environment (:data:`PERSISTED`) are merged
   over ``settings.env`` (git-ignored, read by ``main.py`` and so by every later
   synth) and the whole configuration is validated.  A change of where the state
   lives (the bucket, or its region) is refused when a state bucket already
   exists (``TF_STATE_BUCKET`` in ``settings.env``, or the bucket recorded in
   ``terraform-state/order-api-state.tfstate``), unless ``--repoint-state``
   (``REPOINT_STATE=1``) says so: every stack would lose sight of its state.
2. The caller's credentials are checked (STS), and the ``order-api-state`` stack
   is synthesized with the merged settings (passed in the environment: the file
   is not written yet) and deployed (local state in ``terraform-state/``).
3. Only then is ``settings.env`` changed, line by line: the keys it sets are
   rewritten in place or appended; comments, order, other keys, line ends and a
   byte order mark stay.  One line says what changed, from what to what.

Anything that fails (a bad value, the repoint check, the synth, AWS, the deploy)
is one line, a non-zero exit, and ``settings.env`` byte for byte as it was.
"""

from __future__ import annotations

import codecs
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path

import main as synth_entry
from stacks import process
from stacks.config import OVERRIDE_VARIABLES, ConfigError, build_app_config, edit_settings, parse_settings
from stacks.config.names import STATE_STACK
from stacks.config.state import local_state_file
from tools.common import cli
from tools.common.aws_errors import AwsError, aws_errors, check_credentials
from tools.common.flatten_outputs import write_atomically
from tools.common.stack import ROOT, DeployError, SynthesisFailed, default_outdir, is_emulated, load, outputs_dir_of, provider_target, synthesize
from tools.ops.deploy import deploy

#: Settings ``make bootstrap`` saves: where the state lives.
PERSISTED = ("AWS_REGION", "TF_STATE_BUCKET", "TF_STATE_REGION", "TF_STATE_KMS_KEY_ID")
DEFAULT_BUCKET = "order-api-terraform-state"
DEFAULT_REGION = "us-east-1"
SETTINGS_FILE = ROOT / "settings.env"
STATE_FILE = ROOT / local_state_file(STATE_STACK)
OUTDIR = ROOT / "cdktf.out"
OUTPUTS_DIR = ROOT / "cfn-outputs"


class RepointError(ValueError):
    """The state would move to another bucket or region without ``--repoint-state``."""


def given(environ: Mapping[str, str]) -> dict[str, str]:
    """The :data:`PERSISTED` variables set (non-empty, trimmed) in ``environ``."""
    return {name: value for name in PERSISTED if (value := (environ.get(name) or "").strip())}


def changes(current: Mapping[str, str], wanted: Mapping[str, str]) -> dict[str, tuple[str | None, str]]:
    """``{name: (old or None, new)}`` for each wanted value that differs from the file's."""
    return {name: (current.get(name), value) for name, value in wanted.items() if current.get(name) != value}


def describe(changed: Mapping[str, tuple[str | None, str]]) -> str:
    """One line: which values change in ``settings.env``, from what to what."""
    if not changed:
        return "settings.env: no change"
    return "settings.env: " + ", ".join(f"{name} {old if old is not None else '(unset)'} -> {new}" for name, (old, new) in changed.items())


def location(settings: Mapping[str, str]) -> tuple[str, str]:
    """``(bucket, region)`` of the state that ``settings`` point every stack at."""
    region = settings.get("TF_STATE_REGION") or settings.get("AWS_REGION") or DEFAULT_REGION
    return settings.get("TF_STATE_BUCKET") or DEFAULT_BUCKET, region


def recorded_bucket(state_file: Path) -> tuple[str, str | None] | None:
    """``(bucket, region or None)`` of the state bucket recorded in the state stack's local state."""
    try:
        state = json.loads(state_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    for resource in state.get("resources", []) if isinstance(state, dict) else []:
        if resource.get("type") == "aws_s3_bucket" and resource.get("mode") == "managed":
            for instance in resource.get("instances", []):
                attributes = instance.get("attributes", {})
                if attributes.get("bucket"):
                    return str(attributes["bucket"]), attributes.get("region")
    return None


def check_repoint(current: Mapping[str, str], merged: Mapping[str, str], recorded: tuple[str, str | None] | None, repoint: bool) -> None:
    """Refuse to move an existing state (:class:`RepointError`) unless ``repoint``."""
    if recorded is not None:
        existing: tuple[str, str] | None = (recorded[0], recorded[1] or location(current)[1])
    else:
        existing = location(current) if "TF_STATE_BUCKET" in current else None
    new = location(merged)
    if existing is None or existing == new or repoint:
        return
    raise RepointError(
        f"the state lives in bucket {existing[0]} ({existing[1]}) and this would point every stack at {new[0]} ({new[1]}), "
        f"where they would not find their state: keep TF_STATE_BUCKET={existing[0]} and TF_STATE_REGION={existing[1]}, "
        "or run make bootstrap ... REPOINT_STATE=1 to move on deliberately (README, Deploying)"
    )


def synth_environment(environ: Mapping[str, str], current: Mapping[str, str], merged: Mapping[str, str]) -> dict[str, str]:
    """The synth's environment: every override variable as the saved file and the
    environment will give it (empty: not set), so the synth sees the new values
    before the file holds them."""
    values = {name: merged.get(name) if name in PERSISTED else (environ[name] if name in environ else current.get(name)) for name in OVERRIDE_VARIABLES}
    return {**environ, **{name: value or "" for name, value in values.items()}}


def next_steps(settings: Mapping[str, str]) -> list[str]:
    region = settings.get("AWS_REGION", DEFAULT_REGION)
    return [
        f"settings in {Path('settings.env')}: " + (", ".join(f"{k}={v}" for k, v in sorted(settings.items())) or "defaults"),
        f"state of {STATE_STACK}: {local_state_file(STATE_STACK)} (keep it safe; README, State)",
        "next:",
        "  GITHUB_REPOSITORY=<owner>/<name> in settings.env, then make deploy STACK=order-api-identity   (the pipeline's roles; README, A new account)",
        "  make github-vars   (the GitHub settings, as gh commands)",
        "  make deploy STACK=order-api-account",
        "  make deploy STACK=order-api-registry",
        f"  docker push <account>.dkr.ecr.{region}.amazonaws.com/order-api:<tag>   (a new dev starts with :latest unless IMAGE_TAG says otherwise)",
        "  make deploy STACK=order-api-dev",
        "  make release STACK=order-api-dev IMAGE=<tag or sha256:digest>   (every later image; README, Releasing)",
    ]


def save(settings_file: Path, updates: Mapping[str, str]) -> None:
    """Write ``updates`` into the settings file line by line (atomically; the mode and a
    byte order mark are kept)."""
    text = synth_entry.settings_text(settings_file) or ""
    bom = settings_file.is_file() and settings_file.read_bytes().startswith(codecs.BOM_UTF8)
    mode = settings_file.stat().st_mode & 0o777 if settings_file.is_file() else None
    write_atomically(settings_file, ("\ufeff" if bom else "") + edit_settings(text, updates))
    if mode is not None:
        os.chmod(settings_file, mode)


def main(argv: list[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    parser = cli.parser("tools.ops.bootstrap", "Deploy the state bucket, then save the state settings.")
    parser.add_argument("--repoint-state", action="store_true", help="allow pointing every stack at another state bucket or region")
    args = parser.parse_args(argv)
    environ = os.environ if environ is None else environ
    # With CDKTF_OUTDIR (an emulator's session), the state stack's local state lives beside that output.
    outdir = default_outdir(environ) if environ.get("CDKTF_OUTDIR") else OUTDIR
    state_file = outdir.parent / local_state_file(STATE_STACK) if environ.get("CDKTF_OUTDIR") else STATE_FILE
    try:
        current = parse_settings(synth_entry.settings_text(SETTINGS_FILE) or "", SETTINGS_FILE.name)
        merged = {**current, **given(environ)}
        synth_env = synth_environment(environ, current, merged)
        build_app_config({name: synth_env[name] for name in OVERRIDE_VARIABLES})
        check_repoint(current, merged, recorded_bucket(state_file), args.repoint_state)
    except (ConfigError, RepointError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        with aws_errors():
            synthesize(outdir, synth_env)
            doc = load(outdir, STATE_STACK)
            check_credentials(*provider_target(doc, "sts"))
            deploy(STATE_STACK, outdir, outputs_dir_of(outdir) if environ.get("CDKTF_OUTDIR") else OUTPUTS_DIR)
    except SynthesisFailed as failed:
        return failed.code  # main.py has printed its one line; settings.env is unchanged
    except (DeployError, AwsError) as error:
        print(f"error: {error} (settings.env unchanged)", file=sys.stderr)
        return 1
    except KeyboardInterrupt as error:
        stop = process.interrupted_by(error)
        print(f"{stop.line()} (settings.env unchanged)", file=sys.stderr)
        return stop.status
    if is_emulated(doc):
        print("emulator: settings.env left as it was (an emulator's settings come from the environment make emulator prints)")
        print("\n".join(next_steps(merged)))
        return 0
    changed = changes(current, given(environ))
    try:
        if changed:
            save(SETTINGS_FILE, {name: new for name, (_, new) in changed.items()})
    except (OSError, ConfigError) as error:
        lines = " ".join(f"{name}={new}" for name, (_, new) in changed.items())
        print(f"error: {STATE_STACK} is deployed, but settings.env could not be written ({error}): add {lines} to it yourself", file=sys.stderr)
        return 1
    print(describe(changed))
    print("\n".join(next_steps(merged)))
    return 0


if __name__ == "__main__":
    process.run(main)
