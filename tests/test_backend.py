"""Remote state: S3 (encrypted, locked), Terraform Cloud, local; the bootstrap stack."""

from __future__ import annotations

import json
import re

import pytest

from stacks.aws import s3_bucket_public_access_block, s3_bucket_versioning
from stacks.backend import configure_backend
from stacks.config import REGIONS, StateConfig
from stacks.config.state import LOCAL_STATE_DIR, local_state_file
from stacks.framework import App, TerraformStack, Testing
from tests.conftest import Synthesized

ENV_STACKS = ["order-api-dev", "order-api-staging", "order-api-prod", "order-api-dev-pr42"]


@pytest.mark.parametrize("stack", ENV_STACKS)
def test_s3_backend_per_stack_encrypted_and_locked(synth: Synthesized, stack: str) -> None:
    backend = synth.doc(stack)["terraform"]["backend"]
    assert backend == {
        "s3": {
            "bucket": "order-api-terraform-state",
            "key": f"{stack}/terraform.tfstate",
            "region": "us-east-1",
            "encrypt": True,
            "kms_key_id": "alias/order-api-terraform-state",
            "use_lockfile": True,
        }
    }


def test_state_is_encrypted_with_the_bootstrap_stack_key(synth: Synthesized) -> None:
    # With encrypt and no key, Terraform would write SSE-S3 objects instead of using the bucket's KMS key.
    (alias,) = synth.resources("order-api-state", "aws_kms_alias").values()
    assert synth.doc("order-api-dev")["terraform"]["backend"]["s3"]["kms_key_id"] == alias["name"]


def test_s3_backend_takes_kms_key_and_state_region(tmp_path) -> None:
    app = App(outdir=str(tmp_path))
    stack = TerraformStack(app, "s")
    state = StateConfig(bucket="acme-state", region="eu-west-1", kms_key_id="alias/terraform-state")
    configure_backend(stack, state=state, stack_name="s", region=state.region or "")
    s3 = Testing.synth(stack)
    assert '"kms_key_id": "alias/terraform-state"' in s3
    assert '"region": "eu-west-1"' in s3


@pytest.mark.parametrize("stack", ["order-api-dev", "order-api-dev-pr42", "order-api-registry"])
def test_cloud_backend_one_workspace_per_stack(synth_cloud: Synthesized, stack: str) -> None:
    terraform = synth_cloud.doc(stack)["terraform"]
    assert "backend" not in terraform
    assert terraform["cloud"] == {
        "hostname": "app.terraform.io",
        "organization": "acme",
        "workspaces": {"name": f"aws-{stack}", "project": "order-api"},
    }


def test_local_backend_keeps_state_outside_the_synthesis_output(tmp_path) -> None:
    app = App(outdir=str(tmp_path))
    stack = TerraformStack(app, "s")
    configure_backend(stack, state=StateConfig(backend="local"), stack_name="s", region="us-east-1")
    # Relative to <outdir>/stacks/s/, where Terraform runs: <outdir>/../terraform-state/s.tfstate.
    assert json.loads(Testing.synth(stack))["terraform"]["backend"] == {"local": {"path": "../../../terraform-state/s.tfstate"}}
    assert local_state_file("s") == f"{LOCAL_STATE_DIR}/s.tfstate"


def test_local_state_path_resolves_beside_the_output_directory(tmp_path) -> None:
    path = "../../../" + local_state_file("order-api-state")
    stack_dir = tmp_path / "cdktf.out" / "stacks" / "order-api-state"
    assert (stack_dir / path).resolve() == (tmp_path / "terraform-state" / "order-api-state.tfstate").resolve()


def test_bootstrap_stack_uses_local_state(synth: Synthesized) -> None:
    assert synth.doc("order-api-state")["terraform"]["backend"] == {"local": {"path": "../../../terraform-state/order-api-state.tfstate"}}


def test_emulator_endpoint_reaches_the_s3_backend(tmp_path) -> None:
    app = App(outdir=str(tmp_path))
    stack = TerraformStack(app, "s")
    configure_backend(stack, state=StateConfig(), stack_name="s", region="us-east-1", endpoint_url="http://127.0.0.1:5000")
    s3 = json.loads(Testing.synth(stack))["terraform"]["backend"]["s3"]
    assert s3["endpoints"] == {"s3": "http://127.0.0.1:5000", "sts": "http://127.0.0.1:5000", "iam": "http://127.0.0.1:5000"}
    assert s3["use_path_style"] is True
    assert s3["skip_credentials_validation"] is True


def test_bootstrap_bucket_is_versioned_private_and_kms_encrypted(synth: Synthesized) -> None:
    text = synth.text("order-api-state")
    assert Testing.to_have_resource_with_properties(text, "aws_s3_bucket", {"bucket": "order-api-terraform-state", "lifecycle": {"prevent_destroy": True}})
    assert Testing.to_have_resource_with_properties(
        text, s3_bucket_versioning.S3BucketVersioningA.TF_RESOURCE_TYPE, {"versioning_configuration": {"status": "Enabled"}}
    )
    assert Testing.to_have_resource_with_properties(
        text,
        s3_bucket_public_access_block.S3BucketPublicAccessBlock.TF_RESOURCE_TYPE,
        {"block_public_acls": True, "block_public_policy": True, "ignore_public_acls": True, "restrict_public_buckets": True},
    )
    sse = synth.resource("order-api-state", "aws_s3_bucket_server_side_encryption_configuration", "state_bucket_encryption")
    default = sse["rule"][0]["apply_server_side_encryption_by_default"]
    assert default["sse_algorithm"] == "aws:kms"
    assert "aws_kms_key.state_key" in default["kms_master_key_id"]


def test_bootstrap_bucket_denies_plain_http(synth: Synthesized) -> None:
    docs = synth.doc("order-api-state")["data"]["aws_iam_policy_document"]
    (policy,) = [d for d in docs.values() if d["//"]["metadata"]["path"].endswith("state_bucket_tls_only")]
    (statement,) = policy["statement"]
    assert statement["effect"] == "Deny"
    assert statement["condition"] == [{"test": "Bool", "variable": "aws:SecureTransport", "values": ["false"]}]


def test_bootstrap_bucket_follows_override(synth_state_settings: Synthesized) -> None:
    out = synth_state_settings
    assert Testing.to_have_resource_with_properties(out.text("order-api-state"), "aws_s3_bucket", {"bucket": "acme-order-api-state"})
    assert out.doc("order-api-dev")["terraform"]["backend"]["s3"]["region"] == "eu-central-1"
    assert out.doc("order-api-state")["provider"]["aws"][0]["region"] == "eu-central-1"


def test_provider_has_region_and_default_tags(synth: Synthesized) -> None:
    assert Testing.to_have_provider_with_properties(
        synth.text("order-api-prod"),
        "aws",
        {
            "region": "us-east-1",
            "default_tags": [
                {
                    "tags": {
                        "project": "order-api",
                        "environment": "prod",
                        "managed-by": "cdktf",
                        "owner": "platform-team",
                        "cost-center": "order-api",
                    }
                }
            ],
        },
    )


def test_no_hard_coded_account_ids(synth: Synthesized) -> None:
    # The only 12-digit numbers are AWS's own ELB log-delivery accounts (from the region table).
    elb_accounts = {r.elb_account for r in REGIONS.values() if r.elb_account}
    for stack in synth.stack_names():
        assert set(re.findall(r"\b\d{12}\b", synth.text(stack))) <= elb_accounts, stack


def test_the_bootstrap_state_can_move_into_its_own_bucket(synth_state_settings: Synthesized) -> None:
    out = synth_state_settings
    backend = out.doc("order-api-state")["terraform"]["backend"]["s3"]
    assert (backend["bucket"], backend["key"], backend["encrypt"], backend["use_lockfile"]) == (
        "acme-order-api-state",
        "order-api-state/terraform.tfstate",
        True,
        True,
    )
    assert out.resource("order-api-state", "aws_s3_bucket", "state_bucket")["lifecycle"] == {"prevent_destroy": True}
