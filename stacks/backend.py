"""Remote state for a stack: S3 (encrypted, locked), Terraform Cloud, or local."""

from __future__ import annotations

from cdktf import CloudBackend, LocalBackend, NamedCloudWorkspace, S3Backend, TerraformStack

from stacks.config import StateConfig


def state_key(stack_name: str) -> str:
    """Object key of a stack's state in the state bucket."""
    return f"{stack_name}/terraform.tfstate"


def configure_backend(stack: TerraformStack, *, state: StateConfig, stack_name: str, region: str) -> None:
    """Attach the configured backend.  ``region`` is the state bucket's region."""
    if state.backend == "s3":
        backend = S3Backend(
            stack,
            bucket=state.bucket,
            key=state_key(stack_name),
            region=region,
            encrypt=True,
            kms_key_id=state.kms_key_id,
        )
        # S3-native locking (Terraform >= 1.10).  cdktf 0.21's S3Backend has no
        # use_lockfile property, so it is added to the synthesized block directly.
        backend.add_override("use_lockfile", True)
    elif state.backend == "cloud":
        assert state.cloud_organization is not None  # checked by StateConfig
        CloudBackend(
            stack,
            hostname=state.cloud_hostname,
            organization=state.cloud_organization,
            workspaces=NamedCloudWorkspace(name=f"{state.workspace_prefix}{stack_name}", project=state.cloud_project),
        )
    else:
        LocalBackend(stack, path=f"terraform.{stack_name}.tfstate")
