"""``make emulator``: the project's patched emulator on loopback, for the daily path by hand.

It finds ``terraform`` and an offline ``hashicorp/aws`` provider (as ``make e2e`` does), starts
moto with the project's patches on a free loopback port, and writes ``.emulator/``:

- ``env``: the settings of a session against it, to ``source`` in another shell: the
  endpoint, dummy credentials, the region, a Terraform CLI configuration that installs the
  provider from the mirror only, ``CDKTF_OUTDIR=.emulator/cdktf.out`` (so the synthesis, the
  state stack's local state and the outputs files stay in ``.emulator/``, apart from a real
  account's), every override variable set (``settings.env`` is not read; ``GITHUB_REPOSITORY``
  names a stand-in repository for the identity stack's roles), and a closed proxy
  (nothing leaves loopback);
- ``terraformrc``, ``aws-config`` (empty: no profile of the user's), ``moto.log``.

Then ``make bootstrap``, ``make deploy``, ``make release``, ``make promote``, ``make outputs``
and ``make teardown`` work against it (each says how it adapted the stacks to the offline
provider).  It serves until Ctrl-C or SIGTERM; the emulator keeps nothing.
"""

from __future__ import annotations

import fcntl
import os
import shlex
import sys
import threading
from collections.abc import Mapping
from pathlib import Path

from stacks import process
from stacks.config import OVERRIDE_VARIABLES
from tools.common.stack import ROOT
from tools.emulator import control
from tools.emulator.discovery import Skip, cli_config, discover
from tools.emulator.patches import PATCHES

WORK = ROOT / ".emulator"
REGION = "us-east-1"
CLOSED_PROXY = "http://127.0.0.1:9"
#: The repository the emulated pipeline roles trust (make deploy refuses the placeholder).
EMULATED_REPOSITORY = "emulator/order-api"


def session_env(endpoint: str, work: Path) -> dict[str, str]:
    """What a shell sets to work against the emulator at ``endpoint`` (see the module docstring)."""
    env = dict.fromkeys(OVERRIDE_VARIABLES, "")
    env.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_REGION=REGION,
        ENVIRONMENTS="dev",
        GITHUB_REPOSITORY=EMULATED_REPOSITORY,
        AWS_DEFAULT_REGION=REGION,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_CONFIG_FILE=str(work / "aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(work / "aws-config"),
        AWS_EC2_METADATA_DISABLED="true",
        TF_CLI_CONFIG_FILE=str(work / "terraformrc"),
        CDKTF_OUTDIR=str(work / "cdktf.out"),
        HTTPS_PROXY=CLOSED_PROXY,
        HTTP_PROXY=CLOSED_PROXY,
        NO_PROXY="127.0.0.1,localhost",
    )
    return env


def env_file(env: Mapping[str, str]) -> str:
    """``export NAME=value`` lines a POSIX shell can ``source``."""
    lines = ["# Written by make emulator: source it in a shell to work against the emulator."]
    lines += [f"export {name}={shlex.quote(value)}" for name, value in env.items()]
    return "\n".join(lines) + "\n"


def announce(endpoint: str, version: str, terraform: str, provider: str, work: Path) -> list[str]:
    relative = work.relative_to(ROOT) if work.is_relative_to(ROOT) else work
    return [
        f"emulator: moto {version} on {endpoint} with {len(PATCHES)} patches; terraform {terraform}, hashicorp/aws {provider} (offline)",
        f"in another shell, in this checkout:  . {relative}/env",
        "then, as docs/emulator.md walks through: make bootstrap, make deploy STACK=order-api-account, make deploy STACK=order-api-registry,",
        "  .venv/bin/python -m tools.emulator.image latest, make deploy STACK=order-api-dev, make release ..., make teardown ...",
        "Ctrl-C stops the emulator (it keeps nothing)",
    ]


def main(argv: list[str] | None = None, environ: Mapping[str, str] | None = None, work: Path = WORK, stop: threading.Event | None = None) -> int:
    environ = os.environ if environ is None else environ
    try:
        tools = discover(dict(environ), Path.home())
    except Skip as reason:
        print(f"error: make emulator needs terraform and an offline hashicorp/aws provider: {reason}", file=sys.stderr)
        return 2
    work.mkdir(exist_ok=True)
    with open(work / ".lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"error: an emulator already runs for this checkout ({work / '.lock'} is held); use it, or stop it first", file=sys.stderr)
            return 1
        (work / "terraformrc").write_text(cli_config(tools.provider))
        (work / "aws-config").write_text("")
        server_env = {**environ, "AWS_REGION": REGION, "HTTPS_PROXY": CLOSED_PROXY, "HTTP_PROXY": CLOSED_PROXY, "NO_PROXY": "127.0.0.1,localhost"}
        try:
            with control.running(work / "moto.url", work / "moto.log", server_env) as endpoint:
                (work / "env.tmp").write_text(env_file(session_env(endpoint, work)))
                (work / "env.tmp").replace(work / "env")  # whole, or not there
                from moto import __version__ as moto_version

                print("\n".join(announce(endpoint, moto_version, tools.terraform_version, tools.provider.version, work)), flush=True)
                (stop or threading.Event()).wait()
        except control.EmulatorError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("emulator: stopped", file=sys.stderr)
            return 0
        finally:
            (work / "env").unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    process.run(main)
