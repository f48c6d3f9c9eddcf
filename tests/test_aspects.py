"""Guardrails fail synthesis; component tags label resources."""

from __future__ import annotations

import pytest

from stacks.aspects import ComponentTags, Guardrails
from stacks.aws import cloudwatch_log_group, kms_key, provider, security_group, vpc_security_group_ingress_rule
from stacks.framework import App, Aspects, TerraformStack, Testing


def make_stack(tmp_path, *, production: bool = False) -> tuple[App, TerraformStack]:
    app = App(outdir=str(tmp_path))
    stack = TerraformStack(app, "guarded")
    provider.AwsProvider(stack, "aws", region="us-east-1")
    Aspects.of(stack).add(Guardrails(production=production))
    return app, stack


def synth_error(app: App) -> str:
    with pytest.raises(RuntimeError) as excinfo:
        app.synth()
    return str(excinfo.value)


def test_fails_ssh_open_to_the_internet(tmp_path) -> None:
    app, stack = make_stack(tmp_path)
    vpc_security_group_ingress_rule.VpcSecurityGroupIngressRule(
        stack, "ssh", security_group_id="sg-1", ip_protocol="tcp", from_port=22, to_port=22, cidr_ipv4="0.0.0.0/0"
    )
    assert "ingress from the internet is only allowed on ports (80, 443)" in synth_error(app)
    assert not (tmp_path / "stacks" / "guarded" / "cdk.tf.json").exists()


def test_fails_inline_rule_open_to_the_internet(tmp_path) -> None:
    app, stack = make_stack(tmp_path)
    security_group.SecurityGroup(
        stack,
        "sg",
        ingress=[security_group.SecurityGroupIngress(from_port=0, to_port=65535, protocol="tcp", cidr_blocks=["0.0.0.0/0"])],
    )
    assert "guardrail: aws_security_group" in synth_error(app)


def test_https_from_the_internet_is_allowed(tmp_path) -> None:
    app, stack = make_stack(tmp_path)
    vpc_security_group_ingress_rule.VpcSecurityGroupIngressRule(
        stack, "https", security_group_id="sg-1", ip_protocol="tcp", from_port=443, to_port=443, cidr_ipv4="0.0.0.0/0"
    )
    app.synth()
    assert (tmp_path / "stacks" / "guarded" / "cdk.tf.json").is_file()


def test_fails_unencrypted_log_group_without_retention(tmp_path) -> None:
    app, stack = make_stack(tmp_path)
    cloudwatch_log_group.CloudwatchLogGroup(stack, "logs", name="plain")
    message = synth_error(app)
    assert "customer-managed KMS key" in message
    assert "retention_in_days" in message


def test_fails_kms_key_without_rotation(tmp_path) -> None:
    app, stack = make_stack(tmp_path)
    kms_key.KmsKey(stack, "key", description="no rotation")
    assert "enable_key_rotation" in synth_error(app)


def test_fails_unprotected_database_in_production(tmp_path) -> None:
    from stacks.framework import TerraformResource

    app, stack = make_stack(tmp_path, production=True)
    TerraformResource(stack, "db", terraform_resource_type="aws_rds_cluster").add_override("deletion_protection", False)
    assert "aws_rds_cluster.deletion_protection must be true in production" in synth_error(app)


def test_component_tags_are_added(tmp_path) -> None:
    app = App(outdir=str(tmp_path))
    stack = TerraformStack(app, "tagged")
    provider.AwsProvider(stack, "aws", region="us-east-1")
    kms_key.KmsKey(stack, "key", enable_key_rotation=True, tags={"Name": "k"})
    Aspects.of(stack).add(ComponentTags("database"))
    assert Testing.to_have_resource_with_properties(Testing.synth(stack), kms_key.KmsKey.TF_RESOURCE_TYPE, {"tags": {"Name": "k", "component": "database"}})
