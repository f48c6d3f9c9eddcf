"""The image registry every environment pulls from: applied once per account, before any environment."""

from __future__ import annotations

from stacks.components.common import EncryptionKey
from stacks.components.registry import Registry
from stacks.config import PROJECT, STANDING_ENVIRONMENTS, RegistryConfig, StateConfig
from stacks.framework import Construct, TerraformOutput, TerraformStack
from stacks.provider import remote_stack

STACK_NAME = f"{PROJECT}-registry"


class RegistryStack(TerraformStack):
    """One ECR repository (``registry.repository_name``) and the KMS key that encrypts
    its images.  Images are built once, pushed here and promoted by digest from dev
    to staging to prod; suffixed copies of dev pull from it too.  Its state lives
    with the environments' (same backend, key ``order-api-registry/...``)."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        config: RegistryConfig,
        region: str,
        state: StateConfig,
        state_region: str,
        tags: dict[str, str],
        endpoint_url: str | None = None,
    ) -> None:
        super().__init__(scope, id_)
        aws = remote_stack(self, stack_name=STACK_NAME, region=region, tags=tags, state=state, state_region=state_region, endpoint_url=endpoint_url)
        key = EncryptionKey(self, "registry_key", alias=f"{PROJECT}-registry", description=f"{PROJECT}: container images", aws=aws)
        registry = Registry(
            self,
            "registry",
            name=config.repository_name,
            kms_key_arn=key.arn,
            keep_images=config.keep_images,
            environments=STANDING_ENVIRONMENTS,
            untagged_expiry_days=config.untagged_expiry_days,
            mutable_tags=config.mutable_tags,
        )
        TerraformOutput(self, "ecr_repository_url", value=registry.repository_url, description="ECR repository URL: push images here")
        TerraformOutput(self, "ecr_repository_arn", value=registry.repository_arn, description="ECR repository ARN")
        TerraformOutput(self, "ecr_repository_name", value=registry.repository_name, description="ECR repository name (the environments look it up by name)")
