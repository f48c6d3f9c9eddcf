"""Which resources hold data, and which attribute changes replace them.

One place for both lists: the golden address pin (``tools.review.snapshot``) and the
synth diff (``tools.review.synth_diff``) read them from here.

Replace-forcing attributes are those terraform-provider-aws 6.x marks
"Forces new resource": changing one makes ``terraform apply`` destroy the
object and create a new one.  For a stateful resource that loses its data
(a database, a key, a bucket, logs); for the load balancer it changes the DNS
name clients use.  Attributes that AWS updates in place are deliberately not
listed (e.g. ``aws_cloudwatch_log_group.kms_key_id``, which is re-associated,
and ``aws_rds_cluster.engine_version``, which is upgraded).
"""

from __future__ import annotations

#: Resource types that hold data: deleting or replacing one loses it.
STATEFUL_TYPES: frozenset[str] = frozenset(
    {
        "aws_rds_cluster",
        "aws_rds_cluster_instance",
        "aws_kms_key",
        "aws_ecr_repository",
        "aws_s3_bucket",
        "aws_cloudwatch_log_group",
        "aws_secretsmanager_secret",
        "aws_db_subnet_group",
        "aws_backup_vault",
        "aws_ssm_parameter",
    }
)

#: Resource type -> attributes whose change forces replacement.  Types that
#: are not stateful but whose replacement breaks clients (the load balancer
#: and its target groups) are listed too.  An empty tuple: only deletion
#: matters (every setting of the type can be updated in place).
REPLACE_FORCING: dict[str, tuple[str, ...]] = {
    "aws_rds_cluster": (
        "cluster_identifier",
        "cluster_identifier_prefix",
        "engine",
        "engine_mode",
        "db_subnet_group_name",
        "kms_key_id",
        "storage_encrypted",
        "availability_zones",
        "master_username",
        "database_name",
        "snapshot_identifier",
        "global_cluster_identifier",
    ),
    "aws_rds_cluster_instance": (
        "identifier",
        "identifier_prefix",
        "cluster_identifier",
        "engine",
        "db_subnet_group_name",
        "availability_zone",
    ),
    "aws_kms_key": ("customer_master_key_spec", "key_usage", "multi_region", "xks_key_id", "custom_key_store_id"),
    "aws_ecr_repository": ("name", "encryption_configuration"),
    "aws_s3_bucket": ("bucket", "bucket_prefix", "object_lock_enabled"),
    "aws_cloudwatch_log_group": ("name", "name_prefix", "log_group_class"),
    "aws_secretsmanager_secret": ("name", "name_prefix"),
    "aws_db_subnet_group": ("name", "name_prefix"),
    "aws_backup_vault": ("name", "kms_key_arn"),
    "aws_ssm_parameter": ("name",),
    "aws_lb": ("name", "name_prefix", "internal", "load_balancer_type"),
    "aws_lb_target_group": ("name", "name_prefix", "port", "protocol", "protocol_version", "target_type", "vpc_id", "ip_address_type"),
}


#: Resource types whose ``engine_version`` must never go down: AWS cannot downgrade an
#: engine, so such a plan fails (or, for some types, replaces the database).
VERSIONED_TYPES: frozenset[str] = frozenset({"aws_rds_cluster", "aws_rds_cluster_instance", "aws_rds_global_cluster", "aws_db_instance"})


def version_key(version: str) -> tuple[int, ...]:
    """The numbers of an engine version, in order: ``8.0.mysql_aurora.3.08.2`` -> (8, 0, 3, 8, 2)."""
    import re

    return tuple(int(n) for n in re.findall(r"[0-9]+", version))


def is_downgrade(old: object, new: object) -> bool:
    """Whether ``new`` is a lower engine version than ``old``.  A prefix (``8.0`` after
    ``8.0.mysql_aurora.3.08.2``) is not: it widens the pin, the provider keeps the version."""
    if not isinstance(old, str) or not isinstance(new, str):
        return False
    a, b = version_key(old), version_key(new)
    for x, y in zip(a, b, strict=False):
        if x != y:
            return y < x
    return False


def is_stateful(resource_type: str) -> bool:
    return resource_type in STATEFUL_TYPES


def forces_replacement(resource_type: str, attribute_path: str) -> bool:
    """Whether changing ``attribute_path`` (e.g. ``engine`` or ``encryption_configuration.0.kms_key``) replaces the resource."""
    top = attribute_path.split(".", 1)[0]
    return top in REPLACE_FORCING.get(resource_type, ())


def stateful_addresses(stack: str, doc: dict[str, object]) -> list[str]:
    """``<stack> <type>.<name>`` of every stateful resource in one synthesized stack."""
    resources = doc.get("resource", {})
    assert isinstance(resources, dict)
    return sorted(f"{stack} {rtype}.{name}" for rtype, by_name in resources.items() if is_stateful(rtype) for name in by_name)
