"""The smoke test ECS runs on a new revision before any production traffic reaches it."""

from __future__ import annotations

import base64
import hashlib
import json
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

from stacks.aws import cloudwatch_event_rule, cloudwatch_event_target, cloudwatch_log_group, iam_role, iam_role_policy, lambda_function, lambda_permission
from stacks.components.common import AwsContext, allow, inline_policy, log_group, named_security_group, service_role, tcp_rule
from stacks.config import DeploymentConfig
from stacks.framework import AssetType, Construct, TerraformAsset
from stacks.functions import smoke_test as handler_module

#: The ECS deployment lifecycle stage the smoke test runs at: the test listener sends
#: all its traffic to the new revision, production traffic has not moved yet.
HOOK_STAGE = "POST_TEST_TRAFFIC_SHIFT"
RUNTIME = "python3.13"
#: Seconds the function may run beyond its requests (start-up, logging).
_MARGIN_SECONDS = 10
#: How often EventBridge sends the warm-up event: well within the weeks after which Lambda
#: reclaims the network interfaces of a function nobody invokes (it goes Inactive, and its
#: next invocation, the first release's smoke test, fails).
WARMUP_SCHEDULE = "rate(7 days)"
#: Port of the ECS API, which the function asks which image the new revision runs.
_HTTPS = 443
#: Every file of the package gets this time stamp and mode, so the same source gives the same bytes.
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def package_bytes(source: Path) -> bytes:
    """A Lambda package holding ``source`` alone, byte for byte the same for the same
    source: fixed time stamp and mode, no compression (no dependence on zlib's version)."""
    from io import BytesIO

    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        info = zipfile.ZipInfo(source.name, date_time=_ZIP_TIME)
        info.create_system = 3
        info.external_attr = 0o100644 << 16
        archive.writestr(info, source.read_bytes())
    return buffer.getvalue()


_PACKAGES: dict[Path, Path] = {}


def package(source: Path) -> Path:
    """:func:`package_bytes` of ``source`` in a temporary directory (written once per
    process while it exists), which cdktf copies into each stack's ``assets/``."""
    path = _PACKAGES.get(source)
    if path is None or not path.is_file():
        path = Path(tempfile.mkdtemp(prefix="order-api-function-")) / f"{source.stem}.zip"
        path.write_bytes(package_bytes(source))
        _PACKAGES[source] = path
    return path


def source_code_hash(path: Path) -> str:
    """What Lambda reports as ``CodeSha256``: base64 of the package's SHA-256."""
    return base64.b64encode(hashlib.sha256(path.read_bytes()).digest()).decode()


def function_timeout(config: DeploymentConfig, paths: int) -> int:
    """Seconds the function may run: the retry window, one request timeout per path (each path
    gets an attempt after the window at most), and a margin; always more than the window."""
    return config.smoke_retry_seconds + paths * config.smoke_timeout_seconds + _MARGIN_SECONDS


class SmokeTest(Construct):
    """A Lambda function that ECS invokes at :data:`HOOK_STAGE` of every deployment
    (source: ``stacks/functions/smoke_test.py``), and the role ECS invokes it with.

    The function requests ``base_url`` + the health check path and every path of
    ``config.smoke_paths``, retrying within ``config.smoke_retry_seconds``, and fails
    the deployment on anything but a 2xx, or on an answer that states another image
    digest than the new revision's (which it asks ECS, ``DescribeServiceRevisions`` of
    this service's revisions only).  It runs in the private subnets: an internet-facing
    load balancer resolves to public addresses, so its requests leave through the NAT
    gateways and reach the test listener from their addresses, which the stack lets in
    on the test port (and nothing else).  Its security group lets out the test port and
    HTTPS (the ECS API, whose addresses are not known in advance either).  A weekly
    EventBridge schedule sends it the warm-up event, so it never goes idle.

    Built in named steps: :meth:`_security_group`, :meth:`_role`, :meth:`_function`,
    :meth:`_warmup`, :meth:`_hook_role`.

    Attributes: ``function_arn``, ``function_name``, ``hook_role_arn``,
    ``hook_role_policy`` (the service waits for it), ``security_group_id``,
    ``log_group_name``.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        name_prefix: str,
        config: DeploymentConfig,
        aws: AwsContext,
        vpc_id: str,
        subnet_ids: Sequence[str],
        cluster_name: str,
        service_name: str,
        base_url: str,
        health_check_path: str,
        test_port: int,
        log_retention_days: int,
        log_key_arn: str,
        kms_key_arn: str,
    ) -> None:
        super().__init__(scope, id_)
        self.function_name = f"{name_prefix}-smoke-test"
        logs = log_group(self, "log_group", name=f"/aws/lambda/{self.function_name}", retention_days=log_retention_days, kms_key_arn=log_key_arn)
        self.log_group_name = logs.name
        group_id = self._security_group(vpc_id, test_port)
        role, role_policy = self._role(aws, logs.arn, kms_key_arn, cluster_name, service_name)
        function = self._function(
            config,
            role,
            role_policy,
            logs,
            group_id=group_id,
            subnet_ids=subnet_ids,
            base_url=base_url,
            health_check_path=health_check_path,
            kms_key_arn=kms_key_arn,
        )
        self._warmup(name_prefix, aws, function)
        self._hook_role(name_prefix, aws, function.arn)

    def _security_group(self, vpc_id: str, test_port: int) -> str:
        """The function's security group: out to the test listener's port and to HTTPS (the ECS API) only; returns its id."""
        group = named_security_group(
            self, "security_group", name=self.function_name, description="Smoke test: out to the load balancer's test listener only", vpc_id=vpc_id
        )
        self.security_group_id = group.id
        # The load balancer's public addresses are not known in advance (and change).
        tcp_rule(self, "egress_test_listener", security_group_id=group.id, port=test_port, description="to the test listener", cidr="0.0.0.0/0", egress=True)
        # Neither are the ECS API's (through the NAT gateways; the VPC has no ECS endpoint).
        tcp_rule(self, "egress_ecs_api", security_group_id=group.id, port=_HTTPS, description="to the ECS API", cidr="0.0.0.0/0", egress=True)
        return group.id

    def _role(
        self, aws: AwsContext, log_group_arn: str, kms_key_arn: str, cluster_name: str, service_name: str
    ) -> tuple[iam_role.IamRole, iam_role_policy.IamRolePolicy]:
        """The function's role and its policy: logs, its VPC network interfaces, tracing,
        decryption, and the revisions of this environment's service."""
        role = service_role(
            self,
            "role",
            name=self.function_name,
            service="lambda.amazonaws.com",
            aws=aws,
            description="Smoke test function: logs and its VPC network interfaces",
        )
        role_policy = inline_policy(
            self,
            "role_policy",
            role=role,
            name="logs-network-interfaces",
            statements=[
                allow(["logs:CreateLogStream", "logs:PutLogEvents"], [f"{log_group_arn}:*"], sid="WriteLogs"),
                # Lambda manages the function's network interfaces with the role: in this
                # account and region only.  EC2's Describe actions take no resource.
                allow(
                    ["ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"],
                    [aws.arn("ec2", f"{kind}/*") for kind in ("network-interface", "subnet", "security-group")],
                    sid="VpcNetworkInterfaces",
                ),
                allow(["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"], ["*"], sid="DescribeNetwork"),
                # X-Ray takes no resource either.
                allow(["xray:PutTraceSegments", "xray:PutTelemetryRecords"], ["*"], sid="Tracing"),
                allow(["kms:Decrypt"], [kms_key_arn], sid="DecryptEnvironment"),
                # The image digest of the revision under test.  A revision's ARN, and the
                # service's, which older IAM definitions name for this action.
                allow(
                    ["ecs:DescribeServiceRevisions"],
                    [aws.arn("ecs", f"service-revision/{cluster_name}/{service_name}/*"), aws.arn("ecs", f"service/{cluster_name}/{service_name}")],
                    sid="RevisionsOfTheService",
                ),
            ],
        )
        return role, role_policy

    def _function(
        self,
        config: DeploymentConfig,
        role: iam_role.IamRole,
        role_policy: iam_role_policy.IamRolePolicy,
        logs: cloudwatch_log_group.CloudwatchLogGroup,
        *,
        group_id: str,
        subnet_ids: Sequence[str],
        base_url: str,
        health_check_path: str,
        kms_key_arn: str,
    ) -> lambda_function.LambdaFunction:
        """The function from its reproducible package, told the base URL, the paths and the
        timeout; it waits for its role's policy and its log group."""
        source = Path(handler_module.__file__)
        archive = package(source)
        asset = TerraformAsset(self, "package", path=str(archive), type=AssetType.FILE)
        paths = [health_check_path, *config.smoke_paths]
        function = lambda_function.LambdaFunction(
            self,
            "function",
            function_name=self.function_name,
            description="ECS lifecycle hook: GET the new revision's paths on the test listener before production traffic moves",
            role=role.arn,
            runtime=RUNTIME,
            architectures=["arm64"],
            handler=f"{source.stem}.handler",
            filename=asset.path,
            source_code_hash=source_code_hash(archive),
            memory_size=128,
            timeout=function_timeout(config, len(paths)),
            kms_key_arn=kms_key_arn,
            environment=lambda_function.LambdaFunctionEnvironment(
                variables={
                    "SMOKE_BASE_URL": base_url,
                    "SMOKE_PATHS": json.dumps(paths),
                    "SMOKE_TIMEOUT_SECONDS": str(config.smoke_timeout_seconds),
                    "SMOKE_RETRY_SECONDS": str(config.smoke_retry_seconds),
                }
            ),
            vpc_config=lambda_function.LambdaFunctionVpcConfig(subnet_ids=list(subnet_ids), security_group_ids=[group_id]),
            logging_config=lambda_function.LambdaFunctionLoggingConfig(log_format="Text", log_group=logs.name),
            tracing_config=lambda_function.LambdaFunctionTracingConfig(mode="Active"),
            depends_on=[role_policy, logs],
        )
        self.function_arn = function.arn
        return function

    def _warmup(self, name_prefix: str, aws: AwsContext, function: lambda_function.LambdaFunction) -> None:
        """A schedule that sends the function the warm-up event every week, and the permission
        for that rule (and no other) to invoke it."""
        rule = cloudwatch_event_rule.CloudwatchEventRule(
            self,
            "warmup_rule",
            name=f"{name_prefix}-smoke-test-warmup",
            description="Keep the smoke test function from going idle (Inactive) between releases",
            schedule_expression=WARMUP_SCHEDULE,
        )
        cloudwatch_event_target.CloudwatchEventTarget(
            self, "warmup_target", rule=rule.name, target_id="smoke-test", arn=function.arn, input=json.dumps(handler_module.WARMUP_EVENT)
        )
        lambda_permission.LambdaPermission(
            self,
            "warmup_permission",
            statement_id="weekly-warmup",
            action="lambda:InvokeFunction",
            function_name=function.function_name,
            principal="events.amazonaws.com",
            source_arn=rule.arn,
            source_account=aws.account_id,
        )

    def _hook_role(self, name_prefix: str, aws: AwsContext, function_arn: str) -> None:
        """The role ECS invokes the function with during deployments, and its policy."""
        hook_role = service_role(
            self,
            "hook_role",
            name=f"{name_prefix}-ecs-smoke-hook",
            service="ecs.amazonaws.com",
            aws=aws,
            description="ECS invokes the smoke test function during deployments",
            # AWS documents this role's trust without conditions.
            source_account_condition=False,
        )
        self.hook_role_arn = hook_role.arn
        self.hook_role_policy = inline_policy(
            self,
            "hook_role_policy",
            role=hook_role,
            name="invoke-smoke-test",
            statements=[allow(["lambda:InvokeFunction"], [function_arn], sid="InvokeSmokeTest")],
        )
