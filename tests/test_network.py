"""Network component: VPC, subnet tiers, NAT, routing, flow logs, endpoints."""

from __future__ import annotations

from stacks.aws import default_security_group, flow_log, nat_gateway, subnet, vpc, vpc_endpoint
from stacks.framework import Testing
from tests.conftest import Synthesized

DEV, PROD, STAGING, EPHEMERAL = "order-api-dev", "order-api-prod", "order-api-staging", "order-api-dev-pr42"


def test_vpc_has_dns_and_the_environment_cidr(synth: Synthesized) -> None:
    assert Testing.to_have_resource_with_properties(
        synth.text(PROD),
        vpc.Vpc.TF_RESOURCE_TYPE,
        {"cidr_block": "10.30.0.0/16", "enable_dns_hostnames": True, "enable_dns_support": True},
    )


def test_three_subnets_per_tier_in_three_pinned_azs(synth: Synthesized) -> None:
    subnets = synth.resources(DEV, subnet.Subnet.TF_RESOURCE_TYPE).values()
    by_tier: dict[str, list[str]] = {}
    for body in subnets:
        by_tier.setdefault(body["tags"]["tier"], []).append(body["availability_zone"])
    assert set(by_tier) == {"public", "private", "isolated"}
    for zones in by_tier.values():
        assert sorted(zones) == ["us-east-1a", "us-east-1b", "us-east-1c"]
    assert not any(body["map_public_ip_on_launch"] for body in subnets)


def test_private_subnet_is_large_and_carved_from_the_vpc(synth: Synthesized) -> None:
    assert Testing.to_have_resource_with_properties(
        synth.text(DEV),
        subnet.Subnet.TF_RESOURCE_TYPE,
        {"cidr_block": "10.10.0.0/20", "availability_zone": "us-east-1a", "tags": {"tier": "private"}},
    )


def test_prod_has_a_nat_gateway_per_az_and_dev_one(synth: Synthesized) -> None:
    assert len(synth.resources(PROD, nat_gateway.NatGateway.TF_RESOURCE_TYPE)) == 3
    assert len(synth.resources(DEV, nat_gateway.NatGateway.TF_RESOURCE_TYPE)) == 1


def test_private_routes_use_the_nat_gateway_of_their_az_in_prod(synth: Synthesized) -> None:
    routes = synth.resources(PROD, "aws_route")
    for i in range(3):
        body = synth.resource(PROD, "aws_route", f"private_nat_route_{i}")
        assert body["destination_cidr_block"] == "0.0.0.0/0"
        assert f"nat_gateway_{i}" in body["nat_gateway_id"]
    assert len(routes) == 6  # 3 public to the IGW, 3 private to NAT, none for isolated


def test_isolated_subnets_have_no_route_off_the_vpc(synth: Synthesized) -> None:
    for body in synth.resources(PROD, "aws_route").values():
        assert "isolated" not in body["route_table_id"]


def test_route_table_per_tier_and_az(synth: Synthesized) -> None:
    assert len(synth.resources(PROD, "aws_route_table")) == 9
    assert len(synth.resources(PROD, "aws_route_table_association")) == 9


def test_default_security_group_is_closed(synth: Synthesized) -> None:
    (body,) = synth.resources(DEV, default_security_group.DefaultSecurityGroup.TF_RESOURCE_TYPE).values()
    assert "ingress" not in body and "egress" not in body


def test_flow_logs_go_to_an_encrypted_log_group(synth: Synthesized) -> None:
    assert Testing.to_have_resource_with_properties(
        synth.text(DEV), flow_log.FlowLog.TF_RESOURCE_TYPE, {"traffic_type": "ALL", "log_destination_type": "cloud-watch-logs"}
    )
    group = synth.resource(DEV, "aws_cloudwatch_log_group", "flow_log_group")
    assert group["name"] == "/aws/vpc/order-api-dev/flow-logs"
    assert group["retention_in_days"] == 7
    assert "aws_kms_key.logs_key" in group["kms_key_id"]
    assert synth.resource(PROD, "aws_cloudwatch_log_group", "flow_log_group")["retention_in_days"] == 365


def test_flow_log_role_is_scoped_to_its_log_group(synth: Synthesized) -> None:
    doc = synth.doc(DEV)["data"]["aws_iam_policy_document"]
    (policy,) = [b for b in doc.values() if b["//"]["metadata"]["path"].endswith("network/flow_log_policy")]
    write, describe = policy["statement"]
    assert write["resources"] == ["${aws_cloudwatch_log_group.network_flow_log_group_03070248.arn}:*"]
    assert describe["actions"] == ["logs:DescribeLogGroups"]
    assert describe["resources"][0].endswith(":log-group:*")
    assert all("*" not in s["actions"] for s in policy["statement"])


def test_s3_gateway_endpoint_serves_private_and_isolated_tables(synth: Synthesized) -> None:
    endpoint = synth.resource(DEV, vpc_endpoint.VpcEndpoint.TF_RESOURCE_TYPE, "s3_endpoint")
    assert endpoint["vpc_endpoint_type"] == "Gateway"
    assert endpoint["service_name"] == "com.amazonaws.us-east-1.s3"
    assert len(endpoint["route_table_ids"]) == 6


def test_interface_endpoints_switch_with_config(synth: Synthesized) -> None:
    interface = [
        b["service_name"] for b in synth.resources(STAGING, vpc_endpoint.VpcEndpoint.TF_RESOURCE_TYPE).values() if b["vpc_endpoint_type"] == "Interface"
    ]
    assert sorted(interface) == sorted(f"com.amazonaws.us-east-1.{s}" for s in ("ecr.api", "ecr.dkr", "logs", "secretsmanager", "ssm"))
    dev_types = {b["vpc_endpoint_type"] for b in synth.resources(DEV, vpc_endpoint.VpcEndpoint.TF_RESOURCE_TYPE).values()}
    assert dev_types == {"Gateway"}


def test_endpoint_security_group_allows_https_from_the_vpc_only(synth: Synthesized) -> None:
    rule = synth.resource(STAGING, "aws_vpc_security_group_ingress_rule", "endpoints_https_from_vpc")
    assert (rule["from_port"], rule["to_port"], rule["cidr_ipv4"]) == (443, 443, "10.20.0.0/16")


def test_ephemeral_stack_names_carry_the_suffix(synth: Synthesized) -> None:
    assert Testing.to_have_resource_with_properties(
        synth.text(EPHEMERAL), vpc.Vpc.TF_RESOURCE_TYPE, {"cidr_block": "10.100.0.0/16", "tags": {"Name": "order-api-dev-pr42-vpc"}}
    )
    names = [b["tags"]["Name"] for b in synth.resources(EPHEMERAL, subnet.Subnet.TF_RESOURCE_TYPE).values()]
    assert names and all(n.startswith("order-api-dev-pr42-") for n in names)


def test_resources_carry_the_component_tag(synth: Synthesized) -> None:
    assert Testing.to_have_resource_with_properties(synth.text(DEV), vpc.Vpc.TF_RESOURCE_TYPE, {"tags": {"component": "network"}})


def test_no_availability_zone_lookup(synth: Synthesized) -> None:
    assert "aws_availability_zones" not in synth.doc(PROD).get("data", {})
