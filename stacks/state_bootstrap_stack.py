"""The S3 bucket that holds the other stacks' remote state (itself on local state)."""

from __future__ import annotations

from stacks.aws import (
    s3_bucket,
    s3_bucket_lifecycle_configuration,
    s3_bucket_policy,
)
from stacks.backend import configure_backend, local_backend
from stacks.components.common import EncryptionKey, account_context, deny_insecure_transport, harden_bucket, policy_document
from stacks.config import STATE_KEY_ALIAS, StateConfig
from stacks.config.names import STATE_STACK
from stacks.framework import Construct, TerraformOutput, TerraformStack
from stacks.provider import aws_provider

STACK_NAME = STATE_STACK

#: Days a replaced state version is kept (state history for recovery).
NONCURRENT_VERSION_DAYS = 90


class StateBootstrapStack(TerraformStack):
    """Creates the state bucket: versioned, KMS-encrypted, private, TLS only.

    Apply it once per account (``make bootstrap``).  Its own state is local, in
    ``terraform-state/order-api-state.tfstate`` at the project root, outside the
    synthesis output: keep that file safe, or move it into the bucket (``state``
    given: ``TF_STATE_BOOTSTRAP_BACKEND=s3``, see the README).
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        bucket_name: str,
        region: str,
        tags: dict[str, str],
        endpoint_url: str | None = None,
        state: StateConfig | None = None,
    ) -> None:
        super().__init__(scope, id_)
        aws_provider(self, region=region, tags=tags, endpoint_url=endpoint_url)
        if state is None:
            local_backend(self, STACK_NAME)
        else:
            # After `terraform init -migrate-state`: the stack's state lives in its own bucket.
            configure_backend(self, state=state, stack_name=STACK_NAME, region=region, endpoint_url=endpoint_url)
        aws = account_context(self, region)

        key = EncryptionKey(self, "state_key", alias=STATE_KEY_ALIAS.removeprefix("alias/"), description="Terraform state encryption", aws=aws)
        bucket = s3_bucket.S3Bucket(self, "state_bucket", bucket=bucket_name, lifecycle={"prevent_destroy": True})
        harden_bucket(self, "state_bucket", bucket.id, kms_key_arn=key.arn)
        lc = s3_bucket_lifecycle_configuration
        lc.S3BucketLifecycleConfiguration(
            self,
            "state_bucket_lifecycle",
            bucket=bucket.id,
            rule=[
                lc.S3BucketLifecycleConfigurationRule(
                    id="expire-old-state-versions",
                    status="Enabled",
                    filter=[lc.S3BucketLifecycleConfigurationRuleFilter(prefix="")],
                    noncurrent_version_expiration=[lc.S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(noncurrent_days=NONCURRENT_VERSION_DAYS)],
                    abort_incomplete_multipart_upload=[lc.S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(days_after_initiation=7)],
                )
            ],
        )
        s3_bucket_policy.S3BucketPolicy(
            self,
            "state_bucket_policy",
            bucket=bucket.id,
            policy=policy_document(
                self,
                "state_bucket_tls_only",
                [deny_insecure_transport(["s3:*"], [bucket.arn, f"{bucket.arn}/*"])],
            ),
        )
        TerraformOutput(self, "state_bucket_name", value=bucket.bucket, description="Name of the Terraform state bucket")
        TerraformOutput(self, "state_bucket_arn", value=bucket.arn, description="ARN of the Terraform state bucket")
        TerraformOutput(self, "state_kms_key_arn", value=key.arn, description="KMS key encrypting the state objects")
