"""checkov over every synthesized stack: each finding fixed or excepted with a reason."""

from __future__ import annotations

import json

import pytest

from tests.conftest import Synthesized
from tools.review.policy_scan import Exception_, Finding, evaluate, load_exceptions, run_checkov


@pytest.fixture(scope="module")
def findings(synth: Synthesized) -> list[Finding]:
    return run_checkov(synth.stacks_dir)


def test_checkov_scanned_every_stack(findings: list[Finding], synth: Synthesized) -> None:
    # Every stack with a KMS key has at least one reasoned finding (its key policy), which
    # proves checkov read it; the account stack holds one log resource policy and no key, the
    # identity stack IAM only (its policies pass checkov; tests/test_pipeline_policies.py
    # audits them with the IAM-specific tools).
    assert {f.stack for f in findings} == set(synth.stack_names()) - {"order-api-account", "order-api-identity"}


def test_every_finding_is_fixed_or_excepted_with_a_reason(findings: list[Finding]) -> None:
    unexplained, _ = evaluate(findings, load_exceptions())
    assert unexplained == [], "\n".join(str(f) for f in unexplained)


def test_no_stale_exceptions(findings: list[Finding]) -> None:
    _, stale = evaluate(findings, load_exceptions())
    assert stale == []


def test_every_exception_has_a_reason() -> None:
    exceptions = load_exceptions()
    assert exceptions
    assert all(len(e.reason) >= 20 for e in exceptions)


def test_evaluate_reports_new_and_stale() -> None:
    finding = Finding("CKV_AWS_1", "order-api-dev", "aws_s3_bucket.x", "name")
    exc = Exception_("CKV_AWS_2", ("aws_s3_bucket.*",), (), "a reason that is long enough")
    unexplained, stale = evaluate([finding], [exc])
    assert unexplained == [finding]
    assert stale == [exc]


def test_exception_can_be_limited_to_stacks() -> None:
    exc = Exception_("CKV_AWS_1", ("resource.*",), ("order-api-dev",), "a reason that is long enough")
    assert exc.covers(Finding("CKV_AWS_1", "order-api-dev", "resource.a", "n"))
    assert not exc.covers(Finding("CKV_AWS_1", "order-api-prod", "resource.a", "n"))


def test_scan_reads_a_copy_without_the_blocks_checkov_cannot_parse(tmp_path) -> None:
    from tools.review.policy_scan import UNSCANNED_BLOCKS, scannable_copy

    source = tmp_path / "in" / "stack-a"
    source.mkdir(parents=True)
    terraform = {"required_version": ">= 1.10.0", "required_providers": {"aws": {"source": "hashicorp/aws"}}}
    doc = {"resource": {"aws_s3_bucket": {"b": {"bucket": "x"}}}, "removed": [{"from": "a.b"}], "moved": [], "terraform": terraform}
    (source / "cdk.tf.json").write_text(json.dumps(doc))
    copy = scannable_copy(tmp_path / "in", tmp_path / "out")
    assert json.loads((copy / "stack-a" / "cdk.tf.json").read_text()) == {
        "resource": {"aws_s3_bucket": {"b": {"bucket": "x"}}},
        "terraform": {"required_providers": {"aws": {"source": "hashicorp/aws"}}},
    }
    assert set(UNSCANNED_BLOCKS) == {"removed", "moved", "import"}
