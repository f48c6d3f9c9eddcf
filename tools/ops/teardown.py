"""Remove a standing environment deliberately: ``make teardown STACK=<stack> CONFIRM=<stack>``.

A standing environment (dev, staging, prod) keeps its data on destroy by design: its
database key refuses to be destroyed (``prevent_destroy``), prod's cluster and load
balancer have deletion protection, the versioned access-log bucket is not empty, and
readers that Aurora auto scaling added are not Terraform's.  This tool does, in order:

1. refuses unless ``CONFIRM`` repeats the stack's name, and refuses prod unless
   ``ALLOW_PROD=1`` is set as well (suffixed copies: ``make destroy``);
2. asks STS who the caller is (one line without credentials), then ``terraform init``
   in the synthesized stack (state operations need it);
3. stops the load balancer's access logging (so nothing lands in the bucket after it is
   emptied), turns deletion protection of the load balancer and the cluster off (prod),
   and with ``LOG_BUCKET=empty`` (the default) deletes every object version and delete
   marker of the access-log bucket;
4. stops Aurora auto scaling of readers and deletes the readers it added;
5. only then edits the state: keeps out of it, so the destroy leaves them in the account,
   the database KMS key and its alias (the final snapshot is unreadable without them),
   prod's AWS Backup vault and its recovery points, the environment's service key when a
   repository of the environment's own from before the shared registry still exists (its
   images are encrypted with that key), and, with ``LOG_BUCKET=keep``, the access-log bucket;
6. destroys the stack (``make destroy``'s code), which takes the final snapshot;
7. frees the names the kept resources hold, so the same stack deploys again: each kept
   key's alias moves to ``<alias>-retired-<key id>`` (the vault's name carries the
   cluster's creation time already, like the final snapshot's);
8. prints what it kept, by name, and checks that the final snapshot exists.

Each step acts only on what the state still holds, so a re-run after any failure finishes
the job.  Every AWS call goes to the stack's region (or its emulator endpoint); errors from AWS
are one line.  Usage:
``python -m tools.ops.teardown STACK --confirm STACK [--allow-prod] [--log-bucket empty|keep] [--skip-synth]``
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stacks import process
from tools.common import cli, engine
from tools.common.aws_errors import AwsError, aws_errors, check_credentials, error_code
from tools.common.stack import (
    DeployError,
    SynthesisFailed,
    cli_env,
    default_outdir,
    is_environment_stack,
    load,
    provider_target,
    stack_name_problem,
    synthesize,
)
from tools.ops import account_checks, deploy

AUTOSCALED_READER_PREFIX = "application-autoscaling-"


class TeardownError(RuntimeError):
    """One line: what stopped the teardown and what to do."""


@dataclass
class Kept:
    """What the teardown leaves in the account, for the closing lines."""

    lines: list[str] = field(default_factory=list)

    def add(self, line: str) -> None:
        self.lines.append(line)


@dataclass(frozen=True)
class Plan:
    """Terraform addresses the teardown needs, found in the synthesized stack."""

    stack: str
    environment: str
    prefix: str
    production: bool
    disposable: bool
    database_key: list[str]
    service_key: list[str]
    backup_vault: list[str]
    log_bucket: list[str]
    cluster_identifier: str

    def kept_aliases(self, keep: list[str]) -> list[str]:
        """The alias names of the kept keys (freed after the destroy)."""
        names = {tuple(self.database_key): f"alias/{self.stack}-database", tuple(self.service_key): f"alias/{self.stack}-service"}
        return [name for addresses, name in names.items() if addresses and set(addresses) <= set(keep)]


def _by_path(doc: Mapping[str, Any], resource_type: str, *suffixes: str) -> list[str]:
    """Addresses of ``resource_type`` whose construct path ends with one of ``suffixes``."""
    found = doc.get("resource", {}).get(resource_type, {})
    return sorted(f"{resource_type}.{name}" for name, body in found.items() if body["//"]["metadata"]["path"].endswith(suffixes))


def plan_of(doc: Mapping[str, Any], stack: str) -> Plan:
    """The :class:`Plan` of a synthesized environment stack."""
    if not is_environment_stack(doc):
        raise TeardownError(f"{stack} is not an environment stack; shared stacks are not torn down with this command")
    tags = doc["provider"]["aws"][0].get("default_tags", [{}])[0].get("tags", {})
    environment = str(tags.get("environment", ""))
    (cluster,) = doc["resource"]["aws_rds_cluster"].values()
    buckets = _by_path(doc, "aws_s3_bucket", "access_logs_bucket")
    bucket_refs = tuple(f"${{{address}.id}}" for address in buckets)
    bucket_parts = [
        f"{rtype}.{name}"
        for rtype, by_name in doc["resource"].items()
        if rtype.startswith("aws_s3_bucket_")
        for name, body in by_name.items()
        if body.get("bucket") in bucket_refs
    ]
    return Plan(
        stack=stack,
        environment=environment,
        prefix=stack,
        production=environment == "prod",
        disposable="-" in environment,
        database_key=_by_path(doc, "aws_kms_key", "database/key/key") + _by_path(doc, "aws_kms_alias", "database/key/alias"),
        service_key=_by_path(doc, "aws_kms_key", "service_key/key") + _by_path(doc, "aws_kms_alias", "service_key/alias"),
        backup_vault=_by_path(doc, "aws_backup_vault", "database/backup_vault"),
        log_bucket=sorted(buckets + bucket_parts),
        cluster_identifier=str(cluster["cluster_identifier"]),
    )


def check_request(plan: Plan, confirm: str | None, allow_prod: bool) -> None:
    """The confirmations a teardown needs, refused with one line each."""
    if plan.disposable:
        raise TeardownError(f"{plan.stack} is a disposable copy: make destroy STACK={plan.stack} removes it")
    if confirm != plan.stack:
        raise TeardownError(f"tearing down {plan.stack} deletes its service, database and network: repeat its name, CONFIRM={plan.stack}")
    if plan.production and not allow_prod:
        raise TeardownError(f"{plan.stack} is production: set ALLOW_PROD=1 as well to tear it down")


class Terraform:
    """``terraform`` in the synthesized stack's directory (init once, then state commands)."""

    def __init__(self, directory: Path, run: Callable[..., subprocess.CompletedProcess[str]] = process.run_child) -> None:
        self.directory = directory
        self._run = run

    def __call__(self, *args: str) -> str:
        result = self._run(["terraform", *args], cwd=self.directory, env=cli_env(), capture_output=True, text=True, check=False)
        if result.returncode != 0:
            last = [line for line in (result.stderr or result.stdout).splitlines() if line.strip()][-1:] or [f"exit {result.returncode}"]
            raise TeardownError(f"terraform {args[0]} in {self.directory.name} failed: {last[0].strip()}")
        return str(result.stdout)

    def init(self) -> None:
        self("init", "-input=false", "-no-color")

    def in_state(self) -> set[str]:
        return set(self("state", "list").split())

    def forget(self, addresses: list[str]) -> list[str]:
        """``terraform state rm`` of those addresses still in state; returns them."""
        present = [a for a in addresses if a in self.in_state()]
        if present:
            self("state", "rm", *present)
        return present

    def values(self) -> dict[str, dict[str, Any]]:
        """Address -> attributes of every resource in state (``terraform show -json``)."""
        shown = json.loads(self("show", "-json") or "{}")
        resources = shown.get("values", {}).get("root_module", {}).get("resources", [])
        return {str(r["address"]): dict(r.get("values") or {}) for r in resources}


def _pages(call: Callable[..., dict[str, Any]], key: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every item of a paginated S3 ListObjectVersions answer under ``key`` (and DeleteMarkers)."""
    marker: dict[str, str] = {}
    while True:
        page = call(**kwargs, **marker)
        yield from page.get(key, [])
        yield from page.get("DeleteMarkers", [])
        if not page.get("IsTruncated"):
            return
        marker = {"KeyMarker": page["NextKeyMarker"], "VersionIdMarker": page["NextVersionIdMarker"]}


def empty_bucket(s3: Any, bucket: str) -> int:
    """Delete every object version and delete marker of ``bucket``; returns how many."""
    versions = [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in _pages(s3.list_object_versions, "Versions", Bucket=bucket)]
    for start in range(0, len(versions), 1000):
        s3.delete_objects(Bucket=bucket, Delete={"Objects": versions[start : start + 1000], "Quiet": True})
    return len(versions)


def remove_autoscaled_readers(rds: Any, scaling: Any, cluster_identifier: str) -> list[str]:
    """Stop reader auto scaling, then delete the readers it added (they are not in state, and
    a cluster with instances cannot be deleted).  Returns their identifiers."""
    resource = f"cluster:{cluster_identifier}"
    targets = scaling.describe_scalable_targets(ServiceNamespace="rds", ResourceIds=[resource])["ScalableTargets"]
    if targets:
        scaling.deregister_scalable_target(ServiceNamespace="rds", ResourceId=resource, ScalableDimension="rds:cluster:ReadReplicaCount")
    members = rds.describe_db_clusters(DBClusterIdentifier=cluster_identifier)["DBClusters"][0].get("DBClusterMembers", [])
    added = sorted(m["DBInstanceIdentifier"] for m in members if m["DBInstanceIdentifier"].startswith(AUTOSCALED_READER_PREFIX))
    for identifier in added:
        rds.delete_db_instance(DBInstanceIdentifier=identifier)
    for identifier in added:
        rds.get_waiter("db_instance_deleted").wait(DBInstanceIdentifier=identifier)
    return added


def _clients(region: str, endpoint: str | None) -> Callable[[str], Any]:
    import boto3  # type: ignore[import-untyped]

    session = boto3.session.Session(region_name=region)
    return lambda service: session.client(service, endpoint_url=endpoint)


def teardown(
    stack: str,
    outdir: Path,
    *,
    confirm: str | None,
    allow_prod: bool = False,
    log_bucket: str = "empty",
    clients: Callable[[str, str | None], Callable[[str], Any]] = _clients,
    terraform: Terraform | None = None,
    destroy: Callable[[str, Path], None] | None = None,
    emit: Callable[[str], None] = print,
    engine_name: str = "cdktf",
    credentials: Callable[[str, str | None], object] = check_credentials,
) -> Kept:
    """Tear ``stack`` down (see the module docstring); returns what was kept.

    The state is read once and is the truth: each step acts only on what is still in it, the
    state is edited only after the steps in AWS that can fail, and the names the kept resources
    hold are freed only after the destroy, so a re-run after any failure finishes the job."""
    doc = load(outdir, stack)
    plan = plan_of(doc, stack)
    check_request(plan, confirm, allow_prod)
    credentials(*provider_target(doc, "sts"))  # one line without them, before terraform init reads the state
    account_checks.check_state_bucket(doc, stack, clients)  # one line, not terraform init's pages
    region, endpoint = provider_target(doc)
    client = clients(region, endpoint)
    terraform = terraform or Terraform(outdir / "stacks" / stack)

    emit(f"{stack}: terraform init")
    terraform.init()
    state = terraform.values()
    (cluster_name,) = doc["resource"]["aws_rds_cluster"]
    cluster_in_state = f"aws_rds_cluster.{cluster_name}" in state
    snapshot = state.get(f"aws_rds_cluster.{cluster_name}", {}).get("final_snapshot_identifier")

    _prepare(client, plan, state, doc, log_bucket, emit)
    if cluster_in_state:
        readers = remove_autoscaled_readers(client("rds"), client("application-autoscaling"), plan.cluster_identifier)
        emit(f"{stack}: readers added by auto scaling deleted: {', '.join(readers) or 'none'}")

    keep, kept = _what_stays(plan, state, client, log_bucket)
    forgotten = terraform.forget(keep)
    emit(f"{stack}: kept out of state: {', '.join(forgotten) or 'nothing'}")
    (destroy or (lambda s, o: deploy.destroy(s, o, engine_name=engine_name)))(stack, outdir)

    for alias in plan.kept_aliases(keep):
        retired = retire_alias(client("kms"), alias)
        kept.add(f"key {retired[1]} under alias {retired[0]} (was {alias}, now free for a new deploy)" if retired else f"alias {alias}: already freed")
    if snapshot:
        found = client("rds").describe_db_cluster_snapshots(DBClusterSnapshotIdentifier=snapshot)["DBClusterSnapshots"]
        if not found:
            raise TeardownError(f"{stack} was destroyed, but its final snapshot {snapshot} is not there: check the RDS console")
        kept.add(f"final snapshot {snapshot} ({found[0].get('Status', 'unknown')})")
    return kept


def _prepare(
    client: Callable[[str], Any], plan: Plan, state: Mapping[str, dict[str, Any]], doc: Mapping[str, Any], log_bucket: str, emit: Callable[[str], None]
) -> None:
    """The steps in AWS before the destroy: the load balancer stops writing access logs (and,
    in prod, loses its deletion protection with the cluster), then the log bucket is emptied."""
    (alb_name,) = doc["resource"]["aws_lb"]
    alb_arn = state.get(f"aws_lb.{alb_name}", {}).get("arn")
    if alb_arn:
        attributes = [{"Key": "access_logs.s3.enabled", "Value": "false"}]
        if plan.production:
            attributes.append({"Key": "deletion_protection.enabled", "Value": "false"})
        client("elbv2").modify_load_balancer_attributes(LoadBalancerArn=alb_arn, Attributes=attributes)
        emit(f"{plan.stack}: the load balancer writes no more access logs" + (" and has no deletion protection" if plan.production else ""))
    (cluster_name,) = doc["resource"]["aws_rds_cluster"]
    if plan.production and f"aws_rds_cluster.{cluster_name}" in state:
        client("rds").modify_db_cluster(DBClusterIdentifier=plan.cluster_identifier, DeletionProtection=False, ApplyImmediately=True)
        emit(f"{plan.stack}: deletion protection of the cluster turned off")
    if log_bucket == "empty":
        for bucket in _log_buckets(plan, state):
            emit(f"{plan.stack}: emptied the access-log bucket {bucket} ({empty_bucket(client('s3'), bucket)} object versions and delete markers)")


def _log_buckets(plan: Plan, state: Mapping[str, dict[str, Any]]) -> list[str]:
    return [str(state[a]["bucket"]) for a in plan.log_bucket if a.startswith("aws_s3_bucket.") and a in state]


def _what_stays(plan: Plan, state: Mapping[str, dict[str, Any]], client: Callable[[str], Any], log_bucket: str) -> tuple[list[str], Kept]:
    """The addresses to keep out of state, and the lines that say what stays."""
    kept = Kept()
    keep = list(plan.database_key)
    kept.add(
        f"database key (alias/{plan.stack}-database until the teardown frees the name): "
        "the final snapshot needs it; schedule its deletion when the snapshot is gone"
    )
    if plan.backup_vault:
        keep += plan.backup_vault
        vaults = [str(state[a]["name"]) for a in plan.backup_vault if a in state and "name" in state[a]]
        kept.add(f"AWS Backup vault {', '.join(vaults) or f'{plan.stack}-database-<created>'} and its recovery points")
    if _legacy_repository(client("ecr"), plan.stack):
        keep += plan.service_key
        kept.add(f"service key (alias/{plan.stack}-service until the teardown frees the name): it encrypts the images of the old repository {plan.stack}")
    if log_bucket == "keep":
        keep += plan.log_bucket
        kept.add(f"access-log bucket {', '.join(_log_buckets(plan, state)) or '(not in state)'} with its logs")
    return keep, kept


def retire_alias(kms: Any, alias: str) -> tuple[str, str] | None:
    """Move ``alias`` (of a kept key) to ``<alias>-retired-<key id>``, so a new deploy can
    create it again while the key stays findable (the final snapshot's ``KmsKeyId`` names the
    same key id).  Returns the new alias and the key id; None when ``alias`` is gone already."""
    try:
        key_id = str(kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"])
    except Exception as error:
        if error_code(error) == "NotFoundException":
            return None
        raise
    retired = f"{alias}-retired-{key_id}"
    try:
        kms.create_alias(AliasName=retired, TargetKeyId=key_id)
    except Exception as error:
        if error_code(error) != "AlreadyExistsException":  # a re-run after a failed delete
            raise
    kms.delete_alias(AliasName=alias)
    return retired, key_id


def _legacy_repository(ecr: Any, stack: str) -> bool:
    """Whether the environment's own repository from before the shared registry still exists."""
    try:
        return bool(ecr.describe_repositories(repositoryNames=[stack])["repositories"])
    except Exception as error:
        if error_code(error) == "RepositoryNotFoundException":
            return False
        raise


def input_problem(environ: Mapping[str, str]) -> str | None:
    """What is wrong with the teardown's switches (checked before the synthesis and before AWS)."""
    if environ.get("ALLOW_PROD", "") not in ("", "1"):
        return f"ALLOW_PROD={environ['ALLOW_PROD'][:80]!r} is invalid: 1 (tear production down) or unset"
    if environ.get("LOG_BUCKET", "") not in ("", "empty", "keep"):
        return f"LOG_BUCKET={environ['LOG_BUCKET'][:80]!r} is invalid: empty (delete every log version) or keep (leave the bucket in the account)"
    return None


def main(argv: list[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    environ = os.environ if environ is None else environ
    parser = cli.parser("tools.ops.teardown", "Tear a standing environment down deliberately.")
    parser.add_argument("stack")
    parser.add_argument("--confirm", default=environ.get("CONFIRM") or None)
    parser.add_argument("--allow-prod", action="store_true", default=environ.get("ALLOW_PROD", "") == "1")
    parser.add_argument("--log-bucket", choices=("empty", "keep"), default=environ.get("LOG_BUCKET") or "empty")
    parser.add_argument(
        "--engine", type=engine.engine_name, choices=engine.ENGINES, default="cdktf", help="what destroys the stack (as make destroy ENGINE=...)"
    )
    parser.add_argument("--skip-synth", action="store_true")
    parser.add_argument("--outdir", type=Path, default=default_outdir(environ), help="default: CDKTF_OUTDIR, else cdktf.out")
    args = parser.parse_args(argv)
    problem = input_problem(environ) or stack_name_problem(args.stack, "STACK")
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    try:
        with aws_errors():
            if not args.skip_synth:
                synthesize(args.outdir)
            kept = teardown(args.stack, args.outdir, confirm=args.confirm, allow_prod=args.allow_prod, log_bucket=args.log_bucket, engine_name=args.engine)
    except SynthesisFailed as failed:
        return failed.code  # main.py has printed its one line
    except (TeardownError, DeployError, AwsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"{args.stack}: torn down; kept in the account:")
    for line in kept.lines:
        print(f"  - {line}")
    return 0


if __name__ == "__main__":
    process.run(main)
