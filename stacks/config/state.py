"""Where Terraform keeps state: S3, Terraform Cloud / HCP Terraform, or local."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from stacks.config.names import PROJECT
from stacks.config.regions import validate_region
from stacks.config.validate import DNS_NAME, DNS_NAME_LIMIT, _one_of, _require, valid_port, validate_bucket_name

#: Alias of the KMS key the state bootstrap stack creates for the state bucket.
STATE_KEY_ALIAS = f"alias/{PROJECT}-terraform-state"
STATE_BACKENDS = ("s3", "cloud", "local")

# Terraform Cloud / HCP Terraform names: letters, digits, '-' and '_' (projects also
# inner spaces); workspace names at most 90 characters.
#: Folder, beside the synthesis output, that holds every local state file.
LOCAL_STATE_DIR = "terraform-state"


def local_state_file(stack_name: str) -> str:
    """Where a stack with local state keeps it, relative to the project root."""
    return f"{LOCAL_STATE_DIR}/{stack_name}.tfstate"


_ORG_RE = re.compile(r"[A-Za-z0-9_-]{1,40}")
_PROJECT_RE = re.compile(r"[A-Za-z0-9_-]+( [A-Za-z0-9_-]+)*")
_WORKSPACE_PREFIX_RE = re.compile(r"[A-Za-z0-9_-]{0,40}")
WORKSPACE_NAME_LIMIT = 90
#: A Terraform Cloud / Enterprise host: a DNS name (any letter case: Terraform compares
#: host names case-insensitively) and an optional port.
_HOSTNAME_RE = re.compile(rf"(?P<name>{DNS_NAME})(:(?P<port>[0-9]{{1,5}}))?")

# KMS key identifiers: a key id (UUID, or mrk- and 32 hex for a multi-Region key), an
# alias name (alias/ + letters, digits, / _ -, at most 256 in all), or the ARN of either.
_KEY_ID = r"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})"
_ALIAS = r"alias/[A-Za-z0-9/_-]+"
_KMS_ARN_PREFIX = r"arn:aws(-cn|-us-gov)?:kms:[a-z]{2}(-gov)?-[a-z]+-[0-9]:[0-9]{12}:"
_KMS_KEY_RE = re.compile(rf"({_KEY_ID}|{_ALIAS}|{_KMS_ARN_PREFIX}key/{_KEY_ID}|{_KMS_ARN_PREFIX}{_ALIAS})")
KMS_ALIAS_LIMIT = 256
KMS_KEY_ID_LIMIT = 2048


def valid_kms_key_id(value: str) -> bool:
    """Whether ``value`` is a KMS key id, multi-Region key id, alias name, key ARN or alias ARN."""
    if not _KMS_KEY_RE.fullmatch(value) or len(value) > KMS_KEY_ID_LIMIT:
        return False
    alias = value[value.index("alias/") :] if "alias/" in value else None
    return alias is None or (len(alias) <= KMS_ALIAS_LIMIT and not alias.endswith("/"))


@dataclass(frozen=True)
class StateConfig:
    """Where Terraform keeps state for the environment stacks.

    ``s3``: a bucket (see the bootstrap stack) with one key per stack,
    encryption and S3-native locking.  ``cloud``: one Terraform Cloud / HCP
    Terraform workspace per stack.  ``local``: a file in ``terraform-state/``
    beside the synthesis output (for trying things out only).
    """

    backend: Literal["s3", "cloud", "local"] = "s3"
    #: State bucket (``s3``).  Created by the ``order-api-state`` stack.
    bucket: str = "order-api-terraform-state"
    #: Region of the state bucket; defaults to the stacks' region.
    region: str | None = None
    #: KMS key (id, ARN or alias) that encrypts the state objects.  Default: the key
    #: the ``order-api-state`` stack creates.  (With ``encrypt`` and no key, Terraform
    #: would write SSE-S3 objects, overriding the bucket's KMS default.)
    kms_key_id: str | None = STATE_KEY_ALIAS
    #: Terraform Cloud organization (required for ``cloud``).
    cloud_organization: str | None = None
    #: Terraform Cloud project for the workspaces (optional).
    cloud_project: str | None = None
    #: Terraform Cloud / Enterprise hostname.
    cloud_hostname: str = "app.terraform.io"
    #: Prefix of each workspace name (workspace = prefix + stack name).
    workspace_prefix: str = ""
    #: Where the state bucket's own stack keeps its state: ``local`` (``terraform-state/``,
    #: the only choice before the bucket exists) or ``s3`` (in the bucket it created, once
    #: migrated with ``terraform init -migrate-state``; see the README).  Default ``local``.
    bootstrap_backend: Literal["local", "s3"] = "local"

    def __post_init__(self) -> None:
        _one_of("STATE_BACKEND", self.backend, STATE_BACKENDS)
        validate_bucket_name("TF_STATE_BUCKET", self.bucket)
        if self.region is not None:
            validate_region("TF_STATE_REGION", self.region)
        if self.kms_key_id is not None:
            _require(
                valid_kms_key_id(self.kms_key_id),
                "TF_STATE_KMS_KEY_ID",
                self.kms_key_id,
                "a KMS key id (UUID or mrk- and 32 hex), alias/NAME (at most 256 characters), or a key or alias ARN",
            )
        if self.backend == "cloud":
            _require(self.cloud_organization is not None, "TF_CLOUD_ORGANIZATION", self.cloud_organization, "required when STATE_BACKEND=cloud")
        if self.cloud_organization is not None:
            _require(bool(_ORG_RE.fullmatch(self.cloud_organization)), "TF_CLOUD_ORGANIZATION", self.cloud_organization, "1-40 letters, digits, '-' or '_'")
        if self.cloud_project is not None:
            _require(
                bool(_PROJECT_RE.fullmatch(self.cloud_project)) and len(self.cloud_project) <= 40,
                "TF_CLOUD_PROJECT",
                self.cloud_project,
                "1-40 letters, digits, '-', '_' or single inner spaces",
            )
        host = _HOSTNAME_RE.fullmatch(self.cloud_hostname or "")
        _require(
            host is not None and len(host["name"]) <= DNS_NAME_LIMIT and valid_port(host["port"]),
            "TF_CLOUD_HOSTNAME",
            self.cloud_hostname,
            "a DNS host name (ASCII letters of either case, digits, inner hyphens, at most 253 characters) "
            "with an optional :port 1-65535, such as app.terraform.io or tfe.example.com:8443",
        )
        _require(bool(_WORKSPACE_PREFIX_RE.fullmatch(self.workspace_prefix)), "TF_WORKSPACE_PREFIX", self.workspace_prefix, "0-40 letters, digits, '-' or '_'")
        _one_of("TF_STATE_BOOTSTRAP_BACKEND", self.bootstrap_backend, ("local", "s3"))
