"""Ship an image to an environment: ``make release`` and ``make promote``.

``make release STACK=<stack> IMAGE=<tag | sha256:<digest>>``:

1. checks, each refusing with one line before anything changes:
   the image is in the shared registry (resolved to its digest); staging and prod
   take no mutable tag (``latest``); the image's scan found no CRITICAL finding
   (``ALLOW_CRITICAL=1`` overrides it, and says so); the service exists; and, just
   before the deployment (:mod:`tools.ops.preflight`), no rollback alarm of the
   service is in ALARM (``ALLOW_ALARMS=1`` overrides it, and says so) and the smoke
   test function is Active (woken when it went idle);
2. registers a new revision of the service's task definition, a copy of the one it
   runs in which only the container image changes, to ``<repository>@sha256:<digest>``,
   with the digest in the container's ``IMAGE_DIGEST`` variable (roles, parameters,
   health check and logging stay as Terraform declared them);
3. updates the service: ECS deploys with the environment's strategy (BLUE_GREEN,
   CANARY or LINEAR), the smoke test first;
4. follows the deployment, one line per change of state (:mod:`tools.common.ecs_deployments`);
   exits 0 only when it succeeded, else non-zero with ECS's reason; a timeout
   bounds the wait; Ctrl-C stops watching (ECS goes on) and says how to follow it;
5. records the release: the immutable tag ``release.<environment>.<UTC time>`` on
   the image, which the registry's lifecycle policy never expires, and prunes the
   environment's release tags to the newest ``RegistryConfig.releases_kept``, so the
   live image and every rollback target stay in the registry.

``make promote FROM=<stack> TO=<stack>`` releases to TO exactly the digest FROM runs,
read from FROM's service (what ECS resolved for its last successful deployment),
never from a tag.  ``make release STACK=<stack> IMAGE=<previous digest>`` is the
manual rollback; every release prints the digest to roll back to.

Everything about a stack comes from its synthesized JSON (``cdktf.out``): region,
emulator endpoint, cluster, service, registry, environment, strategy and smoke test function.
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from stacks import process
from stacks.config import DeploymentConfig, RegistryConfig
from stacks.config.registry import RELEASE_TAG_PREFIX, valid_tag
from tools.common import cli
from tools.common.aws_errors import AwsError, aws_errors, error_code
from tools.common.ecs_deployments import CONTAINER, DeploymentFailed, Service, StillRunning, deployments, find_deployment, follow, live_digest
from tools.common.stack import DeployError, SynthesisFailed, default_outdir, is_environment_stack, load, provider_target, stack_name_problem, synthesize
from tools.ops.preflight import PreflightError, check_rollback_alarms, wake_smoke_test

DIGEST_RE = re.compile(r"sha256:[0-9a-f]{64}")
#: The container variable that holds the digest of the image it runs (the application's contract:
#: it states it in the X-Image-Digest header, and the smoke test checks which revision answered).
IMAGE_DIGEST = "IMAGE_DIGEST"
#: The ECS lifecycle hook's target in a synthesized stack: a reference to the function's ARN.
_FUNCTION_REF = re.compile(r"\$\{aws_lambda_function\.([A-Za-z0-9_-]+)\.arn\}")
#: Environments that never run a mutable tag.
PINNED_ENVIRONMENTS = ("staging", "prod")
#: Minutes added to the strategy's expected duration before the watch gives up.
TIMEOUT_MARGIN_MINUTES = 30
#: Fields of a task definition that RegisterTaskDefinition takes back.
_REGISTER_FIELDS = (
    "family",
    "taskRoleArn",
    "executionRoleArn",
    "networkMode",
    "containerDefinitions",
    "volumes",
    "placementConstraints",
    "requiresCompatibilities",
    "cpu",
    "memory",
    "pidMode",
    "ipcMode",
    "proxyConfiguration",
    "inferenceAccelerators",
    "ephemeralStorage",
    "runtimePlatform",
)
_ACCEPTED_MANIFESTS = [
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
]


class ReleaseError(RuntimeError):
    """One line: what stopped the release and what to do."""


@dataclass(frozen=True)
class Target:
    """What a release needs to know about an environment stack (from its synthesized JSON)."""

    stack: str
    environment: str
    region: str
    endpoint: str | None
    cluster: str
    service: str
    repository: str
    deployment: DeploymentConfig = field(default_factory=DeploymentConfig)
    #: The function ECS invokes as the deployment's lifecycle hook (the smoke test), if any.
    smoke_function: str | None = None

    @property
    def pinned(self) -> bool:
        """Staging and prod: never a mutable tag."""
        return self.environment in PINNED_ENVIRONMENTS

    @property
    def ecs_service(self) -> Service:
        return Service(self.cluster, self.service)

    @property
    def timeout_seconds(self) -> int:
        return (self.deployment.expected_minutes + TIMEOUT_MARGIN_MINUTES) * 60


def _only(section: Mapping[str, Any], what: str, stack: str) -> dict[str, Any]:
    if len(section) != 1:
        raise ReleaseError(f"{stack}: expected one {what}, found {len(section)}")
    return dict(next(iter(section.values())))


def target_of(doc: Mapping[str, Any], stack: str) -> Target:
    """The :class:`Target` of a synthesized environment stack."""
    if not is_environment_stack(doc):
        raise ReleaseError(f"{stack} is not an environment stack (it runs no service); releases go to order-api-<env>[-<suffix>]")
    resources, data = doc["resource"], doc.get("data", {})
    region, endpoint = provider_target(doc)
    tags = doc["provider"]["aws"][0].get("default_tags", [{}])[0].get("tags", {})
    service = _only(resources["aws_ecs_service"], "ECS service", stack)
    settings = service.get("deployment_configuration") or {}
    canary, linear = settings.get("canary_configuration") or {}, settings.get("linear_configuration") or {}
    deployment = DeploymentConfig(
        strategy=settings.get("strategy", "BLUE_GREEN"),
        bake_time_minutes=int(settings.get("bake_time_in_minutes", 0)),
        canary_percent=float(canary.get("canary_percent", DeploymentConfig.canary_percent)),
        canary_bake_minutes=int(canary.get("canary_bake_time_in_minutes", DeploymentConfig.canary_bake_minutes)),
        linear_step_percent=float(linear.get("step_percent", DeploymentConfig.linear_step_percent)),
        linear_step_minutes=int(linear.get("step_bake_time_in_minutes", DeploymentConfig.linear_step_minutes)),
    )
    return Target(
        stack=stack,
        environment=str(tags.get("environment", stack)),
        region=region,
        endpoint=endpoint,
        cluster=_only(resources["aws_ecs_cluster"], "ECS cluster", stack)["name"],
        service=service["name"],
        repository=_only(data.get("aws_ecr_repository", {}), "registry data source", stack)["name"],
        deployment=deployment,
        smoke_function=_hook_function(resources, settings),
    )


def _hook_function(resources: Mapping[str, Any], settings: Mapping[str, Any]) -> str | None:
    """The name of the Lambda function the service's lifecycle hook invokes, if it has one."""
    for hook in settings.get("lifecycle_hook") or []:
        found = _FUNCTION_REF.fullmatch(str(hook.get("hook_target_arn", "")))
        if found and found[1] in resources.get("aws_lambda_function", {}):
            return str(resources["aws_lambda_function"][found[1]]["function_name"])
    return None


# ------------------------------------------------------------------------------------- image


@dataclass(frozen=True)
class Image:
    """An image of the registry, resolved to its digest."""

    repository_uri: str
    digest: str
    tags: tuple[str, ...]

    @property
    def reference(self) -> str:
        return f"{self.repository_uri}@{self.digest}"


def resolve(ecr: Any, target: Target, ref: str, registry: RegistryConfig) -> Image:
    """The image ``ref`` (a tag or ``sha256:<digest>``) names in the target's registry."""
    is_digest = bool(DIGEST_RE.fullmatch(ref))
    if not is_digest and target.pinned and ref in registry.mutable_tags:
        raise ReleaseError(f"{target.stack}: {ref!r} is a mutable tag, refused for {target.environment}; release the digest it names (sha256:...)")
    try:
        (repository,) = ecr.describe_repositories(repositoryNames=[target.repository])["repositories"]
        details = ecr.describe_images(repositoryName=target.repository, imageIds=[{"imageDigest": ref} if is_digest else {"imageTag": ref}])["imageDetails"]
    except Exception as error:
        if error_code(error) == "RepositoryNotFoundException":
            raise ReleaseError(f"registry {target.repository} does not exist in {target.region}: make deploy STACK=order-api-registry first") from None
        if error_code(error) != "ImageNotFoundException":
            raise
        details = []
    if not details:
        raise ReleaseError(f"image {ref} is not in the registry {target.repository}: push it first (docker push {repository['repositoryUri']}:<tag>)")
    (image,) = details
    return Image(repository["repositoryUri"], image["imageDigest"], tuple(image.get("imageTags", [])))


def check_scan(ecr: Any, target: Target, image: Image, *, allow_critical: bool, emit: Callable[[str], None]) -> None:
    """Refuse an image whose scan found CRITICAL vulnerabilities (unless ``allow_critical``,
    which is printed), and, in staging and prod, one without a finished scan."""
    try:
        found = ecr.describe_image_scan_findings(repositoryName=target.repository, imageId={"imageDigest": image.digest})
    except Exception as error:
        if error_code(error) != "ScanNotFoundException":
            raise
        found = {"imageScanStatus": {"status": "NOT_FOUND"}}
    status = found.get("imageScanStatus", {}).get("status", "NOT_FOUND")
    critical = int(found.get("imageScanFindings", {}).get("findingSeverityCounts", {}).get("CRITICAL", 0))
    if status not in ("COMPLETE", "ACTIVE"):
        problem = f"image {image.digest[:19]} has no finished scan ({status})"
        if target.pinned and not allow_critical:
            raise ReleaseError(f"{problem}; {target.environment} takes only scanned images (wait for the scan, or ALLOW_CRITICAL=1)")
        emit(f"warning: {problem}; releasing to {target.environment} anyway")
        return
    if critical and not allow_critical:
        raise ReleaseError(f"image {image.digest[:19]} has {critical} CRITICAL findings; fix them, or release with ALLOW_CRITICAL=1")
    if critical:
        emit(f"ALLOW_CRITICAL=1: releasing {image.digest[:19]} despite {critical} CRITICAL findings")


# ------------------------------------------------------------------------- task definition


def new_revision(current: Mapping[str, Any], image_reference: str) -> dict[str, Any]:
    """RegisterTaskDefinition arguments: ``current`` (a DescribeTaskDefinition result's
    ``taskDefinition``) with only the container's image changed, and its :data:`IMAGE_DIGEST`
    variable set to the reference's digest (removed for a reference by tag)."""
    registration = {name: current[name] for name in _REGISTER_FIELDS if current.get(name) not in (None, [], {})}
    containers = [dict(c) for c in current["containerDefinitions"]]
    matching = [c for c in containers if c["name"] == CONTAINER]
    if len(matching) != 1:
        raise ReleaseError(f"task definition {current.get('taskDefinitionArn')} has no container {CONTAINER}")
    matching[0]["image"] = image_reference
    environment = [e for e in matching[0].get("environment") or [] if e.get("name") != IMAGE_DIGEST]
    digest = _digest_of(image_reference)
    matching[0]["environment"] = environment + ([{"name": IMAGE_DIGEST, "value": digest}] if digest else [])
    if not matching[0]["environment"]:
        del matching[0]["environment"]
    registration["containerDefinitions"] = containers
    return registration


def settings_of(task_definition: Mapping[str, Any]) -> dict[str, Any]:
    """What Terraform declares of a task definition: the registration without the image (and
    its digest variable)."""
    registration = new_revision(task_definition, "")
    for container in registration["containerDefinitions"]:
        container.pop("image", None)
    return registration


def release_tag(environment: str, at: datetime) -> str:
    """``release.<environment>.<UTC time>``: unique, immutable, sortable by time."""
    return f"{RELEASE_TAG_PREFIX}{environment}.{at.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}"


def tags_to_prune(tags: Mapping[str, str], environment: str, keep: int) -> list[str]:
    """Of ``tags`` (tag -> digest), the environment's release tags older than its ``keep``
    newest releases.  Tags of other environments are never touched."""
    prefix = f"{RELEASE_TAG_PREFIX}{environment}."
    mine = sorted((tag for tag in tags if tag.startswith(prefix) and "." not in tag[len(prefix) :]), reverse=True)
    return mine[keep:]


@dataclass
class Releaser:
    """One release to ``target``.  ``ecs`` and ``ecr`` are boto3 clients (or stubs)."""

    target: Target
    ecs: Any
    ecr: Any
    #: CloudWatch and Lambda clients, for the checks before a deployment (:meth:`preflight`).
    cloudwatch: Any = None
    functions: Any = None
    registry: RegistryConfig = field(default_factory=RegistryConfig)
    emit: Callable[[str], None] = print
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    poll_seconds: float = 10

    def release(self, ref: str, *, allow_critical: bool = False, allow_alarms: bool = False, timeout_seconds: int | None = None) -> str:
        """Release ``ref``; returns the digest now live.  Raises :class:`ReleaseError`,
        :class:`PreflightError`, :class:`DeploymentFailed` or :class:`StillRunning`."""
        target = self.target
        image = resolve(self.ecr, target, ref, self.registry)
        check_scan(self.ecr, target, image, allow_critical=allow_critical, emit=self.emit)
        service = self._service()
        current = self._current_task_definition(service)
        running = next(c["image"] for c in current["containerDefinitions"] if c["name"] == CONTAINER)
        if running == image.reference:
            self.emit(f"{target.stack} already runs {image.digest}: nothing to deploy")
            self.record(image)
            return image.digest
        previous = _digest_of(running) or self._resolved(running)
        self.preflight(service, allow_alarms=allow_alarms)
        registration = new_revision(current, image.reference)
        arn = self.ecs.register_task_definition(**registration, tags=current.get("tags") or [])["taskDefinition"]["taskDefinitionArn"]
        self.emit(f"{target.stack}: registered {arn.rsplit('/', 1)[-1]} with {image.digest}, replacing {current['taskDefinitionArn'].rsplit('/', 1)[-1]}")
        since = self.now() - timedelta(seconds=60)
        self.ecs.update_service(cluster=target.cluster, service=target.service, taskDefinition=arn)
        strategy = target.deployment.strategy
        self.emit(f"{target.stack}: {strategy} deployment started; the smoke test runs before production traffic moves")
        self.watch(since, arn, timeout_seconds)
        self.record(image)
        self.emit(f"{target.stack}: {image.digest} is live; roll back with: make release STACK={target.stack} IMAGE={previous}")
        return image.digest

    def preflight(self, service: Mapping[str, Any], *, allow_alarms: bool) -> None:
        """Just before a deployment starts: no rollback alarm of ``service`` (a DescribeServices
        service) in ALARM, unless ``allow_alarms``; the smoke test function Active."""
        stack = self.target.stack
        check_rollback_alarms(self.cloudwatch, service, stack=stack, allow=allow_alarms, emit=self.emit)
        if self.target.smoke_function is not None:
            wake_smoke_test(self.functions, self.target.smoke_function, stack=stack, emit=self.emit, clock=self.clock, sleep=self.sleep)

    def _resolved(self, running: str) -> str:
        """The digest ECS resolved a tag reference to (the tag may have moved since), or the
        reference itself when ECS reports none."""
        try:
            return live_digest(self.ecs, self.target.ecs_service)
        except DeploymentFailed:
            return running

    def watch(self, since: datetime, task_definition_arn: str | None, timeout_seconds: int | None) -> None:
        """Follow the deployment of ``task_definition_arn`` (or the newest one) to its end."""
        timeout = timeout_seconds if timeout_seconds is not None else self.target.timeout_seconds
        service = self.target.ecs_service
        arn = find_deployment(self.ecs, service, since=since, task_definition_arn=task_definition_arn, clock=self.clock, sleep=self.sleep)
        self.deployment_arn = arn
        self.emit(f"{self.target.stack}: following deployment {arn.rsplit('/', 1)[-1]} (up to {timeout // 60} min)")
        follow(self.ecs, service, arn, timeout_seconds=timeout, clock=self.clock, sleep=self.sleep, emit=self.emit, poll_seconds=self.poll_seconds)

    def settle(self, declared_arn: str, since: datetime, *, timeout_seconds: int | None = None) -> None:
        """After ``make deploy`` applied the stack (from ``since``): follow the deployment the
        apply started, if any (a new service's first one); roll the task definition Terraform
        declares (``declared_arn``) out with the image the service runs, when its settings
        differ from the running revision's; and record the running image as a release.
        The image never moves here."""
        service = self.target.ecs_service
        if deployments(self.ecs, service, createdAt={"after": since}):
            self.watch(since, None, timeout_seconds)
        current = self._current_task_definition()
        declared = self.ecs.describe_task_definition(taskDefinition=declared_arn)["taskDefinition"]
        running = next(c["image"] for c in current["containerDefinitions"] if c["name"] == CONTAINER)
        if current["taskDefinitionArn"] != declared_arn and settings_of(current) != settings_of(declared):
            registration = new_revision(declared, running)
            arn = self.ecs.register_task_definition(**registration, tags=current.get("tags") or [])["taskDefinition"]["taskDefinitionArn"]
            self.emit(f"{self.target.stack}: the declared task settings changed; deploying {arn.rsplit('/', 1)[-1]} with the running image {running}")
            start = self.now() - timedelta(seconds=60)
            self.ecs.update_service(cluster=service.cluster, service=service.name, taskDefinition=arn)
            self.watch(start, arn, timeout_seconds)
        digest = live_digest(self.ecs, service)
        self.record(resolve(self.ecr, self.target, digest, self.registry))

    def forget(self) -> None:
        """After the stack is destroyed: deregister the revisions releases registered (Terraform
        deregistered its own) and remove the environment's release tags from the registry."""
        family = self.target.service
        pages = self.ecs.get_paginator("list_task_definitions").paginate(familyPrefix=family, status="ACTIVE")
        arns = [arn for page in pages for arn in page["taskDefinitionArns"] if arn.rsplit("/", 1)[-1].rsplit(":", 1)[0] == family]
        for arn in arns:
            self.ecs.deregister_task_definition(taskDefinition=arn)
        stale = tags_to_prune(self._release_tags(), self.target.environment, 0)
        for start in range(0, len(stale), 100):
            self.ecr.batch_delete_image(repositoryName=self.target.repository, imageIds=[{"imageTag": tag} for tag in stale[start : start + 100]])
        self.emit(f"{self.target.stack}: deregistered {len(arns)} released task definitions, removed {len(stale)} release tags")

    def _service(self) -> dict[str, Any]:
        """The service, as DescribeServices reports it (its task definition, its deployment alarms)."""
        target = self.target
        services = self.ecs.describe_services(cluster=target.cluster, services=[target.service])["services"]
        active = [s for s in services if s.get("status") == "ACTIVE"]
        if not active:
            raise ReleaseError(f"{target.stack}: service {target.service} does not exist: make deploy STACK={target.stack} first")
        return dict(active[0])

    def _current_task_definition(self, service: Mapping[str, Any] | None = None) -> dict[str, Any]:
        service = service if service is not None else self._service()
        described = self.ecs.describe_task_definition(taskDefinition=service["taskDefinition"], include=["TAGS"])
        return {**described["taskDefinition"], "tags": described.get("tags", [])}

    def record(self, image: Image) -> None:
        """Tag the image ``release.<environment>.<time>`` and prune old release tags of the
        environment (:func:`record_plan`)."""
        tag, stale = record_plan(self._release_tags(), self.target.environment, image.digest, self.now(), self.registry.releases_kept)
        if tag is not None:
            (found,) = self.ecr.batch_get_image(
                repositoryName=self.target.repository, imageIds=[{"imageDigest": image.digest}], acceptedMediaTypes=_ACCEPTED_MANIFESTS
            )["images"]
            self.ecr.put_image(
                repositoryName=self.target.repository,
                imageManifest=found["imageManifest"],
                imageManifestMediaType=found.get("imageManifestMediaType", _ACCEPTED_MANIFESTS[0]),
                imageTag=tag,
                imageDigest=image.digest,
            )
            self.emit(f"{self.target.stack}: recorded as {tag}")
        for start in range(0, len(stale), 100):
            self.ecr.batch_delete_image(repositoryName=self.target.repository, imageIds=[{"imageTag": tag} for tag in stale[start : start + 100]])
        if stale:
            self.emit(f"{self.target.stack}: removed {len(stale)} release tags older than the last {self.registry.releases_kept} releases")

    def _release_tags(self) -> dict[str, str]:
        """Every release tag of the repository -> the digest it is on."""
        found: dict[str, str] = {}
        for page in self.ecr.get_paginator("describe_images").paginate(repositoryName=self.target.repository, filter={"tagStatus": "TAGGED"}):
            for detail in page["imageDetails"]:
                found.update({tag: detail["imageDigest"] for tag in detail.get("imageTags", []) if tag.startswith(RELEASE_TAG_PREFIX)})
        return found


def record_plan(release_tags: Mapping[str, str], environment: str, digest: str, at: datetime, keep: int) -> tuple[str | None, list[str]]:
    """How to record that ``digest`` is live in ``environment``: the release tag to add
    (None when the environment's newest release tag is already on it) and the release tags
    to remove afterwards (all but the environment's ``keep`` newest).  So the newest tag
    of an environment is always on its live image, the one before on the previous one."""
    newest = tags_to_prune(release_tags, environment, 0)[:1]
    tag = None if newest and release_tags[newest[0]] == digest else release_tag(environment, at)
    if tag is not None and newest and tag <= newest[0]:
        # The newest tag is from this very second (make deploy recorded the running image,
        # then a release finished at once) or from a clock ahead of ours: one second after it,
        # so the tag is new and the newest tag stays on the live image.
        stamp = datetime.strptime(newest[0].rsplit(".", 1)[1], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        tag = release_tag(environment, stamp + timedelta(seconds=1))
    after = {**release_tags, **({tag: digest} if tag else {})}
    return tag, tags_to_prune(after, environment, keep)


def _digest_of(image_reference: str) -> str | None:
    return image_reference.rsplit("@", 1)[1] if "@sha256:" in image_reference else None


# --------------------------------------------------------------------------------------- CLI


#: Makes the clients a release uses: ECS, ECR, and (for :meth:`Releaser.preflight`) CloudWatch and Lambda.
Clients = Callable[[Target], tuple[Any, ...]]


def _clients(target: Target) -> tuple[Any, ...]:
    import boto3  # type: ignore[import-untyped]

    session = boto3.session.Session(region_name=target.region)
    return tuple(session.client(name, endpoint_url=target.endpoint) for name in ("ecs", "ecr", "cloudwatch", "lambda"))


def releaser_from(doc: Mapping[str, Any], stack: str, clients: Clients = _clients) -> Releaser:
    target = target_of(doc, stack)
    return Releaser(target, *clients(target))


def releaser_for(outdir: Path, stack: str, clients: Clients = _clients) -> Releaser:
    return releaser_from(load(outdir, stack), stack, clients)


#: Longest watch ``--timeout-minutes`` may ask for (two days).
TIMEOUT_LIMIT_MINUTES = 2880


def input_problem(image: str | None, expect: str | None, allow_critical: str, allow_alarms: str = "") -> str | None:
    """What is wrong with the release's inputs (checked before anything is read or changed)."""
    if image is not None and not (DIGEST_RE.fullmatch(image) or valid_tag(image)):
        return f"IMAGE={image[:80]!r} is invalid: a tag (letters, digits, _ . -, at most 128, not starting with . or -) or sha256:<64 hex digits>"
    if expect is not None and not DIGEST_RE.fullmatch(expect):
        return f"EXPECT={expect[:80]!r} is invalid: the digest the source must run, sha256:<64 hex digits>"
    if allow_critical not in ("", "1"):
        return f"ALLOW_CRITICAL={allow_critical[:80]!r} is invalid: 1 (release despite CRITICAL findings) or unset"
    if allow_alarms not in ("", "1"):
        return f"ALLOW_ALARMS={allow_alarms[:80]!r} is invalid: 1 (deploy although a rollback alarm is in ALARM) or unset"
    return None


def request_problem(args: Any, environ: Mapping[str, str]) -> str | None:
    """What is wrong with the whole request (:func:`input_problem` and how the inputs go
    together); checked before the synthesis and before any AWS session."""
    if (args.image is None) == (args.source is None):
        return "give exactly one of IMAGE (make release) and FROM (make promote)"
    named = stack_name_problem(args.stack, "STACK" if args.source is None else "TO")
    if named or (args.source is not None and (named := stack_name_problem(args.source, "FROM"))):
        return named
    if args.source is not None and args.source == args.stack:
        return f"FROM and TO are both {args.stack[:80]!r}: promote from one environment to another"
    if args.expect is not None and args.source is None:
        return "EXPECT applies only to make promote (FROM=<stack>)"
    if args.timeout_minutes is not None and not 1 <= args.timeout_minutes <= TIMEOUT_LIMIT_MINUTES:
        return f"--timeout-minutes={args.timeout_minutes} is invalid: from 1 to {TIMEOUT_LIMIT_MINUTES}"
    return input_problem(args.image, args.expect, environ.get("ALLOW_CRITICAL", ""), environ.get("ALLOW_ALARMS", ""))


def _parser() -> cli.Parser:
    parser = cli.parser("tools.ops.release", "Release an image to an environment, or promote one.")
    parser.add_argument("stack", help="the environment stack to release to (TO for a promotion)")
    parser.add_argument("image", nargs="?", help="a tag or sha256:<digest> of the shared registry")
    parser.add_argument("--from", dest="source", help="promote: release the digest this stack runs")
    parser.add_argument("--expect", help="promote: refuse unless the source runs this digest (what a pipeline tested)")
    parser.add_argument("--skip-synth", action="store_true")
    parser.add_argument("--outdir", type=Path, default=default_outdir(), help="default: CDKTF_OUTDIR, else cdktf.out")
    parser.add_argument("--timeout-minutes", type=cli.number, help="stop watching after this long (default: the strategy's duration + 30)")
    return parser


def main(argv: list[str] | None = None, environ: Mapping[str, str] | None = None, clients: Clients = _clients) -> int:
    environ = os.environ if environ is None else environ
    args = _parser().parse_args(argv)
    problem = request_problem(args, environ)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    releaser: Releaser | None = None
    try:
        with aws_errors():
            if not args.skip_synth:
                synthesize(args.outdir)
            # Every stack named is checked before the first AWS session.
            target = target_of(load(args.outdir, args.stack), args.stack)
            source = target_of(load(args.outdir, args.source), args.source) if args.source is not None else None
            releaser = Releaser(target, *clients(target))
            image = args.image if source is None else promoted_digest(source, target, clients, args.expect)
            timeout = args.timeout_minutes * 60 if args.timeout_minutes else None
            allowed = {"allow_critical": environ.get("ALLOW_CRITICAL", "") == "1", "allow_alarms": environ.get("ALLOW_ALARMS", "") == "1"}
            releaser.release(image, **allowed, timeout_seconds=timeout)
    except SynthesisFailed as failed:
        return failed.code  # main.py has printed its one line
    except KeyboardInterrupt as error:
        stop = process.interrupted_by(error)
        arn = getattr(releaser, "deployment_arn", None)
        follow_up = f"; stopped watching, it goes on in ECS: {releaser.target.ecs_service.follow_command(arn)}" if releaser and arn else ""
        print(f"{stop.line()}{follow_up}", file=sys.stderr)
        return stop.status
    except (DeploymentFailed, StillRunning) as error:
        print(f"error: {args.stack}: release failed: {error}", file=sys.stderr)
        return 1
    except (ReleaseError, PreflightError, DeployError, AwsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


def promoted_digest(source: Target, target: Target, clients: Clients, expect: str | None) -> str:
    """The digest ``source`` runs (its newest successful deployment), which must be ``expect`` when given."""
    digest = live_digest(clients(source)[0], source.ecs_service)
    if expect is not None and digest != expect:
        raise ReleaseError(f"{source.stack} runs {digest}, not {expect}: refusing to promote what was not tested")
    print(f"promote: {source.stack} runs {digest}; releasing it to {target.stack}", flush=True)
    return digest


if __name__ == "__main__":
    process.run(main)
