"""Shared fixtures: each stack set is synthesized once per test run."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Before anything starts the jsii runtime: its temp folders (cdktf.outdir.*)
# go to a folder this run owns and removes.  (The stacks package silences its
# Node 20 banner.)
_RUN_TMP = tempfile.mkdtemp(prefix="order-api-tests-")
# The synthesized stack sets are shared by every worker of a run (pytest-xdist starts them from
# the process that creates this folder, and they inherit its name): each set is synthesized
# once, by the first worker that needs it, and read by the others.
_OWNS_SYNTHS = "ORDER_API_TEST_SYNTHS" not in os.environ
if _OWNS_SYNTHS:
    os.environ["ORDER_API_TEST_SYNTHS"] = tempfile.mkdtemp(prefix="order-api-synths-")
_SYNTHS = Path(os.environ["ORDER_API_TEST_SYNTHS"])
os.environ["TMPDIR"] = _RUN_TMP
tempfile.tempdir = None
# A run started in the background by a shell without job control (``cmd &``, nohup, some CI
# runners) inherits SIGINT ignored, and so would every process the tests start: the tests that
# interrupt make or a tool with Ctrl-C need it handled as a terminal delivers it.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

import pytest  # noqa: E402

from stacks.config import OVERRIDE_VARIABLES, build_app_config  # noqa: E402

# cdktf's ``Testing`` is imported into test modules and its name starts with "Test": without
# this, pytest looks up its source to warn that it cannot collect it, which parses cdktf's
# whole package once per module (about 0.8 s each).
from stacks.framework import Testing  # noqa: E402

Testing.__test__ = False

# Tests never depend on the caller's overrides.  The integration tests read the
# emulator endpoint (AWS_ENDPOINT_URL) from what was taken out here.
CALLER_OVERRIDES = {name: os.environ.pop(name) for name in OVERRIDE_VARIABLES if name in os.environ}

ROOT = Path(__file__).resolve().parent.parent
SUFFIX = "pr42"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(_RUN_TMP, ignore_errors=True)
    if _OWNS_SYNTHS:
        shutil.rmtree(_SYNTHS, ignore_errors=True)


@dataclass
class Synthesized:
    """The output directory of one ``app.synth()``."""

    outdir: Path
    _cache: dict[str, str] = field(default_factory=dict)

    @property
    def stacks_dir(self) -> Path:
        return self.outdir / "stacks"

    def stack_names(self) -> list[str]:
        return sorted(p.name for p in self.stacks_dir.iterdir())

    def text(self, stack: str) -> str:
        if stack not in self._cache:
            self._cache[stack] = (self.stacks_dir / stack / "cdk.tf.json").read_text()
        return self._cache[stack]

    def doc(self, stack: str) -> dict[str, Any]:
        return json.loads(self.text(stack))

    def resources(self, stack: str, resource_type: str) -> dict[str, dict[str, Any]]:
        return self.doc(stack).get("resource", {}).get(resource_type, {})

    def resource(self, stack: str, resource_type: str, path_suffix: str) -> dict[str, Any]:
        """The one resource of that type whose construct path ends with ``path_suffix``."""
        return self.resources(stack, resource_type)[self.logical_id(stack, resource_type, path_suffix)]

    def logical_id(self, stack: str, resource_type: str, path_suffix: str, *, data: bool = False) -> str:
        """Logical id of the one resource (or data source) whose construct path ends with ``path_suffix``."""
        section = self.doc(stack).get("data" if data else "resource", {}).get(resource_type, {})
        found = [name for name, body in section.items() if body["//"]["metadata"]["path"].endswith("/" + path_suffix)]
        assert len(found) == 1, f"{len(found)} {resource_type} {'data sources' if data else 'resources'} end with {path_suffix!r} in {stack}"
        return found[0]

    def ref(self, stack: str, resource_type: str, path_suffix: str, attribute: str, *, data: bool = False) -> str:
        """The Terraform reference ``${<type>.<id>.<attribute>}`` (``data.`` first for a data source)."""
        address = f"{resource_type}.{self.logical_id(stack, resource_type, path_suffix, data=data)}"
        return "${" + ("data." if data else "") + f"{address}.{attribute}" + "}"


def synthesize(overrides: dict[str, str], name: str) -> Synthesized:
    """The stack set ``name``, synthesized by the first worker that asks (under a lock) and
    read by every other: tests read it and never write into it."""
    import fcntl

    from stacks.app import build_app

    outdir = _SYNTHS / name
    with open(_SYNTHS / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (_SYNTHS / f"{name}.done").exists():
            build_app(build_app_config(overrides), outdir=str(outdir)).synth()
            (_SYNTHS / f"{name}.done").touch()
    return Synthesized(outdir)


@pytest.fixture(scope="session")
def synth() -> Synthesized:
    """All standing stacks, the state bootstrap and an ephemeral ``pr42`` copy of dev."""
    return synthesize({"ENVIRONMENT_SUFFIX": SUFFIX}, "default")


@pytest.fixture(scope="session")
def synth_cloud() -> Synthesized:
    """Dev, a suffixed copy and the shared stacks with Terraform Cloud as the state backend."""
    return synthesize(
        {
            "ENVIRONMENTS": "dev",
            "ENVIRONMENT_SUFFIX": SUFFIX,
            "STATE_BACKEND": "cloud",
            "TF_CLOUD_ORGANIZATION": "acme",
            "TF_CLOUD_PROJECT": "order-api",
            "TF_WORKSPACE_PREFIX": "aws-",
        },
        "cloud",
    )


#: A digest-pinned prod with an external alarm topic (what a promotion deploys).
PROD_DIGEST = "sha256:" + "0123456789abcdef" * 4
PAGING_TOPIC = "arn:aws:sns:us-east-1:123456789012:paging"
PROD_DOMAIN, PROD_ZONE = "api.acme-orders.com", "acme-orders.com"
EMULATOR_URL = "http://127.0.0.1:5055"


@pytest.fixture(scope="session")
def synth_prod_digest() -> Synthesized:
    """Prod alone, running an image by digest, its alarms to an existing topic, on its own domain."""
    return synthesize(
        {"ENVIRONMENTS": "prod", "IMAGE_TAG": PROD_DIGEST, "ALARM_TOPIC_ARN": PAGING_TOPIC, "PROD_DOMAIN_NAME": PROD_DOMAIN, "PROD_HOSTED_ZONE": PROD_ZONE},
        "prod-digest",
    )


@pytest.fixture(scope="session")
def synth_emulated() -> Synthesized:
    """Dev and a suffixed copy aimed at a local emulator (``AWS_ENDPOINT_URL``)."""
    return synthesize({"AWS_ENDPOINT_URL": EMULATOR_URL, "ENVIRONMENTS": "dev", "ENVIRONMENT_SUFFIX": "e2e"}, "emulated")


#: State settings as ``make bootstrap`` saves them, plus the state stack's own state in its bucket.
STATE_SETTINGS = {"TF_STATE_BUCKET": "acme-order-api-state", "AWS_REGION": "eu-west-1", "TF_STATE_REGION": "eu-central-1"}


@pytest.fixture(scope="session")
def synth_state_settings() -> Synthesized:
    """Dev and the shared stacks with :data:`STATE_SETTINGS` and ``TF_STATE_BOOTSTRAP_BACKEND=s3``."""
    return synthesize({**STATE_SETTINGS, "TF_STATE_BOOTSTRAP_BACKEND": "s3", "ENVIRONMENTS": "dev"}, "state-settings")


@pytest.fixture(scope="session")
def run_tmp() -> Path:
    return Path(_RUN_TMP)


def main_env(outdir: Path, **overrides: str) -> dict[str, str]:
    """The environment of a ``main.py`` run: every override variable set (empty unless
    given), so neither the caller's variables nor a developer's settings.env leak in."""
    env = {k: v for k, v in os.environ.items() if k not in OVERRIDE_VARIABLES}
    env.update(dict.fromkeys(OVERRIDE_VARIABLES, ""), CDKTF_OUTDIR=str(outdir))
    env.update(overrides)
    return env


def run_main(outdir: Path, **overrides: str) -> subprocess.CompletedProcess[str]:
    """``python main.py`` as a user runs it, in a real process."""
    return subprocess.run([sys.executable, "main.py"], cwd=ROOT, env=main_env(outdir, **overrides), capture_output=True, text=True, check=False)


def session(sid: int) -> Iterator[tuple[int, str, list[str]]]:
    """The running processes of session ``sid`` (an ended one not yet reaped is left out): pid,
    name and arguments (from /proc)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        name, fields = stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2 :].split()
        if int(fields[3]) == sid and fields[0] != "Z":
            yield int(entry.name), name, argv


def snapshot_tree(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def leftovers(parent: Path) -> list[Path]:
    """Scratch directories a synth left beside its output (the lock file is permanent)."""
    return [p for p in parent.glob(".cdktf.out.*") if p.is_dir()]


def guardrail_violations(doc: dict[str, Any]) -> list[str]:
    """Every rule of :data:`stacks.aspects.RULES` applied to every resource of a synthesized stack
    (independent of whether the stack was synthesized with the Guardrails aspect)."""
    from stacks.aspects import RULES

    return [
        f"{rtype}.{name}: {message}"
        for rtype, by_name in doc.get("resource", {}).items()
        for name, body in by_name.items()
        for rule in RULES
        for message in rule(rtype, body)
    ]


class Clock:
    """A monotonic clock that advances only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def emulator_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dummy credentials and no profile or endpoint of the caller's: for moto in-process."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


@pytest.fixture
def account_ready(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The account checks of make deploy pass without AWS (their own tests:
    tests/test_account_checks.py); returns the checks made, in order."""
    from tools.ops import account_checks

    made: list[str] = []

    def bucket(doc: Any, stack: str, clients: Any) -> str:
        made.append(f"state bucket {stack}")
        return "order-api-terraform-state"

    def account(doc: Any, stack: str, clients: Any) -> str:
        made.append(f"account {stack}")
        return "checked"

    monkeypatch.setattr(account_checks, "check_state_bucket", bucket)
    monkeypatch.setattr(account_checks, "account_preflight", account)
    return made


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def stubs() -> Any:
    """ECS and ECR clients answered by botocore's Stubber, and their stubbers: ``(ecs, ecr,
    ecs_stub, ecr_stub)``; every response a test queues must be used."""
    import boto3  # type: ignore[import-untyped]
    from botocore.stub import Stubber  # type: ignore[import-untyped]

    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
    ecs, ecr = session.client("ecs"), session.client("ecr")
    with Stubber(ecs) as ecs_stub, Stubber(ecr) as ecr_stub:
        yield ecs, ecr, ecs_stub, ecr_stub
        ecs_stub.assert_no_pending_responses()
        ecr_stub.assert_no_pending_responses()


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """No credentials anywhere botocore looks, and every AWS endpoint on a closed loopback port."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    endpoint = f"http://127.0.0.1:{closed_port()}"
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    return endpoint
