"""Provision the IAM-authenticated MySQL users of a deployed stack, through the RDS Data API.

The application never holds a database password: it logs in as its own user
with an IAM authentication token (``rds-db:connect``).  This step creates that
user (and the optional migration user) and keeps their grants as configured:

- each user is ``IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS'`` and
  ``REQUIRE SSL``, and is marked with the user attribute ``managed-by`` so a
  user that is no longer configured is found and dropped;
- privileges are granted on the application schema only (``<schema>.*``);
  privileges no longer configured, and any global ones, are revoked;
- it runs through the Data API with the cluster's RDS-managed master secret, so
  it needs no network path into the isolated subnets.

Everything it needs comes from the synthesized stack (``cdktf.out/stacks/<stack>``:
the cluster identifier, schema, users, region and endpoint) and from AWS (the
cluster's ARN, master secret and Data API state).  It prints one line per change
(or "no change"), so it is safe to run after every deploy; a missing cluster,
secret or Data API fails with one line.  Identifiers are validated by the
configuration and quoted with backticks here; every value from configuration
that is not an identifier goes in as a Data API parameter, never into the SQL text.

Usage: ``python -m tools.ops.db_users STACK [--synth-dir cdktf.out/stacks]``
The caller needs ``rds:DescribeDBClusters``, ``rds-data:ExecuteStatement`` on the
cluster, ``secretsmanager:GetSecretValue`` on the master secret and
``kms:Decrypt`` on the database key.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stacks import process
from tools.common import cli
from tools.common.aws_errors import AwsError, aws_errors
from tools.common.stack import default_outdir, stack_name_problem

MARKER_ATTRIBUTE = "managed-by"
MARKER_VALUE = "order-api"
#: The user attribute (a constant, inlined) that marks the users this step manages.
MARKER = json.dumps({MARKER_ATTRIBUTE: MARKER_VALUE})
_IAM_TLS = "IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS' REQUIRE SSL"
_IDENTIFIER_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
_PRIVILEGE_RE = re.compile(r"[A-Z]+( [A-Z]+)*")


class ProvisioningError(RuntimeError):
    """One line saying what is missing or wrong."""


def quote(identifier: str) -> str:
    """A MySQL identifier in backticks.  Only plain identifiers are accepted, so the
    quoted text can never end the quote or start another statement."""
    if not _IDENTIFIER_RE.fullmatch(identifier):
        raise ProvisioningError(f"refusing identifier {identifier!r}: letters, digits and '_' only")
    return f"`{identifier}`"


def _privileges(privileges: Sequence[str]) -> str:
    for privilege in privileges:
        if not _PRIVILEGE_RE.fullmatch(privilege) or privilege in ("ALL", "ALL PRIVILEGES", "GRANT OPTION"):
            raise ProvisioningError(f"refusing privilege {privilege!r}")
    return ", ".join(privileges)


@dataclass(frozen=True)
class Target:
    """Where the users live: one cluster, one schema, the configured users."""

    stack: str
    region: str
    endpoint_url: str | None
    cluster_identifier: str
    schema: str
    users: Mapping[str, Sequence[str]]
    #: Whether the synthesized cluster has the Data API on (``database.data_api``).
    data_api: bool = True


def target_from_stack(doc: Mapping[str, Any], stack: str) -> Target:
    """Read the target from a synthesized ``cdk.tf.json`` (outputs and provider block)."""
    outputs = doc.get("output", {})
    try:
        identifier = outputs["database_cluster_identifier"]["value"]
        schema = outputs["database_name"]["value"]
        users = json.loads(outputs["database_users"]["value"])
        provider = doc["provider"]["aws"][0]
    except (KeyError, IndexError, TypeError, json.JSONDecodeError):
        raise ProvisioningError(f"{stack} has no database users to provision (not an environment stack?)") from None
    endpoints = provider.get("endpoints") or [{}]
    clusters = doc.get("resource", {}).get("aws_rds_cluster", {}).values()
    data_api = all(cluster.get("enable_http_endpoint", False) is True for cluster in clusters)
    return Target(stack, provider["region"], endpoints[0].get("rds"), identifier, schema, users, data_api)


Execute = Callable[[str, Sequence[tuple[str, str]]], list[list[Any]]]


def _value(field: Mapping[str, Any]) -> Any:
    return next(iter(field.values())) if field else None


def data_api_executor(rds_data: Any, cluster_arn: str, secret_arn: str) -> Execute:
    """``execute(sql, [(name, string value), ...]) -> rows`` over the Data API."""

    def execute(sql: str, parameters: Sequence[tuple[str, str]] = ()) -> list[list[Any]]:
        response = rds_data.execute_statement(
            resourceArn=cluster_arn,
            secretArn=secret_arn,
            sql=sql,
            parameters=[{"name": name, "value": {"stringValue": value}} for name, value in parameters],
        )
        return [[_value(field) for field in record] for record in response.get("records", [])]

    return execute


def locate(rds: Any, target: Target) -> tuple[str, str]:
    """``(cluster ARN, master secret ARN)``, or one clear line about what is missing."""
    try:
        clusters = rds.describe_db_clusters(DBClusterIdentifier=target.cluster_identifier)["DBClusters"]
    except Exception as error:
        code = getattr(error, "response", {}).get("Error", {}).get("Code", "")
        if code == "DBClusterNotFoundFault":
            raise ProvisioningError(f"cluster {target.cluster_identifier} not found in {target.region}: deploy {target.stack} first") from None
        raise  # credentials, access, throttling, network: one line from tools.common.aws_errors
    cluster = clusters[0]
    secret = (cluster.get("MasterUserSecret") or {}).get("SecretArn")
    if not secret:
        raise ProvisioningError(f"cluster {target.cluster_identifier} has no RDS-managed master secret (manage_master_user_password)")
    if not cluster.get("HttpEndpointEnabled"):
        raise ProvisioningError(f"cluster {target.cluster_identifier} has the Data API off: set database.data_api and deploy {target.stack}")
    return cluster["DBClusterArn"], secret


def provision(execute: Execute, schema: str, users: Mapping[str, Sequence[str]]) -> list[str]:
    """Bring the users and their grants to ``users``; return one line per change."""
    changes: list[str] = []
    for user, wanted in sorted(users.items()):
        account = f"{quote(user)}@'%'"
        rows = execute("SELECT plugin, ssl_type FROM mysql.user WHERE user = :user AND host = '%'", [("user", user)])
        if not rows:
            execute(f"CREATE USER {account} {_IAM_TLS} ATTRIBUTE '{MARKER}'", [])
            changes.append(f"{user}: created (IAM authentication, TLS required)")
        elif rows[0] != ["AWSAuthenticationPlugin", "ANY"]:
            execute(f"ALTER USER {account} {_IAM_TLS} ATTRIBUTE '{MARKER}'", [])
            changes.append(f"{user}: now IAM authentication with TLS required (was {rows[0][0]}, ssl_type {rows[0][1] or 'none'})")
        grantee = f"'{user}'@'%'"
        held = {
            r[0]
            for r in execute(
                "SELECT privilege_type FROM information_schema.schema_privileges WHERE grantee = :grantee AND table_schema = :schema",
                [("grantee", grantee), ("schema", schema)],
            )
        }
        missing = sorted(set(wanted) - held)
        extra = sorted(held - set(wanted))
        if missing:
            execute(f"GRANT {_privileges(missing)} ON {quote(schema)}.* TO {account}", [])
            changes.append(f"{user}: granted {', '.join(missing)} on {schema}")
        if extra:
            execute(f"REVOKE {_privileges(extra)} ON {quote(schema)}.* FROM {account}", [])
            changes.append(f"{user}: revoked {', '.join(extra)} on {schema}")
        global_privileges = sorted(
            {r[0] for r in execute("SELECT privilege_type FROM information_schema.user_privileges WHERE grantee = :grantee", [("grantee", grantee)])}
            - {"USAGE"}
        )
        if global_privileges:
            execute(f"REVOKE {_privileges(global_privileges)} ON *.* FROM {account}", [])
            changes.append(f"{user}: revoked global {', '.join(global_privileges)}")
    managed = execute(
        "SELECT user FROM information_schema.user_attributes WHERE host = '%' AND JSON_UNQUOTE(JSON_EXTRACT(attribute, :path)) = :value",
        [("path", f'$."{MARKER_ATTRIBUTE}"'), ("value", MARKER_VALUE)],
    )
    for (user,) in sorted(managed):
        if user not in users:
            execute(f"DROP USER {quote(user)}@'%'", [])
            changes.append(f"{user}: dropped (no longer configured)")
    return changes or ["no change"]


def run(stack: str, synth_dir: Path, clients: Callable[[Target], tuple[Any, Any]] | None = None) -> list[str]:
    """Provision ``stack``'s users; ``clients(target) -> (rds, rds_data)`` (default: boto3)."""
    path = synth_dir / stack / "cdk.tf.json"
    if not synth_dir.is_dir() or stack not in (p.name for p in synth_dir.iterdir()) or not path.is_file():
        raise ProvisioningError(f"{path} is missing: synthesize first (make synth), or name a synthesized stack")
    target = target_from_stack(json.loads(path.read_text()), stack)
    if not target.data_api:
        raise ProvisioningError(
            f"{stack}: the cluster has the RDS Data API off (database.data_api; {target.region} may not offer it), "
            "so make db-users cannot provision its users: create them another way (README, Database)"
        )
    rds, rds_data = (clients or _boto3_clients)(target)
    cluster_arn, secret_arn = locate(rds, target)
    return [f"{stack}: {line}" for line in provision(data_api_executor(rds_data, cluster_arn, secret_arn), target.schema, target.users)]


def _boto3_clients(target: Target) -> tuple[Any, Any]:
    import boto3  # type: ignore[import-untyped]

    session = boto3.session.Session(region_name=target.region)
    return session.client("rds", endpoint_url=target.endpoint_url), session.client("rds-data", endpoint_url=target.endpoint_url)


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser("tools.ops.db_users", "Provision the IAM-authenticated database users of a deployed stack.")
    parser.add_argument("stack")
    parser.add_argument("--synth-dir", type=Path, default=default_outdir() / "stacks", help="default: the stacks of CDKTF_OUTDIR, else of cdktf.out")
    args = parser.parse_args(argv)
    problem = stack_name_problem(args.stack, "STACK")
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    try:
        with aws_errors():
            for line in run(args.stack, args.synth_dir):
                print(line)
    except (ProvisioningError, AwsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    process.run(main)
