"""``make e2e``: the user's whole path, twice, offline: deploy, release, promote, the access proof,
integration tests, destroy, teardown, deploy again, and a leftover check after each removal.

One run:

1. find ``terraform`` and an offline ``hashicorp/aws`` provider
   (:mod:`tools.emulator.discovery`); without them print ``SKIPPED: <reason>`` and exit 0;
2. write a private Terraform CLI configuration that installs that provider from its
   mirror and nothing from anywhere else;
3. start moto on a free loopback port (:mod:`tools.emulator.control`);
4. round 1 (:meth:`Lifecycle.round_one`), the cdktf CLI through the code ``make deploy`` runs
   (:mod:`tools.ops.deploy`):

   - synthesize (``ENVIRONMENT_SUFFIX=e2e``, ``ENVIRONMENTS=dev``, ``AWS_ENDPOINT_URL``) and
     adapt the stacks to the provider found (:mod:`tools.emulator.version_gap`),
   - the shared stacks in the documented order (state, identity, account, registry), push
     an image (the stand-in for ``docker push``), deploy the copy ``order-api-dev-e2e``
     (preflight, ``cdktf deploy``, flat outputs, database users, the service settled),
   - release a second build to it, then check the new revision, its digest, the kept
     previous revision and the record; ``tests/integration`` against the emulator;

5. round 2 (:meth:`Lifecycle.round_two`), the by-hand path through ``make``
   (``ENGINE=terraform``), on the standing ``order-api-dev``: ``make bootstrap`` again (no
   changes), ``make deploy``, ``make release``, ``make promote``
   to the copy, the access proof (:mod:`tools.e2e.access`: the dev release role's own
   credentials release and promote, and are denied what they must not do), the
   integration tests, ``make destroy`` of the copy (the cdktf CLI) and the leftover
   check, then ``make teardown`` of dev, the leftover check (only what the teardown said
   it kept), and ``make deploy`` of dev again;
6. stop moto, whatever happened, and print one line per phase and a summary.

Everything the run writes is under ``.e2e/`` at the project root (git-ignored):
the synthesized stacks, the state stack's local state, the outputs files, the logs
of every phase.  The developer's ``cdktf.out``, ``terraform-state`` and
``cfn-outputs`` are never touched, and their ``settings.env`` is not read: every
override variable is set explicitly.  Nothing reaches beyond the loopback
interface: dummy credentials, every endpoint on the emulator, the AWS config
files and profiles out of reach, proxies pointed at a closed loopback port for
anything else, and Terraform's and cdktf's telemetry and update checks off.
"""

from __future__ import annotations

import fcntl
import gzip
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from stacks import process
from stacks.config import OVERRIDE_VARIABLES, build_app_config
from stacks.config.names import ACCOUNT_STACK as ACCOUNT
from stacks.config.names import IDENTITY_STACK as IDENTITY
from tools.e2e import access, leftovers
from tools.e2e.progress import Ticker, ansi_free
from tools.emulator import control
from tools.emulator.discovery import Skip, Tools, cli_config, discover
from tools.emulator.image import minimal_image
from tools.emulator.patches import PATCHES
from tools.emulator.version_gap import adapt, major, not_exercised
from tools.ops import deploy

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / ".e2e"
SUFFIX = "e2e"
#: Width of the phase names in the progress lines.
NAME_WIDTH = 26
REGION = "us-east-1"
PARALLELISM = 20
STATE_STACK = "order-api-state"
ACCOUNT_STACK = ACCOUNT
IDENTITY_STACK = IDENTITY
#: The shared repository (RegistryConfig's default name).
REGISTRY = "order-api"
REGISTRY_STACK = "order-api-registry"
#: The shared stacks in the documented order (docs/new-account.md), with their phase names.
SHARED = ((STATE_STACK, "bootstrap"), (IDENTITY_STACK, "identity"), (ACCOUNT_STACK, "account"), (REGISTRY_STACK, "registry"))
#: The deploy engine of each round: round 1 the cdktf CLI, round 2 plain ``terraform`` through make.
ROUND_ENGINES = ("cdktf", "terraform")
ROUNDS = len(ROUND_ENGINES)
#: The repository the pipeline's roles trust in the run (the placeholder is refused).
REPOSITORY = "e2e/order-api"
#: A loopback port nothing listens on: any request that is not for the emulator fails at once.
CLOSED_PROXY = "http://127.0.0.1:9"
#: Variables the harness environment keeps from the caller's (besides the ones it sets).
KEEP = ("PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "TERM", "TMPDIR", "SHELL", "TF_LOG", "TF_LOG_PATH", "NODE_OPTIONS")
_APPLY_RE = re.compile(r"Apply complete! Resources: (\d+) added, (\d+) changed, (\d+) destroyed", re.ASCII)
_DESTROY_RE = re.compile(r"Destroy complete! Resources: (\d+) destroyed", re.ASCII)


class PhaseFailed(RuntimeError):
    """A phase failed; its line and the end of its log have been printed."""


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived."""


@dataclass
class Phase:
    """What a phase reports on its line."""

    log: Path
    detail: str = ""


@dataclass
class Round:
    number: int
    engine: str = "cdktf"
    applied: dict[str, str] = field(default_factory=dict)
    #: What each step showed, for the summary (release, tests, teardown, ...).
    details: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


@dataclass
class Paths:
    work: Path

    @property
    def outdir(self) -> Path:
        return self.work / "cdktf.out"

    @property
    def outputs(self) -> Path:
        return self.work / "cfn-outputs"

    @property
    def logs(self) -> Path:
        return self.work / "logs"

    @property
    def cli_config(self) -> Path:
        return self.work / "terraformrc"

    @property
    def aws_config(self) -> Path:
        return self.work / "aws-config"

    @property
    def ready_file(self) -> Path:
        return self.work / "moto.url"


def override_values(endpoint: str) -> dict[str, str]:
    """Every override variable ``main.py`` reads, set explicitly (empty: not set), so a
    developer's ``settings.env`` never leaks into the run."""
    values = dict.fromkeys(OVERRIDE_VARIABLES, "")
    values.update(ENVIRONMENT_SUFFIX=SUFFIX, ENVIRONMENTS="dev", AWS_ENDPOINT_URL=endpoint, AWS_REGION=REGION, GITHUB_REPOSITORY=REPOSITORY)
    return values


def harness_env(caller: Mapping[str, str], paths: Paths, endpoint: str | None) -> dict[str, str]:
    """The environment of every command of the run: the caller's basics, nothing AWS or
    Terraform from it, dummy credentials, the emulator, the private CLI configuration."""
    env = {name: caller[name] for name in KEEP if name in caller}
    env.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_REGION=REGION,
        AWS_DEFAULT_REGION=REGION,
        AWS_CONFIG_FILE=str(paths.aws_config),
        AWS_SHARED_CREDENTIALS_FILE=str(paths.aws_config),
        AWS_EC2_METADATA_DISABLED="true",
        HTTP_PROXY=CLOSED_PROXY,
        HTTPS_PROXY=CLOSED_PROXY,
        http_proxy=CLOSED_PROXY,
        https_proxy=CLOSED_PROXY,
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
        TF_CLI_CONFIG_FILE=str(paths.cli_config),
        TF_IN_AUTOMATION="1",
        TF_INPUT="0",
        CHECKPOINT_DISABLE="1",
        DISABLE_VERSION_CHECK="1",
        CDKTF_DISABLE_PLUGIN_CACHE_ENV="1",
        JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20",
        PYTHONUNBUFFERED="1",
        CDKTF_OUTDIR=str(paths.outdir),
    )
    if endpoint is not None:
        env.update(override_values(endpoint))
    return env


class Lifecycle:
    """One ``make e2e`` run (see the module docstring)."""

    def __init__(self, tools: Tools, paths: Paths, endpoint: str) -> None:
        self.tools = tools
        self.paths = paths
        self.endpoint = endpoint
        config = build_app_config(override_values(endpoint))
        (copy,) = [e for e in config.environments if e.suffix == SUFFIX]
        (standing,) = [e for e in config.environments if e.suffix is None]
        self.targets = {"copy": (copy.stack_name, copy.environment_label), "standing": (standing.stack_name, standing.environment_label)}
        self.stack, self.environment = self.targets["copy"]
        #: The identity stack's outputs (the pipeline's role ARNs), once it is deployed.
        self.roles: dict[str, str] = {}
        #: What the last teardown kept in the account (the leftover check allows exactly these).
        self.kept: list[str] = []
        self.gap_changes: list[str] = []
        self.rounds: list[Round] = []

    # -- output ---------------------------------------------------------------------------------
    @contextmanager
    def phase(self, round_number: int | None, name: str) -> Iterator[Phase]:
        """Time a phase, send its output to its own log, print its one line."""
        label = f"round {round_number}" if round_number else "setup  "
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        log = self.paths.logs / (f"round{round_number}-{slug}.log" if round_number else f"{slug}.log")
        record = Phase(log)
        start = time.monotonic()
        terminal = os.dup(1)
        try:
            with Ticker(f"{label}  {name:<{NAME_WIDTH}}", log, lambda line: os.write(terminal, f"{line}\n".encode())), _captured(log):
                yield record
        except (KeyboardInterrupt, Interrupted):
            print(f"{label}  {name:<{NAME_WIDTH}} interrupted after {time.monotonic() - start:.1f}s", flush=True)
            raise
        except Exception as error:
            seconds = time.monotonic() - start
            print(f"{label}  {name:<{NAME_WIDTH}} FAILED after {seconds:.1f}s: {error}", flush=True)
            tail = ansi_free(log.read_text(errors="replace")).splitlines()[-40:] if log.is_file() else []
            for line in tail:
                print(f"    | {line}")
            print(f"    (full log: {log.relative_to(ROOT)})", flush=True)
            raise PhaseFailed(f"{label} {name}: {error}") from error
        finally:
            os.close(terminal)
        seconds = time.monotonic() - start
        print(f"{label}  {name:<{NAME_WIDTH}} {seconds:7.1f}s  {record.detail}".rstrip(), flush=True)

    # -- phases ---------------------------------------------------------------------------------
    def round_one(self) -> Round:
        """The cdktf CLI, through the code ``make deploy`` runs: the shared stacks, then the
        suffixed copy deployed, released and tested; the copy stays for round 2's promotion."""
        result, start = Round(1, "cdktf"), time.monotonic()
        self.stack, self.environment = self.targets["copy"]
        with self.phase(1, "synth") as phase:
            deploy.synthesize(self.paths.outdir, adapt_to_emulator=False)
            phase.detail = ", ".join(sorted(p.name for p in (self.paths.outdir / "stacks").iterdir()))
        with self.phase(1, "provider gap") as phase:
            self.gap_changes = self.adapt_stacks()
            done = f"{len(self.gap_changes)} 6.x-only settings removed or rewritten" if self.gap_changes else "nothing removed"
            phase.detail = f"hashicorp/aws {self.tools.provider.version}: {done}"
        for stack, name in SHARED:
            with self.phase(1, name) as phase:
                deploy.deploy(stack, self.paths.outdir, self.paths.outputs, parallelism=PARALLELISM, skip_provider_lock=True, engine_name=ROUND_ENGINES[0])
                result.applied[stack] = phase.detail = self.applied(phase.log, stack)
                if stack == IDENTITY_STACK:
                    self.roles = json.loads((self.paths.outputs / "outputs.json").read_text())[IDENTITY_STACK]
        with self.phase(1, "push image") as phase:
            phase.detail = self.push_image()
        with self.phase(1, "deploy copy") as phase:
            deploy.deploy(self.stack, self.paths.outdir, self.paths.outputs, parallelism=PARALLELISM, skip_provider_lock=True, engine_name=ROUND_ENGINES[0])
            result.applied[self.stack] = self.applied(phase.log, self.stack)
            # The database-user step prints "<stack>: <user>: <change>"; the service's settling prints other lines.
            users = re.findall(rf"(?m)^{re.escape(self.stack)}: ([a-z][a-z0-9_]*: .+)$", ansi_free(phase.log.read_text(errors="replace")))
            result.details["database users"] = "; ".join(users) or "no output"
            result.details["preflight"] = self.preflight_line(phase.log, self.stack)
            phase.detail = f"cdktf: {result.applied[self.stack]}; database users: {len(users)} lines; {result.details['preflight']}"
        with self.phase(1, "release") as phase:
            tag, digest = self.push_build(1)
            command = [sys.executable, "-m", "tools.ops.release", self.stack, tag, "--skip-synth", "--outdir", str(self.paths.outdir)]
            result.details["release"] = phase.detail = self.released(self.stack, self.environment, digest, lambda: self.command(command, "make release"))
        with self.phase(1, "integration tests") as phase:
            result.details["tests"] = phase.detail = self.integration_tests(1)
        result.seconds = time.monotonic() - start
        self.rounds.append(result)
        return result

    def round_two(self) -> Round:
        """The by-hand path through ``make`` (``ENGINE=terraform``, but ``make destroy`` of the
        copy with the cdktf CLI), as docs/emulator.md walks it, on the standing dev: promote
        to the copy, the access proof, the copy destroyed, teardown, deploy again (the emulator
        and what it holds go with the run)."""
        result, start = Round(2, "make, terraform"), time.monotonic()
        dev, environment = self.targets["standing"]
        copy, copy_environment = self.targets["copy"]
        self.stack, self.environment = dev, environment
        with self.phase(2, "bootstrap") as phase:  # the other shared stacks as round 1 left them
            self.make("bootstrap")
            phase.detail = result.applied[STATE_STACK] = self.applied(phase.log, STATE_STACK)
        with self.phase(2, "deploy dev") as phase:
            self.make("deploy", f"STACK={dev}", f"ENGINE={ROUND_ENGINES[1]}")
            result.applied[dev] = self.applied(phase.log, dev)
            phase.detail = f"{result.applied[dev]}; {self.preflight_line(phase.log, dev)}"
        with self.phase(2, "release") as phase:
            tag, digest = self.push_build(2)
            result.details["release"] = phase.detail = self.released(dev, environment, digest, lambda: self.make("release", f"STACK={dev}", f"IMAGE={tag}"))
        with self.phase(2, "promote") as phase:
            promote = ("promote", f"FROM={dev}", f"TO={copy}", f"EXPECT={digest}")
            result.details["promote"] = phase.detail = self.released(copy, copy_environment, digest, lambda: self.make(*promote))
        with self.phase(2, "access proof") as phase:
            result.details["access"] = phase.detail = self.access_proof(dev, copy)
        with self.phase(2, "integration tests") as phase:
            result.details["tests"] = phase.detail = self.integration_tests(2)
        self.destroy_copy(result, copy, copy_environment)
        self.stack, self.environment = dev, environment
        self.teardown_and_check(result, dev, "teardown")
        with self.phase(2, "deploy again") as phase:  # what the teardown kept blocks nothing
            self.make("deploy", f"STACK={dev}", f"ENGINE={ROUND_ENGINES[1]}")
            phase.detail = result.details["deploy again"] = f"after the teardown: {self.applied(phase.log, dev)}"
        result.seconds = time.monotonic() - start
        self.rounds.append(result)
        return result

    def destroy_copy(self, result: Round, copy: str, environment: str) -> None:
        """Round 1's copy removed with ``make destroy`` (the cdktf CLI), then the leftover check
        (first: a check of dev's names would count the copy's, which share their prefix)."""
        self.stack, self.environment, self.kept = copy, environment, []
        with self.phase(2, "destroy copy") as phase:
            seeded = self.seed_access_log(copy)
            self.make("destroy", f"STACK={copy}")
            match = _DESTROY_RE.search(ansi_free(phase.log.read_text(errors="replace")))
            result.details["destroy copy"] = phase.detail = f"cdktf: {match[1] if match else '?'} destroyed, with {seeded} in the log bucket"
        with self.phase(2, "copy's leftovers") as phase:
            phase.detail = self.check_leftovers()

    def teardown_and_check(self, result: Round, stack: str, name: str) -> None:
        with self.phase(2, name) as phase:
            seeded = self.seed_access_log(stack)
            self.make("teardown", f"STACK={stack}", f"CONFIRM={stack}", f"ENGINE={ROUND_ENGINES[1]}")
            text = ansi_free(phase.log.read_text(errors="replace"))
            self.kept = [line.strip()[2:] for line in text.split("torn down; kept in the account:", 1)[-1].splitlines() if line.strip().startswith("- ")]
            match = _DESTROY_RE.search(text)
            result.details[name] = phase.detail = f"terraform: {match[1] if match else '?'} destroyed, with {seeded} in the log bucket; kept {len(self.kept)}"
        with self.phase(2, f"leftovers ({name})") as phase:
            phase.detail = self.check_leftovers()

    @staticmethod
    def preflight_line(log: Path, stack: str) -> str:
        """What ``make deploy``'s preflight said it checked (its one line)."""
        found = re.search(rf"(?m)^{re.escape(stack)}: (preflight passed.*)$", ansi_free(log.read_text(errors="replace")))
        if not found:
            raise RuntimeError(f"{stack}: no preflight line in the deploy's output")
        return found[1]

    def make(self, target: str, *assignments: str) -> None:
        """``make <target> NAME=value...`` in the checkout, as a user types it (the harness's
        environment: the emulator, every override variable, the offline provider)."""
        self.command(["make", "--no-print-directory", target, *assignments], f"make {target}")

    def command(self, args: list[str], what: str, env: Mapping[str, str] | None = None) -> None:
        result = subprocess.run(args, cwd=ROOT, env=dict(env or os.environ), check=False)
        if result.returncode != 0:
            raise RuntimeError(f"{what} exited {result.returncode}")

    def adapt_stacks(self) -> list[str]:
        """Adapt every synthesized stack to the provider found; the change lines."""
        changes: list[str] = []
        for path in sorted((self.paths.outdir / "stacks").glob("*/cdk.tf.json")):
            doc, stack_changes = adapt(json.loads(path.read_text()), self.tools.provider.version)
            path.write_text(json.dumps(doc, indent=2) + "\n")
            if path.parent.name in (*(stack for stack, _ in SHARED), self.stack):
                changes += [f"{path.parent.name}: {line}" for line in stack_changes]
        return changes

    def applied(self, log: Path, stack: str) -> str:
        match = _APPLY_RE.search(ansi_free(log.read_text(errors="replace")))
        counted = f"{match[1]} added, {match[2]} changed, {match[3]} destroyed" if match else "no changes"
        return f"{counted}; {len(self.state(stack))} in state"

    def state(self, stack: str) -> list[str]:
        """Managed resources in ``stack``'s Terraform state (``terraform state list``)."""
        result = subprocess.run(
            [str(self.tools.terraform), "state", "list"],
            cwd=self.paths.outdir / "stacks" / stack,
            env=dict(os.environ),
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"terraform state list ({stack}) failed: {result.stderr.strip().splitlines()[-1:] or result.returncode}")
        return [line for line in result.stdout.splitlines() if line and not line.startswith("data.") and ".data." not in line]

    def clients(self, **credentials: str) -> Callable[[str], Any]:
        import boto3  # type: ignore[import-untyped]

        session = boto3.session.Session(region_name=REGION, **credentials)
        return lambda service: session.client(service, endpoint_url=self.endpoint)

    def push_build(self, build: int) -> tuple[str, str]:
        """A new build in the registry (the stand-in for ``docker push``): its tag and digest."""
        manifest, media_type = minimal_image(build=build)
        tag = f"e2e-build-{build}"
        pushed = self.clients()("ecr").put_image(repositoryName=REGISTRY, imageManifest=manifest, imageManifestMediaType=media_type, imageTag=tag)
        return tag, str(pushed["image"]["imageId"]["imageDigest"])

    def released(self, stack: str, environment: str, digest: str, run: Callable[[], None]) -> str:
        """Run a release or a promotion of ``digest`` to ``stack``, then check that its service
        runs a new revision with exactly that digest, the previous one kept, the release recorded."""
        client = self.clients()
        ecr, ecs = client("ecr"), client("ecs")
        service = f"{stack}-api"
        before = ecs.describe_services(cluster=stack, services=[service])["services"][0]["taskDefinition"]
        run()
        after = ecs.describe_services(cluster=stack, services=[service])["services"][0]["taskDefinition"]
        (container,) = ecs.describe_task_definition(taskDefinition=after)["taskDefinition"]["containerDefinitions"]
        previous = ecs.describe_task_definition(taskDefinition=before)["taskDefinition"]["status"]
        tags = ecr.describe_images(repositoryName=REGISTRY, imageIds=[{"imageDigest": digest}])["imageDetails"][0]["imageTags"]
        problems = [
            *([f"{stack} still runs {before}"] if after == before else []),
            *([f"the new revision runs {container['image']}, not {digest}"] if not container["image"].endswith(f"@{digest}") else []),
            *([f"the previous revision is {previous}"] if previous != "ACTIVE" else []),
            *(["the release is not recorded"] if not any(t.startswith(f"release.{environment}.") for t in tags) else []),
        ]
        if problems:
            raise RuntimeError("; ".join(problems))
        return f"{stack} runs {digest[:19]}: {before.rsplit('/', 1)[-1]} -> {after.rsplit('/', 1)[-1]}, previous kept, recorded"

    def access_proof(self, dev: str, copy: str) -> str:
        """dev's release role, by its own credentials under the emulator's IAM enforcement,
        releases and promotes with make, and is denied what it must not do (:mod:`tools.e2e.access`)."""
        admin = self.clients()
        other = "order-api-prod"  # a stand-in for another environment's service
        admin("ecs").create_cluster(clusterName=other)
        family = admin("ecs").register_task_definition(family=f"{other}-api", containerDefinitions=[{"name": "api", "image": "x", "memory": 128}])
        admin("ecs").create_service(cluster=other, serviceName=f"{other}-api", taskDefinition=family["taskDefinition"]["taskDefinitionArn"], desiredCount=1)
        tag, digest = self.push_build(3)
        role = self.roles["github_dev_release_role_arn"]
        with access.enforced(self.endpoint, admin("sts"), role, "e2e-release") as credentials:
            env = {**os.environ, **credentials}
            self.command(["make", "--no-print-directory", "release", f"STACK={dev}", f"IMAGE={tag}"], "make release with the release role", env)
            self.command(["make", "--no-print-directory", "promote", f"FROM={dev}", f"TO={copy}"], "make promote with the release role", env)
            role_client = self.clients(
                aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
                aws_session_token=credentials["AWS_SESSION_TOKEN"],
            )
            denied, problems = access.refused(role_client, access.denied_calls(dev, other))
        runs = {s: admin("ecs").describe_services(cluster=s, services=[f"{s}-api"])["services"][0]["taskDefinition"] for s in (dev, copy)}
        problems += [f"{s} runs {arn.rsplit('/', 1)[-1]}, not the release" for s, arn in runs.items() if digest not in _image_of(admin("ecs"), arn)]
        admin("ecs").delete_service(cluster=other, service=f"{other}-api", force=True)
        admin("ecs").delete_cluster(cluster=other)
        if problems:
            raise RuntimeError("; ".join(problems))
        name = role.rsplit("/", 1)[-1]
        return f"{name} released {digest[:19]} to {dev} and promoted it to {copy}; denied: {', '.join(denied)}"

    def push_image(self) -> str:
        import boto3

        doc = deploy.load(self.paths.outdir, self.stack)
        image = deploy.stack_image(doc)
        if image.tag is None:
            raise RuntimeError(f"the copy runs {image.reference}; the harness pushes by tag only")
        manifest, media_type = minimal_image()
        ecr = boto3.session.Session(region_name=REGION).client("ecr", endpoint_url=self.endpoint)
        try:
            pushed = ecr.put_image(repositoryName=image.repository, imageManifest=manifest, imageManifestMediaType=media_type, imageTag=image.tag)
        except ecr.exceptions.ImageAlreadyExistsException:
            return f"{image.reference} already there (same manifest)"
        return f"{image.reference} ({pushed['image']['imageId']['imageDigest'][:19]})"

    def seed_access_log(self, stack: str) -> str:
        """Put an access-log object in the load balancer's log bucket: the emulator delivers
        none, and a destroy must work while the bucket holds data."""
        client = self.clients()
        (balancer,) = client("elbv2").describe_load_balancers(Names=[f"{stack}-alb"])["LoadBalancers"]
        attributes = client("elbv2").describe_load_balancer_attributes(LoadBalancerArn=balancer["LoadBalancerArn"])
        settings = {a["Key"]: a["Value"] for a in attributes["Attributes"]}
        bucket, prefix = settings.get("access_logs.s3.bucket"), settings.get("access_logs.s3.prefix", "")
        if not bucket:
            raise RuntimeError(f"the load balancer of {stack} has no access-log bucket")
        key = f"{prefix}/AWSLogs/123456789012/elasticloadbalancing/{REGION}/e2e.log.gz".lstrip("/")
        client("s3").put_object(Bucket=bucket, Key=key, Body=gzip.compress(b"e2e access log line\n", mtime=0))
        return "1 object"

    def integration_tests(self, number: int) -> str:
        junit = self.paths.logs / f"round{number}-integration.xml"
        env = {**os.environ, "FLAT_OUTPUTS_FILE": str(self.paths.outputs / "flat-outputs.json"), "INTEGRATION_TARGET": "emulator"}
        command = [sys.executable, "-m", "pytest", "tests/integration", "-rs", "-p", "no:cacheprovider", f"--junitxml={junit}"]
        result = subprocess.run(command, cwd=ROOT, env=env, check=False)
        counts = _junit_counts(junit)
        summary = f"{counts['passed']} passed, {counts['skipped']} skipped (data plane)"
        if result.returncode != 0 or counts["failed"]:
            raise RuntimeError(f"pytest exited {result.returncode}: {counts['failed']} failed, {summary}")
        if counts["passed"] == 0:
            raise RuntimeError(f"no integration test ran ({summary})")
        stray = [reason for reason in counts["skip_reasons"] if "emulator" not in reason]
        if stray:
            raise RuntimeError(f"skipped for another reason than the emulator: {stray[0]}")
        return summary

    def check_leftovers(self) -> str:
        import boto3

        in_state = self.state(self.stack)
        session = boto3.session.Session(region_name=REGION)
        found = leftovers.find(lambda service: session.client(service, endpoint_url=self.endpoint), self.stack, self.environment)
        allowed = [item for item in found if self.kept and kept_by_teardown(item, self.stack)]
        problems = [f"in state: {address}" for address in in_state] + [item for item in found if item not in allowed]
        if problems:
            for problem in problems:
                print(problem)
            raise RuntimeError(f"{len(problems)} left after destroy, first: {problems[0]}")
        if allowed:
            return f"state empty; of {self.stack} only what the teardown said it kept: {'; '.join(allowed)}"
        return f"state empty; nothing of {self.stack} in the emulator"

    # -- summary --------------------------------------------------------------------------------
    def summary(self, total: float) -> list[str]:
        provider = self.tools.provider
        lines = [
            f"summary: {len(self.rounds)} rounds passed in {total:.1f}s "
            f"(terraform {self.tools.terraform_version}, hashicorp/aws {provider.version}, moto {_moto_version()}, parallelism {PARALLELISM})"
        ]
        for r in self.rounds:
            applied = "; ".join(f"{stack}: {detail}" for stack, detail in r.applied.items())
            lines.append(f"  round {r.number} ({r.engine}, {r.seconds:.1f}s): {applied}")
            lines += [f"    {step}: {detail}" for step, detail in r.details.items()]
        if major(provider.version) < 6:
            lines.append(f"  provider gap (hashicorp/aws {provider.version} < 6): {len(self.gap_changes)} changes to the synthesized copies")
            lines += [f"    - {change}" for change in self.gap_changes]
            lines.append("  not exercised by this run:")
            lines += [f"    - {item}" for item in not_exercised([c.split(": ", 1)[1] for c in self.gap_changes])]
        else:
            lines.append(f"  provider gap: none (hashicorp/aws {provider.version})")
        lines.append("  moto patches:")
        lines += [f"    - {patch.action}: {patch.why}" for patch in PATCHES]
        return lines


def kept_by_teardown(item: str, stack: str) -> bool:
    """Whether a leftover is what ``make teardown`` keeps of a standing environment: its final
    snapshot, and the database key under its retired alias (the name itself is freed)."""
    retired = f"alias/{stack}-database-retired-"
    return (
        item.startswith(f"DB cluster snapshot {stack}-final-")
        or item.startswith(f"KMS alias {retired}")
        or (item.startswith("KMS key ") and f"({retired}" in item)
    )


def _image_of(ecs: Any, task_definition: str) -> str:
    (container,) = ecs.describe_task_definition(taskDefinition=task_definition)["taskDefinition"]["containerDefinitions"]
    return str(container["image"])


def _moto_version() -> str:
    from importlib.metadata import version

    return version("moto")


def _junit_counts(path: Path) -> dict[str, Any]:
    """passed/failed/skipped counts and skip reasons of a pytest JUnit XML report."""
    counts: dict[str, Any] = {"passed": 0, "failed": 0, "skipped": 0, "skip_reasons": []}
    if not path.is_file():
        return counts
    for case in ElementTree.parse(path).getroot().iter("testcase"):
        skipped = case.find("skipped")
        if case.find("failure") is not None or case.find("error") is not None:
            counts["failed"] += 1
        elif skipped is not None:
            counts["skipped"] += 1
            counts["skip_reasons"].append(skipped.get("message", ""))
        else:
            counts["passed"] += 1
    return counts


@contextmanager
def _captured(log: Path) -> Iterator[None]:
    """File descriptors 1 and 2 (this process's and every child's) go to ``log`` for the block."""
    log.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(log, "ab") as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


@contextmanager
def _work_dir(work: Path) -> Iterator[Paths]:
    """``.e2e/``, emptied, held under a lock so two runs in one checkout never mix."""
    work.mkdir(exist_ok=True)
    with open(work / ".lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise PhaseFailed(f"another make e2e is running in this checkout ({work.name}/.lock is held)") from None
        for entry in work.iterdir():
            if entry.name != ".lock":
                shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
        paths = Paths(work)
        paths.logs.mkdir()
        paths.aws_config.write_text("")
        yield paths


def _on_signal(signum: int, _frame: FrameType | None) -> None:
    """SIGINT or SIGTERM: pass it on to every process the run started (cdktf, terraform,
    pytest, moto), which a signal sent to this process alone would leave running, then
    unwind (the emulator is stopped on the way out; a second signal does not interrupt that)."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for pid in process.descendants(os.getpid()):
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    raise Interrupted(signum)


def main(environ: Mapping[str, str] | None = None, home: Path | None = None, work: Path = WORK) -> int:
    """Run the lifecycle; 0 when every round passed or when it is skipped."""
    caller = dict(os.environ if environ is None else environ)
    try:
        tools = discover(caller, home or Path.home())
    except Skip as reason:
        print(f"SKIPPED: {reason}", flush=True)
        return 0
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    start = time.monotonic()
    try:
        with _work_dir(work) as paths:
            paths.cli_config.write_text(cli_config(tools.provider))
            print(
                f"make e2e: terraform {tools.terraform_version} ({tools.terraform}), hashicorp/aws {tools.provider.version} "
                f"from {tools.provider.mirror} (never downloaded); logs in {paths.logs.relative_to(ROOT)}/",
                flush=True,
            )
            os.environ.clear()
            os.environ.update(harness_env(caller, paths, None))
            with control.running(paths.ready_file, paths.logs / "moto.log", os.environ) as endpoint:
                os.environ.update(harness_env(caller, paths, endpoint))
                print(f"setup    {'emulator':<{NAME_WIDTH}} moto {_moto_version()} on {endpoint} ({len(PATCHES)} patches)", flush=True)
                lifecycle = Lifecycle(tools, paths, endpoint)
                lifecycle.round_one()
                lifecycle.round_two()
            for line in lifecycle.summary(time.monotonic() - start):
                print(line)
    except PhaseFailed as failure:
        print(f"FAILED: {failure} (after {time.monotonic() - start:.1f}s; the emulator is stopped)", file=sys.stderr)
        return 1
    except control.EmulatorError as failure:
        print(f"FAILED: {failure}", file=sys.stderr)
        return 1
    except (KeyboardInterrupt, Interrupted) as interrupted:
        signum = interrupted.args[0] if isinstance(interrupted, Interrupted) else signal.SIGINT
        print(f"interrupted by {signal.Signals(signum).name}; the emulator is stopped", file=sys.stderr)
        return 128 + int(signum)
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.environ.clear()
        os.environ.update(caller)
    return 0
