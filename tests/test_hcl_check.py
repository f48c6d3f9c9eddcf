"""make hcl-check: HCL decoded as Terraform reads it, compared with the JSON, adapted to an older provider."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tools.port import hcl_check
from tools.port.hcl_check import Blocks, adapt, decode_string, differences, json_shape, without_metadata

HCL_PYTHON = ROOT / "envs" / "hcl" / ".venv" / "bin" / "python"


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ('"plain"', "plain"),
        ('"q\\"uote \\\\ back \\n nl \\u00e9"', 'q"uote \\ back \n nl \u00e9'),
        ('"pre-${formatdate("YYYY\\n", t.output.created)}-\\"post\\""', 'pre-${formatdate("YYYY\\n", t.output.created)}-"post"'),
        ('"$${lit} %%{lit}"', "$${lit} %%{lit}"),
        ('"<<EOF\nline1\nline2\nEOF"', "line1\nline2\n"),
        ('"<<-EOT\n    a\n      b\n    EOT"', "a\n  b\n"),
        ("${aws_vpc.v.id}", "${aws_vpc.v.id}"),
    ],
)
def test_strings_decode_as_terraform_reads_them(raw: str, value: str) -> None:
    assert decode_string(raw) == value


def test_fails_on_an_escape_terraform_rejects() -> None:
    with pytest.raises(ValueError, match=r"invalid escape in HCL string: '\\\\d'"):
        decode_string('"a\\d"')


#: python-hcl2 8's parse of a small cdk.tf (its shape: labels and strings keep their quotes).
PARSED = {
    "terraform": [
        {
            "required_providers": [{"aws": {"source": '"hashicorp/aws"', "version": '"6.25.0"'}, "__is_block__": True}],
            "backend": [{'"s3"': {"bucket": '"b"', "use_lockfile": True, "__is_block__": True}}],
            "required_version": '">= 1.10.0"',
            "__is_block__": True,
        }
    ],
    "provider": [{'"aws"': {"region": '"us-east-1"', "default_tags": [{"tags": {"managed-by": '"cdktf"'}, "__is_block__": True}], "__is_block__": True}}],
    "resource": [
        {
            '"aws_kms_key"': {
                '"k"': {
                    "enable_key_rotation": True,
                    "deletion_window_in_days": 30,
                    "lifecycle": [{"prevent_destroy": True, "__is_block__": True}],
                    "depends_on": ["${aws_iam_role.r}"],
                    "__comments__": [{"value": "a comment"}],
                    "__is_block__": True,
                }
            }
        }
    ],
    "output": [{'"arn"': {"value": '"${aws_kms_key.k.arn}"', "sensitive": False, "__is_block__": True}}],
    "removed": [{"from": "${aws_ecr_repository.r}", "lifecycle": [{"destroy": False, "__is_block__": True}], "__is_block__": True}],
}
JSON = {
    "//": {"metadata": {"version": "0.21.0"}},
    "terraform": {
        "required_providers": {"aws": {"source": "hashicorp/aws", "version": "6.25.0"}},
        "backend": {"s3": {"bucket": "b", "use_lockfile": True}},
        "required_version": ">= 1.10.0",
    },
    "provider": {"aws": [{"region": "us-east-1", "default_tags": [{"tags": {"managed-by": "cdktf"}}]}]},
    "resource": {
        "aws_kms_key": {
            "k": {
                "//": {"metadata": {"path": "s/k"}},
                "enable_key_rotation": True,
                "deletion_window_in_days": 30,
                "lifecycle": {"prevent_destroy": True},
                "depends_on": ["aws_iam_role.r"],
            }
        }
    },
    "output": {"arn": {"value": "${aws_kms_key.k.arn}", "sensitive": False}},
    "removed": [{"from": "aws_ecr_repository.r", "lifecycle": {"destroy": False}}],
}


def test_the_parse_is_arranged_like_terraform_json() -> None:
    shaped = json_shape(PARSED)
    assert isinstance(shaped["resource"]["aws_kms_key"]["k"]["lifecycle"], Blocks)
    assert differences(without_metadata(JSON), shaped) == []


@pytest.mark.parametrize(
    ("change", "found"),
    [
        (lambda d: d["output"]["arn"].update(value=3306), ['output.arn.value: JSON 3306, HCL "${aws_kms_key.k.arn}"']),
        (lambda d: d.pop("removed"), ['removed: only in the HCL ([{"from": "aws_ecr_repository.r", "lifecycle": [{"destroy": false}]}])']),
        (lambda d: d["resource"]["aws_kms_key"]["k"].update(policy="{}"), ["resource.aws_kms_key.k.policy: missing from the HCL"]),
        (lambda d: d["resource"]["aws_kms_key"]["k"].update(depends_on=[]), ["resource.aws_kms_key.k.depends_on: 0 items in the JSON, 1 in the HCL"]),
        (lambda d: d["terraform"].update(required_version=">= 1.7.0"), ['terraform.required_version: JSON ">= 1.7.0", HCL ">= 1.10.0"']),
    ],
)
def test_every_difference_is_reported_with_its_path(change, found: list[str]) -> None:
    expected = without_metadata(json.loads(json.dumps(JSON)))
    change(expected)
    assert differences(expected, json_shape(PARSED)) == found


def test_a_number_and_the_same_digits_as_a_string_differ() -> None:
    assert differences({"port": "3306"}, {"port": 3306}) == ['port: JSON "3306", HCL 3306']


SERVICE = """terraform {
  required_providers {
    aws = {
      version = "6.25.0"
      source  = "hashicorp/aws"
    }
  }
}
resource "aws_ecr_repository" "repo" {
  image_tag_mutability = "IMMUTABLE_WITH_EXCLUSION"
  image_tag_mutability_exclusion_filter {
    filter      = "latest"
    filter_type = "WILDCARD"
  }
  name = "order-api"
}
resource "aws_ecs_service" "svc" {
  deployment_configuration {
    strategy = "BLUE_GREEN"
  }
  load_balancer {
    advanced_configuration {
      role_arn = "${aws_iam_role.r.arn}"
    }
    container_name = "api"
  }
  name = "api"
}
output "ecs_service_arn" {
  value = "${aws_ecs_service.svc.arn}"
}
"""


def test_an_older_provider_gets_the_e2e_gap_taken_out_line_by_line() -> None:
    text, changes = adapt(SERVICE, "5.100.0")
    assert text == (
        SERVICE.replace('"6.25.0"', '"5.100.0"')
        .replace('"IMMUTABLE_WITH_EXCLUSION"', '"IMMUTABLE"')
        .replace('  image_tag_mutability_exclusion_filter {\n    filter      = "latest"\n    filter_type = "WILDCARD"\n  }\n', "")
        .replace('  deployment_configuration {\n    strategy = "BLUE_GREEN"\n  }\n', "")
        .replace('    advanced_configuration {\n      role_arn = "${aws_iam_role.r.arn}"\n    }\n', "")
        .replace("aws_ecs_service.svc.arn", "aws_ecs_service.svc.id")
    )
    assert len(changes) == 5


def test_a_6x_provider_only_moves_the_pin() -> None:
    assert adapt(SERVICE, "6.30.0") == (SERVICE.replace('"6.25.0"', '"6.30.0"'), [])


def test_fails_clearly_with_checkovs_hcl_parser() -> None:
    with pytest.raises(RuntimeError, match="needs python-hcl2 8"):
        hcl_check.parse('a = "b"')


def test_fails_without_an_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert hcl_check.main(["--out", str(tmp_path)]) == 1
    assert capsys.readouterr().err == f"error: {tmp_path} has no stacks; run make hcl first\n"


def test_the_real_parser_finds_a_defect_in_a_real_file(tmp_path: Path) -> None:
    """python-hcl2 in envs/hcl (make test installs it): a value that changed is reported, the rest is equal."""
    (tmp_path / "stacks" / "s").mkdir(parents=True)
    (tmp_path / "json" / "s").mkdir(parents=True)
    (tmp_path / "stacks" / "s" / "cdk.tf").write_text('resource "aws_s3_bucket" "b" {\n  bucket = "x\\"y"\n  force_destroy = true\n}\n')
    (tmp_path / "json" / "s" / "cdk.tf.json").write_text(json.dumps({"resource": {"aws_s3_bucket": {"b": {"bucket": 'x"z', "force_destroy": True}}}}))
    env = {"PATH": "/nonexistent"}  # no terraform: the validity part is SKIPPED
    result = subprocess.run(
        [str(HCL_PYTHON), "-m", "tools.port.hcl_check", "--out", str(tmp_path)], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines() == [
        "s: HCL != JSON: 1 differences",
        '    resource.aws_s3_bucket.b.bucket: JSON "x\\"z", HCL "x\\"y"',
        "SKIPPED: terraform validate of the HCL: no terraform on PATH",
    ]
