"""The pipeline's identities: once per AWS account (IAM is global), before any environment."""

from __future__ import annotations

from stacks.components.pipeline import PipelineRoles
from stacks.config import PROJECT, STANDING_ENVIRONMENTS, STATE_KEY_ALIAS, PipelineConfig, RegistryConfig, StateConfig
from stacks.config.names import IDENTITY_STACK
from stacks.framework import Construct, TerraformOutput, TerraformStack
from stacks.pipeline_policies import Account
from stacks.provider import remote_stack

STACK_NAME = IDENTITY_STACK
#: The stacks HCP Terraform runs (one workspace each) when it holds the state.
CLOUD_STACKS = (f"{PROJECT}-account", f"{PROJECT}-registry", *(f"{PROJECT}-{env}" for env in STANDING_ENVIRONMENTS))


class IdentityStack(TerraformStack):
    """The GitHub OIDC provider (or an existing one), the roles that plan, deploy and
    release (one per purpose and environment, least privilege), the permissions boundary
    every role of an environment stack carries, and, with ``STATE_BACKEND=cloud``, HCP
    Terraform's provider and workspace roles.  Deployed by an administrator, once per
    account; its state lives with the others' (key ``order-api-identity/...``)."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        config: PipelineConfig,
        registry: RegistryConfig,
        region: str,
        state: StateConfig,
        state_region: str,
        tags: dict[str, str],
        endpoint_url: str | None = None,
    ) -> None:
        super().__init__(scope, id_)
        aws = remote_stack(self, stack_name=STACK_NAME, region=region, tags=tags, state=state, state_region=state_region, endpoint_url=endpoint_url)
        account = Account(aws.partition, aws.account_id, state.bucket, state.kms_key_id or STATE_KEY_ALIAS)
        cloud = None
        if state.backend == "cloud":
            assert state.cloud_organization is not None
            workspaces = [f"{state.workspace_prefix}{stack}" for stack in CLOUD_STACKS]
            cloud = (state.cloud_hostname, state.cloud_organization, state.cloud_project or "Default Project", workspaces)
        roles = PipelineRoles(
            self, "pipeline", config=config, account=account, aws=aws, environments=STANDING_ENVIRONMENTS, repository=registry.repository_name, cloud=cloud
        )
        for name, (value, description) in roles.outputs.items():
            TerraformOutput(self, name, value=value, description=description)
        TerraformOutput(self, "workload_boundary_arn", value=roles.boundary.arn, description="Permissions boundary every role of an environment stack carries")
