"""make hcl: cdktf's HCL rendering defects are found and repaired from the JSON of the same synth."""

from __future__ import annotations

import json

import pytest

from tools.port.hcl_export import ExportError, cdktf_string, hcl_blocks, hcl_string, removed_block, repair, template_segments

DASHBOARD = '{"metrics":[["AWS/ApplicationELB","RequestCount","LoadBalancer","${aws_lb.alb.arn_suffix}"]],"markdown":"# dev\\nrows"}'


def test_template_code_is_kept_and_literal_text_split_out() -> None:
    value = 'a"${formatdate("YYYY", x)}"$${lit}%{ if c }y%{ endif }'
    assert list(template_segments(value)) == [
        (False, 'a"'),
        (True, '${formatdate("YYYY", x)}'),
        (False, '"$${lit}'),
        (True, "%{ if c }"),
        (False, "y"),
        (True, "%{ endif }"),
    ]


def test_hcl_strings_escape_literal_text_only() -> None:
    assert hcl_string(DASHBOARD) == (
        '"{\\"metrics\\":[[\\"AWS/ApplicationELB\\",\\"RequestCount\\",\\"LoadBalancer\\",\\"${aws_lb.alb.arn_suffix}\\"]],'
        '\\"markdown\\":\\"# dev\\\\nrows\\"}"'
    )
    assert hcl_string('final-${formatdate("YYYY", t.output.created)}') == '"final-${formatdate("YYYY", t.output.created)}"'
    assert hcl_string("two\nlines\ttab") == '"two\\nlines\\ttab"'


def test_cdktf_renders_strings_with_references_unescaped() -> None:
    """The defect being repaired, as cdktf 0.21's renderString has it."""
    assert cdktf_string(DASHBOARD) == f'"{DASHBOARD}"'
    assert cdktf_string('say "hi"') == '"say \\"hi\\""'
    assert cdktf_string("a\\d") == '"a\\d"'  # a backslash is not escaped
    assert cdktf_string("one\ntwo") == "<<EOF\none\ntwo\nEOF"  # a heredoc adds a final newline
    assert cdktf_string("") == '""'


def test_nested_blocks_from_json() -> None:
    statement = {"managed_rule_group_statement": {"name": "Common", "rule_action_override": [{"name": "A", "action_to_use": {"count": {}}}]}}
    assert hcl_blocks("statement", statement, "    ") == [
        "    statement {",
        "      managed_rule_group_statement {",
        '        name = "Common"',
        "        rule_action_override {",
        '          name = "A"',
        "          action_to_use {",
        "            count {",
        "            }",
        "          }",
        "        }",
        "      }",
        "    }",
    ]
    assert hcl_blocks("limit", 100, "") == ["limit = 100"]
    assert hcl_blocks("tags", ["a", True, None], "") == ['tags = ["a", true, null]']


def test_a_removed_block_names_an_address() -> None:
    assert removed_block({"from": "aws_ecr_repository.r", "lifecycle": {"destroy": False}}) == (
        "removed {\n  from = aws_ecr_repository.r\n  lifecycle {\n    destroy = false\n  }\n}"
    )


WARNING = """    # Warning: The following attribute is of an unexpected type. Either there's a problem with the provider
    # or CDKTF has chosen to skip generating a detailed type for this.

"""

#: What cdktf 0.21 writes (after its formatter) for :data:`DOC`.
CDKTF_HCL = (
    'terraform {\n  required_providers {\n    aws = {\n      version = "6.25.0"\n      source  = "hashicorp/aws"\n    }\n  }\n\n  0 = "required_version"\n}\n\n'
    'resource "aws_cloudwatch_dashboard" "d" {\n'
    '  dashboard_body = "{" metrics ":[[" AWS / ApplicationELB "," RequestCount "," LoadBalancer ","'
    ' ${aws_lb.alb.arn_suffix} "]]," markdown ":" # dev\\nrows "}"\n'
    '  dashboard_name = "dev"\n}\n'
    'resource "aws_wafv2_web_acl" "w" {\n  name = "acl"\n  rule {\n    name = "r"\n\n' + WARNING + "    statement = {\n"
    "      rate_based_statement = {\n        limit = 100\n      }\n    }\n  }\n}\n\n"
    'output "port" {\n  value       = 3306\n  description = "port"\n}\n\n'
    'output "users" {\n  value       = { "app" : ["SELECT"] }\n}\n'
)
DOC = {
    "terraform": {"required_providers": {"aws": {"source": "hashicorp/aws", "version": "6.25.0"}}, "required_version": ">= 1.10.0"},
    "resource": {
        "aws_cloudwatch_dashboard": {"d": {"dashboard_body": DASHBOARD, "dashboard_name": "dev"}},
        "aws_wafv2_web_acl": {"w": {"name": "acl", "rule": [{"name": "r", "statement": {"rate_based_statement": {"limit": 100}}}]}},
    },
    "output": {"port": {"value": "3306", "description": "port"}, "users": {"value": json.dumps({"app": ["SELECT"]})}},
    "removed": [{"from": "aws_ecr_repository.r", "lifecycle": {"destroy": False}}],
}


def test_repair_fixes_every_defect() -> None:
    hcl, done = repair(CDKTF_HCL, DOC)
    assert f"  dashboard_body = {hcl_string(DASHBOARD)}\n" in hcl
    assert '  value       = "3306"\n' in hcl
    assert '  value       = "{\\"app\\": [\\"SELECT\\"]}"\n' in hcl
    assert '  required_version = ">= 1.10.0"\n' in hcl and '0 = "required_version"' not in hcl
    assert "    statement {\n      rate_based_statement {\n        limit = 100\n      }\n    }\n" in hcl and "Warning" not in hcl
    assert hcl.endswith("\n\nremoved {\n  from = aws_ecr_repository.r\n  lifecycle {\n    destroy = false\n  }\n}\n")
    assert done.summary() == (
        "3 strings (dashboard_body, output port, output users); 1 untyped attributes as blocks (aws_wafv2_web_acl.statement); "
        "1 dropped blocks (1 removed); terraform settings (required_version)"
    )


def test_a_correct_rendering_is_left_as_it_is() -> None:
    doc = {"resource": {"aws_s3_bucket": {"b": {"bucket": "x-${var.y}"}}}, "output": {"o": {"value": "${aws_s3_bucket.b.arn}"}}}
    text = 'resource "aws_s3_bucket" "b" {\n  bucket = "x-${var.y}"\n}\n\noutput "o" {\n  value = "${aws_s3_bucket.b.arn}"\n}\n'
    assert repair(text, doc) == (text, repair(text, doc)[1])
    assert repair(text, doc)[1].summary() == "nothing"


def test_a_map_attribute_value_respaced_by_cdktf_is_found_by_its_key() -> None:
    """cdktf's formatter re-spaces a JSON list inside a map value (``"[" $ { x } "]"``)."""
    value = '["${aws_security_group.s.id}"]'
    doc = {"resource": {"aws_x": {"x": {"overrides": {"subnets": "${aws_y.y.name}", "groups": value}}}}}
    text = 'resource "aws_x" "x" {\n  overrides = {\n    subnets = "${aws_y.y.name}"\n    groups  = "[" $ { aws_security_group.s.id } "]"\n  }\n}\n'
    hcl, done = repair(text, doc)
    assert f"    groups  = {hcl_string(value)}\n" in hcl and "$ {" not in hcl
    assert '    subnets = "${aws_y.y.name}"\n' in hcl
    assert done.strings == ["groups"]


def test_a_block_the_formatter_gave_up_on_is_found_without_indentation() -> None:
    """A ``/*`` inside a string (an S3 prefix ``env*/*``) stops cdktf's formatter: the block is written unindented."""
    value = '{"Resource": ["arn:${data.p.partition}:s3:::b/env*/*"], "Sid": "S"}'
    doc = {"resource": {"aws_iam_policy": {"p": {"name": "n", "policy": value}}}}
    text = 'resource "aws_iam_policy" "p" {\nname = "n"\npolicy = "{" Resource ": [" arn : $ { data.p.partition } : s3 : : : b / env*/*"], "Sid": "S"}"\n}\n'
    hcl, done = repair(text, doc)
    assert f"policy = {hcl_string(value)}\n" in hcl and "$ {" not in hcl
    assert done.strings == ["policy"]


@pytest.mark.parametrize(
    ("hcl", "doc", "message"),
    [
        ("", {"check": {"c": {}}}, "top-level block 'check' is dropped by cdktf's HCL renderer and has no repair"),
        ("terraform {\n}\n", {"terraform": {"required_version": ">= 1"}}, "terraform.required_version: cdktf's rendering of this setting was not found"),
        ("", {"resource": {"aws_x": {"x": {"a": 'q"${b}'}}}}, 'resource "aws_x" "x": not found in cdktf\'s HCL'),
        ("", {"locals": {"a": 'q"${b}'}}, "locals.a: cdktf's rendering of this string was not found"),
        (
            'resource "aws_x" "x" {\n' + WARNING + "    s = {\n    }\n}\n",
            {"resource": {"aws_x": {"x": {}}}},
            "aws_x.x: cdktf flagged more s attributes than the JSON holds",
        ),
        (
            'resource "aws_x" "x" {\n' + WARNING + "    s = {\n    }\n}\n",
            {"resource": {"aws_x": {"x": {"a": {"s": {}}, "b": {"s": {}}}}}},
            "aws_x.x: cdktf flagged fewer attributes than the JSON holds",
        ),
    ],
)
def test_fails_when_cdktf_renders_something_the_repair_does_not_know(hcl: str, doc: dict, message: str) -> None:
    with pytest.raises(ExportError, match=message):
        repair(hcl, doc)
