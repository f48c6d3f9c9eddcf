"""Shared helpers of the components."""

from __future__ import annotations

import pytest

from stacks.components.common import AwsContext, deny_insecure_transport, tcp_rule
from stacks.framework import App, TerraformStack, Testing


def test_tcp_rule_needs_exactly_one_peer(tmp_path) -> None:
    stack = TerraformStack(App(outdir=str(tmp_path)), "s")
    with pytest.raises(ValueError, match="exactly one"):
        tcp_rule(stack, "both", security_group_id="sg-1", port=443, description="x", cidr="10.0.0.0/8", peer_security_group_id="sg-2")
    with pytest.raises(ValueError, match="exactly one"):
        tcp_rule(stack, "neither", security_group_id="sg-1", port=443, description="x")


def test_tcp_rule_egress_to_a_group(tmp_path) -> None:
    stack = TerraformStack(App(outdir=str(tmp_path)), "s")
    tcp_rule(stack, "out", security_group_id="sg-1", port=3306, description="db", peer_security_group_id="sg-2", egress=True)
    assert Testing.to_have_resource_with_properties(
        Testing.synth(stack),
        "aws_vpc_security_group_egress_rule",
        {"security_group_id": "sg-1", "from_port": 3306, "to_port": 3306, "ip_protocol": "tcp", "referenced_security_group_id": "sg-2"},
    )


def test_deny_insecure_transport_statement() -> None:
    statement = deny_insecure_transport(["s3:*"], ["arn:aws:s3:::b", "arn:aws:s3:::b/*"])
    assert (statement.sid, statement.effect) == ("DenyInsecureTransport", "Deny")
    assert statement.actions == ["s3:*"]
    assert statement.resources == ["arn:aws:s3:::b", "arn:aws:s3:::b/*"]
    (principal,) = statement.principals  # type: ignore[misc]
    assert (principal.type, principal.identifiers) == ("*", ["*"])
    (condition,) = statement.condition  # type: ignore[misc]
    assert (condition.test, condition.variable, condition.values) == ("Bool", "aws:SecureTransport", ["false"])


def test_arn_builder_uses_partition_and_account_references() -> None:
    aws = AwsContext(account_id="${acct}", partition="${part}", region="eu-west-1")
    assert aws.arn("logs", "log-group:*") == "arn:${part}:logs:eu-west-1:${acct}:log-group:*"
    assert aws.account_root == "arn:${part}:iam::${acct}:root"
