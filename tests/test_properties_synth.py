"""Random valid configurations always synthesize, pass the guardrails and the policy gate.

Run by ``make fuzz`` (marker ``fuzz``): a fixed seed (``FUZZ_SEED``) and a
documented example count (``FUZZ_EXAMPLES``, default 25).  Each example is an
environment built from values drawn inside the validated ranges (sizes, task
counts, Spot share, database, edge, alarms, network); a draw that the
configuration refuses is discarded, not counted.  Every synthesized stack is
kept, and checkov scans them all at the end against the reasoned exceptions.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, seed, settings
from hypothesis import strategies as st

from stacks.config import FARGATE_SIZES, ConfigError, EnvironmentConfig, NetworkConfig, StateConfig, catalogue
from tests.conftest import Synthesized, guardrail_violations

pytestmark = pytest.mark.fuzz

FUZZ_SEED = int(os.environ.get("FUZZ_SEED", "20261126"))
FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
SYNTHESIZED: list[Path] = []

SIZES = [(cpu, memory) for cpu, memories in FARGATE_SIZES.items() for memory in memories[:2]]


@st.composite
def environments(draw: st.DrawFn) -> EnvironmentConfig:
    name = draw(st.sampled_from(["dev", "staging", "prod"]))
    base = catalogue("us-east-1")[name]
    cpu, memory = draw(st.sampled_from(SIZES))
    max_tasks = draw(st.integers(1, 40))
    min_tasks = draw(st.integers(1 if name == "prod" else 0, max_tasks))
    service = replace(
        base.service,
        cpu=cpu,
        memory=memory,
        spot_percentage=draw(st.integers(0, 100)),
        max_tasks=max_tasks,
        min_tasks=min_tasks,
        desired_tasks=draw(st.integers(min_tasks, max_tasks)),
        on_demand_base=draw(st.integers(1 if name == "prod" else 0, max(min_tasks, 1 if name == "prod" else 0))),
        cpu_target_percent=draw(st.integers(10, 95)),
        requests_per_target=draw(st.one_of(st.none(), st.integers(1, 10_000))),
        enable_execute_command=draw(st.booleans()),
        container_port=draw(st.integers(1024, 65535)),
    )
    zones = draw(st.sampled_from([("a", "b"), ("a", "b", "c"), ("b", "c", "d"), ("d", "e", "f")]))
    network = NetworkConfig(
        vpc_cidr=draw(st.sampled_from(["10.60.0.0/16", "10.61.0.0/17", "10.62.0.0/18", "10.63.0.0/19"])),
        az_count=len(zones),
        az_letters=zones,
        nat_gateways=draw(st.sampled_from(["per_az", "single"])),
        interface_endpoints=draw(st.booleans()),
    )
    database = replace(
        base.database,
        instance_class=draw(st.sampled_from(["db.serverless", "db.r6g.large", "db.r7g.xlarge"])),
        reader_count=draw(st.integers(1, 3)),
        backup_retention_days=draw(st.integers(1, 35)),
        migration_username=draw(st.sampled_from([None, "orders_migrate"])),
        app_privileges=tuple(draw(st.lists(st.sampled_from(["SELECT", "INSERT", "UPDATE", "DELETE", "EXECUTE"]), min_size=1, max_size=5, unique=True))),
    )
    edge = replace(base.edge, rate_limit=draw(st.integers(10, 100_000)), max_body_bytes=draw(st.integers(1024, 10_000_000)))
    monitoring = replace(
        base.monitoring,
        alarm_topic_arn="arn:aws:sns:us-east-1:123456789012:paging" if name == "prod" else None,
        alarm_evaluation_periods=(periods := draw(st.integers(1, 24))),
        alarm_datapoints_to_alarm=draw(st.integers(1, periods)),
        db_connections=draw(st.integers(1, 16_000)),
    )
    try:
        return replace(base, suffix="fz", network=network, service=service, database=database, edge=edge, monitoring=monitoring)
    except ConfigError:
        assume(False)
        raise


@seed(FUZZ_SEED)
@settings(max_examples=FUZZ_EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(env=environments())
def test_a_valid_configuration_synthesizes_and_passes_the_guardrails(env: EnvironmentConfig, tmp_path_factory: pytest.TempPathFactory) -> None:
    from stacks.framework import App
    from stacks.order_api_stack import OrderApiStack

    outdir = tmp_path_factory.mktemp("fuzz")
    app = App(outdir=str(outdir))
    OrderApiStack(app, env.stack_name, config=env, state=StateConfig(), state_region="us-east-1")
    app.synth()  # the Guardrails aspect fails this on a violation
    doc: dict[str, Any] = Synthesized(outdir).doc(env.stack_name)
    assert guardrail_violations(doc) == []
    assert doc["resource"]["aws_ecs_service"]
    SYNTHESIZED.append(outdir / "stacks" / env.stack_name)


def test_every_synthesized_example_passes_the_policy_gate(tmp_path: Path) -> None:
    from tools.review.policy_scan import evaluate, load_exceptions, run_checkov

    assert SYNTHESIZED, "run together with the synthesizing property"
    # The exceptions are scoped by stack name, so each example is scanned under the name its
    # environment really has (staging and prod as themselves, dev as a suffixed copy), in
    # batches that hold each name once.
    batches: list[dict[str, Path]] = []
    for stack_dir in SYNTHESIZED:
        name = stack_dir.name if stack_dir.name.startswith("order-api-dev") else stack_dir.name.removesuffix("-fz")
        batch = next((b for b in batches if name not in b), None)
        if batch is None:
            batch = {}
            batches.append(batch)
        batch[name] = stack_dir
    findings = []
    for i, batch in enumerate(batches):
        for name, stack_dir in batch.items():
            target = tmp_path / f"batch{i}" / name
            target.mkdir(parents=True)
            (target / "cdk.tf.json").write_text((stack_dir / "cdk.tf.json").read_text())
        findings += run_checkov(tmp_path / f"batch{i}")
    unexplained, _ = evaluate(findings, load_exceptions())
    assert unexplained == [], "\n".join(str(f) for f in unexplained)
    print(f"fuzz: seed {FUZZ_SEED}, {len(SYNTHESIZED)} configurations synthesized and scanned")


#: Synthesizing examples of the template property (each about 4 s).
TEMPLATE_EXAMPLES = max(3, FUZZ_EXAMPLES // 5)


@st.composite
def marked_overrides(draw: st.DrawFn) -> dict[str, list[str]]:
    """For every variable a few candidates, each with a marker at a drawn place (or a
    trailing ``$``/``%``); Terraform Cloud state or S3 state with an emulator endpoint."""
    from tests.test_templates import MARKERS, TRAILERS, VALID, _marked

    valid = dict(VALID)
    if draw(st.booleans()):
        valid.update(STATE_BACKEND="cloud", AWS_ENDPOINT_URL="", TF_STATE_BOOTSTRAP_BACKEND="local")
    candidates = {}
    for name, value in valid.items():
        marks = draw(st.lists(st.tuples(st.sampled_from(MARKERS), st.integers(-1, 80)), min_size=1, max_size=3))
        trail = draw(st.sampled_from(["", *TRAILERS]))
        candidates[name] = [*(_marked(value, marker, position) for marker, position in marks), *([value + trail] if trail else []), value]
    return candidates


@seed(FUZZ_SEED)
@settings(max_examples=TEMPLATE_EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(candidates=marked_overrides())
def test_no_marker_from_any_variable_reaches_the_json(candidates: dict[str, list[str]]) -> None:
    from tests.conftest import synthesize
    from tests.test_templates import accepted_with_markers, check_synthesized

    overrides = accepted_with_markers(candidates)
    synthesized = synthesize(overrides, f"templates-{abs(hash(tuple(sorted(overrides.items()))))}")
    check_synthesized(synthesized, overrides)
