"""Remote state for a stack: S3 (encrypted, locked), Terraform Cloud, or local.

Local state never lives inside the synthesis output (``cdktf.out``), which
every synth replaces: it goes to :data:`LOCAL_STATE_DIR` beside that output,
``terraform-state/`` at the project root by default.  The path in the JSON is
relative to the stack's directory (``cdktf.out/stacks/<stack>/``), where
Terraform runs, so it names no machine path and stays deterministic.
"""

from __future__ import annotations

from stacks.config import StateConfig
from stacks.config.state import local_state_file
from stacks.framework import CloudBackend, LocalBackend, NamedCloudWorkspace, S3Backend, S3BackendEndpointConfig, TerraformStack


def state_key(stack_name: str) -> str:
    """Object key of a stack's state in the state bucket."""
    return f"{stack_name}/terraform.tfstate"


def local_backend(stack: TerraformStack, stack_name: str) -> None:
    """Local state in :func:`local_state_file`, addressed from ``<outdir>/stacks/<stack>/``."""
    LocalBackend(stack, path=f"../../../{local_state_file(stack_name)}")


def configure_backend(stack: TerraformStack, *, state: StateConfig, stack_name: str, region: str, endpoint_url: str | None = None) -> None:
    """Attach the configured backend.  ``region`` is the state bucket's region;
    ``endpoint_url`` points the S3 backend at a local emulator."""
    if state.backend == "s3":
        backend = S3Backend(
            stack,
            bucket=state.bucket,
            key=state_key(stack_name),
            region=region,
            encrypt=True,
            kms_key_id=state.kms_key_id,
            endpoints=S3BackendEndpointConfig(s3=endpoint_url, sts=endpoint_url, iam=endpoint_url) if endpoint_url else None,
            use_path_style=True if endpoint_url else None,
            skip_credentials_validation=True if endpoint_url else None,
            skip_metadata_api_check=True if endpoint_url else None,
            skip_region_validation=True if endpoint_url else None,
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
        local_backend(stack, stack_name)
