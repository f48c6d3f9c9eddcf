"""The architecture picture and the per-stack table, drawn from the synthesized JSON.

``make diagram`` synthesizes the golden configuration (every default stack and the
suffixed copy ``order-api-dev-pr42``, as ``make snapshot`` does) into a scratch
directory and rewrites the text between marker comments:

- ``README.md``: ``<!-- diagram:start -->`` ... ``<!-- diagram:end -->``, the picture;
- ``docs/architecture.md``: the same picture, and ``<!-- stack-table:start -->`` ...
  ``<!-- stack-table:end -->``, the resource counts of every stack and what differs
  between the environments.

The picture is a Mermaid flowchart (GitHub renders it; nothing to install) of the
prod stack.  Every box, arrow and figure comes from resources present in the JSON and
the references between them: the WAF from its web ACL association with the load
balancer, the listeners from their load balancer, the target groups from the listener
rules, the service from its load balancer blocks, the database instances from the
security group rule that admits the service, the smoke test from the service's
lifecycle hook, the alarms from their actions, the registry from the data source the
service pulls through, the state bucket from the stack's backend.  What the JSON does
not hold is not drawn.  ``tests/test_diagram.py`` fails when the committed text differs
from a fresh rendering.

Usage: ``python -m tools.review.diagram [--check] [--stacks DIR]``
"""

from __future__ import annotations

import re
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from stacks import process
from stacks.config.names import TICKET_TOPIC_SUFFIX
from tools.common import cli

ROOT = Path(__file__).resolve().parent.parent.parent
#: The stack the picture shows.
PICTURED_STACK = "order-api-prod"
#: Files and the marked blocks :func:`main` rewrites in each.
TARGETS: dict[str, tuple[str, ...]] = {"README.md": ("diagram",), "docs/architecture.md": ("diagram", "stack-table")}
#: Stacks in table order (deploy order of the shared stacks, then the environments);
#: any other stack follows, sorted.
STACK_ORDER = ("order-api-state", "order-api-account", "order-api-registry", "order-api-dev", "order-api-staging", "order-api-prod")

Doc = Mapping[str, Any]
_REF_RE = re.compile(r"\$\{(data\.)?([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.")


class DiagramError(RuntimeError):
    """A file to rewrite lacks its markers, or the synthesis lacks the pictured stack."""


def refs(value: object) -> set[tuple[str, str]]:
    """Every ``(type, name)`` a value references (``${type.name.attr}``), at any depth;
    data sources as ``("data.<type>", name)``."""
    found: set[tuple[str, str]] = set()
    if isinstance(value, str):
        found |= {(f"data.{m[2]}" if m[1] else m[2], m[3]) for m in _REF_RE.finditer(value)}
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if key != "//":
                found |= refs(item)
    elif isinstance(value, list):
        for item in value:
            found |= refs(item)
    return found


def ref(value: object) -> tuple[str, str] | None:
    """The one ``(type, name)`` a value references, or None."""
    found = refs(value)
    return next(iter(found)) if len(found) == 1 else None


@dataclass(frozen=True)
class Stack:
    """One synthesized stack (``cdk.tf.json``)."""

    name: str
    doc: Doc

    def resources(self, rtype: str) -> dict[str, dict[str, Any]]:
        return dict(sorted(self.doc.get("resource", {}).get(rtype, {}).items()))

    def data(self, dtype: str) -> dict[str, dict[str, Any]]:
        return dict(sorted(self.doc.get("data", {}).get(dtype, {}).items()))

    def body(self, address: tuple[str, str] | None) -> dict[str, Any] | None:
        if address is None:
            return None
        rtype, name = address
        section = self.data(rtype.removeprefix("data.")) if rtype.startswith("data.") else self.resources(rtype)
        return section.get(name)

    def first(self, rtype: str) -> dict[str, Any]:
        """The first resource of a type (by logical name), or an empty dict."""
        return next(iter(self.resources(rtype).values()), {})

    def count(self, section: str) -> int:
        """Resources, data sources (by type, then name) or outputs of the stack."""
        if section == "output":
            return len(self.doc.get("output", {}))
        return sum(len(by_name) for by_name in self.doc.get(section, {}).values())

    def key(self, prefix: str, body: Mapping[str, Any], fallback: str) -> str:
        """A short, stable Mermaid node id: ``prefix`` and the last part of the construct path."""
        path = str(body.get("//", {}).get("metadata", {}).get("path") or fallback)
        return prefix + "_" + re.sub(r"[^a-z0-9_]", "_", path.rsplit("/", 1)[-1].lower())

    def referenced(self, address: tuple[str, str]) -> bool:
        """Whether any resource of the stack references ``address``."""
        return any(address in refs(body) for by_name in self.doc.get("resource", {}).values() for body in by_name.values())

    def service_groups(self) -> set[tuple[str, str]]:
        """The security groups of the ECS services."""
        return {a for svc in self.resources("aws_ecs_service").values() for a in refs((svc.get("network_configuration") or {}).get("security_groups"))}

    def rules(self, direction: str, groups: set[tuple[str, str]]) -> list[dict[str, Any]]:
        """The ``ingress`` or ``egress`` rules of these security groups."""
        return [r for r in self.resources(f"aws_vpc_security_group_{direction}_rule").values() if ref(r.get("security_group_id")) in groups]

    def scaling(self, dimension: str) -> str:
        """``min-max`` of the Application Auto Scaling target of a dimension, or empty."""
        targets = [t for t in self.resources("aws_appautoscaling_target").values() if t.get("scalable_dimension") == dimension]
        return f"{targets[0]['min_capacity']}-{targets[0]['max_capacity']}" if targets else ""

    def zones(self) -> set[str]:
        return {str(b.get("availability_zone")) for b in self.resources("aws_subnet").values()}


def load_stacks(stacks_dir: Path) -> dict[str, Stack]:
    """Every ``<stack>/cdk.tf.json`` under ``stacks_dir``, by stack name."""
    import json

    return {p.parent.name: Stack(p.parent.name, json.loads(p.read_text())) for p in sorted(stacks_dir.glob("*/cdk.tf.json"))}


# ------------------------------------------------------------------ picture


def _label(*lines: str) -> str:
    """A quoted Mermaid label of one or more lines."""
    return '"' + "<br/>".join(line.replace('"', "#quot;") for line in lines if line) + '"'


def _short_service(service_name: str) -> str:
    """``com.amazonaws.us-east-1.ecr.api`` -> ``ecr.api``."""
    parts = service_name.split(".")
    return ".".join(parts[3:]) if len(parts) > 3 else service_name


def _ports(rules: Iterable[Mapping[str, Any]]) -> str:
    ports = sorted({int(r["from_port"]) for r in rules if r.get("from_port") is not None and r.get("from_port") == r.get("to_port")})
    return ", ".join(str(p) for p in ports)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


@dataclass
class Flowchart:
    """A Mermaid flowchart built node by node; nothing is written twice."""

    groups: dict[str, list[str]] = field(default_factory=dict)
    group_titles: dict[str, str] = field(default_factory=dict)
    group_parents: dict[str, str | None] = field(default_factory=dict)
    edges: list[str] = field(default_factory=list)
    nodes: set[str] = field(default_factory=set)

    def group(self, key: str, title: str, parent: str | None = None) -> None:
        self.groups.setdefault(key, [])
        self.group_titles[key] = title
        self.group_parents[key] = parent

    def node(self, key: str, shape: str, label: str, group: str = "") -> str:
        if key not in self.nodes:
            self.nodes.add(key)
            opening, closing = shape.split("|")
            self.groups.setdefault(group, []).append(f"{key}{opening}{label}{closing}")
        return key

    def edge(self, source: str, target: str, label: str = "", *, dotted: bool = False) -> None:
        arrow = "-.->" if dotted else "-->"
        line = f"{source} {arrow}{'|' + _label(label) + '|' if label else ''} {target}"
        if line not in self.edges:
            self.edges.append(line)

    def lines(self) -> list[str]:
        out = ["flowchart TB"]
        out += [f"  {line}" for line in self.groups.get("", [])]
        out += self._subgraphs(None, 1)
        out += [f"  {line}" for line in self.edges]
        return out

    def _subgraphs(self, parent: str | None, depth: int) -> list[str]:
        out: list[str] = []
        pad = "  " * depth
        for key, title in self.group_titles.items():
            if self.group_parents[key] != parent or not self._has_nodes(key):
                continue
            out.append(f"{pad}subgraph {key}[{_label(title)}]")
            out += [f"{pad}  {line}" for line in self.groups.get(key, [])]
            out += self._subgraphs(key, depth + 1)
            out.append(f"{pad}end")
        return out

    def _has_nodes(self, key: str) -> bool:
        return bool(self.groups.get(key)) or any(self._has_nodes(k) for k, p in self.group_parents.items() if p == key)


BOX, ROUND, CYLINDER, HEXAGON, SUBROUTINE, CIRCLE, FLAG = "[|]", "(|)", "[(|)]", "{{|}}", "[[|]]", "((|))", ">|]"


def picture(stacks: Mapping[str, Stack], stack_name: str = PICTURED_STACK) -> list[str]:
    """The Mermaid flowchart of one environment stack (lines, without the fence)."""
    if stack_name not in stacks:
        raise DiagramError(f"the synthesis has no stack {stack_name} to draw (stacks: {', '.join(stacks) or 'none'})")
    s = stacks[stack_name]
    chart = Flowchart()
    _network(chart, s)
    internet = chart.node("internet", CIRCLE, _label("Internet"))
    service_key = _service(chart, s)
    _edge_and_listeners(chart, s, internet)
    _database(chart, s, service_key)
    _egress(chart, s, service_key, internet)
    _smoke_test(chart, s, service_key)
    _monitoring(chart, s, service_key)
    _shared(chart, s, stacks, service_key)
    return chart.lines()


def _network(chart: Flowchart, s: Stack) -> None:
    for vpc in s.resources("aws_vpc").values():
        zones = sorted({str(b.get("availability_zone")) for b in s.resources("aws_subnet").values()})
        chart.group("vpc", f"VPC {vpc.get('cidr_block')}, {_plural(len(zones), 'availability zone')}")
    if "vpc" not in chart.group_titles:
        chart.group("vpc", "VPC")
    for key, title in (("public", "public subnets"), ("private", "private subnets"), ("isolated", "isolated subnets")):
        chart.group(key, title, "vpc")


def _subnet_group(s: Stack, subnets: object) -> str:
    """The subnet tier (``public``, ``private``, ``isolated``) of referenced subnets: the ALB's
    subnets are public, the database's isolated, any other private."""
    wanted = refs(subnets)
    if any(wanted & refs(lb.get("subnets")) for lb in s.resources("aws_lb").values()):
        return "public"
    if any(wanted & refs(group.get("subnet_ids")) for group in s.resources("aws_db_subnet_group").values()):
        return "isolated"
    return "private"


def _service(chart: Flowchart, s: Stack) -> str:
    key = ""
    for name, svc in s.resources("aws_ecs_service").items():
        task = s.body(ref(svc.get("task_definition"))) or {}
        capacity = ", ".join(
            f"{p['capacity_provider'].replace('_', ' ').title()} weight {p.get('weight', 0)}" + (f" (base {p['base']})" if p.get("base") else "")
            for p in svc.get("capacity_provider_strategy", [])
        )
        tasks = s.scaling("ecs:service:DesiredCount") or str(svc.get("desired_count"))
        size = f"{task.get('cpu')} CPU units, {task.get('memory')} MiB; " if task else ""
        strategy = _strategy(svc)
        label = _label(f"ECS service {svc.get('name')}", capacity, f"{size}{tasks} tasks", f"deployments: {strategy}" if strategy else "")
        key = chart.node(s.key("svc", svc, name), BOX, label, _subnet_group(s, (svc.get("network_configuration") or {}).get("subnets")))
    return key


def _strategy(svc: Mapping[str, Any]) -> str:
    deployment = svc.get("deployment_configuration") or {}
    strategy = str(deployment.get("strategy") or "")
    canary = deployment.get("canary_configuration") or {}
    linear = deployment.get("linear_configuration") or {}
    if strategy == "CANARY" and canary:
        strategy += f" {canary.get('canary_percent')} % for {canary.get('canary_bake_time_in_minutes')} min"
    if strategy == "LINEAR" and linear:
        strategy += f" {linear.get('step_percent')} % every {linear.get('step_bake_time_in_minutes')} min"
    return strategy


def _rule_roles(s: Stack) -> dict[tuple[str, str], str]:
    """Listener rule -> ``production`` or ``test``, as the services' blue/green blocks name them."""
    roles: dict[tuple[str, str], str] = {}
    for svc in s.resources("aws_ecs_service").values():
        for block in svc.get("load_balancer", []):
            advanced = block.get("advanced_configuration") or {}
            for attribute, role in (("production_listener_rule", "production"), ("test_listener_rule", "test")):
                address = ref(advanced.get(attribute))
                if address is not None:
                    roles[address] = role
    return roles


def _waf(chart: Flowchart, s: Stack, lb_name: str, lb_key: str) -> str:
    """The WAF web ACL associated with the load balancer (its node), or the load balancer's node."""
    entry = lb_key
    for association in s.resources("aws_wafv2_web_acl_association").values():
        if ref(association.get("resource_arn")) != ("aws_lb", lb_name):
            continue
        acl = s.body(ref(association.get("web_acl_arn"))) or {}
        rules = acl.get("rule", [])
        rates = [r["statement"]["rate_based_statement"] for r in rules if "rate_based_statement" in r.get("statement", {})]
        rate = f"rate limit {rates[0]['limit']} per {int(rates[0]['evaluation_window_sec']) // 60} min per IP" if rates else ""
        entry = chart.node(s.key("waf", acl, lb_name), HEXAGON, _label(f"WAF {acl.get('name')}", _plural(len(rules), "rule"), rate))
        chart.edge(entry, lb_key)
    return entry


def _edge_and_listeners(chart: Flowchart, s: Stack, internet: str) -> None:
    roles = _rule_roles(s)
    for lb_name, lb in s.resources("aws_lb").items():
        kind = "Internal" if lb.get("internal") else "Internet-facing"
        lb_key = chart.node(s.key("lb", lb, lb_name), BOX, _label(f"{kind} ALB {lb.get('name')}"), "public")
        open_rules = [r for r in s.rules("ingress", refs(lb.get("security_groups"))) if r.get("cidr_ipv4") == "0.0.0.0/0"]
        chart.edge(internet, _waf(chart, s, lb_name, lb_key), f"ports {_ports(open_rules)}" if open_rules else "")
        for listener_name, listener in s.resources("aws_lb_listener").items():
            if ref(listener.get("load_balancer_arn")) != ("aws_lb", lb_name):
                continue
            address = ("aws_lb_listener", listener_name)
            served = sorted({role for rule, role in roles.items() if ref((s.body(rule) or {}).get("listener_arn")) == address})
            redirect = next((a["redirect"] for a in listener.get("default_action", []) if a.get("type") == "redirect"), None)
            detail = f"redirect to {redirect.get('protocol')} {redirect.get('port')}" if redirect else ", ".join(f"{r} traffic" for r in served)
            title = f"listener {listener.get('protocol')} {listener.get('port')}"
            listener_key = chart.node(f"listener_{listener.get('port')}", ROUND, _label(title, detail), "public")
            chart.edge(lb_key, listener_key)
            _target_groups(chart, s, listener_name, listener_key, roles)


def _target_groups(chart: Flowchart, s: Stack, listener_name: str, listener_key: str, rule_roles: Mapping[tuple[str, str], str]) -> None:
    groups: dict[str, str] = {}
    for action in [a for a in (s.resources("aws_lb_listener").get(listener_name) or {}).get("default_action", [])]:
        address = ref(action.get("target_group_arn"))
        if address is not None:
            groups.setdefault(address[1], "")
    for rule_name, rule in s.resources("aws_lb_listener_rule").items():
        if ref(rule.get("listener_arn")) != ("aws_lb_listener", listener_name):
            continue
        for action in rule.get("action", []):
            for target in (action.get("forward") or {}).get("target_group", []):
                address = ref(target.get("arn"))
                if address is not None:
                    groups[address[1]] = rule_roles.get(("aws_lb_listener_rule", rule_name), "")
    for group_name in sorted(groups):
        group = s.resources("aws_lb_target_group")[group_name]
        health = (group.get("health_check") or {}).get("path", "")
        key = chart.node(
            s.key("tg", group, group_name),
            BOX,
            _label(f"target group {group.get('name')}", f"{group.get('target_type')} targets, port {group.get('port')}, health {health}"),
            "public",
        )
        chart.edge(listener_key, key, f"{groups[group_name]} rule" if groups[group_name] else "")
        for svc_name, svc in s.resources("aws_ecs_service").items():
            for block in svc.get("load_balancer", []):
                advanced = block.get("advanced_configuration") or {}
                if ref(block.get("target_group_arn")) == ("aws_lb_target_group", group_name):
                    chart.edge(key, s.key("svc", svc, svc_name), "primary")
                if ref(advanced.get("alternate_target_group_arn")) == ("aws_lb_target_group", group_name):
                    chart.edge(key, s.key("svc", svc, svc_name), "alternate")


def _database(chart: Flowchart, s: Stack, service_key: str) -> None:
    service_groups = s.service_groups()
    for cluster_name, cluster in s.resources("aws_rds_cluster").items():
        admitted = [r for r in s.rules("ingress", refs(cluster.get("vpc_security_group_ids"))) if ref(r.get("referenced_security_group_id")) in service_groups]
        identifier = str(cluster.get("cluster_identifier"))
        readers = s.scaling("rds:cluster:ReadReplicaCount")
        key = s.key("db", cluster, cluster_name)
        title = f"Aurora cluster {identifier} ({cluster.get('engine')} {cluster.get('engine_version')})"
        chart.group(key, title + (f"; readers auto-scaled {readers}" if readers else ""), "isolated")
        serverless = cluster.get("serverlessv2_scaling_configuration") or {}
        instances = s.resources("aws_rds_cluster_instance").items()
        for instance_name, instance in sorted(instances, key=lambda item: (int(item[1].get("promotion_tier", 0)), item[0])):
            if ref(instance.get("cluster_identifier")) != ("aws_rds_cluster", cluster_name):
                continue
            role = str(instance.get("identifier", instance_name)).removeprefix(f"{identifier}-")
            size = str(instance.get("instance_class"))
            if size == "db.serverless" and serverless:
                size = f"Serverless v2, {serverless.get('min_capacity')}-{serverless.get('max_capacity')} ACU"
            instance_key = chart.node(s.key("db", instance, instance_name), CYLINDER, _label(role, size), key)
            if admitted and service_key:
                auth = ", IAM auth" if cluster.get("iam_database_authentication_enabled") else ""
                chart.edge(service_key, instance_key, f"MySQL {_ports(admitted)}{auth}")


def _smoke_test(chart: Flowchart, s: Stack, service_key: str) -> None:
    for svc in s.resources("aws_ecs_service").values():
        for hook in (svc.get("deployment_configuration") or {}).get("lifecycle_hook", []):
            address = ref(hook.get("hook_target_arn"))
            function = s.body(address)
            if function is None or address is None:
                continue
            vpc = function.get("vpc_config") or {}
            label = _label(f"Lambda {function.get('function_name')}", "smoke test")
            key = chart.node(s.key("fn", function, address[1]), SUBROUTINE, label, _subnet_group(s, vpc.get("subnet_ids")))
            chart.edge(service_key, key, f"lifecycle hook {', '.join(hook.get('lifecycle_stages', []))}", dotted=True)
            _function_egress(chart, s, key, s.rules("egress", refs(vpc.get("security_group_ids"))))


def _function_egress(chart: Flowchart, s: Stack, key: str, egress: Sequence[Mapping[str, Any]]) -> None:
    """The smoke test's ways out: to a listener that admits the NAT addresses on that port
    (through the NAT gateways), to a listener directly, or (any other port) out through NAT."""
    ingress = s.resources("aws_vpc_security_group_ingress_rule").values()
    for port in sorted({int(r["from_port"]) for r in egress if r.get("from_port") == r.get("to_port")}):
        listener = f"listener_{port}"
        from_nat = [r for r in ingress if r.get("from_port") == port and any(t == "aws_eip" for t, _ in refs(r.get("cidr_ipv4")))]
        if "nat" not in chart.nodes:
            if listener in chart.nodes:
                chart.edge(key, listener, f"port {port}")
        elif listener in chart.nodes and from_nat:
            chart.edge(key, "nat", f"port {port}")
            chart.edge("nat", listener, f"port {port}, from the NAT addresses only")
        else:
            what = next((str(r.get("description")) for r in egress if r.get("from_port") == port and r.get("description")), "")
            chart.edge(key, "nat", f"port {port} out" + (f" ({what.removeprefix('to ')})" if what else ""))


def _egress(chart: Flowchart, s: Stack, service_key: str, internet: str) -> None:
    nat = s.resources("aws_nat_gateway")
    if nat:
        spread = "one per availability zone" if len(nat) == len(s.zones()) else "shared by the availability zones"
        chart.node("nat", BOX, _label(f"NAT gateway x{len(nat)}", spread), "public")
        out = [r for r in s.rules("egress", s.service_groups()) if r.get("cidr_ipv4") == "0.0.0.0/0"]
        if service_key:
            chart.edge(service_key, "nat", f"port {_ports(out)} out" if out else "")
        chart.edge("nat", internet)
    endpoints = s.resources("aws_vpc_endpoint")
    if endpoints:
        kinds: dict[str, list[str]] = {}
        for endpoint in endpoints.values():
            kinds.setdefault(str(endpoint.get("vpc_endpoint_type")).lower(), []).append(_short_service(str(endpoint.get("service_name"))))
        lines = [f"{kind}: {', '.join(sorted(names))}" for kind, names in sorted(kinds.items())]
        key = chart.node("endpoints", BOX, _label("VPC endpoints", *lines), "private")
        if service_key:
            chart.edge(service_key, key, dotted=True)


def _topic(chart: Flowchart, s: Stack, action: object) -> str:
    """The node of the SNS topic an alarm or a rule notifies: the stack's own, or an existing one (an ARN)."""
    address = ref(action)
    topic = s.body(address) if address is not None and address[0] == "aws_sns_topic" else None
    name = str(topic.get("name")) if topic else str(action).rsplit(":", 1)[-1]
    return chart.node(f"topic_{re.sub(r'[^A-Za-z0-9_]', '_', name)}", FLAG, _label(f"SNS topic {name}", "" if topic else "an existing topic"))


def _is_ticket_topic(s: Stack, action: object) -> bool:
    """Whether ``action`` is the stack's own non-paging topic (``<stack>-tickets``)."""
    address = ref(action)
    topic = s.body(address) if address is not None and address[0] == "aws_sns_topic" else None
    return topic is not None and str(topic.get("name")).endswith(f"-{TICKET_TOPIC_SUFFIX}")


def _monitoring(chart: Flowchart, s: Stack, service_key: str) -> None:
    metric = s.resources("aws_cloudwatch_metric_alarm")
    composite = s.resources("aws_cloudwatch_composite_alarm")
    if not metric and not composite:
        return
    dashboards = [str(d.get("dashboard_name")) for d in s.resources("aws_cloudwatch_dashboard").values()]
    alarms_key = chart.node(
        "alarms",
        BOX,
        _label("CloudWatch alarms", f"{len(metric)} metric, {len(composite)} composite", f"dashboard {', '.join(dashboards)}" if dashboards else ""),
    )
    # An alarm that notifies the stack's ticket topic does not page, nor does the existing topic it also notifies.
    notified: dict[tuple[str, str], int] = {}
    for body in [*metric.values(), *composite.values()]:
        actions = body.get("alarm_actions") or []
        verb = "notify, no page" if any(_is_ticket_topic(s, a) for a in actions) else "page"
        for action in actions:
            key = (_topic(chart, s, action), verb)
            notified[key] = notified.get(key, 0) + 1
    for (topic_key, verb), count in sorted(notified.items()):
        chart.edge(alarms_key, topic_key, f"{_plural(count, 'alarm')} {verb}")
    rollback = [a for svc in s.resources("aws_ecs_service").values() for a in refs((svc.get("alarms") or {}).get("alarm_names"))]
    if rollback and service_key:
        chart.edge(alarms_key, service_key, f"{len(rollback)} roll back a deployment", dotted=True)
    rules = s.resources("aws_cloudwatch_event_rule")
    if not rules:
        return
    names = sorted(str(r.get("name")).removeprefix(f"{s.name}-") for r in rules.values())
    rules_key = chart.node("rules", BOX, _label("EventBridge rules", *names))
    for target in s.resources("aws_cloudwatch_event_target").values():
        destination = ref(target.get("arn"))
        if destination is not None and destination[0] == "aws_sns_topic":
            chart.edge(rules_key, _topic(chart, s, target.get("arn")), "one line per event")
        elif destination is not None and any(ref(f.get("log_group_name")) == destination for f in s.resources("aws_cloudwatch_log_metric_filter").values()):
            chart.edge(rules_key, alarms_key, "events counted by metric filters")
        elif destination is not None and destination[0] == "aws_lambda_function" and (function := s.body(destination)) is not None:
            rule = s.body(ref(target.get("rule"))) or {}
            chart.edge(rules_key, s.key("fn", function, destination[1]), f"warm-up, {rule.get('schedule_expression', 'on events')}", dotted=True)


def _owner(stacks: Mapping[str, Stack], rtype: str, attribute: str, value: object) -> str:
    """``stack <name>`` of the stack whose resource of ``rtype`` has ``attribute == value``."""
    owner = next((o.name for o in stacks.values() if any(r.get(attribute) == value for r in o.resources(rtype).values())), "")
    return f"stack {owner}" if owner else "not in this synthesis"


def _shared(chart: Flowchart, s: Stack, stacks: Mapping[str, Stack], service_key: str) -> None:
    chart.group("shared", "shared stacks")
    for name, repository in s.data("aws_ecr_repository").items():
        if not s.referenced(("data.aws_ecr_repository", name)):
            continue
        owner = _owner(stacks, "aws_ecr_repository", "name", repository.get("name"))
        key = chart.node("registry", CYLINDER, _label(f"ECR repository {repository.get('name')}", owner), "shared")
        if service_key:
            chart.edge(key, service_key, "image pull")
    terraform = s.doc.get("terraform", {})
    backend = terraform.get("backend", {})
    if "s3" in backend:
        bucket = backend["s3"].get("bucket")
        label = _label(f"S3 bucket {bucket}", f"Terraform state, key {backend['s3'].get('key')}", _owner(stacks, "aws_s3_bucket", "bucket", bucket))
        chart.node("state", CYLINDER, label, "shared")
    elif backend:
        chart.node("state", CYLINDER, _label(f"Terraform state: {next(iter(backend))} backend"), "shared")
    elif terraform.get("cloud"):
        chart.node("state", CYLINDER, _label(f"Terraform Cloud organization {terraform['cloud'].get('organization')}"), "shared")


# -------------------------------------------------------------------- table


def _ordered(stacks: Mapping[str, Stack]) -> list[Stack]:
    """The stacks in :data:`STACK_ORDER`, then any other, sorted."""
    order = {name: i for i, name in enumerate(STACK_ORDER)}
    return sorted(stacks.values(), key=lambda s: (order.get(s.name, len(order)), s.name))


def _one(s: Stack, rtype: str) -> dict[str, Any]:
    return next(iter(s.resources(rtype).values()), {})


def _aurora(s: Stack) -> str:
    cluster = s.first("aws_rds_cluster")
    serverless = cluster.get("serverlessv2_scaling_configuration") or {}
    instances = [i for i in s.resources("aws_rds_cluster_instance").values() if ref(i.get("cluster_identifier"))]
    acu = f"Serverless v2 ({serverless.get('min_capacity')}-{serverless.get('max_capacity')} ACU)"
    kinds = [acu if c == "db.serverless" and serverless else f"provisioned `{c}`" for c in sorted({str(i.get("instance_class")) for i in instances})]
    return f"{', '.join(kinds)}, {len(instances)} instances"


def _backup(s: Stack) -> str:
    plans = s.resources("aws_backup_plan").values()
    if not plans:
        return "off"
    kept = sorted({int(rule["lifecycle"]["delete_after"]) for plan in plans for rule in plan.get("rule", []) if rule.get("lifecycle")})
    tests = ", restore tests" if s.resources("aws_backup_restore_testing_plan") else ""
    return (f"daily, kept {', '.join(str(k) for k in kept)} days" if kept else "on") + tests


def _rows(s: Stack) -> dict[str, str]:
    """What the table shows of one environment stack, by row title."""
    vpc, cluster, svc, lb = s.first("aws_vpc"), s.first("aws_rds_cluster"), s.first("aws_ecs_service"), s.first("aws_lb")
    task = s.body(ref(svc.get("task_definition"))) or {}
    endpoints = s.resources("aws_vpc_endpoint").values()
    interface = sorted(_short_service(str(e.get("service_name"))) for e in endpoints if e.get("vpc_endpoint_type") == "Interface")
    listeners = s.resources("aws_lb_listener").values()
    https = sorted(int(x["port"]) for x in listeners if x.get("protocol") == "HTTPS")
    retention = sorted({int(g["retention_in_days"]) for g in s.resources("aws_cloudwatch_log_group").values() if g.get("retention_in_days")})
    protected = [label for label, on in (("Aurora", cluster.get("deletion_protection")), ("ALB", lb.get("enable_deletion_protection"))) if on]
    deployment = svc.get("deployment_configuration") or {}
    strategy = {p["capacity_provider"]: p for p in svc.get("capacity_provider_strategy", [])}
    base = strategy.get("FARGATE", {}).get("base")
    settings = [x for c in s.resources("aws_ecs_cluster").values() for x in c.get("setting", []) if x.get("name") == "containerInsights"]
    slo = _slo(s)
    return {
        "VPC": f"`{vpc.get('cidr_block')}`, {len(s.zones())} AZs",
        "NAT gateways": str(len(s.resources("aws_nat_gateway"))),
        "interface endpoints": f"{len(interface)} ({', '.join(interface)})" if interface else "none",
        "listeners": f"HTTPS {', '.join(str(p) for p in https)}; HTTP 80 redirects" if https else "HTTP " + ", ".join(str(x.get("port")) for x in listeners),
        "task size (CPU units / MiB)": f"{task.get('cpu')} / {task.get('memory')}",
        "tasks (min-max)": s.scaling("ecs:service:DesiredCount") or str(svc.get("desired_count")),
        "Fargate : Fargate Spot": f"{strategy.get('FARGATE', {}).get('weight', 0)} : {strategy.get('FARGATE_SPOT', {}).get('weight', 0)}"
        + (f", on-demand base {base}" if base else ""),
        "deployment strategy": f"{_strategy(svc)}, bake {deployment.get('bake_time_in_minutes')} min",
        "Aurora": _aurora(s),
        "reader auto scaling": f"{s.scaling('rds:cluster:ReadReplicaCount')} readers" if s.scaling("rds:cluster:ReadReplicaCount") else "off",
        "Database Insights": str(cluster.get("database_insights_mode", "standard")),
        "Backtrack": f"{int(cluster['backtrack_window']) // 3600} h" if cluster.get("backtrack_window") else "off",
        "AWS Backup": _backup(s),
        "final snapshot": "skipped" if cluster.get("skip_final_snapshot") else "kept",
        "deletion protection": " and ".join(protected) if protected else "off",
        "log retention (days)": ", ".join(str(r) for r in retention),
        "Container Insights": str(settings[0].get("value")) if settings else "off",
        "availability SLO": f"{slo} %" if slo else "none",
        "alarms (metric + composite)": f"{len(s.resources('aws_cloudwatch_metric_alarm'))} + {len(s.resources('aws_cloudwatch_composite_alarm'))}",
    }


def _slo(s: Stack) -> str:
    """The availability SLO, from the error budget the burn-rate expressions divide by."""
    for alarm in s.resources("aws_cloudwatch_metric_alarm").values():
        for query in alarm.get("metric_query", []):
            match = re.search(r"FILL\(requests, 1\) / ([0-9.]+)$", str(query.get("expression", "")))
            if match:
                return str((100 - Decimal(match[1]) * 100).normalize())
    return ""


def _state(s: Stack) -> str:
    terraform = s.doc.get("terraform", {})
    if terraform.get("cloud"):
        return "Terraform Cloud"
    backend = terraform.get("backend", {})
    kind = next(iter(backend), "local")
    settings = backend.get(kind, {})
    return f"{kind}: `{settings.get('key') or settings.get('path')}`"


def stack_table(stacks: Mapping[str, Stack]) -> list[str]:
    """Markdown: resources per stack, then what differs between the environment stacks."""
    lines = ["| stack | resources | data sources | outputs | state |", "|---|---:|---:|---:|---|"]
    lines += [f"| `{s.name}` | {s.count('resource')} | {s.count('data')} | {s.count('output')} | {_state(s)} |" for s in _ordered(stacks)]
    envs = [s for s in _ordered(stacks) if s.resources("aws_ecs_service")]
    if not envs:
        return lines
    rows = {s.name: _rows(s) for s in envs}
    titles = list(rows[envs[0].name])
    lines += ["", "| | " + " | ".join(f"`{s.name}`" for s in envs) + " |", "|---|" + "---|" * len(envs)]
    lines += [f"| {title} | " + " | ".join(rows[s.name][title] for s in envs) + " |" for title in titles]
    return lines


# ------------------------------------------------------------------ rewrite


def blocks(stacks: Mapping[str, Stack]) -> dict[str, str]:
    """Each marked block's content, by marker name."""
    caption = (
        f"*`{PICTURED_STACK}` as synthesized with the defaults, drawn by `make diagram` (`tools/review/diagram.py`) from its JSON: "
        "each box but the Internet stands for resources in it, each arrow for a reference or a security group rule between them.*"
    )
    return {
        "diagram": "\n".join(["```mermaid", *picture(stacks), "```", "", caption]),
        "stack-table": "\n".join(
            [
                "*Every stack of the default synthesis and the suffixed copy `order-api-dev-pr42` (the golden files' configuration), "
                "counted and read by `make diagram` from the JSON.*",
                "",
                *stack_table(stacks),
            ]
        ),
    }


def rewrite(text: str, name: str, content: str, where: str = "the file") -> str:
    """``text`` with the lines between ``<!-- name:start -->`` and ``<!-- name:end -->`` replaced by ``content``."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    pattern = re.compile(rf"^{re.escape(start)}\n.*?^{re.escape(end)}$", re.DOTALL | re.MULTILINE)
    if len(pattern.findall(text)) != 1:
        raise DiagramError(f"{where} needs exactly one {start} line and, below it, one {end} line")
    return pattern.sub(lambda _: f"{start}\n{content}\n{end}", text)


def render(stacks: Mapping[str, Stack], root: Path = ROOT) -> dict[Path, str]:
    """The new text of every target file (:data:`TARGETS`)."""
    content = blocks(stacks)
    out: dict[Path, str] = {}
    for relative, names in TARGETS.items():
        path = root / relative
        if not path.is_file():
            raise DiagramError(f"{relative} is missing: make diagram rewrites its marked blocks")
        text = path.read_text()
        for name in names:
            text = rewrite(text, name, content[name], relative)
        out[path] = text
    return out


def synthesize(outdir: Path) -> dict[str, Stack]:
    """The golden configuration's stacks (``make snapshot``'s), synthesized into ``outdir``."""
    from tools.review.snapshot import synthesize_default

    return {name: Stack(name, doc) for name, doc in synthesize_default(outdir).items()}


def main(argv: list[str] | None = None, root: Path = ROOT) -> int:
    parser = cli.parser("tools.review.diagram", "Redraw the architecture picture and the per-stack table from the synthesized JSON.")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 when a file is not up to date")
    parser.add_argument("--stacks", type=Path, help="read <dir>/<stack>/cdk.tf.json instead of synthesizing the golden configuration")
    args = parser.parse_args(argv)
    try:
        if args.stacks is not None:
            stacks = load_stacks(args.stacks)
        else:
            with tempfile.TemporaryDirectory(prefix="diagram-") as tmp:
                stacks = synthesize(Path(tmp) / "cdktf.out")
        new = render(stacks, root)
    except DiagramError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    stale = [path for path, text in new.items() if path.read_text() != text]
    for path in stale:
        name = path.relative_to(root)
        if args.check:
            print(f"{name}: out of date; run make diagram", file=sys.stderr)
        else:
            path.write_text(new[path])
            print(f"{name}: rewritten")
    if not stale:
        print("diagram: up to date")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    process.run(main)
