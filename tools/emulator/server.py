"""moto in server mode on 127.0.0.1, with the harness's patches (:mod:`tools.emulator.patches`).

Usage: ``python -m tools.emulator.server READY_FILE``.  The server listens on a
free loopback port chosen by the kernel, then writes its URL to ``READY_FILE``
(atomically), and serves until SIGTERM or SIGINT.  :mod:`tools.emulator.control`
starts and stops it.  ``MOTO_IAM_LOAD_MANAGED_POLICIES=true`` is set before moto
loads, so the AWS managed policies the stacks attach exist.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

#: Services the stacks and the harness call; their backends are built before the
#: URL is published, so the first requests do not pay for moto's lazy set-up.
WARM_SERVICES = (
    "applicationautoscaling",
    "cloudwatch",
    "ec2",
    "ecr",
    "ecs",
    "elbv2",
    "iam",
    "kms",
    "logs",
    "rds",
    "s3",
    "secretsmanager",
    "sns",
    "ssm",
    "sts",
    "wafv2",
)
GLOBAL_SERVICES = ("iam", "s3", "sts")
ACCOUNT = "123456789012"


def warm_up(region: str) -> None:
    from moto.backends import get_backend

    for name in WARM_SERVICES:
        get_backend(name)[ACCOUNT]["aws" if name in GLOBAL_SERVICES else region]  # type: ignore[call-overload]


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m tools.emulator.server READY_FILE", file=sys.stderr)
        return 2
    ready = Path(argv[0])
    os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"

    from moto.server import ThreadedMotoServer

    from tools.emulator.patches import apply_all

    for patch in apply_all():
        print(f"patched: {patch.action}", file=sys.stderr, flush=True)
    warm_up(os.environ.get("AWS_REGION", "us-east-1"))
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    tmp = ready.with_name(ready.name + ".tmp")
    tmp.write_text(f"http://{host}:{port}\n")
    tmp.replace(ready)
    print(f"moto listening on http://{host}:{port}", file=sys.stderr, flush=True)
    while not stop.wait(1.0):
        pass
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
