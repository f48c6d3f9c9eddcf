"""One-command bootstrap of an account: save the state settings, deploy the state bucket, say what is next.

``make bootstrap [AWS_REGION=...] [TF_STATE_BUCKET=...] [TF_STATE_REGION=...] [TF_STATE_KMS_KEY_ID=...]``

1. The state settings given in the environment (:data:`PERSISTED`) are merged
   into ``settings.env`` (git-ignored), which ``main.py`` reads, so every later
   synth (``make``, or the cdktf CLI's own) uses the same bucket, region and key.
   The whole configuration is validated first; a bad value changes nothing.
2. The ``order-api-state`` stack is synthesized and deployed (local state in
   ``terraform-state/order-api-state.tfstate``).
3. It prints the settings in force and the next commands.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

from stacks.backend import local_state_file
from stacks.config import OVERRIDE_VARIABLES, ConfigError, build_app_config, format_settings, parse_settings
from tools.deploy import ROOT, DeployError, deploy, synthesize
from tools.flatten_outputs import write_atomically

#: Settings ``make bootstrap`` saves: where the state lives.
PERSISTED = ("AWS_REGION", "TF_STATE_BUCKET", "TF_STATE_REGION", "TF_STATE_KMS_KEY_ID")
STATE_STACK = "order-api-state"


def merged_settings(current: Mapping[str, str], environ: Mapping[str, str]) -> dict[str, str]:
    """``current`` with every :data:`PERSISTED` variable set (non-empty) in ``environ``."""
    merged = dict(current)
    for name in PERSISTED:
        value = (environ.get(name) or "").strip()
        if value:
            merged[name] = value
    return merged


def save_settings(settings_file: Path, environ: Mapping[str, str]) -> dict[str, str]:
    """Validate and write the merged settings; returns them.  Raises :class:`ConfigError`."""
    current = parse_settings(settings_file.read_text(), settings_file.name) if settings_file.is_file() else {}
    merged = merged_settings(current, environ)
    # Validate what every later synth will see: the environment over the merged file.
    build_app_config({name: environ[name] if name in environ else merged.get(name) for name in OVERRIDE_VARIABLES})
    write_atomically(settings_file, format_settings(merged))
    return merged


def next_steps(settings: Mapping[str, str]) -> list[str]:
    region = settings.get("AWS_REGION", "us-east-1")
    lines = [
        f"settings in {Path('settings.env')}: " + (", ".join(f"{k}={v}" for k, v in sorted(settings.items())) or "defaults"),
        f"state of {STATE_STACK}: {local_state_file(STATE_STACK)} (keep it safe; README, State)",
        "next:",
        "  make deploy STACK=order-api-account",
        "  make deploy STACK=order-api-registry",
        f"  docker push <account>.dkr.ecr.{region}.amazonaws.com/order-api:<tag>   (a new dev starts with :latest unless IMAGE_TAG says otherwise)",
        "  make deploy STACK=order-api-dev",
        "  make release STACK=order-api-dev IMAGE=<tag or sha256:digest>   (every later image; README, Releasing)",
    ]
    return lines


def main() -> int:
    settings_file = ROOT / "settings.env"
    try:
        settings = save_settings(settings_file, os.environ)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    outdir = ROOT / "cdktf.out"
    try:
        synthesize(outdir)
        deploy(STATE_STACK, outdir, ROOT / "cfn-outputs")
    except DeployError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print("\n".join(next_steps(settings)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
