"""Small helpers shared by the components: account context, IAM documents, keys, logs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from stacks.aws import (
    cloudwatch_log_group,
    data_aws_caller_identity,
    data_aws_iam_policy_document,
    data_aws_partition,
    iam_role,
    iam_role_policy,
    iam_role_policy_attachment,
    kms_alias,
    kms_key,
    s3_bucket_ownership_controls,
    s3_bucket_public_access_block,
    s3_bucket_server_side_encryption_configuration,
    s3_bucket_versioning,
    security_group,
    vpc_security_group_egress_rule,
    vpc_security_group_ingress_rule,
)
from stacks.framework import Construct, TerraformResourceLifecycle
from stacks.pipeline_policies import BOUNDARY_POLICY_NAME

Statement = data_aws_iam_policy_document.DataAwsIamPolicyDocumentStatement
Principal = data_aws_iam_policy_document.DataAwsIamPolicyDocumentStatementPrincipals
Condition = data_aws_iam_policy_document.DataAwsIamPolicyDocumentStatementCondition


@dataclass(frozen=True)
class AwsContext:
    """Where the stack deploys.  Account id and partition are Terraform references
    (from ``aws_caller_identity`` / ``aws_partition``), never hard-coded."""

    account_id: str
    partition: str
    region: str

    def arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        """``arn:<partition>:<service>:<region>:<account>:<resource>``."""
        return ":".join(["arn", self.partition, service, self.region if region else "", self.account_id if account else "", resource])

    @property
    def account_root(self) -> str:
        return self.arn("iam", "root", region=False)


def account_context(scope: Construct, region: str) -> AwsContext:
    """The stack's :class:`AwsContext`: account and partition read from AWS at plan time
    (data sources ``caller`` and ``partition``), never written into the JSON."""
    identity = data_aws_caller_identity.DataAwsCallerIdentity(scope, "caller")
    partition = data_aws_partition.DataAwsPartition(scope, "partition")
    return AwsContext(account_id=identity.account_id, partition=partition.partition, region=region)


def policy_document(scope: Construct, id_: str, statements: Sequence[Statement]) -> str:
    """An IAM policy document (typed statements); returns its JSON as a reference."""
    return data_aws_iam_policy_document.DataAwsIamPolicyDocument(scope, id_, statement=list(statements)).json


def allow(
    actions: Sequence[str],
    resources: Sequence[str],
    *,
    sid: str | None = None,
    conditions: Sequence[Condition] = (),
) -> Statement:
    """An ``Allow`` statement for an identity policy."""
    return Statement(sid=sid, effect="Allow", actions=list(actions), resources=list(resources), condition=list(conditions) or None)


def inline_policy(
    scope: Construct,
    id_: str,
    *,
    role: iam_role.IamRole,
    name: str,
    statements: Sequence[Statement],
    document_id: str | None = None,
) -> iam_role_policy.IamRolePolicy:
    """An inline policy ``name`` of ``role`` (resource ``id_``, its document ``document_id``,
    by default ``<id_>_document``)."""
    document = policy_document(scope, document_id or f"{id_}_document", statements)
    return iam_role_policy.IamRolePolicy(scope, id_, role=role.id, name=name, policy=document)


def named_security_group(scope: Construct, id_: str, *, name: str, description: str, vpc_id: str) -> security_group.SecurityGroup:
    """A security group with no inline rules (add them with :func:`tcp_rule`)."""
    return security_group.SecurityGroup(scope, id_, name=name, description=description, vpc_id=vpc_id, tags={"Name": name})


def tcp_rule(
    scope: Construct,
    id_: str,
    *,
    security_group_id: str,
    port: int,
    description: str,
    cidr: str | None = None,
    peer_security_group_id: str | None = None,
    egress: bool = False,
) -> None:
    """One TCP port in or out of ``security_group_id``, to or from a CIDR or another group."""
    if (cidr is None) == (peer_security_group_id is None):
        raise ValueError("tcp_rule needs exactly one of cidr and peer_security_group_id")
    rule = vpc_security_group_egress_rule.VpcSecurityGroupEgressRule if egress else vpc_security_group_ingress_rule.VpcSecurityGroupIngressRule
    rule(
        scope,
        id_,
        security_group_id=security_group_id,
        description=description,
        ip_protocol="tcp",
        from_port=port,
        to_port=port,
        cidr_ipv4=cidr,
        referenced_security_group_id=peer_security_group_id,
    )


def deny_insecure_transport(actions: Sequence[str], resources: Sequence[str]) -> Statement:
    """A resource-policy statement that refuses any request not made over TLS."""
    return Statement(
        sid="DenyInsecureTransport",
        effect="Deny",
        principals=[Principal(type="*", identifiers=["*"])],
        actions=list(actions),
        resources=list(resources),
        condition=[Condition(test="Bool", variable="aws:SecureTransport", values=["false"])],
    )


def harden_bucket(scope: Construct, id_prefix: str, bucket_id: str, *, kms_key_arn: str | None) -> None:
    """Private, owner-enforced, versioned and encrypted (SSE-KMS with ``kms_key_arn``,
    or SSE-S3 where the writer supports nothing else).  Resource ids are
    ``<id_prefix>_public_access_block``, ``_ownership``, ``_versioning``, ``_encryption``."""
    s3_bucket_public_access_block.S3BucketPublicAccessBlock(
        scope,
        f"{id_prefix}_public_access_block",
        bucket=bucket_id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
    )
    s3_bucket_ownership_controls.S3BucketOwnershipControls(
        scope,
        f"{id_prefix}_ownership",
        bucket=bucket_id,
        rule=s3_bucket_ownership_controls.S3BucketOwnershipControlsRule(object_ownership="BucketOwnerEnforced"),
    )
    s3_bucket_versioning.S3BucketVersioningA(
        scope,
        f"{id_prefix}_versioning",
        bucket=bucket_id,
        versioning_configuration=s3_bucket_versioning.S3BucketVersioningVersioningConfiguration(status="Enabled"),
    )
    sse = s3_bucket_server_side_encryption_configuration
    default = sse.S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
        sse_algorithm="aws:kms" if kms_key_arn else "AES256", kms_master_key_id=kms_key_arn
    )
    sse.S3BucketServerSideEncryptionConfigurationA(
        scope,
        f"{id_prefix}_encryption",
        bucket=bucket_id,
        rule=[
            sse.S3BucketServerSideEncryptionConfigurationRuleA(apply_server_side_encryption_by_default=default, bucket_key_enabled=bool(kms_key_arn) or None)
        ],
    )


def service_role(
    scope: Construct,
    id_: str,
    *,
    name: str,
    service: str,
    aws: AwsContext,
    description: str,
    source_account_condition: bool = True,
    managed_policy: str | None = None,
) -> iam_role.IamRole:
    """An IAM role that only ``service`` may assume, only on behalf of this account
    (confused-deputy protection with ``aws:SourceAccount``).
    ``source_account_condition=False`` for services whose documented trust policy has no
    condition (a condition the service does not send would make every assumption fail).
    ``managed_policy``: an AWS managed policy (``service-role/NAME`` or ``NAME``) to
    attach, as ``<id_>_policy``."""
    conditions = []
    if source_account_condition:
        conditions.append(Condition(test="StringEquals", variable="aws:SourceAccount", values=[aws.account_id]))
    trust = policy_document(
        scope,
        f"{id_}_trust",
        [
            Statement(
                effect="Allow",
                actions=["sts:AssumeRole"],
                principals=[Principal(type="Service", identifiers=[service])],
                condition=conditions or None,
            )
        ],
    )
    # Every role of the stacks carries the pipeline's boundary: the deploy roles may create
    # no role without it (stacks/pipeline_policies.py), and nothing it allows exceeds it.
    boundary = aws.arn("iam", f"policy/{BOUNDARY_POLICY_NAME}", region=False)
    role = iam_role.IamRole(scope, id_, name=name, description=description, assume_role_policy=trust, permissions_boundary=boundary)
    if managed_policy is not None:
        attach_managed_policy(scope, f"{id_}_policy", role=role, policy=managed_policy, aws=aws)
    return role


def attach_managed_policy(
    scope: Construct, id_: str, *, role: iam_role.IamRole, policy: str, aws: AwsContext
) -> iam_role_policy_attachment.IamRolePolicyAttachment:
    """Attach the AWS managed policy ``policy`` (``service-role/NAME`` or ``NAME``) to ``role``."""
    return iam_role_policy_attachment.IamRolePolicyAttachment(scope, id_, role=role.name, policy_arn=f"arn:{aws.partition}:iam::aws:policy/{policy}")


class EncryptionKey(Construct):
    """A customer-managed KMS key with rotation, an alias and a least-privilege key policy.

    The account root administers the key (so IAM policies can grant use of it);
    each service in ``service_principals`` may use it for encryption, limited to
    this account, and further by ``encryption_context`` when given.  ``retain``
    refuses to destroy the key (``prevent_destroy``): for keys that encrypt data
    kept after the stack is gone, such as final snapshots.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        alias: str,
        description: str,
        aws: AwsContext,
        service_principals: Sequence[str] = (),
        encryption_context: Mapping[str, str] | None = None,
        deletion_window_days: int = 30,
        retain: bool = False,
    ) -> None:
        super().__init__(scope, id_)
        statements = [
            Statement(
                sid="AccountAdministration",
                effect="Allow",
                principals=[Principal(type="AWS", identifiers=[aws.account_root])],
                actions=["kms:*"],
                resources=["*"],
            )
        ]
        if service_principals:
            # Services that send an encryption context (e.g. CloudWatch Logs) are
            # pinned by it; the others by the calling account.
            if encryption_context:
                conditions = [Condition(test="ArnLike", variable=f"kms:EncryptionContext:{key}", values=[value]) for key, value in encryption_context.items()]
            else:
                conditions = [Condition(test="StringEquals", variable="aws:SourceAccount", values=[aws.account_id])]
            statements.append(
                Statement(
                    sid="ServiceUse",
                    effect="Allow",
                    principals=[Principal(type="Service", identifiers=list(service_principals))],
                    actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                    resources=["*"],
                    condition=conditions,
                )
            )
        self.key = kms_key.KmsKey(
            self,
            "key",
            description=description,
            enable_key_rotation=True,
            deletion_window_in_days=deletion_window_days,
            policy=policy_document(self, "policy", statements),
            lifecycle=TerraformResourceLifecycle(prevent_destroy=True) if retain else None,
        )
        kms_alias.KmsAlias(self, "alias", name=f"alias/{alias}", target_key_id=self.key.key_id)

    @property
    def arn(self) -> str:
        return self.key.arn


def log_group(
    scope: Construct,
    id_: str,
    *,
    name: str,
    retention_days: int,
    kms_key_arn: str,
) -> cloudwatch_log_group.CloudwatchLogGroup:
    """A CloudWatch log group encrypted with a customer-managed key and with retention."""
    return cloudwatch_log_group.CloudwatchLogGroup(scope, id_, name=name, retention_in_days=retention_days, kms_key_id=kms_key_arn)


@dataclass(frozen=True)
class DatabaseConnection:
    """What a client of the database needs (all Terraform references or plain values).

    No password and no secret: clients log in as ``username`` with an IAM
    authentication token, which ``rds-db:connect`` on ``connect_arn`` allows.
    """

    host: str
    reader_host: str
    port: str
    name: str
    #: MySQL user the application logs in as (``AWSAuthenticationPlugin``, TLS required).
    username: str
    #: ``arn:<partition>:rds-db:<region>:<account>:dbuser:<cluster resource id>/<username>``.
    connect_arn: str
