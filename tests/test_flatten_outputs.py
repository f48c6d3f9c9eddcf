"""Flattening the cdktf CLI's outputs file for the integration tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tools.common.flatten_outputs import OutputsError, flatten, main

OUTPUTS = {
    "order-api-dev": {
        "vpc_id": "vpc-0123",
        "public_subnet_ids": ["subnet-a", "subnet-b"],
        "tags": {"project": "order-api"},
        "database": {"database_cluster_identifier": "order-api-dev-db"},
    },
    "order-api-prod": {"vpc_id": "vpc-9999"},
}
MAPPING = {
    "vpc_id": "vpc_id",
    "public_subnet_ids": "public_subnet_ids",
    "tags": "tags",
    "database": {"database_cluster_identifier": "database_cluster_identifier"},
    "database_secret_arn": "database_secret_arn",  # sensitive: absent from the file
}


def test_flattens_construct_scopes_using_the_synthesized_mapping() -> None:
    assert flatten(OUTPUTS, "order-api-dev", MAPPING) == {
        "database_cluster_identifier": "order-api-dev-db",
        "public_subnet_ids": ["subnet-a", "subnet-b"],
        "tags": {"project": "order-api"},
        "vpc_id": "vpc-0123",
    }


def test_without_mapping_top_level_keys_are_outputs() -> None:
    assert flatten(OUTPUTS, "order-api-prod") == {"vpc_id": "vpc-9999"}
    assert flatten(OUTPUTS, "order-api-dev")["tags"] == {"project": "order-api"}


def test_fails_for_an_unknown_stack() -> None:
    with pytest.raises(OutputsError, match="'order-api-staging' is not in the outputs file"):
        flatten(OUTPUTS, "order-api-staging")


def test_fails_when_two_outputs_share_a_name() -> None:
    outputs = {"s": {"vpc_id": "a", "network": {"vpc_id": "b"}}}
    with pytest.raises(OutputsError, match="appears twice"):
        flatten(outputs, "s", {"vpc_id": "vpc_id", "network": {"vpc_id": "network_vpc_id"}})


def test_command_line_writes_the_flat_file(tmp_path: Path) -> None:
    outputs_file = tmp_path / "outputs.json"
    outputs_file.write_text(json.dumps(OUTPUTS))
    synth_dir = tmp_path / "stacks"
    (synth_dir / "order-api-dev").mkdir(parents=True)
    (synth_dir / "order-api-dev" / "cdk.tf.json").write_text(json.dumps({"//": {"outputs": {"order-api-dev": MAPPING}}}))
    flat_file = tmp_path / "cfn-outputs" / "flat-outputs.json"
    assert main([str(outputs_file), "order-api-dev", "-o", str(flat_file), "--synth-dir", str(synth_dir)]) == 0
    assert json.loads(flat_file.read_text())["database_cluster_identifier"] == "order-api-dev-db"


def test_command_line_fails_cleanly_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outputs_file = tmp_path / "outputs.json"
    outputs_file.write_text(json.dumps(OUTPUTS))
    flat_file = tmp_path / "flat-outputs.json"
    assert main([str(outputs_file), "nope", "-o", str(flat_file)]) == 1
    assert "error: stack 'nope' is not in the outputs file" in capsys.readouterr().err
    assert not flat_file.exists()
