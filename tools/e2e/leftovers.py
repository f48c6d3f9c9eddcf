"""What the emulator still holds of a destroyed copy.

A resource belongs to the copy when its name starts with the copy's name prefix
(``order-api-dev-e2e``) or, where names are generated, when it carries the copy's
``environment`` tag (``dev-e2e``).  Deleted things that AWS keeps listing for a
while (an INACTIVE ECS cluster or task definition, a KMS key pending deletion, a
VPC endpoint or NAT gateway in state ``deleted``, a secret scheduled for deletion)
do not count.  The shared registry is not the copy's: only the copy's release tags
(``release.<environment>.*``) on its images are looked for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

Clients = Callable[[str], Any]


def _tags(items: list[dict[str, str]] | None, key: str = "Key", value: str = "Value") -> dict[str, str]:
    return {t[key]: t[value] for t in items or []}


def find(client: Clients, prefix: str, environment: str) -> list[str]:
    """``"<kind> <name>"`` for everything of the copy still present, sorted."""
    checks: list[Callable[[Clients, str, str], Iterator[str]]] = [
        _network,
        _ecs,
        _rds,
        _s3,
        _kms,
        _load_balancing,
        _logs,
        _iam,
        _secrets,
        _ssm,
        _monitoring,
        _waf,
        _autoscaling,
        _functions,
        _event_rules,
        _release_tags,
    ]
    return sorted(found for check in checks for found in check(client, prefix, environment))


def _mine(tags: dict[str, str], prefix: str, environment: str) -> bool:
    return tags.get("environment") == environment or tags.get("Name", "").startswith(prefix)


def _network(client: Clients, prefix: str, environment: str) -> Iterator[str]:
    ec2 = client("ec2")
    for vpc in ec2.describe_vpcs()["Vpcs"]:
        if _mine(_tags(vpc.get("Tags")), prefix, environment):
            yield f"VPC {vpc['VpcId']}"
    for subnet in ec2.describe_subnets()["Subnets"]:
        if _mine(_tags(subnet.get("Tags")), prefix, environment):
            yield f"subnet {subnet['SubnetId']}"
    for gateway in ec2.describe_nat_gateways()["NatGateways"]:
        if gateway["State"] not in ("deleted", "deleting") and _mine(_tags(gateway.get("Tags")), prefix, environment):
            yield f"NAT gateway {gateway['NatGatewayId']}"
    for address in ec2.describe_addresses()["Addresses"]:
        if _mine(_tags(address.get("Tags")), prefix, environment):
            yield f"Elastic IP {address.get('AllocationId')}"
    for group in ec2.describe_security_groups()["SecurityGroups"]:
        if group["GroupName"].startswith(prefix) or _mine(_tags(group.get("Tags")), prefix, environment):
            yield f"security group {group['GroupId']} ({group['GroupName']})"


def _ecs(client: Clients, prefix: str, _environment: str) -> Iterator[str]:
    ecs = client("ecs")
    arns = [arn for arn in ecs.list_clusters()["clusterArns"] if arn.rsplit("/", 1)[-1].startswith(prefix)]
    if arns:
        for cluster in ecs.describe_clusters(clusters=arns)["clusters"]:
            if cluster["status"] != "INACTIVE":
                yield f"ECS cluster {cluster['clusterName']} ({cluster['status']})"
    for arn in ecs.list_task_definitions(familyPrefix=prefix, status="ACTIVE")["taskDefinitionArns"]:
        yield f"ECS task definition {arn.rsplit('/', 1)[-1]}"


def _rds(client: Clients, prefix: str, _environment: str) -> Iterator[str]:
    rds = client("rds")
    for cluster in rds.describe_db_clusters()["DBClusters"]:
        if cluster["DBClusterIdentifier"].startswith(prefix):
            yield f"DB cluster {cluster['DBClusterIdentifier']}"
    for instance in rds.describe_db_instances()["DBInstances"]:
        if instance["DBInstanceIdentifier"].startswith(prefix):
            yield f"DB instance {instance['DBInstanceIdentifier']}"
    for snapshot in rds.describe_db_cluster_snapshots()["DBClusterSnapshots"]:
        if snapshot["DBClusterIdentifier"].startswith(prefix) or prefix in snapshot["DBClusterSnapshotIdentifier"]:
            yield f"DB cluster snapshot {snapshot['DBClusterSnapshotIdentifier']} ({snapshot.get('SnapshotType')})"
    for group in rds.describe_db_subnet_groups()["DBSubnetGroups"]:
        if group["DBSubnetGroupName"].startswith(prefix):
            yield f"DB subnet group {group['DBSubnetGroupName']}"
    for parameters in rds.describe_db_cluster_parameter_groups()["DBClusterParameterGroups"]:
        if parameters["DBClusterParameterGroupName"].startswith(prefix):
            yield f"DB cluster parameter group {parameters['DBClusterParameterGroupName']}"


def _s3(client: Clients, prefix: str, _environment: str) -> Iterator[str]:
    for bucket in client("s3").list_buckets()["Buckets"]:
        if bucket["Name"].startswith(prefix):
            yield f"S3 bucket {bucket['Name']}"


def _kms(client: Clients, prefix: str, environment: str) -> Iterator[str]:
    kms = client("kms")
    aliases: dict[str, list[str]] = {}
    for alias in kms.list_aliases()["Aliases"]:
        if "TargetKeyId" in alias:
            aliases.setdefault(alias["TargetKeyId"], []).append(alias["AliasName"])
    for key in kms.list_keys()["Keys"]:
        metadata = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
        if metadata.get("KeyManager") != "CUSTOMER" or metadata["KeyState"] in ("PendingDeletion", "PendingReplicaDeletion"):
            continue
        names = aliases.get(key["KeyId"], [])
        tags = _tags(kms.list_resource_tags(KeyId=key["KeyId"]).get("Tags"), "TagKey", "TagValue")
        if any(n.startswith(f"alias/{prefix}") for n in names) or _mine(tags, prefix, environment):
            yield f"KMS key {key['KeyId']} ({', '.join(names) or 'no alias'}, {metadata['KeyState']})"
    for name in sorted(n for names in aliases.values() for n in names):
        if name.startswith(f"alias/{prefix}"):
            yield f"KMS alias {name}"


def _load_balancing(client: Clients, prefix: str, _environment: str) -> Iterator[str]:
    elbv2 = client("elbv2")
    for balancer in elbv2.describe_load_balancers()["LoadBalancers"]:
        if balancer["LoadBalancerName"].startswith(prefix):
            yield f"load balancer {balancer['LoadBalancerName']}"
    for group in elbv2.describe_target_groups()["TargetGroups"]:
        if group["TargetGroupName"].startswith(prefix):
            yield f"target group {group['TargetGroupName']}"


def _logs(client: Clients, prefix: str, _environment: str) -> Iterator[str]:
    logs = client("logs")
    for group in logs.describe_log_groups()["logGroups"]:
        if prefix in group["logGroupName"]:
            yield f"log group {group['logGroupName']}"
    for policy in logs.describe_resource_policies()["resourcePolicies"]:
        if policy["policyName"].startswith(prefix):
            yield f"log resource policy {policy['policyName']}"


def _iam(client: Clients, prefix: str, _environment: str) -> Iterator[str]:
    iam = client("iam")
    for role in iam.list_roles()["Roles"]:
        if role["RoleName"].startswith(prefix):
            yield f"IAM role {role['RoleName']}"
    for policy in iam.list_policies(Scope="Local")["Policies"]:
        if policy["PolicyName"].startswith(prefix):
            yield f"IAM policy {policy['PolicyName']}"


def _secrets(client: Clients, prefix: str, environment: str) -> Iterator[str]:
    for secret in client("secretsmanager").list_secrets()["SecretList"]:
        if "DeletedDate" not in secret and (secret["Name"].startswith(prefix) or _mine(_tags(secret.get("Tags")), prefix, environment)):
            yield f"secret {secret['Name']}"


def _ssm(client: Clients, _prefix: str, environment: str) -> Iterator[str]:
    pages = client("ssm").get_paginator("get_parameters_by_path").paginate(Path=f"/order-api/{environment}", Recursive=True)
    for page in pages:
        for parameter in page["Parameters"]:
            yield f"SSM parameter {parameter['Name']}"


def _monitoring(client: Clients, prefix: str, _environment: str) -> Iterator[str]:
    cloudwatch = client("cloudwatch")
    alarms = cloudwatch.describe_alarms(AlarmNamePrefix=prefix, AlarmTypes=["MetricAlarm", "CompositeAlarm"])
    for alarm in [*alarms["MetricAlarms"], *alarms["CompositeAlarms"]]:
        yield f"alarm {alarm['AlarmName']}"
    for dashboard in cloudwatch.list_dashboards(DashboardNamePrefix=prefix)["DashboardEntries"]:
        yield f"dashboard {dashboard['DashboardName']}"
    for topic in client("sns").list_topics()["Topics"]:
        if topic["TopicArn"].rsplit(":", 1)[-1].startswith(prefix):
            yield f"SNS topic {topic['TopicArn'].rsplit(':', 1)[-1]}"


def _waf(client: Clients, prefix: str, _environment: str) -> Iterator[str]:
    for acl in client("wafv2").list_web_acls(Scope="REGIONAL")["WebACLs"]:
        if acl["Name"].startswith(prefix):
            yield f"WAF web ACL {acl['Name']}"


def _autoscaling(client: Clients, prefix: str, _environment: str) -> Iterator[str]:
    scaling = client("application-autoscaling")
    for namespace in ("ecs", "rds"):
        for target in scaling.describe_scalable_targets(ServiceNamespace=namespace)["ScalableTargets"]:
            if prefix in target["ResourceId"]:
                yield f"scalable target {target['ResourceId']}"


def _functions(client: Clients, prefix: str, _environment: str) -> Iterator[str]:
    for function in client("lambda").list_functions()["Functions"]:
        if function["FunctionName"].startswith(prefix):
            yield f"Lambda function {function['FunctionName']}"


def _event_rules(client: Clients, prefix: str, _environment: str) -> Iterator[str]:
    for rule in client("events").list_rules(NamePrefix=prefix)["Rules"]:
        yield f"EventBridge rule {rule['Name']}"


def _release_tags(client: Clients, _prefix: str, environment: str) -> Iterator[str]:
    ecr = client("ecr")
    mine = f"release.{environment}."
    for repository in ecr.describe_repositories()["repositories"]:
        for page in ecr.get_paginator("describe_images").paginate(repositoryName=repository["repositoryName"], filter={"tagStatus": "TAGGED"}):
            for image in page["imageDetails"]:
                for tag in image.get("imageTags", []):
                    if tag.startswith(mine):
                        yield f"release tag {repository['repositoryName']}:{tag}"
