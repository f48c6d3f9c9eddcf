"""Follow an ECS service deployment to its end, one line per change of state.

ECS reports a deployment of a service (``ListServiceDeployments`` /
``DescribeServiceDeployments``) as ``PENDING``, ``IN_PROGRESS``, then
``SUCCESSFUL``; or, when the circuit breaker, an alarm or a lifecycle hook
(the smoke test) stops it, ``ROLLBACK_REQUESTED``, ``ROLLBACK_IN_PROGRESS`` and
``ROLLBACK_SUCCESSFUL`` (or ``ROLLBACK_FAILED``); or ``STOP_REQUESTED`` and
``STOPPED``.  :func:`follow` returns only on ``SUCCESSFUL``; every other end raises
:class:`DeploymentFailed` with the reason ECS gives, and a deadline raises
:class:`StillRunning` (ECS goes on either way).  A status this module does not
know counts as under way: the watch goes on rather than calling it an end.

``ListServiceDeployments`` answers in pages (20 by default, at most 100) and botocore
has no paginator for it: :func:`deployments` reads every page.

Clock, sleep and output are parameters, so tests run without waiting.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

#: The container whose image releases change (the task definition's only container).
CONTAINER = "order-api"
SUCCESSFUL = "SUCCESSFUL"
#: Ends of a deployment that did not put the new revision in service.
FAILED = ("ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED", "STOPPED")
#: States of a deployment that has not ended.
UNDER_WAY = ("PENDING", "IN_PROGRESS", "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS", "STOP_REQUESTED")
#: The largest page ListServiceDeployments returns (its default is 20).
PAGE_SIZE = 100


class DeploymentFailed(RuntimeError):
    """The deployment ended without the new revision in service; ``str()`` is ECS's reason."""


class StillRunning(RuntimeError):
    """The deadline passed while ECS was still deploying."""


@dataclass(frozen=True)
class Service:
    """Where a deployment happens."""

    cluster: str
    name: str

    def follow_command(self, deployment_arn: str) -> str:
        """The AWS CLI command that shows the deployment, for a user who stopped watching."""
        return f"aws ecs describe-service-deployments --service-deployment-arns {deployment_arn}"


def deployments(ecs: Any, service: Service, **filters: Any) -> list[dict[str, Any]]:
    """Every deployment of ``service`` ListServiceDeployments lists (with ``filters``, e.g.
    ``createdAt``), read page by page: ECS documents no order, so no page is skipped."""
    found: list[dict[str, Any]] = []
    token: dict[str, str] = {}
    while True:
        page = ecs.list_service_deployments(cluster=service.cluster, service=service.name, maxResults=PAGE_SIZE, **filters, **token)
        found.extend(page["serviceDeployments"])
        if not page.get("nextToken"):
            return found
        token = {"nextToken": page["nextToken"]}


def _revision_task_definitions(ecs: Any, revision_arns: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Service revision ARN -> the revision (``taskDefinition``, ``containerImages``)."""
    if not revision_arns:
        return {}
    revisions = ecs.describe_service_revisions(serviceRevisionArns=list(revision_arns))["serviceRevisions"]
    return {r["serviceRevisionArn"]: r for r in revisions}


def find_deployment(
    ecs: Any,
    service: Service,
    *,
    since: datetime,
    task_definition_arn: str | None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    wait_seconds: float = 120,
    poll_seconds: float = 5,
) -> str:
    """ARN of the newest deployment of ``service`` created after ``since`` (whose target
    revision runs ``task_definition_arn``, when given); waits up to ``wait_seconds`` for
    ECS to list it."""
    deadline = clock() + wait_seconds
    while True:
        found = deployments(ecs, service, createdAt={"after": since})
        found.sort(key=lambda d: d["createdAt"], reverse=True)
        if task_definition_arn is not None:
            revisions = _revision_task_definitions(ecs, [d["targetServiceRevisionArn"] for d in found if d.get("targetServiceRevisionArn")])
            found = [d for d in found if revisions.get(d.get("targetServiceRevisionArn", ""), {}).get("taskDefinition") == task_definition_arn]
        if found:
            return str(found[0]["serviceDeploymentArn"])
        if clock() >= deadline:
            raise StillRunning(f"ECS listed no deployment of {service.name} within {wait_seconds:.0f}s of the update")
        sleep(poll_seconds)


def duration(seconds: float) -> str:
    """``45s`` under two minutes, else ``12 min``."""
    return f"{seconds:.0f}s" if seconds < 120 else f"{seconds / 60:.0f} min"


def _reason(deployment: dict[str, Any]) -> str:
    rollback = deployment.get("rollback") or {}
    return str(rollback.get("reason") or deployment.get("statusReason") or deployment["status"])


def follow(
    ecs: Any,
    service: Service,
    deployment_arn: str,
    *,
    timeout_seconds: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    emit: Callable[[str], None] = print,
    poll_seconds: float = 10,
) -> dict[str, Any]:
    """Wait for the deployment to end, printing ``[elapsed] STATUS: reason`` whenever the
    status or its reason changes.  Returns the deployment when it is ``SUCCESSFUL``."""
    start = clock()
    last: tuple[str, str] | None = None
    while True:
        (deployment,) = ecs.describe_service_deployments(serviceDeploymentArns=[deployment_arn])["serviceDeployments"]
        status = str(deployment["status"])
        state = (status, str(deployment.get("statusReason") or ""))
        elapsed = clock() - start
        if state != last:
            emit(f"  [{elapsed:5.0f}s] {status}" + (f": {state[1]}" if state[1] else ""))
            last = state
        if status == SUCCESSFUL:
            return dict(deployment)
        if status in FAILED:
            raise DeploymentFailed(f"{status}: {_reason(deployment)}")
        # UNDER_WAY (ROLLBACK_REQUESTED included), or a status newer than this module: not an end.
        if elapsed >= timeout_seconds:
            raise StillRunning(f"still {status} after {duration(elapsed)}; the deployment goes on in ECS: {service.follow_command(deployment_arn)}")
        sleep(poll_seconds)


def live_digest(ecs: Any, service: Service) -> str:
    """The image digest the service runs: from its newest successful deployment, as ECS
    resolved it (``containerImages`` of the target revision), never from a tag.  Reads every
    page of the service's deployments, so neither the newest success nor a deployment under
    way hides on a later one.  Raises :class:`DeploymentFailed` while a deployment is under
    way (:data:`UNDER_WAY`) or when none succeeded."""
    listed = deployments(ecs, service)
    busy = [d for d in listed if d["status"] in UNDER_WAY]
    if busy:
        raise DeploymentFailed(f"{service.name} is being deployed ({busy[0]['status']}): wait for {service.follow_command(busy[0]['serviceDeploymentArn'])}")
    done = sorted((d for d in listed if d["status"] == SUCCESSFUL), key=lambda d: d["createdAt"], reverse=True)
    if not done:
        raise DeploymentFailed(f"{service.name} has no successful deployment to take an image from")
    revision = _revision_task_definitions(ecs, [done[0]["targetServiceRevisionArn"]])[done[0]["targetServiceRevisionArn"]]
    digests = {image["imageDigest"] for image in revision.get("containerImages", []) if image.get("containerName") == CONTAINER and image.get("imageDigest")}
    if len(digests) != 1:
        raise DeploymentFailed(f"{service.name}: ECS reports no single image digest for container {CONTAINER} of its running revision")
    return digests.pop()
