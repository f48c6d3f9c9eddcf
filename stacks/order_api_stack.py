"""One environment of the order API: provider, backend, components, outputs."""

from __future__ import annotations

from cdktf import Aspects, TerraformOutput, TerraformStack
from constructs import Construct

from stacks.aspects import ComponentTags, Guardrails
from stacks.aws import data_aws_caller_identity, data_aws_partition, provider
from stacks.backend import configure_backend
from stacks.components.common import AwsContext, EncryptionKey
from stacks.components.network import Network
from stacks.config import EnvironmentConfig, StateConfig


class OrderApiStack(TerraformStack):
    """A thin composition: every resource lives in a component."""

    def __init__(self, scope: Construct, id_: str, *, config: EnvironmentConfig, state: StateConfig, state_region: str) -> None:
        super().__init__(scope, id_)
        self.config = config
        provider.AwsProvider(
            self,
            "aws",
            region=config.region,
            default_tags=[provider.AwsProviderDefaultTags(tags=config.tags)],
        )
        configure_backend(self, state=state, stack_name=config.stack_name, region=state_region)

        identity = data_aws_caller_identity.DataAwsCallerIdentity(self, "caller")
        partition = data_aws_partition.DataAwsPartition(self, "partition")
        aws = AwsContext(account_id=identity.account_id, partition=partition.partition, region=config.region)
        prefix = config.name_prefix

        self.log_key = EncryptionKey(
            self,
            "logs_key",
            alias=f"{prefix}-logs",
            description=f"{prefix}: CloudWatch Logs encryption",
            aws=aws,
            service_principals=[f"logs.{config.region}.amazonaws.com"],
            encryption_context={"aws:logs:arn": aws.arn("logs", "log-group:*")},
        )
        retention = config.monitoring.log_retention_days

        self.network = Network(
            self,
            "network",
            name_prefix=prefix,
            config=config.network,
            aws=aws,
            log_retention_days=retention,
            log_key_arn=self.log_key.arn,
        )
        Aspects.of(self.network).add(ComponentTags("network"))

        self._output("vpc_id", self.network.vpc_id, "ID of the VPC")
        self._output("public_subnet_ids", self.network.public_subnet_ids, "Public subnets (ALB, NAT), one per AZ")
        self._output("private_subnet_ids", self.network.private_subnet_ids, "Private subnets (ECS tasks), one per AZ")
        self._output("isolated_subnet_ids", self.network.isolated_subnet_ids, "Isolated subnets (database), one per AZ")

        Aspects.of(self).add(Guardrails(production=config.is_production))

    def _output(self, name: str, value: object, description: str, *, sensitive: bool = False) -> None:
        TerraformOutput(self, name, value=value, description=description, sensitive=sensitive)
