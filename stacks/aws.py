"""The prebuilt AWS provider bindings, loaded without their 13-second root import.

``cdktf_cdktf_provider_aws/__init__.py`` imports all 2,212 submodules of the
package (about 13 s and 600 MB per process on 2 cores).  Each submodule only
needs the package's ``_jsii`` module, which loads the jsii assembly.  So we
register an empty package module in ``sys.modules`` (created from the real
spec, without executing its ``__init__``), import ``_jsii``, and then import
just the submodules this project uses.  The package is frozen at 21.22.1, so
this layout cannot change under us; ``tests/test_aws_loader.py`` pins it.

Every component imports provider classes from here, never from the package
root.  The package is the one that goes with the framework
(:data:`stacks.framework.PROVIDER_PACKAGE`: ``cdktf_cdktf_provider_aws``, or
``cdktn_provider_aws`` under CDK Terrain, laid out the same way), so the
submodules are imported by name at run time; the static import below is for the
type checker.  To use another resource type, add its submodule to the import
below and to ``__all__``.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import TYPE_CHECKING

from stacks.framework import PROVIDER_PACKAGE

PACKAGE = PROVIDER_PACKAGE


def install() -> None:
    """Register the provider package without running its root ``__init__``."""
    if PACKAGE in sys.modules:
        return
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.loader is None:
        raise ImportError(f"{PACKAGE} is not installed; run `make synth` to set up")
    module = importlib.util.module_from_spec(spec)
    sys.modules[PACKAGE] = module
    try:
        importlib.import_module(f"{PACKAGE}._jsii")
    except BaseException:
        del sys.modules[PACKAGE]
        raise


if TYPE_CHECKING:
    from cdktf_cdktf_provider_aws import (
        acm_certificate,
        acm_certificate_validation,
        appautoscaling_policy,
        appautoscaling_target,
        backup_plan,
        backup_restore_testing_plan,
        backup_restore_testing_selection,
        backup_selection,
        backup_vault,
        cloudwatch_composite_alarm,
        cloudwatch_dashboard,
        cloudwatch_event_rule,
        cloudwatch_event_target,
        cloudwatch_log_group,
        cloudwatch_log_metric_filter,
        cloudwatch_log_resource_policy,
        cloudwatch_metric_alarm,
        data_aws_caller_identity,
        data_aws_ecr_repository,
        data_aws_iam_policy_document,
        data_aws_partition,
        data_aws_route53_zone,
        db_parameter_group,
        db_subnet_group,
        default_security_group,
        ecr_lifecycle_policy,
        ecr_repository,
        ecs_cluster,
        ecs_cluster_capacity_providers,
        ecs_service,
        ecs_task_definition,
        eip,
        flow_log,
        iam_openid_connect_provider,
        iam_policy,
        iam_role,
        iam_role_policy,
        iam_role_policy_attachment,
        internet_gateway,
        kms_alias,
        kms_key,
        lambda_function,
        lambda_permission,
        lb,
        lb_listener,
        lb_listener_rule,
        lb_target_group,
        nat_gateway,
        provider,
        rds_cluster,
        rds_cluster_instance,
        rds_cluster_parameter_group,
        route,
        route53_record,
        route_table,
        route_table_association,
        s3_bucket,
        s3_bucket_lifecycle_configuration,
        s3_bucket_ownership_controls,
        s3_bucket_policy,
        s3_bucket_public_access_block,
        s3_bucket_server_side_encryption_configuration,
        s3_bucket_versioning,
        secretsmanager_secret_rotation,
        security_group,
        sns_topic,
        sns_topic_policy,
        sns_topic_subscription,
        ssm_parameter,
        subnet,
        vpc,
        vpc_endpoint,
        vpc_security_group_egress_rule,
        vpc_security_group_ingress_rule,
        wafv2_web_acl,
        wafv2_web_acl_association,
        wafv2_web_acl_logging_configuration,
    )

__all__ = [
    "acm_certificate",
    "acm_certificate_validation",
    "appautoscaling_policy",
    "appautoscaling_target",
    "backup_plan",
    "backup_restore_testing_plan",
    "backup_restore_testing_selection",
    "backup_selection",
    "backup_vault",
    "cloudwatch_composite_alarm",
    "cloudwatch_dashboard",
    "cloudwatch_event_rule",
    "cloudwatch_event_target",
    "cloudwatch_log_group",
    "cloudwatch_log_metric_filter",
    "cloudwatch_log_resource_policy",
    "cloudwatch_metric_alarm",
    "data_aws_caller_identity",
    "data_aws_ecr_repository",
    "data_aws_iam_policy_document",
    "data_aws_partition",
    "data_aws_route53_zone",
    "db_parameter_group",
    "db_subnet_group",
    "default_security_group",
    "ecr_lifecycle_policy",
    "ecr_repository",
    "ecs_cluster",
    "ecs_cluster_capacity_providers",
    "ecs_service",
    "ecs_task_definition",
    "eip",
    "flow_log",
    "iam_openid_connect_provider",
    "iam_policy",
    "iam_role",
    "iam_role_policy",
    "iam_role_policy_attachment",
    "install",
    "internet_gateway",
    "kms_alias",
    "kms_key",
    "lambda_function",
    "lambda_permission",
    "lb",
    "lb_listener",
    "lb_listener_rule",
    "lb_target_group",
    "nat_gateway",
    "provider",
    "rds_cluster",
    "rds_cluster_instance",
    "rds_cluster_parameter_group",
    "route",
    "route53_record",
    "route_table",
    "route_table_association",
    "s3_bucket",
    "s3_bucket_lifecycle_configuration",
    "s3_bucket_ownership_controls",
    "s3_bucket_policy",
    "s3_bucket_public_access_block",
    "s3_bucket_server_side_encryption_configuration",
    "s3_bucket_versioning",
    "secretsmanager_secret_rotation",
    "security_group",
    "sns_topic",
    "sns_topic_policy",
    "sns_topic_subscription",
    "ssm_parameter",
    "subnet",
    "vpc",
    "vpc_endpoint",
    "vpc_security_group_egress_rule",
    "vpc_security_group_ingress_rule",
    "wafv2_web_acl",
    "wafv2_web_acl_association",
    "wafv2_web_acl_logging_configuration",
]


def _load() -> None:
    """Import every submodule listed in ``__all__`` into this module."""
    install()
    module = sys.modules[__name__]
    for name in __all__:
        if name != "install":
            setattr(module, name, importlib.import_module(f"{PACKAGE}.{name}"))


_load()
