"""Load balancer component: ALB, listeners, blue/green target groups, access logs, certificate."""

from __future__ import annotations

import json
from typing import Any

import pytest

from stacks.aws import lb, lb_target_group, provider
from stacks.components.common import AwsContext
from stacks.components.load_balancer import LoadBalancer
from stacks.config import LoadBalancerConfig, build_app_config
from stacks.framework import TerraformStack, Testing
from tests.conftest import Synthesized

DEV, PROD, STAGING, EPHEMERAL = "order-api-dev", "order-api-prod", "order-api-staging", "order-api-dev-pr42"


def test_internet_facing_alb_in_public_subnets_with_secure_defaults(synth: Synthesized) -> None:
    body = synth.resource(PROD, lb.Lb.TF_RESOURCE_TYPE, "load_balancer/alb")
    assert body["internal"] is False and body["load_balancer_type"] == "application"
    assert all("public_subnet" in s for s in body["subnets"])
    assert body["drop_invalid_header_fields"] is True
    assert body["desync_mitigation_mode"] == "strictest"
    assert body["enable_deletion_protection"] is True
    assert body["access_logs"]["enabled"] is True
    assert synth.resource(DEV, "aws_lb", "load_balancer/alb")["enable_deletion_protection"] is False


def test_blue_and_green_target_groups(synth: Synthesized) -> None:
    for colour in ("blue", "green"):
        assert Testing.to_have_resource_with_properties(
            synth.text(DEV),
            lb_target_group.LbTargetGroup.TF_RESOURCE_TYPE,
            {
                "name": f"order-api-dev-{colour}",
                "target_type": "ip",
                "port": 8080,
                "deregistration_delay": "30",
                "health_check": {"path": "/health", "matcher": "200", "interval": 15, "healthy_threshold": 2, "unhealthy_threshold": 3},
            },
        )


def test_https_with_tls13_and_http_redirect_where_there_is_a_certificate(synth: Synthesized) -> None:
    listeners = {b["//"]["metadata"]["path"].split("/")[-1]: b for b in synth.resources(PROD, "aws_lb_listener").values()}
    assert listeners["production_listener"]["protocol"] == "HTTPS" and listeners["production_listener"]["port"] == 443
    assert listeners["production_listener"]["ssl_policy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    redirect = listeners["http_redirect"]["default_action"][0]
    assert redirect["type"] == "redirect" and redirect["redirect"]["protocol"] == "HTTPS" and redirect["redirect"]["status_code"] == "HTTP_301"
    assert listeners["test_listener"]["port"] == 9443


def test_certificate_is_dns_validated_for_the_domain(synth: Synthesized) -> None:
    cert = synth.resource(PROD, "aws_acm_certificate", "certificate")
    assert (cert["domain_name"], cert["validation_method"]) == ("api.orders.example.com", "DNS")
    zone = synth.doc(PROD)["data"]["aws_route53_zone"][synth.logical_id(PROD, "aws_route53_zone", "load_balancer/zone", data=True)]
    assert (zone["name"], zone["private_zone"]) == ("orders.example.com", False)
    zone_id = synth.ref(PROD, "aws_route53_zone", "load_balancer/zone", "zone_id", data=True)
    validation = synth.resource(PROD, "aws_route53_record", "load_balancer/certificate_validation_record")
    assert validation["zone_id"] == zone_id and validation["ttl"] == 60
    listener = synth.resource(PROD, "aws_lb_listener", "production_listener")
    assert listener["certificate_arn"] == synth.ref(PROD, "aws_acm_certificate_validation", "load_balancer/certificate_validation", "certificate_arn")
    alias = synth.resource(PROD, "aws_route53_record", "load_balancer/alias")
    assert (alias["name"], alias["type"], alias["zone_id"]) == ("api.orders.example.com", "A", zone_id)
    assert alias["alias"] == {
        "name": synth.ref(PROD, "aws_lb", "load_balancer/alb", "dns_name"),
        "zone_id": synth.ref(PROD, "aws_lb", "load_balancer/alb", "zone_id"),
        "evaluate_target_health": True,
    }


def test_dev_serves_plain_http_only(synth: Synthesized) -> None:
    listeners = synth.resources(DEV, "aws_lb_listener").values()
    assert {(b["port"], b["protocol"]) for b in listeners} == {(80, "HTTP"), (9443, "HTTP")}
    assert "aws_acm_certificate" not in synth.doc(DEV)["resource"]


def test_listener_rules_forward_to_blue_and_leave_weights_to_ecs(synth: Synthesized) -> None:
    rule = synth.resource(PROD, "aws_lb_listener_rule", "production_rule")
    groups = rule["action"][0]["forward"]["target_group"]
    assert [g["weight"] for g in groups] == [100, 0]
    assert rule["lifecycle"] == {"ignore_changes": ["action"]}


def test_alb_security_group_opens_http_https_and_the_test_port_to_the_nat_gateways_only(synth: Synthesized) -> None:
    rules = [b for b in synth.resources(PROD, "aws_vpc_security_group_ingress_rule").values() if "load_balancer" in b["//"]["metadata"]["path"]]
    nat_ips = [synth.ref(PROD, "aws_eip", f"network/nat_eip_{i}", "public_ip") + "/32" for i in range(3)]
    assert sorted((r["from_port"], r["to_port"], r["cidr_ipv4"]) for r in rules) == sorted(
        [(80, 80, "0.0.0.0/0"), (443, 443, "0.0.0.0/0")] + [(9443, 9443, ip) for ip in nat_ips]
    )
    egress = synth.resource(PROD, "aws_vpc_security_group_egress_rule", "load_balancer/egress_to_targets")
    assert egress["from_port"] == 8080 and "service_security_group" in egress["referenced_security_group_id"]


def test_access_log_bucket_is_private_expiring_and_accepts_alb_delivery(synth: Synthesized) -> None:
    block = synth.resource(DEV, "aws_s3_bucket_public_access_block", "access_logs_public_access_block")
    assert all(block[k] is True for k in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"))
    rule = synth.resource(DEV, "aws_s3_bucket_lifecycle_configuration", "access_logs_lifecycle")["rule"][0]
    assert rule["expiration"] == [{"days": 90}]
    sids = {s["sid"]: s for s in _access_log_policy(synth.doc(DEV))}
    # us-east-1 predates August 2022: its ELB account, and the service principal AWS documents everywhere.
    assert sids["AlbLogDelivery"]["principals"] == [
        {"type": "AWS", "identifiers": ["arn:${data.aws_partition.partition.partition}:iam::127311923021:root"]},
        {"type": "Service", "identifiers": ["logdelivery.elasticloadbalancing.amazonaws.com"]},
    ]
    bucket = synth.ref(DEV, "aws_s3_bucket", "load_balancer/access_logs_bucket", "arn")
    assert sids["AlbLogDelivery"]["resources"] == [f"{bucket}/alb/AWSLogs/${{data.aws_caller_identity.caller.account_id}}/*"]
    assert sids["DenyInsecureTransport"]["effect"] == "Deny"
    assert "aws_elb_service_account" not in synth.doc(DEV).get("data", {})


@pytest.mark.parametrize("region", ["me-central-1", "ca-west-1", "ap-southeast-4", "il-central-1"])
def test_access_logs_in_a_region_without_an_elb_account_use_only_the_service_principal(region: str) -> None:
    doc = _load_balancer_stack(region)
    (statement,) = [s for s in _access_log_policy(doc) if s["sid"] == "AlbLogDelivery"]
    assert statement["principals"] == [{"type": "Service", "identifiers": ["logdelivery.elasticloadbalancing.amazonaws.com"]}]
    assert "aws_elb_service_account" not in doc.get("data", {})


def _access_log_policy(doc: dict[str, Any]) -> list[dict[str, Any]]:
    (policy,) = [d for name, d in doc["data"]["aws_iam_policy_document"].items() if "access_logs_policy_document" in name]
    statements: list[dict[str, Any]] = policy["statement"]
    return statements


def _load_balancer_stack(region: str, config: LoadBalancerConfig | None = None, name_prefix: str = "order-api-test") -> dict[str, Any]:
    """One LoadBalancer component in a stack of its own, synthesized."""
    app = Testing.app()
    stack = TerraformStack(app, "lb")
    provider.AwsProvider(stack, "aws", region=region)
    LoadBalancer(
        stack,
        "load_balancer",
        name_prefix=name_prefix,
        config=config or LoadBalancerConfig(),
        aws=AwsContext(account_id="${data.aws_caller_identity.caller.account_id}", partition="aws", region=region),
        vpc_id="vpc-1",
        public_subnet_ids=["s1", "s2"],
        target_port=8080,
        health_check_path="/health",
        deregistration_delay_seconds=30,
        deletion_protection=False,
    )
    result: dict[str, Any] = json.loads(Testing.synth(stack))
    return result


def test_names_fit_aws_limits_with_the_longest_suffix() -> None:
    longest = build_app_config({"ENVIRONMENT_SUFFIX": "a" * 12}).environments[-1].name_prefix
    doc = _load_balancer_stack("us-east-1", name_prefix=longest)
    names = [b["name"] for b in doc["resource"]["aws_lb"].values()] + [b["name"] for b in doc["resource"]["aws_lb_target_group"].values()]
    assert sorted(names) == [f"{longest}-alb", f"{longest}-blue", f"{longest}-green"]
    assert max(len(n) for n in names) == 32


def test_test_listener_opens_only_to_the_configured_networks_and_an_existing_certificate_is_used() -> None:
    certificate = "arn:aws:acm:us-east-1:123456789012:certificate/" + "0" * 8 + "-0000-0000-0000-" + "0" * 12
    doc = _load_balancer_stack("us-east-1", LoadBalancerConfig(certificate_arn=certificate, test_listener_cidrs=("203.0.113.0/24", "198.51.100.0/24")))
    ingress = sorted((r["cidr_ipv4"], r["from_port"]) for r in doc["resource"]["aws_vpc_security_group_ingress_rule"].values())
    assert ingress == [("0.0.0.0/0", 80), ("0.0.0.0/0", 443), ("198.51.100.0/24", 9443), ("203.0.113.0/24", 9443)]
    listeners = {body["port"]: body for body in doc["resource"]["aws_lb_listener"].values()}
    assert listeners[443]["certificate_arn"] == listeners[9443]["certificate_arn"] == certificate
    assert listeners[443]["ssl_policy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert "aws_acm_certificate" not in doc["resource"]


def test_an_existing_certificate_with_a_domain_still_gets_the_alias_record() -> None:
    certificate = "arn:aws:acm:us-east-1:123456789012:certificate/" + "0" * 8 + "-0000-0000-0000-" + "0" * 12
    doc = _load_balancer_stack(
        "us-east-1", LoadBalancerConfig(certificate_arn=certificate, domain_name="api.acme-orders.com", hosted_zone_name="acme-orders.com")
    )
    (zone_name,) = doc["data"]["aws_route53_zone"]
    (record,) = doc["resource"]["aws_route53_record"].values()
    assert (record["name"], record["type"], record["zone_id"]) == ("api.acme-orders.com", "A", f"${{data.aws_route53_zone.{zone_name}.zone_id}}")
    assert "aws_acm_certificate" not in doc["resource"]
    assert {body["certificate_arn"] for body in doc["resource"]["aws_lb_listener"].values() if "certificate_arn" in body} == {certificate}


@pytest.mark.parametrize(("stack", "disposable"), [(DEV, False), (STAGING, False), (PROD, False), (EPHEMERAL, True)])
def test_only_a_disposable_copy_empties_its_log_bucket_on_destroy(synth: Synthesized, stack: str, disposable: bool) -> None:
    bucket = synth.resource(stack, "aws_s3_bucket", "load_balancer/access_logs_bucket")
    assert bucket["force_destroy"] is disposable
    assert bucket["bucket_prefix"] == f"{stack}-alb-logs-"


@pytest.mark.parametrize(("stack", "nat_gateways"), [(DEV, 1), ("order-api-staging", 1), (PROD, 3)])
def test_the_test_port_admits_exactly_the_smoke_tests_network_path(synth: Synthesized, stack: str, nat_gateways: int) -> None:
    """The smoke test runs in the private subnets; the internet-facing ALB resolves to public
    addresses, so its requests arrive from the NAT gateways' addresses, and only those."""
    rules = [b for b in synth.resources(stack, "aws_vpc_security_group_ingress_rule").values() if b["from_port"] == 9443]
    assert sorted(r["cidr_ipv4"] for r in rules) == sorted(
        synth.ref(stack, "aws_eip", f"network/nat_eip_{i}", "public_ip") + "/32" for i in range(nat_gateways)
    )
    assert all(r["to_port"] == 9443 and "load_balancer_security_group" in r["security_group_id"] for r in rules)
    egress = [b for b in synth.resources(stack, "aws_vpc_security_group_egress_rule").values() if "smoke_test" in b["//"]["metadata"]["path"]]
    # Out: the test port, and HTTPS for the ECS API (which digest the revision under test runs).
    assert sorted((e["from_port"], e["to_port"], e["cidr_ipv4"], e["description"]) for e in egress) == [
        (443, 443, "0.0.0.0/0", "to the ECS API"),
        (9443, 9443, "0.0.0.0/0", "to the test listener"),
    ]


@pytest.mark.parametrize("stack", [DEV, "order-api-staging", PROD])
def test_listeners_forward_to_blue_by_default_and_never_mix_actions(synth: Synthesized, stack: str) -> None:
    blue = synth.ref(stack, "aws_lb_target_group", "load_balancer/blue_target_group", "arn")
    for name in ("production_listener", "test_listener"):
        listener = synth.resource(stack, "aws_lb_listener", f"load_balancer/{name}")
        assert listener["default_action"] == [{"type": "forward", "target_group_arn": blue}]
        assert listener["lifecycle"] == {"ignore_changes": ["default_action"]}
    by_listener: dict[str, set[str]] = {}
    for address, listener in synth.resources(stack, "aws_lb_listener").items():
        by_listener[f"${{aws_lb_listener.{address}.arn}}"] = {a["type"] for a in listener["default_action"]}
    for rule in synth.resources(stack, "aws_lb_listener_rule").values():
        by_listener[rule["listener_arn"]] |= {a["type"] for a in rule["action"]}
    assert sorted(map(sorted, by_listener.values())) == sorted([["forward"], ["forward"]] + ([["redirect"]] if stack != DEV else []))
