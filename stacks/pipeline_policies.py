"""The permissions of the pipeline's roles, as IAM policy documents (plain data).

One function per purpose, each the single source of that role's permissions; the identity
stack turns them into managed policies, and the tests audit exactly these documents
(``tests/test_pipeline_policies.py``: Parliament, Cloudsplaining and the project's own rules).

- :func:`plan_document`: what ``terraform plan`` of a pull request needs: read access and the
  state (read the state objects; write and delete only the lock objects), never a secret value.
- :func:`deploy_documents`: what Terraform needs to apply an environment's stacks (or the
  shared ones), each write action limited to the environment's names
  (``order-api-<env>-...``) or its ``environment`` tag, and IAM limited to roles under that
  prefix that carry the :func:`boundary_document` as their permissions boundary.
- :func:`release_document`: exactly what ``make release``, ``make promote`` and the
  integration tests call for one environment.
- :func:`boundary_document`: the most any role the stacks create may ever do.

Every ARN is built from ``partition`` and ``account`` (Terraform references in the stack,
sample values in the tests).  Names are the project's conventions: ``order-api-<env>`` is
every environment's name prefix, also of its suffixed copies (``order-api-dev-pr42``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from stacks.config.names import PROJECT

Document = dict[str, Any]
Statement = dict[str, Any]

#: The managed policy every role an environment stack creates carries as its boundary.
BOUNDARY_POLICY_NAME = f"{PROJECT}-workload-boundary"
#: Name prefix of the pipeline's own roles (no environment's deploy role may touch them).
PIPELINE_ROLE_PREFIX = f"{PROJECT}-pipeline-"
#: Where each environment's releases come from (``make promote``): staging takes dev's image,
#: prod staging's; a release role may read its source's service.
PROMOTED_FROM: dict[str, str | None] = {"dev": None, "staging": "dev", "prod": "staging"}
#: Services the stacks' roles are for: a deploy role passes a role to nothing else.
PASSED_TO = (
    "ecs-tasks.amazonaws.com",
    "ecs.amazonaws.com",
    "lambda.amazonaws.com",
    "monitoring.rds.amazonaws.com",
    "vpc-flow-logs.amazonaws.com",
    "backup.amazonaws.com",
)
#: The AWS managed policies the environment stacks attach to their roles (a test keeps this
#: in step with the synthesized stacks); a deploy role may attach no other.
MANAGED_POLICIES = (
    "service-role/AmazonRDSEnhancedMonitoringRole",
    "AmazonECSInfrastructureRolePolicyForLoadBalancers",
    "service-role/AWSBackupServiceRolePolicyForBackup",
    "service-role/AWSBackupServiceRolePolicyForRestores",
)
#: Service-linked roles the first deploy of an account may create.
SERVICE_LINKED = (
    "ecs.amazonaws.com",
    "elasticloadbalancing.amazonaws.com",
    "rds.amazonaws.com",
    "ecs.application-autoscaling.amazonaws.com",
    "rds.application-autoscaling.amazonaws.com",
    "backup.amazonaws.com",
    "wafv2.amazonaws.com",
)
#: Read actions of every service the stacks use: what ``terraform plan`` refreshes.  No action
#: that reads data (``s3:GetObject``, ``secretsmanager:GetSecretValue``, ``logs:GetLogEvents``).
READ_ACTIONS = (
    "acm:DescribeCertificate",
    "acm:ListCertificates",
    "acm:ListTagsForCertificate",
    "application-autoscaling:Describe*",
    "application-autoscaling:ListTagsForResource",
    "backup:Describe*",
    "backup:GetBackupPlan",
    "backup:GetBackupSelection",
    "backup:GetBackupVaultAccessPolicy",
    "backup:GetRestoreTestingPlan",
    "backup:GetRestoreTestingSelection",
    "backup:List*",
    "cloudwatch:Describe*",
    "cloudwatch:GetDashboard",
    "cloudwatch:GetMetricData",
    "cloudwatch:List*",
    "ec2:Describe*",
    "ec2:GetManagedPrefixListEntries",
    "ecr:DescribeImageScanFindings",
    "ecr:DescribeImages",
    "ecr:DescribeRepositories",
    "ecr:GetLifecyclePolicy",
    "ecr:GetRepositoryPolicy",
    "ecr:ListTagsForResource",
    "ecs:Describe*",
    "ecs:List*",
    "elasticloadbalancing:Describe*",
    "events:Describe*",
    "events:List*",
    "iam:GetPolicy",
    "iam:GetPolicyVersion",
    "iam:GetRole",
    "iam:GetRolePolicy",
    "iam:ListAttachedRolePolicies",
    "iam:ListInstanceProfilesForRole",
    "iam:ListRolePolicies",
    "iam:ListRoleTags",
    "kms:DescribeKey",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListAliases",
    "kms:ListResourceTags",
    "lambda:GetFunction",
    "lambda:GetFunctionCodeSigningConfig",
    "lambda:GetPolicy",
    "lambda:ListVersionsByFunction",
    "logs:DescribeLogGroups",
    "logs:DescribeMetricFilters",
    "logs:DescribeResourcePolicies",
    "logs:ListTagsForResource",
    "logs:ListTagsLogGroup",
    "rds:Describe*",
    "rds:ListTagsForResource",
    "route53:GetChange",
    "route53:GetHostedZone",
    "route53:ListHostedZones",
    "route53:ListResourceRecordSets",
    "route53:ListTagsForResource",
    "s3:GetBucket*",
    "s3:GetEncryptionConfiguration",
    "s3:GetLifecycleConfiguration",
    "s3:ListAllMyBuckets",
    "secretsmanager:DescribeSecret",
    "secretsmanager:GetResourcePolicy",
    "servicequotas:GetAWSDefaultServiceQuota",
    "servicequotas:GetServiceQuota",
    "sns:GetSubscriptionAttributes",
    "sns:GetTopicAttributes",
    "sns:ListSubscriptionsByTopic",
    "sns:ListTagsForResource",
    "ssm:DescribeParameters",
    "ssm:GetParameter",
    "ssm:GetParameters",
    "ssm:ListTagsForResource",
    "wafv2:GetLoggingConfiguration",
    "wafv2:GetWebACL",
    "wafv2:GetWebACLForResource",
    "wafv2:ListTagsForResource",
)


@dataclass(frozen=True)
class Account:
    """Where the policies apply: ARNs are built from these (references or sample values)."""

    partition: str
    account_id: str
    #: The state bucket and the key that encrypts the state (``TF_STATE_KMS_KEY_ID``: an alias,
    #: a key id, or an alias or key ARN).
    state_bucket: str
    state_key: str

    def arn(self, service: str, resource: str, *, region: str = "*", account: bool = True) -> str:
        return f"arn:{self.partition}:{service}:{region}:{self.account_id if account else ''}:{resource}"

    def iam(self, resource: str) -> str:
        return f"arn:{self.partition}:iam::{self.account_id}:{resource}"

    @property
    def boundary_arn(self) -> str:
        return self.iam(f"policy/{BOUNDARY_POLICY_NAME}")

    def state_key_grant(self) -> tuple[list[str], dict[str, Any] | None]:
        """Resources (and condition) that name the state key: by its alias where it is given by
        one (``kms:ResourceAliases``), else by its ARN."""
        if "alias/" in self.state_key:
            alias = self.state_key[self.state_key.index("alias/") :]
            return [self.arn("kms", "key/*")], {"ForAnyValue:StringEquals": {"kms:ResourceAliases": [alias]}}
        if self.state_key.startswith("arn:"):
            return [self.state_key], None
        return [self.arn("kms", f"key/{self.state_key}")], None


def statement(sid: str, actions: Sequence[str], resources: Sequence[str], condition: dict[str, Any] | None = None, *, effect: str = "Allow") -> Statement:
    found: Statement = {"Sid": sid, "Effect": effect, "Action": sorted(actions), "Resource": list(resources)}
    if condition:
        found["Condition"] = condition
    return found


def document(*statements: Statement) -> Document:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _state(account: Account, stacks: Sequence[str], *, write_state: bool) -> list[Statement]:
    """The state objects of ``stacks`` (name patterns) in the state bucket: read; the lock
    objects also written and deleted; with ``write_state`` the state objects written too."""
    bucket = f"arn:{account.partition}:s3:::{account.state_bucket}"
    objects = [f"{bucket}/{stack}/terraform.tfstate" for stack in stacks]
    locks = [f"{bucket}/{stack}/terraform.tfstate.tflock" for stack in stacks]
    prefixes = [f"{stack}/*" for stack in stacks]
    key, key_condition = account.state_key_grant()
    found = [
        statement("StateList", ["s3:ListBucket"], [bucket], {"StringLike": {"s3:prefix": prefixes}}),
        statement("StateRead", ["s3:GetObject"], objects),
        statement("StateLock", ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], locks),
        statement("StateKey", ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"], key, key_condition),
    ]
    if write_state:
        found.append(statement("StateWrite", ["s3:PutObject"], objects))
    return found


def plan_document(account: Account) -> Document:
    """What a pull request's ``terraform plan`` needs for every stack: read access (no data,
    no secret value), the state objects read and the lock objects written and deleted."""
    return document(
        statement("ReadForPlan", READ_ACTIONS, ["*"]),
        # Terraform refreshes SecureString parameters decrypted: they hold configuration
        # (hosts, names, flags); the database password lives only in Secrets Manager.
        statement("DecryptParametersThroughSsm", ["kms:Decrypt"], [account.arn("kms", "key/*")], {"StringLike": {"kms:ViaService": "ssm.*.amazonaws.com"}}),
        statement("NoSecretValues", ["secretsmanager:GetSecretValue"], ["*"], effect="Deny"),
        *_state(account, [f"{PROJECT}-*"], write_state=False),
    )


def _environment_names(environment: str) -> tuple[str, list[str]]:
    """The environment's name prefix and its ``environment`` tag values (its copies' too)."""
    return f"{PROJECT}-{environment}", [environment, f"{environment}-*"]


def _tagged(tags: list[str]) -> dict[str, Any]:
    return {"StringLike": {"aws:ResourceTag/environment": tags}}


def _tagging(tags: list[str]) -> dict[str, Any]:
    return {"StringLike": {"aws:RequestTag/environment": tags}}


def _network(account: Account, tags: list[str]) -> list[Statement]:
    """EC2 resources have ids, not names: created only with the environment's tag, changed only when they carry it."""
    create = [
        "ec2:AllocateAddress",
        "ec2:CreateFlowLogs",
        "ec2:CreateInternetGateway",
        "ec2:CreateNatGateway",
        "ec2:CreateRouteTable",
        "ec2:CreateSecurityGroup",
        "ec2:CreateSubnet",
        "ec2:CreateVpc",
        "ec2:CreateVpcEndpoint",
    ]
    change = [
        "ec2:AssociateRouteTable",
        "ec2:AttachInternetGateway",
        "ec2:AuthorizeSecurityGroupEgress",
        "ec2:AuthorizeSecurityGroupIngress",
        "ec2:CreateRoute",
        "ec2:DeleteFlowLogs",
        "ec2:DeleteInternetGateway",
        "ec2:DeleteNatGateway",
        "ec2:DeleteRoute",
        "ec2:DeleteRouteTable",
        "ec2:DeleteSecurityGroup",
        "ec2:DeleteSubnet",
        "ec2:DeleteVpc",
        "ec2:DeleteVpcEndpoints",
        "ec2:DetachInternetGateway",
        "ec2:DisassociateAddress",
        "ec2:DisassociateRouteTable",
        "ec2:ModifySecurityGroupRules",
        "ec2:ModifySubnetAttribute",
        "ec2:ModifyVpcAttribute",
        "ec2:ModifyVpcEndpoint",
        "ec2:ReleaseAddress",
        "ec2:ReplaceRoute",
        "ec2:RevokeSecurityGroupEgress",
        "ec2:RevokeSecurityGroupIngress",
        "ec2:UpdateSecurityGroupRuleDescriptionsEgress",
        "ec2:UpdateSecurityGroupRuleDescriptionsIngress",
        "ec2:CreateTags",
        "ec2:DeleteTags",
    ]
    resources = [account.arn("ec2", "*")]
    return [
        statement("NetworkCreate", create, resources, _tagging(tags)),
        statement("NetworkTagOnCreate", ["ec2:CreateTags"], resources, {"StringEquals": {"ec2:CreateAction": create_names(create)}}),
        statement("NetworkChange", change, resources, _tagged(tags)),
        # The VPC's default security group comes untagged; it may be given the environment's
        # tag (never re-tagged: a resource of another environment carries its own).
        statement(
            "AdoptTheDefaultSecurityGroup",
            ["ec2:CreateTags"],
            [account.arn("ec2", "security-group/*")],
            {"Null": {"aws:ResourceTag/environment": "true"}} | _tagging(tags),
        ),
    ]


def create_names(actions: Sequence[str]) -> list[str]:
    return sorted(action.split(":", 1)[1] for action in actions)


#: What Terraform calls to create, change and remove each kind of resource an environment has.
LOAD_BALANCING = (
    "elasticloadbalancing:AddListenerCertificates",
    "elasticloadbalancing:AddTags",
    "elasticloadbalancing:CreateListener",
    "elasticloadbalancing:CreateLoadBalancer",
    "elasticloadbalancing:CreateRule",
    "elasticloadbalancing:CreateTargetGroup",
    "elasticloadbalancing:DeleteListener",
    "elasticloadbalancing:DeleteLoadBalancer",
    "elasticloadbalancing:DeleteRule",
    "elasticloadbalancing:DeleteTargetGroup",
    "elasticloadbalancing:ModifyListener",
    "elasticloadbalancing:ModifyListenerAttributes",
    "elasticloadbalancing:ModifyLoadBalancerAttributes",
    "elasticloadbalancing:ModifyRule",
    "elasticloadbalancing:ModifyTargetGroup",
    "elasticloadbalancing:ModifyTargetGroupAttributes",
    "elasticloadbalancing:RemoveListenerCertificates",
    "elasticloadbalancing:RemoveTags",
    "elasticloadbalancing:SetIpAddressType",
    "elasticloadbalancing:SetRulePriorities",
    "elasticloadbalancing:SetSecurityGroups",
    "elasticloadbalancing:SetSubnets",
)
CONTAINERS = (
    "ecs:CreateCluster",
    "ecs:CreateService",
    "ecs:DeleteCluster",
    "ecs:DeleteService",
    "ecs:PutClusterCapacityProviders",
    "ecs:TagResource",
    "ecs:UntagResource",
    "ecs:UpdateCluster",
    "ecs:UpdateClusterSettings",
    "ecs:UpdateService",
)
DATABASE = (
    "rds:AddTagsToResource",
    "rds:CreateDBCluster",
    "rds:CreateDBClusterParameterGroup",
    "rds:CreateDBClusterSnapshot",
    "rds:CreateDBInstance",
    "rds:CreateDBSubnetGroup",
    "rds:DeleteDBCluster",
    "rds:DeleteDBClusterParameterGroup",
    "rds:DeleteDBInstance",
    "rds:DeleteDBSubnetGroup",
    "rds:DisableHttpEndpoint",
    "rds:EnableHttpEndpoint",
    "rds:ModifyDBCluster",
    "rds:ModifyDBClusterParameterGroup",
    "rds:ModifyDBInstance",
    "rds:ModifyDBSubnetGroup",
    "rds:RemoveTagsFromResource",
    "rds:ResetDBClusterParameterGroup",
)
LOGS = (
    "logs:AssociateKmsKey",
    "logs:CreateLogGroup",
    "logs:DeleteLogGroup",
    "logs:DeleteMetricFilter",
    "logs:DeleteRetentionPolicy",
    "logs:DisassociateKmsKey",
    "logs:PutMetricFilter",
    "logs:PutRetentionPolicy",
    "logs:TagLogGroup",
    "logs:TagResource",
    "logs:UntagLogGroup",
    "logs:UntagResource",
)
EVENTS = (
    "events:DeleteRule",
    "events:DisableRule",
    "events:EnableRule",
    "events:PutRule",
    "events:PutTargets",
    "events:RemoveTargets",
    "events:TagResource",
    "events:UntagResource",
)
TOPICS = ("sns:CreateTopic", "sns:DeleteTopic", "sns:SetTopicAttributes", "sns:Subscribe", "sns:TagResource", "sns:UntagResource")
FUNCTIONS = (
    "lambda:AddPermission",
    "lambda:CreateFunction",
    "lambda:DeleteFunction",
    "lambda:DeleteFunctionConcurrency",
    "lambda:PutFunctionConcurrency",
    "lambda:RemovePermission",
    "lambda:TagResource",
    "lambda:UntagResource",
    "lambda:UpdateFunctionCode",
    "lambda:UpdateFunctionConfiguration",
)
FIREWALL = (
    "wafv2:AssociateWebACL",
    "wafv2:CreateWebACL",
    "wafv2:DeleteLoggingConfiguration",
    "wafv2:DeleteWebACL",
    "wafv2:DisassociateWebACL",
    "wafv2:PutLoggingConfiguration",
    "wafv2:TagResource",
    "wafv2:UntagResource",
    "wafv2:UpdateWebACL",
)
PARAMETERS = ("ssm:AddTagsToResource", "ssm:DeleteParameter", "ssm:DeleteParameters", "ssm:PutParameter", "ssm:RemoveTagsFromResource")
BUCKET = (
    "s3:CreateBucket",
    "s3:DeleteBucket",
    "s3:DeleteBucketPolicy",
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:ListBucket",
    "s3:ListBucketVersions",
    "s3:PutBucketOwnershipControls",
    "s3:PutBucketPolicy",
    "s3:PutBucketPublicAccessBlock",
    "s3:PutBucketTagging",
    "s3:PutBucketVersioning",
    "s3:PutEncryptionConfiguration",
    "s3:PutLifecycleConfiguration",
)
BACKUP_VAULT = ("backup:CreateBackupVault", "backup:DeleteBackupVault", "backup:TagResource", "backup:UntagResource")
BACKUP_PLANS = (
    "backup:CreateBackupPlan",
    "backup:CreateBackupSelection",
    "backup:DeleteBackupPlan",
    "backup:DeleteBackupSelection",
    "backup:TagResource",
    "backup:UntagResource",
    "backup:UpdateBackupPlan",
)
RESTORE_TESTING = (
    "backup:CreateRestoreTestingPlan",
    "backup:CreateRestoreTestingSelection",
    "backup:DeleteRestoreTestingPlan",
    "backup:DeleteRestoreTestingSelection",
    "backup:TagResource",
    "backup:UntagResource",
    "backup:UpdateRestoreTestingPlan",
    "backup:UpdateRestoreTestingSelection",
)
SCALING = (
    "application-autoscaling:DeleteScalingPolicy",
    "application-autoscaling:DeregisterScalableTarget",
    "application-autoscaling:PutScalingPolicy",
    "application-autoscaling:RegisterScalableTarget",
    "application-autoscaling:TagResource",
    "application-autoscaling:UntagResource",
)


def _serving(account: Account, prefix: str, tags: list[str]) -> list[Statement]:
    """The load balancer, the service, the database, the firewall and the smoke test."""
    name = f"{prefix}-*"
    return [
        statement(
            "LoadBalancing",
            LOAD_BALANCING,
            [
                account.arn("elasticloadbalancing", f"loadbalancer/app/{name}/*"),
                account.arn("elasticloadbalancing", f"targetgroup/{name}/*"),
                account.arn("elasticloadbalancing", f"listener/app/{name}/*"),
                account.arn("elasticloadbalancing", f"listener-rule/app/{name}/*"),
            ],
        ),
        statement("Containers", CONTAINERS, [account.arn("ecs", f"cluster/{prefix}*"), account.arn("ecs", f"service/{prefix}*/*")]),
        # Task definitions have no resource-level permissions for registration: tag-scoped instead.
        statement("TaskDefinitions", ["ecs:RegisterTaskDefinition", "ecs:DeregisterTaskDefinition", "ecs:TagResource"], ["*"], _tagging(tags)),
        statement(
            "Database",
            DATABASE,
            [
                account.arn("rds", f"cluster:{name}"),
                account.arn("rds", f"db:{name}"),
                account.arn("rds", f"cluster-pg:{name}"),
                account.arn("rds", f"subgrp:{name}"),
                account.arn("rds", f"cluster-snapshot:{name}"),
                # The instances take the engine's default parameter and option groups.
                account.arn("rds", "pg:default.*"),
                account.arn("rds", "og:default*"),
            ],
        ),
        statement("Functions", FUNCTIONS, [account.arn("lambda", f"function:{name}")]),
        statement("Firewall", FIREWALL, [account.arn("wafv2", f"regional/webacl/{name}/*"), account.arn("wafv2", "regional/managedruleset/*/*")]),
        # SetWebAcl has no resource-level permissions; WAF calls it when it associates its ACL.
        statement("FirewallOnTheLoadBalancer", ["elasticloadbalancing:SetWebAcl"], ["*"]),
        # Application Auto Scaling has no resource-level permissions for its targets and policies.
        statement("Scaling", SCALING, ["*"]),
    ]


def _observing(account: Account, prefix: str) -> list[Statement]:
    """Logs, alarms, dashboards, event rules and the alarm topic."""
    name = f"{prefix}-*"
    return [
        statement(
            "Logs",
            LOGS,
            [
                account.arn("logs", f"log-group:/aws/rds/cluster/{name}"),
                account.arn("logs", f"log-group:/aws/events/{name}"),
                account.arn("logs", f"log-group:/aws/vpc/{prefix}*"),
                account.arn("logs", f"log-group:/ecs/{prefix}*"),
                account.arn("logs", f"log-group:/aws/lambda/{name}"),
                account.arn("logs", f"log-group:aws-waf-logs-{prefix}*"),
            ],
        ),
        statement(
            "Alarms",
            ["cloudwatch:PutMetricAlarm", "cloudwatch:PutCompositeAlarm", "cloudwatch:DeleteAlarms", "cloudwatch:TagResource", "cloudwatch:UntagResource"],
            [account.arn("cloudwatch", f"alarm:{name}")],
        ),
        statement("Dashboards", ["cloudwatch:PutDashboard", "cloudwatch:DeleteDashboards"], [account.arn("cloudwatch", f"dashboard/{name}", region="")]),
        statement("Events", EVENTS, [account.arn("events", f"rule/{name}")]),
        statement("Topics", TOPICS, [account.arn("sns", name)]),
        # A subscription's own actions have no resource-level permissions.
        statement("Subscriptions", ["sns:SetSubscriptionAttributes", "sns:Unsubscribe"], ["*"]),
        # Log delivery (WAF's logging) has no resource-level permissions.
        statement(
            "LogDelivery",
            ["logs:CreateLogDelivery", "logs:DeleteLogDelivery", "logs:GetLogDelivery", "logs:ListLogDeliveries", "logs:UpdateLogDelivery"],
            ["*"],
        ),
    ]


def _keeping(account: Account, prefix: str, tags: list[str]) -> list[Statement]:
    """The parameters, the access-log bucket, backups and the database's managed secret."""
    name = f"{prefix}-*"
    return [
        statement("Parameters", PARAMETERS, [account.arn("ssm", f"parameter/{PROJECT}/{prefix.removeprefix(PROJECT + '-')}*")]),
        statement("LogBucket", BUCKET, [f"arn:{account.partition}:s3:::{name}", f"arn:{account.partition}:s3:::{name}/*"]),
        statement("BackupVault", BACKUP_VAULT, [account.arn("backup", f"backup-vault:{name}")]),
        statement("RestoreTesting", RESTORE_TESTING, [account.arn("backup", f"restore-testing-plan:{prefix.replace('-', '_')}*")]),
        # Backup plans have generated ids: created with the environment's tag, changed only with it.
        statement("BackupPlanCreate", ["backup:CreateBackupPlan", "backup:TagResource"], [account.arn("backup", "backup-plan:*")], _tagging(tags)),
        statement("BackupPlanChange", BACKUP_PLANS, [account.arn("backup", "backup-plan:*")], _tagged(tags)),
        statement("BackupStorage", ["backup-storage:MountCapsule"], ["*"]),
        # RDS creates the master password's secret (rds!cluster-<id>) with the caller's rights.
        statement(
            "ManagedSecretCreate", ["secretsmanager:CreateSecret", "secretsmanager:TagResource"], [account.arn("secretsmanager", "secret:rds!cluster-*")]
        ),
        statement(
            "ManagedSecretOfTheCluster",
            ["secretsmanager:RotateSecret", "secretsmanager:CancelRotateSecret", "secretsmanager:DeleteSecret"],
            [account.arn("secretsmanager", "secret:rds!cluster-*")],
            {"StringLike": {"secretsmanager:ResourceTag/aws:rds:primaryDBClusterArn": account.arn("rds", f"cluster:{name}")}},
        ),
    ]


def _keys(account: Account, prefix: str, tags: list[str]) -> list[Statement]:
    return [
        statement("KeyCreate", ["kms:CreateKey", "kms:TagResource"], ["*"], _tagging(tags)),
        statement(
            "KeyChange",
            [
                "kms:CreateGrant",
                "kms:Decrypt",
                "kms:DisableKey",
                "kms:EnableKey",
                "kms:EnableKeyRotation",
                "kms:Encrypt",
                "kms:GenerateDataKey",
                "kms:PutKeyPolicy",
                "kms:ScheduleKeyDeletion",
                "kms:TagResource",
                "kms:UntagResource",
                "kms:UpdateKeyDescription",
            ],
            [account.arn("kms", "key/*")],
            _tagged(tags),
        ),
        statement(
            "KeyAliases", ["kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"], [account.arn("kms", f"alias/{prefix}-*"), account.arn("kms", "key/*")]
        ),
    ]


def _identities(account: Account, prefix: str) -> list[Statement]:
    """Roles only under the environment's prefix, only with the boundary, passed only to the stacks' services."""
    roles = [account.iam(f"role/{prefix}-*")]
    bounded = {"StringEquals": {"iam:PermissionsBoundary": account.boundary_arn}}
    return [
        statement(
            "RolesWithTheBoundary",
            ["iam:CreateRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:PutRolePermissionsBoundary"],
            roles,
            bounded,
        ),
        statement(
            "ManagedPoliciesWithTheBoundary",
            ["iam:AttachRolePolicy", "iam:DetachRolePolicy"],
            roles,
            bounded | {"ArnLike": {"iam:PolicyARN": [f"arn:{account.partition}:iam::aws:policy/{name}" for name in MANAGED_POLICIES]}},
        ),
        statement("RolesOfTheEnvironment", ["iam:DeleteRole", "iam:TagRole", "iam:UntagRole", "iam:UpdateRole", "iam:UpdateAssumeRolePolicy"], roles),
        statement("PassRolesToTheStacksServices", ["iam:PassRole"], roles, {"StringEquals": {"iam:PassedToService": list(PASSED_TO)}}),
        statement(
            "ServiceLinkedRoles",
            ["iam:CreateServiceLinkedRole"],
            [account.iam("role/aws-service-role/*")],
            {"StringEquals": {"iam:AWSServiceName": list(SERVICE_LINKED)}},
        ),
    ]


def _guards(account: Account) -> Statement:
    """Denied whatever else allows it: removing a boundary, changing the boundary or the pipeline's roles."""
    return statement(
        "NeverEscalate",
        [
            "iam:DeleteRolePermissionsBoundary",
            "iam:CreatePolicyVersion",
            "iam:DeletePolicy",
            "iam:DeletePolicyVersion",
            "iam:SetDefaultPolicyVersion",
            "iam:CreateUser",
            "iam:CreateAccessKey",
        ],
        ["*"],
        effect="Deny",
    )


def _certificates(account: Account, tags: list[str]) -> list[Statement]:
    return [
        statement("CertificateRequest", ["acm:RequestCertificate", "acm:AddTagsToCertificate"], ["*"], _tagging(tags)),
        statement(
            "CertificateChange",
            ["acm:DeleteCertificate", "acm:AddTagsToCertificate", "acm:RemoveTagsFromCertificate"],
            [account.arn("acm", "certificate/*")],
            _tagged(tags),
        ),
        statement("Records", ["route53:ChangeResourceRecordSets"], [f"arn:{account.partition}:route53:::hostedzone/*"]),
    ]


def deploy_documents(account: Account, environment: str) -> list[Document]:
    """What Terraform needs to apply ``environment``'s stacks (its copies' too), in documents
    small enough for IAM's 6,144-character limit of a managed policy."""
    prefix, tags = _environment_names(environment)
    return [
        document(statement("ReadForPlan", READ_ACTIONS, ["*"]), *_state(account, [f"{prefix}*"], write_state=True), _guards(account)),
        document(*_network(account, tags), *_keys(account, prefix, tags), *_identities(account, prefix)),
        document(*_serving(account, prefix, tags)),
        document(*_observing(account, prefix), *_keeping(account, prefix, tags), *_certificates(account, tags)),
    ]


REGISTRY = (
    "ecr:CreateRepository",
    "ecr:DeleteLifecyclePolicy",
    "ecr:DeleteRepository",
    "ecr:PutImageScanningConfiguration",
    "ecr:PutImageTagMutability",
    "ecr:PutLifecyclePolicy",
    "ecr:TagResource",
    "ecr:UntagResource",
)


def shared_deploy_documents(account: Account, repository: str) -> list[Document]:
    """What Terraform needs to apply the shared stacks: the account's log policy and the registry."""
    registry = f"{PROJECT}-registry"
    return [
        document(
            statement("ReadForPlan", READ_ACTIONS, ["*"]),
            *_state(account, [f"{PROJECT}-account", registry], write_state=True),
            statement("LogDeliveryPolicy", ["logs:PutResourcePolicy", "logs:DeleteResourcePolicy"], ["*"]),
            statement("Registry", REGISTRY, [account.arn("ecr", f"repository/{repository}")]),
            statement("RegistryKeyCreate", ["kms:CreateKey", "kms:TagResource"], ["*"], {"StringEquals": {"aws:RequestTag/component": "registry"}}),
            statement(
                "RegistryKey",
                [
                    "kms:CreateGrant",
                    "kms:Decrypt",
                    "kms:EnableKeyRotation",
                    "kms:PutKeyPolicy",
                    "kms:ScheduleKeyDeletion",
                    "kms:TagResource",
                    "kms:UntagResource",
                ],
                [account.arn("kms", "key/*")],
                {"StringEquals": {"aws:ResourceTag/component": "registry"}},
            ),
            statement("RegistryKeyAlias", ["kms:CreateAlias", "kms:DeleteAlias"], [account.arn("kms", f"alias/{registry}"), account.arn("kms", "key/*")]),
            _guards(account),
        )
    ]


def release_document(account: Account, environment: str, source: str | None, repository: str) -> Document:
    """Exactly what ``make release`` and ``make promote`` (from ``source``) call for
    ``environment``, and what its integration tests and ``make outputs`` read."""
    prefix, _ = _environment_names(environment)
    # The environment and its suffixed copies (order-api-dev-pr42): make promote between them too.
    services = [account.arn("ecs", f"service/{prefix}*/{prefix}*-api")]
    if source is not None:
        services.append(account.arn("ecs", f"service/{PROJECT}-{source}/{PROJECT}-{source}-api"))
    task_roles = [account.iam(f"role/{prefix}*-task"), account.iam(f"role/{prefix}*-task-execution")]
    repo = account.arn("ecr", f"repository/{repository}")
    return document(
        statement(
            "RegistryReadTagPrune",
            [
                "ecr:BatchDeleteImage",
                "ecr:BatchGetImage",
                "ecr:DescribeImageScanFindings",
                "ecr:DescribeImages",
                "ecr:DescribeRepositories",
                "ecr:PutImage",
            ],
            [repo],
        ),
        statement("TaskDefinitionsRead", ["ecs:DescribeTaskDefinition", "ecs:ListTaskDefinitions"], ["*"]),
        statement("TaskDefinitionsOfTheFamily", ["ecs:RegisterTaskDefinition", "ecs:TagResource"], [account.arn("ecs", f"task-definition/{prefix}*-api:*")]),
        statement("ServiceAndItsDeployments", ["ecs:DescribeServices", "ecs:UpdateService", "ecs:ListServiceDeployments"], services[:1]),
        statement("SourceService", ["ecs:DescribeServices", "ecs:ListServiceDeployments"], services),
        # A deployment's and a revision's ARN (service-deployment/, service-revision/), and the
        # service's, which older IAM definitions name for these actions.
        statement(
            "DeploymentsAndRevisions",
            ["ecs:DescribeServiceDeployments", "ecs:DescribeServiceRevisions"],
            [*services, account.arn("ecs", f"service-deployment/{PROJECT}-*"), account.arn("ecs", f"service-revision/{PROJECT}-*")],
        ),
        statement("PassTheTaskRoles", ["iam:PassRole"], task_roles, {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}),
        # Before a deployment starts (tools/ops/preflight.py): the smoke test function's state, and
        # the warm-up invocation that wakes it when it went idle.  Its own environment's only
        # (and its copies'); the rollback alarms' states are read with IntegrationTestsRead's
        # cloudwatch:DescribeAlarms.
        statement(
            "WakeTheSmokeTest",
            ["lambda:GetFunctionConfiguration", "lambda:InvokeFunction"],
            [account.arn("lambda", f"function:{prefix}*-smoke-test")],
        ),
        statement(
            "IntegrationTestsRead",
            [
                "cloudwatch:DescribeAlarms",
                "cloudwatch:GetDashboard",
                "ec2:DescribeVpcs",
                "ecs:DescribeClusters",
                "elasticloadbalancing:DescribeLoadBalancers",
                "elasticloadbalancing:DescribeTargetGroups",
                "elasticloadbalancing:DescribeTargetHealth",
                "rds:DescribeDBClusters",
                "secretsmanager:DescribeSecret",
                "sns:GetTopicAttributes",
                "ssm:GetParametersByPath",
                "wafv2:GetWebACLForResource",
            ],
            ["*"],
        ),
        *_state(account, [f"{prefix}*"], write_state=False),
    )


def boundary_document(account: Account) -> Document:
    """The most any role an environment stack creates may do: what the task, execution,
    smoke-test, hook, blue/green, monitoring, flow-log and backup roles need (their own
    policies and the AWS managed ones they carry, for the services the stacks use), and no
    change to any identity."""
    return document(
        statement(
            "WorkloadServices",
            [
                "logs:*",
                "ecr:BatchCheckLayerAvailability",
                "ecr:BatchGetImage",
                "ecr:GetAuthorizationToken",
                "ecr:GetDownloadUrlForLayer",
                "ssm:GetParameters",
                "secretsmanager:GetSecretValue",
                "kms:CreateGrant",
                "kms:Decrypt",
                "kms:DescribeKey",
                "kms:Encrypt",
                "kms:GenerateDataKey",
                "kms:GenerateDataKeyWithoutPlaintext",
                "kms:ReEncryptFrom",
                "kms:ReEncryptTo",
                "rds-db:connect",
                "cloudwatch:PutMetricData",
                "xray:PutTelemetryRecords",
                "xray:PutTraceSegments",
                "ec2:CreateNetworkInterface",
                "ec2:DeleteNetworkInterface",
                "ec2:AssignPrivateIpAddresses",
                "ec2:UnassignPrivateIpAddresses",
                "ec2:Describe*",
                "elasticloadbalancing:*",
                "lambda:InvokeFunction",
                "ecs:DescribeServiceRevisions",
                "backup:*",
                "rds:*",
                "tag:GetResources",
                "ssmmessages:*",
                "iam:GetRole",
                "iam:ListAttachedRolePolicies",
            ],
            ["*"],
        ),
        # AWS Backup passes its own role to the restored cluster's services; nothing else may.
        statement("BackupPassesItsRole", ["iam:PassRole"], ["*"], {"StringEquals": {"iam:PassedToService": ["backup.amazonaws.com", "rds.amazonaws.com"]}}),
        statement(
            "NoIdentityChanges",
            [f"iam:{verb}*" for verb in ("Add", "Attach", "Change", "Create", "Delete", "Detach", "Put", "Remove", "Set", "Tag", "Untag", "Update", "Upload")]
            + ["organizations:*", "account:*", "sts:AssumeRole"],
            ["*"],
            effect="Deny",
        ),
    )
