"""``make diagram``: the architecture picture and the per-stack table, drawn from the synthesized JSON.

The committed picture (README.md, docs/architecture.md) and table (docs/architecture.md)
must be what a fresh rendering of the session's synthesis gives (the golden
configuration, as ``make diagram`` synthesizes it).  Each required element is drawn
from a resource or a reference, so taking that resource out of the JSON takes it out
of the picture.
"""

from __future__ import annotations

import copy
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, Synthesized
from tools.review import diagram
from tools.review.diagram import DiagramError, Stack, load_stacks, picture, render, rewrite, stack_table

PROD, DEV = "order-api-prod", "order-api-dev"


def stacks_with(synth: Synthesized, change: Callable[[dict[str, Any]], None] | None = None, stack: str = PROD) -> dict[str, Stack]:
    """The session's stacks, with ``change`` applied to a copy of one stack's JSON."""
    stacks = load_stacks(synth.stacks_dir)
    if change is not None:
        doc = copy.deepcopy(dict(stacks[stack].doc))
        change(doc)
        stacks[stack] = Stack(stack, doc)
    return stacks


def drawn(synth: Synthesized, change: Callable[[dict[str, Any]], None] | None = None, stack: str = PROD) -> str:
    return "\n".join(picture(stacks_with(synth, change, stack), stack))


def drop(rtype: str, path_suffix: str = "") -> Callable[[dict[str, Any]], None]:
    """Remove the resources of a type (those whose construct path ends with ``path_suffix``)."""

    def change(doc: dict[str, Any]) -> None:
        resources = doc["resource"][rtype]
        for name in [n for n, body in resources.items() if body["//"]["metadata"]["path"].endswith(path_suffix)]:
            del resources[name]

    return change


def service(change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    """Apply ``change`` to the stack's ECS service."""

    def apply(doc: dict[str, Any]) -> None:
        change(next(iter(doc["resource"]["aws_ecs_service"].values())))

    return apply


def test_the_committed_picture_and_table_are_current(synth: Synthesized) -> None:
    """Regenerated from the session's synthesis; on a difference, run make diagram."""
    stale = [path.name for path, text in render(load_stacks(synth.stacks_dir), ROOT).items() if path.read_text() != text]
    assert stale == [], "out of date: run make diagram and commit the result"


def test_the_rendering_is_deterministic(synth: Synthesized) -> None:
    stacks = load_stacks(synth.stacks_dir)
    assert render(stacks, ROOT) == render(load_stacks(synth.stacks_dir), ROOT)
    assert "```mermaid\nflowchart TB\n" in diagram.blocks(stacks)["diagram"]


def test_waf_in_front_of_the_load_balancer(synth: Synthesized) -> None:
    assert "waf_web_acl{{" in drawn(synth) and "waf_web_acl --> lb_alb" in drawn(synth)
    assert 'internet -->|"ports 80, 443"| waf_web_acl' in drawn(synth)
    without = drawn(synth, drop("aws_wafv2_web_acl_association"))
    assert "WAF" not in without
    assert 'internet -->|"ports 80, 443"| lb_alb' in without


def test_the_load_balancers_listeners(synth: Synthesized) -> None:
    text = drawn(synth)
    for line in ("lb_alb --> listener_443", "lb_alb --> listener_9443", "lb_alb --> listener_80"):
        assert line in text
    assert 'listener_443("listener HTTPS 443<br/>production traffic")' in text
    assert 'listener_9443("listener HTTPS 9443<br/>test traffic")' in text
    assert "redirect to HTTPS 443" in text
    assert "listener_9443" not in drawn(synth, drop("aws_lb_listener", "/test_listener"))


def test_blue_and_green_target_groups_behind_both_listeners(synth: Synthesized) -> None:
    text = drawn(synth)
    for listener, role in (("listener_443", "production"), ("listener_9443", "test")):
        for colour in ("blue", "green"):
            assert f'{listener} -->|"{role} rule"| tg_{colour}_target_group' in text
    assert 'tg_blue_target_group -->|"primary"| svc_service' in text
    assert 'tg_green_target_group -->|"alternate"| svc_service' in text
    without = drawn(synth, service(lambda svc: svc.pop("load_balancer")))
    assert "svc_service[" in without
    assert '"primary"' not in without and '"alternate"' not in without


def test_the_fargate_and_fargate_spot_service(synth: Synthesized) -> None:
    text = drawn(synth)
    assert "ECS service order-api-prod-api<br/>Fargate weight 1 (base 1), Fargate Spot weight 1" in text
    assert "deployments: CANARY 10 % for 5 min" in text
    on_demand = drawn(synth, service(lambda svc: svc.update(capacity_provider_strategy=[{"capacity_provider": "FARGATE", "weight": 1}])))
    assert "Fargate weight 1<br/>" in on_demand and "Spot" not in on_demand


def test_aurora_writer_and_reader_reached_by_the_service(synth: Synthesized) -> None:
    text = drawn(synth)
    assert 'db_writer[("writer<br/>db.r6g.large")]' in text
    assert 'db_reader_0[("reader-0<br/>db.r6g.large")]' in text
    assert 'svc_service -->|"MySQL 3306, IAM auth"| db_writer' in text
    assert 'svc_service -->|"MySQL 3306, IAM auth"| db_reader_0' in text
    assert "readers auto-scaled 1-3" in text
    assert "MySQL 3306" not in drawn(synth, drop("aws_vpc_security_group_ingress_rule", "/mysql_ingress_0"))
    assert "db_reader_0" not in drawn(synth, drop("aws_rds_cluster_instance", "/reader_0"))
    assert "Serverless v2, 0.5-4 ACU" in drawn(synth, stack=DEV)


def test_the_smoke_test_lifecycle_hook(synth: Synthesized) -> None:
    text = drawn(synth)
    assert 'fn_function[["Lambda order-api-prod-smoke-test<br/>smoke test"]]' in text
    assert 'svc_service -.->|"lifecycle hook POST_TEST_TRAFFIC_SHIFT"| fn_function' in text
    assert 'nat -->|"port 9443, from the NAT addresses only"| listener_9443' in text
    without = drawn(synth, service(lambda svc: svc["deployment_configuration"].pop("lifecycle_hook")))
    assert "Lambda" not in without and "9443, from the NAT" not in without


def test_nat_gateways_and_vpc_endpoints(synth: Synthesized) -> None:
    text = drawn(synth)
    assert 'nat["NAT gateway x3<br/>one per availability zone"]' in text
    assert "interface: ecr.api, ecr.dkr, logs, secretsmanager, ssm" in text
    dev = drawn(synth, stack=DEV)
    assert 'nat["NAT gateway x1<br/>shared by the availability zones"]' in dev
    assert 'endpoints["VPC endpoints<br/>gateway: s3"]' in dev
    assert "NAT gateway" not in drawn(synth, drop("aws_nat_gateway"))
    assert "VPC endpoints" not in drawn(synth, drop("aws_vpc_endpoint"))


def test_alarms_to_the_sns_topics(synth: Synthesized) -> None:
    text = drawn(synth)
    assert 'alarms -->|"5 alarms page"| topic_order_api_prod_alarms' in text
    assert 'alarms -->|"15 alarms notify, no page"| topic_order_api_prod_tickets' in text
    assert 'alarms -.->|"7 roll back a deployment"| svc_service' in text
    assert 'rules -->|"one line per event"| topic_order_api_prod_alarms' in text

    def external(doc: dict[str, Any]) -> None:
        for alarm in doc["resource"]["aws_cloudwatch_metric_alarm"].values():
            if alarm.get("alarm_actions"):
                existing = "tickets" if alarm["alarm_actions"][0].startswith("${aws_sns_topic.monitoring_ticket") else "paging"
                alarm["alarm_actions"] = [*alarm["alarm_actions"], f"arn:aws:sns:us-east-1:123456789012:{existing}"]

    with_existing = drawn(synth, external)
    assert 'topic_paging>"SNS topic paging<br/>an existing topic"]' in with_existing
    # An existing topic of the ticket channel does not page either.
    assert 'alarms -->|"4 alarms page"| topic_paging' in with_existing
    assert 'alarms -->|"15 alarms notify, no page"| topic_tickets' in with_existing
    assert 'alarms -->|"4 alarms page"| topic_order_api_prod_alarms' in drawn(synth, drop("aws_cloudwatch_composite_alarm"))

    def silent(doc: dict[str, Any]) -> None:
        for kind in ("aws_cloudwatch_metric_alarm", "aws_cloudwatch_composite_alarm"):
            for alarm in doc["resource"][kind].values():
                alarm.pop("alarm_actions", None)

    assert "alarms page" not in drawn(synth, silent)


def test_the_shared_registry_and_state_bucket(synth: Synthesized) -> None:
    text = drawn(synth)
    assert 'registry[("ECR repository order-api<br/>stack order-api-registry")]' in text
    assert 'registry -->|"image pull"| svc_service' in text
    assert "S3 bucket order-api-terraform-state<br/>Terraform state, key order-api-prod/terraform.tfstate<br/>stack order-api-state" in text
    stacks = stacks_with(synth)
    del stacks["order-api-registry"], stacks["order-api-state"]
    alone = "\n".join(picture(stacks))
    assert "ECR repository order-api<br/>not in this synthesis" in alone
    assert "stack order-api-state" not in alone and "order-api-prod/terraform.tfstate<br/>not in this synthesis" in alone


def test_local_or_cloud_state_instead_of_the_bucket(synth: Synthesized) -> None:
    local = drawn(synth, lambda doc: doc["terraform"].update(backend={"local": {"path": "x.tfstate"}}))
    assert "Terraform state: local backend" in local

    def cloud(doc: dict[str, Any]) -> None:
        doc["terraform"].pop("backend")
        doc["terraform"]["cloud"] = {"organization": "acme"}

    assert "Terraform Cloud organization acme" in drawn(synth, cloud)


def test_the_table_counts_every_stack_and_reads_the_differences(synth: Synthesized) -> None:
    table = "\n".join(stack_table(load_stacks(synth.stacks_dir)))
    for stack in synth.stack_names():
        assert f"| `{stack}` | {sum(len(by_name) for by_name in synth.doc(stack)['resource'].values())} |" in table
    rows = {line.split(" | ")[0].strip("| "): line for line in table.splitlines()}
    assert rows["NAT gateways"] == "| NAT gateways | 1 | 1 | 3 | 1 |"
    assert rows["interface endpoints"].startswith("| interface endpoints | none | 5 (ecr.api")
    assert "provisioned `db.r6g.large`" in rows["Aurora"] and "Serverless v2 (0.5-4 ACU)" in rows["Aurora"]
    assert rows["log retention (days)"] == "| log retention (days) | 7 | 14 | 365 | 7 |"
    assert rows["deployment strategy"].split(" | ")[3] == "CANARY 10 % for 5 min, bake 10 min"
    assert rows["deletion protection"] == "| deletion protection | off | off | Aurora and ALB | off |"
    assert rows["final snapshot"] == "| final snapshot | kept | kept | kept | skipped |"
    assert rows["availability SLO"] == "| availability SLO | 99 % | 99.5 % | 99.9 % | 99 % |"


def test_the_table_follows_the_json(synth: Synthesized) -> None:
    def unprotected(doc: dict[str, Any]) -> None:
        next(iter(doc["resource"]["aws_rds_cluster"].values()))["deletion_protection"] = False

    table = "\n".join(stack_table(stacks_with(synth, unprotected)))
    assert "| deletion protection | off | off | ALB | off |" in table


def test_rewrite_replaces_only_the_marked_block() -> None:
    text = "before\n<!-- diagram:start -->\nold\n<!-- diagram:end -->\nafter\n"
    assert rewrite(text, "diagram", "new") == "before\n<!-- diagram:start -->\nnew\n<!-- diagram:end -->\nafter\n"
    with pytest.raises(DiagramError, match="needs exactly one <!-- diagram:start --> line"):
        rewrite("no markers\n", "diagram", "new", "README.md")
    with pytest.raises(DiagramError):
        rewrite(text + text, "diagram", "new")


def copy_targets(root: Path) -> None:
    for relative in diagram.TARGETS:
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / relative, root / relative)


def test_main_checks_and_rewrites(synth: Synthesized, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    copy_targets(tmp_path)
    stacks = ["--stacks", str(synth.stacks_dir)]
    assert diagram.main([*stacks, "--check"], root=tmp_path) == 0
    readme = tmp_path / "README.md"
    readme.write_text(readme.read_text().replace("NAT gateway x3", "NAT gateway x9"))
    assert diagram.main([*stacks, "--check"], root=tmp_path) == 1
    assert "README.md: out of date; run make diagram" in capsys.readouterr().err
    assert diagram.main(stacks, root=tmp_path) == 0
    assert "README.md: rewritten" in capsys.readouterr().out
    assert readme.read_text() == (ROOT / "README.md").read_text()
    assert diagram.main([*stacks, "--check"], root=tmp_path) == 0


def test_main_says_what_is_missing_in_one_line(synth: Synthesized, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert diagram.main(["--stacks", str(synth.stacks_dir)], root=tmp_path) == 2
    assert capsys.readouterr().err == "error: README.md is missing: make diagram rewrites its marked blocks\n"
    empty = tmp_path / "empty"
    empty.mkdir()
    copy_targets(tmp_path)
    assert diagram.main(["--stacks", str(empty)], root=tmp_path) == 2
    assert capsys.readouterr().err.startswith("error: the synthesis has no stack order-api-prod to draw")


def test_main_synthesizes_the_golden_configuration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, synth: Synthesized) -> None:
    """Without --stacks it synthesizes (here: the session's stacks stand in for the synthesis)."""
    copy_targets(tmp_path)
    seen: list[Path] = []

    def fake(outdir: Path) -> dict[str, Stack]:
        seen.append(outdir)
        return load_stacks(synth.stacks_dir)

    monkeypatch.setattr(diagram, "synthesize", fake)
    assert diagram.main(["--check"], root=tmp_path) == 0
    assert seen and seen[0].name == "cdktf.out"
