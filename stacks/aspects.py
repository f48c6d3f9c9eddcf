"""Cross-cutting rules applied to every resource of a stack, as cdktf aspects.

``ComponentTags`` labels each taggable resource with the component that owns
it (cost allocation per concern; the provider's ``default_tags`` carry the
project-wide tags).  ``Guardrails`` turns a broken security rule into a
validation error, so ``synth`` fails instead of writing the JSON.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import jsii

from stacks.framework import IAspect, IConstruct, IValidation, TerraformResource

OPEN_CIDRS = ("0.0.0.0/0", "::/0")
#: Ports the internet may reach (the ALB listeners).
PUBLIC_PORTS = (80, 443)
#: Resource type -> attribute that must be true in production.
PRODUCTION_PROTECTION = {
    "aws_rds_cluster": "deletion_protection",
    "aws_lb": "enable_deletion_protection",
}


@jsii.implements(IAspect)
class ComponentTags:
    """Adds ``component=<name>`` to every resource that takes tags."""

    def __init__(self, component: str) -> None:
        self.component = component

    def visit(self, node: IConstruct) -> None:
        if isinstance(node, TerraformResource) and hasattr(node, "tags_input"):
            tags = dict(node.tags_input or {})
            tags.setdefault("component", self.component)
            node.tags = tags  # type: ignore[attr-defined]


@jsii.implements(IValidation)
class Violation:
    def __init__(self, message: str) -> None:
        self.message = message

    def validate(self) -> list[str]:
        return [self.message]


Rule = Callable[[str, dict[str, Any]], Iterable[str]]


def _public_ingress(resource_type: str, body: dict[str, Any]) -> Iterable[str]:
    """Only ports 80 and 443 may be opened to the whole internet."""
    if resource_type == "aws_vpc_security_group_ingress_rule":
        rules = [body]
        cidr_keys = ("cidr_ipv4", "cidr_ipv6")
    elif resource_type == "aws_security_group":
        rules = list(body.get("ingress") or [])
        cidr_keys = ("cidr_blocks", "ipv6_cidr_blocks")
    else:
        return
    for rule in rules:
        cidrs: list[str] = []
        for key in cidr_keys:
            value = rule.get(key)
            cidrs += value if isinstance(value, list) else [value] if value else []
        if not any(c in OPEN_CIDRS for c in cidrs):
            continue
        ports = (rule.get("from_port"), rule.get("to_port"))
        if ports[0] != ports[1] or ports[0] not in PUBLIC_PORTS:
            yield f"ingress from the internet is only allowed on ports {PUBLIC_PORTS}, not {ports}"


def _log_groups(resource_type: str, body: dict[str, Any]) -> Iterable[str]:
    if resource_type == "aws_cloudwatch_log_group":
        if not body.get("kms_key_id"):
            yield "log groups must be encrypted with a customer-managed KMS key (kms_key_id)"
        if not body.get("retention_in_days"):
            yield "log groups must set retention_in_days"


def _kms_rotation(resource_type: str, body: dict[str, Any]) -> Iterable[str]:
    if resource_type == "aws_kms_key" and body.get("enable_key_rotation") is not True:
        yield "KMS keys must have enable_key_rotation = true"


RULES: tuple[Rule, ...] = (_public_ingress, _log_groups, _kms_rotation)


@jsii.implements(IAspect)
class Guardrails:
    """Fails synthesis when a resource breaks a rule in :data:`RULES`, or when a
    stateful resource in production lacks deletion protection."""

    def __init__(self, *, production: bool) -> None:
        self.production = production

    def visit(self, node: IConstruct) -> None:
        if not isinstance(node, TerraformResource):
            return
        resource_type = node.terraform_resource_type
        body = _body(node)
        messages = [m for rule in RULES for m in rule(resource_type, body)]
        protect = PRODUCTION_PROTECTION.get(resource_type)
        if self.production and protect and body.get(protect) is not True:
            messages.append(f"{resource_type}.{protect} must be true in production")
        for message in messages:
            node.node.add_validation(Violation(f"guardrail: {resource_type}: {message}"))


def _body(node: TerraformResource) -> dict[str, Any]:
    """The resource's arguments as they will be synthesized (snake_case keys)."""
    synthesized: dict[str, Any] = node.to_terraform()
    ((body,),) = (by_type.values() for by_type in synthesized["resource"].values())
    return dict(body)
