"""The few changes moto needs before the AWS provider can apply and destroy the stacks against it.

Each patch is as small as it can be and names the AWS action it concerns.  They
only fill in what moto lacks or does differently from AWS; none of them makes a
check of the integration tests or of the leftover check pass on its own.  They
live here, in the harness, never in the product.

:func:`apply_all` installs them for good (the server process); :func:`patched`
installs them for a ``with`` block and restores moto afterwards (unit tests).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

#: The CA that AWS gives a new RDS instance when the request names none.
AWS_DEFAULT_RDS_CA = "rds-ca-rsa2048-g1"
_MISSING = object()


@dataclass(frozen=True)
class Patch:
    """One change to moto: the AWS action, why it is needed, and how it is installed."""

    action: str
    why: str
    install: Callable[[list[tuple[Any, str, Any]]], None]


def _replace(saved: list[tuple[Any, str, Any]], owner: Any, name: str, new: Any) -> None:
    """Set ``owner.name = new``, remembering the original in ``saved`` (for :func:`patched`)."""
    saved.append((owner, name, owner.__dict__.get(name, _MISSING)))
    setattr(owner, name, new)


# --- Application Auto Scaling: ListTagsForResource, TagResource, UntagResource ----------------------
# moto 5.2 has no tagging for scalable targets (these actions answer HTTP 500), and
# ignores the Tags of RegisterScalableTarget.  The provider lists a target's tags after
# creating it and on every refresh, so every aws_appautoscaling_target fails without them.
_SCALABLE_TARGET_TAGS: dict[str, dict[str, str]] = {}


def _install_autoscaling_tags(saved: list[tuple[Any, str, Any]]) -> None:
    from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse as Response
    from moto.core.exceptions import JsonRESTError

    def target_arn(self: Any) -> str:
        arn = str(self._get_param("ResourceARN"))
        backend = self.applicationautoscaling_backend
        if not any(t.arn == arn for by_id in backend.targets.values() for t in by_id.values()):
            raise JsonRESTError("ResourceNotFoundException", f"No scalable target found for ARN {arn}")
        return arn

    register = Response.register_scalable_target

    def register_scalable_target(self: Any) -> str:
        body: str = register(self)
        tags = self._get_param("Tags") or {}
        if tags:
            arn = json.loads(body)["ScalableTargetARN"]
            _SCALABLE_TARGET_TAGS[arn] = {**_SCALABLE_TARGET_TAGS.get(arn, {}), **tags}
        return body

    def list_tags_for_resource(self: Any) -> str:
        return json.dumps({"Tags": _SCALABLE_TARGET_TAGS.get(target_arn(self), {})})

    def tag_resource(self: Any) -> str:
        arn = target_arn(self)
        _SCALABLE_TARGET_TAGS[arn] = {**_SCALABLE_TARGET_TAGS.get(arn, {}), **(self._get_param("Tags") or {})}
        return "{}"

    def untag_resource(self: Any) -> str:
        arn = target_arn(self)
        removed = set(self._get_param("TagKeys") or [])
        _SCALABLE_TARGET_TAGS[arn] = {k: v for k, v in _SCALABLE_TARGET_TAGS.get(arn, {}).items() if k not in removed}
        return "{}"

    _replace(saved, Response, "register_scalable_target", register_scalable_target)
    _replace(saved, Response, "list_tags_for_resource", list_tags_for_resource)
    _replace(saved, Response, "tag_resource", tag_resource)
    _replace(saved, Response, "untag_resource", untag_resource)


# --- Secrets Manager: CancelRotateSecret ----------------------------------------------------------
# An RDS-managed master secret rotates without a Lambda (managed rotation).  moto
# refuses CancelRotateSecret on any secret without a rotation Lambda, so destroying
# the aws_secretsmanager_secret_rotation of the master secret fails.  For a secret
# owned by a service, the patch turns rotation off, as AWS does; other secrets keep
# moto's behaviour.
def _install_cancel_managed_rotation(saved: list[tuple[Any, str, Any]]) -> None:
    from moto.secretsmanager.models import FakeSecret, SecretsManagerBackend

    cancel = SecretsManagerBackend.cancel_rotate_secret

    def cancel_rotate_secret(self: SecretsManagerBackend, secret_id: str) -> str:
        if self._is_valid_identifier(secret_id):
            secret = self.secrets[secret_id]
            if isinstance(secret, FakeSecret) and secret.owning_service and not secret.rotation_lambda_arn and not secret.is_deleted():
                secret.rotation_enabled = False
                return str(secret.to_short_dict())
        return str(cancel(self, secret_id))

    _replace(saved, SecretsManagerBackend, "cancel_rotate_secret", cancel_rotate_secret)


# --- RDS: CreateDBInstance without CACertificateIdentifier ----------------------------------------
# AWS gives a new instance the CA rds-ca-rsa2048-g1; moto gives "rds-ca-default".
# The provider sends the configured CA only after creating an aws_rds_cluster_instance,
# and only when the instance's differs, so against moto every instance also went
# through ModifyDBInstance and RebootDBInstance, each followed by a waiter: about
# 190 s per instance instead of about 30 s.  The stacks' CA is the AWS default.
def _install_rds_default_ca(saved: list[tuple[Any, str, Any]]) -> None:
    from moto.rds.models import DBInstance

    init = DBInstance.__init__

    def __init__(self: DBInstance, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        if self.ca_certificate_identifier == "rds-ca-default":
            self.ca_certificate_identifier = AWS_DEFAULT_RDS_CA

    _replace(saved, DBInstance, "__init__", __init__)


# --- RDS: DeleteDBCluster (DeleteAutomatedBackups) ------------------------------------------------
# AWS removes a deleted cluster's automated backups unless DeleteAutomatedBackups is
# false; moto ignores the parameter and keeps the automated cluster snapshot (rds:...)
# for ever, so the leftover check could not tell a clean destroy from a dirty one.
def _install_delete_automated_backups(saved: list[tuple[Any, str, Any]]) -> None:
    from moto.rds.responses import RDSResponse

    delete = RDSResponse.delete_db_cluster

    def delete_db_cluster(self: RDSResponse) -> Any:
        identifier = self.params.get("DBClusterIdentifier")
        keep = str(self.params.get("DeleteAutomatedBackups", "true")).lower() == "false"
        result = delete(self)
        if not keep:
            snapshots = self.backend.cluster_snapshots
            for name in [n for n, s in snapshots.items() if s.snapshot_type == "automated" and s.cluster.db_cluster_identifier == identifier]:
                del snapshots[name]
        return result

    _replace(saved, RDSResponse, "delete_db_cluster", delete_db_cluster)


# --- S3 object actions under a TLS-only bucket policy (GetObject, PutObject, HeadObject, ...) ------
# moto evaluates only StringEquals conditions and ignores the others, so the state
# bucket's "Deny s3:* when aws:SecureTransport is false" applied to every request:
# each state read and write of the S3 backend got 403.  The provider and the backend
# only ever reach AWS over TLS, so the patch evaluates that one condition for a TLS
# request (aws:SecureTransport = true); every other condition keeps moto's handling.
def _install_secure_transport(saved: list[tuple[Any, str, Any]]) -> None:
    from moto.iam.access_control import IAMPolicyStatement, PermissionResult

    permitted = IAMPolicyStatement.is_action_permitted

    def is_action_permitted(
        self: IAMPolicyStatement,
        action: str,
        resource: str = "*",
        principal: str | None = None,
        incoming_condition_values: dict[str, str] | None = None,
    ) -> PermissionResult:
        wanted = ((self._statement.get("Condition") or {}).get("Bool") or {}).get("aws:SecureTransport")
        if wanted is not None and "true" not in [str(v).lower() for v in (wanted if isinstance(wanted, list) else [wanted])]:
            return PermissionResult.NEUTRAL  # the statement is for requests without TLS
        return permitted(self, action, resource, principal, incoming_condition_values)

    _replace(saved, IAMPolicyStatement, "is_action_permitted", is_action_permitted)


# --- RDS CreateDBCluster / ModifyDBCluster (EnableHttpEndpoint) -----------------------------------
# moto keeps the Data API (HTTP endpoint) only for Aurora Serverless v1 and silently
# turns it off for anything else.  AWS offers it on provisioned and Serverless v2
# clusters of Aurora MySQL 3 and Aurora PostgreSQL, which the stacks use: without
# the patch the database-user step (tools.ops.db_users) stopped at "the Data API is off".
def _install_data_api(saved: list[tuple[Any, str, Any]]) -> None:
    from moto.rds.models import DBCluster

    declared = DBCluster.__dict__["enable_http_endpoint"]

    def enable_http_endpoint(self: DBCluster, value: bool | None) -> None:
        declared.fset(self, value)
        if value is not None and self.engine_mode == "provisioned" and self.engine in ("aurora-mysql", "aurora-postgresql"):
            self._enable_http_endpoint = value

    _replace(saved, DBCluster, "enable_http_endpoint", property(declared.fget, enable_http_endpoint))


# --- ECS CreateService (capacityProviderStrategy) --------------------------------------------------
# moto ignores the capacity provider strategy of a new service, so DescribeServices
# has none and the integration test of the FARGATE / FARGATE_SPOT split failed on a
# service created exactly as configured.  The patch stores what the request sent.
def _install_service_capacity_providers(saved: list[tuple[Any, str, Any]]) -> None:
    from moto.ecs.responses import EC2ContainerServiceResponse as Response

    create = Response.create_service

    def create_service(self: Response) -> Any:
        result = create(self)
        strategy = self._get_param("capacityProviderStrategy")
        if strategy:
            cluster = self.ecs_backend._get_cluster(self._get_param("cluster", "default"))
            service = self.ecs_backend.services[f"{cluster.name}:{self._get_param('serviceName')}"]
            vars(service)["capacity_provider_strategy"] = strategy
        return result

    _replace(saved, Response, "create_service", create_service)


# --- Elastic Load Balancing v2 CreateLoadBalancer without Scheme ------------------------------------
# AWS creates an internet-facing load balancer when the request names no scheme (the
# provider sends Scheme only for internal ones); moto stores none, and DescribeLoadBalancers
# then has no Scheme at all (KeyError: 'Scheme' in the integration tests).
def _install_default_scheme(saved: list[tuple[Any, str, Any]]) -> None:
    from moto.elbv2.models import FakeLoadBalancer

    init = FakeLoadBalancer.__init__

    def __init__(self: FakeLoadBalancer, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        if self.scheme is None:
            self.scheme = "internet-facing"

    _replace(saved, FakeLoadBalancer, "__init__", __init__)


# --- ECS ListServiceDeployments / DescribeServiceDeployments / DescribeServiceRevisions -------------
# moto 5.2 has none of them (HTTP 500).  Its CreateService and UpdateService put the
# task definition in service at once, so the patch reports exactly that: each one that
# sets a task definition is one deployment, SUCCESSFUL from the start, whose revision
# holds the task definition and the image digest the registry resolves its image to.
# It reports what moto did; it never invents a rollback (those are Stubber tests).
_DEPLOYMENTS: dict[str, list[dict[str, Any]]] = {}
_REVISIONS: dict[str, dict[str, Any]] = {}


def _image_digest(response: Any, image: str) -> str | None:
    """The digest ``image`` names, or the one moto's registry holds under its tag (none if no image has it)."""
    from moto.ecr.models import ecr_backends

    if "@" in image:
        return image.rsplit("@", 1)[1]
    repository_part, _, tag = image.rpartition(":")
    repository = ecr_backends[response.current_account][response.region].repositories.get(repository_part.split("/", 1)[-1])
    found = [i for i in (repository.images if repository else []) if tag in (i.image_tags or [i.image_tag])]
    return str(found[0].get_image_digest()) if found else None


def _record_deployment(response: Any, cluster_name: str, service_name: str) -> None:
    """One SUCCESSFUL deployment of the task definition the service now runs, and its revision."""
    from moto.core.utils import unix_time

    service = response.ecs_backend._get_service(cluster_name, service_name)
    definition = response.ecs_backend.describe_task_definition(str(service.task_definition))
    number = len(_DEPLOYMENTS.setdefault(service.arn, [])) + 1
    revision_arn = service.arn.replace(":service/", ":service-revision/") + f"/{number}"
    images = [
        {"containerName": c["name"], "image": c["image"], "imageDigest": _image_digest(response, str(c["image"]))} for c in definition.container_definitions
    ]
    _REVISIONS[revision_arn] = {
        "serviceRevisionArn": revision_arn,
        "serviceArn": service.arn,
        "clusterArn": service.cluster_arn,
        "taskDefinition": definition.arn,
        "containerImages": [{k: v for k, v in image.items() if v} for image in images],
    }
    now = unix_time()
    _DEPLOYMENTS[service.arn].append(
        {
            "serviceDeploymentArn": service.arn.replace(":service/", ":service-deployment/") + f"/{number}",
            "serviceArn": service.arn,
            "clusterArn": service.cluster_arn,
            "createdAt": now,
            "startedAt": now,
            "finishedAt": now,
            "targetServiceRevisionArn": revision_arn,
            "status": "SUCCESSFUL",
            "statusReason": "moto puts the task definition in service at once",
        }
    )


def _list_service_deployments(self: Any) -> str:
    """ListServiceDeployments: the service's deployments created from ``createdAt.after`` on, newest first."""
    service = self.ecs_backend._get_service(self._get_param("cluster", "default"), self._get_param("service"))
    after: Any = (self._get_param("createdAt") or {}).get("after")
    after = after.timestamp() if hasattr(after, "timestamp") else after  # a datetime in-process, a number over HTTP
    found = [d for d in _DEPLOYMENTS.get(service.arn, []) if after is None or d["createdAt"] >= float(after)]
    keys = ("serviceDeploymentArn", "serviceArn", "clusterArn", "createdAt", "startedAt", "finishedAt", "targetServiceRevisionArn", "status")
    return json.dumps({"serviceDeployments": [{k: d[k] for k in keys} for d in reversed(found)]})


def _describe_service_deployments(self: Any) -> str:
    """DescribeServiceDeployments: the deployments asked for, each with its target revision."""
    wanted = set(self._get_param("serviceDeploymentArns"))
    found = [
        {**{k: v for k, v in d.items() if k != "targetServiceRevisionArn"}, "targetServiceRevision": {"arn": d["targetServiceRevisionArn"]}}
        for deployments in _DEPLOYMENTS.values()
        for d in deployments
        if d["serviceDeploymentArn"] in wanted
    ]
    return json.dumps({"serviceDeployments": found, "failures": []})


def _describe_service_revisions(self: Any) -> str:
    """DescribeServiceRevisions: the revisions asked for that exist."""
    wanted = self._get_param("serviceRevisionArns")
    return json.dumps({"serviceRevisions": [_REVISIONS[arn] for arn in wanted if arn in _REVISIONS], "failures": []})


def _install_service_deployments(saved: list[tuple[Any, str, Any]]) -> None:
    from moto.ecs.responses import EC2ContainerServiceResponse as Response

    create, update = Response.create_service, Response.update_service

    def create_service(self: Response) -> Any:
        result = create(self)
        _record_deployment(self, self._get_param("cluster", "default"), self._get_param("serviceName"))
        return result

    def update_service(self: Response) -> Any:
        result = update(self)
        if self._get_param("taskDefinition") or self._get_param("forceNewDeployment"):
            _record_deployment(self, self._get_param("cluster", "default"), self._get_param("service"))
        return result

    _replace(saved, Response, "create_service", create_service)
    _replace(saved, Response, "update_service", update_service)
    _replace(saved, Response, "list_service_deployments", _list_service_deployments)
    _replace(saved, Response, "describe_service_deployments", _describe_service_deployments)
    _replace(saved, Response, "describe_service_revisions", _describe_service_revisions)


# --- IAM signature check of a request without a body (make e2e's access proof) ----------------------
# Under IAM enforcement moto recomputes each request's signature over ``body or data``: for a
# GET without a body (Lambda GetFunctionConfiguration, which the release's preflight calls) it
# hashes the request's parsed data (its headers) in place of the empty body, so the signature
# never matched.  The patch signs the empty body, as the client did.
def _install_empty_body_signatures(saved: list[tuple[Any, str, Any]]) -> None:
    from moto.iam.access_control import IAMRequestBase

    create = IAMRequestBase._create_aws_request

    def create_aws_request(self: Any) -> Any:
        request = create(self)
        if not self._body and self._method in ("GET", "HEAD", "DELETE"):
            request.data = b""
        return request

    _replace(saved, IAMRequestBase, "_create_aws_request", create_aws_request)


# --- CloudWatch PutCompositeAlarm -------------------------------------------------------------------
# moto 5.2 answers PutCompositeAlarm with "not implemented", although its PutMetricAlarm
# handler already reads AlarmRule "to re-use this method for composite alarms" and
# DescribeAlarms lists alarms with a rule as CompositeAlarms.  The patch routes the
# action to that handler; the alarm is stored, described, tagged and deleted as moto does.
def _install_composite_alarms(saved: list[tuple[Any, str, Any]]) -> None:
    from moto.cloudwatch.responses import CloudWatchResponse

    _replace(saved, CloudWatchResponse, "put_composite_alarm", CloudWatchResponse.put_metric_alarm)


# --- IAM authorization of ECS, ECR, RDS and Lambda actions (make e2e's access proof) ----------------
# With its IAM enforcement on (INITIAL_NO_AUTH_ACTION_COUNT / moto-api reset-auth), moto checks
# the action of every request, but against the resource "*" for every service but IAM, STS
# and SQS: a statement naming an ECS service or an ECR repository never matches.  The patch
# gives ECS, ECR, RDS and Lambda requests the ARN AWS authorizes them on, for the actions the
# release path (its preflight reads and wakes the smoke test function) and the proof's denied
# calls use; moto still evaluates no condition.
def _ecs_resource(self: Any) -> str:
    def arn(resource: str) -> str:
        return f"arn:aws:ecs:{self.region}:{self.current_account}:{resource}"

    action, params = self._get_action(), json.loads(self.body or "{}")
    if params.get("service"):
        cluster = str(params.get("cluster", "default")).rsplit("/", 1)[-1]
        return arn(f"service/{cluster}/{str(params['service']).rsplit('/', 1)[-1]}")
    if params.get("services"):
        cluster = str(params.get("cluster", "default")).rsplit("/", 1)[-1]
        return arn(f"service/{cluster}/{str(params['services'][0]).rsplit('/', 1)[-1]}")
    if action == "RegisterTaskDefinition":
        return arn(f"task-definition/{params.get('family', '')}:1")
    for key in ("serviceDeploymentArns", "serviceRevisionArns"):
        if params.get(key):
            return str(params[key][0])
    return "*"


def _ecr_resource(self: Any) -> str:
    params = json.loads(self.body or "{}")
    name = params.get("repositoryName") or (params.get("repositoryNames") or [None])[0]
    return f"arn:aws:ecr:{self.region}:{self.current_account}:repository/{name}" if name else "*"


def _rds_resource(self: Any) -> str:
    cluster = self._get_param("DBClusterIdentifier")
    return f"arn:aws:rds:{self.region}:{self.current_account}:cluster:{cluster}" if cluster else "*"


def _lambda_resource(self: Any) -> str:
    """A function's ARN from the request path (``/2015-03-31/functions/<name or ARN>/...``)."""
    found = re.search(r"/functions/([^/?]+)", self.path)
    if not found:
        return "*"
    name = unquote(found[1])
    return name if name.startswith("arn:") else f"arn:aws:lambda:{self.region}:{self.current_account}:function:{name}"


def _install_resource_authorization(saved: list[tuple[Any, str, Any]]) -> None:
    from moto.awslambda.responses import LambdaResponse
    from moto.ecr.responses import ECRResponse
    from moto.ecs.responses import EC2ContainerServiceResponse
    from moto.rds.responses import RDSResponse

    _replace(saved, EC2ContainerServiceResponse, "_determine_resource", _ecs_resource)
    _replace(saved, ECRResponse, "_determine_resource", _ecr_resource)
    _replace(saved, RDSResponse, "_determine_resource", _rds_resource)
    _replace(saved, LambdaResponse, "_determine_resource", _lambda_resource)


PATCHES: tuple[Patch, ...] = (
    Patch(
        "Application Auto Scaling ListTagsForResource / TagResource / UntagResource",
        "missing in moto (HTTP 500); the provider reads the tags of every scalable target",
        _install_autoscaling_tags,
    ),
    Patch(
        "Secrets Manager CancelRotateSecret",
        "moto refuses it on a secret without a rotation Lambda; the RDS-managed master secret has none (managed rotation)",
        _install_cancel_managed_rotation,
    ),
    Patch(
        "S3 object actions (GetObject, PutObject, HeadObject, ...) under a TLS-only bucket policy",
        "moto ignores the Bool condition aws:SecureTransport, so the state bucket's deny-without-TLS statement denied every state read and write",
        _install_secure_transport,
    ),
    Patch(
        "ECS CreateService (capacityProviderStrategy)",
        "moto drops the strategy, so the service showed no FARGATE / FARGATE_SPOT split",
        _install_service_capacity_providers,
    ),
    Patch(
        "Elastic Load Balancing CreateLoadBalancer (default Scheme)",
        "moto stores no scheme when the request names none; AWS makes the load balancer internet-facing",
        _install_default_scheme,
    ),
    Patch(
        "RDS CreateDBInstance (default CACertificateIdentifier)",
        f"moto's default CA is rds-ca-default, AWS's {AWS_DEFAULT_RDS_CA}: the provider modified and rebooted every instance (~190 s instead of ~30 s)",
        _install_rds_default_ca,
    ),
    Patch(
        "RDS CreateDBCluster / ModifyDBCluster (EnableHttpEndpoint)",
        "moto keeps the Data API only on Aurora Serverless v1; the database-user step needs it on the provisioned Aurora MySQL 3 cluster",
        _install_data_api,
    ),
    Patch(
        "ECS ListServiceDeployments / DescribeServiceDeployments / DescribeServiceRevisions",
        "missing in moto (HTTP 500); the patch reports each task definition moto puts in service as one successful deployment",
        _install_service_deployments,
    ),
    Patch(
        "RDS DeleteDBCluster (DeleteAutomatedBackups)",
        "moto keeps a deleted cluster's automated snapshot; AWS removes it by default",
        _install_delete_automated_backups,
    ),
    Patch(
        "ECS, ECR, RDS and Lambda requests under IAM enforcement (resource ARNs)",
        "moto authorizes them against the resource *, so no statement naming a service, repository, "
        "cluster or function matched; only make e2e's access proof enforces IAM",
        _install_resource_authorization,
    ),
    Patch(
        "IAM signature check of GET, HEAD and DELETE requests without a body (Lambda GetFunctionConfiguration)",
        "moto hashes the request's parsed data in place of its empty body, so under IAM enforcement every such request failed with "
        "SignatureDoesNotMatch; only make e2e's access proof enforces IAM",
        _install_empty_body_signatures,
    ),
    Patch(
        "CloudWatch PutCompositeAlarm",
        "missing in moto (not implemented), though its PutMetricAlarm handler already stores an AlarmRule; the SLO page is a composite alarm",
        _install_composite_alarms,
    ),
)

_installed = False


def apply_all() -> list[Patch]:
    """Install every patch for the rest of the process (idempotent)."""
    global _installed
    if not _installed:
        saved: list[tuple[Any, str, Any]] = []
        for patch in PATCHES:
            patch.install(saved)
        _installed = True
    return list(PATCHES)


@contextmanager
def patched() -> Iterator[list[Patch]]:
    """Every patch, for the ``with`` block only (moto is restored afterwards)."""
    saved: list[tuple[Any, str, Any]] = []
    try:
        for patch in PATCHES:
            patch.install(saved)
        yield list(PATCHES)
    finally:
        for owner, name, original in reversed(saved):
            if original is _MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, original)
        _SCALABLE_TARGET_TAGS.clear()
        _DEPLOYMENTS.clear()
        _REVISIONS.clear()
