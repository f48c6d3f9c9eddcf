"""make e2e: the 6.x-only attributes removed for an older provider (tools/emulator/version_gap.py)."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest

from tests.conftest import SUFFIX, Synthesized
from tools.emulator.version_gap import SIX_ONLY, adapt, not_exercised


def stack() -> dict[str, Any]:
    """A synthesized stack with every 6.x-only attribute and its 5.x-compatible neighbours."""
    return {
        "terraform": {"required_providers": {"aws": {"source": "aws", "version": "6.25.0"}}, "backend": {"s3": {"bucket": "b"}}},
        "resource": {
            "aws_ecr_repository": {
                "repo": {
                    "name": "order-api",
                    "image_tag_mutability": "IMMUTABLE_WITH_EXCLUSION",
                    "image_tag_mutability_exclusion_filter": [{"filter": "latest", "filter_type": "WILDCARD"}],
                    "image_scanning_configuration": {"scan_on_push": True},
                },
                "plain": {"name": "other", "image_tag_mutability": "MUTABLE"},
            },
            "aws_ecs_service": {
                "svc": {
                    "name": "api",
                    "cluster": "${aws_ecs_cluster.cluster.arn}",
                    "deployment_configuration": {"strategy": "BLUE_GREEN", "bake_time_in_minutes": "5"},
                    "deployment_circuit_breaker": {"enable": True, "rollback": True},
                    "load_balancer": [
                        {
                            "container_name": "api",
                            "container_port": 8080,
                            "target_group_arn": "${aws_lb_target_group.blue.arn}",
                            "advanced_configuration": {"alternate_target_group_arn": "${aws_lb_target_group.green.arn}", "role_arn": "${aws_iam_role.r.arn}"},
                        }
                    ],
                }
            },
            "aws_appautoscaling_target": {"t": {"resource_id": "service/${aws_ecs_cluster.cluster.name}/${aws_ecs_service.svc.name}"}},
        },
        "output": {
            "ecs_service_arn": {"value": "${aws_ecs_service.svc.arn}"},
            "ecs_cluster_arn": {"value": "${aws_ecs_cluster.cluster.arn}"},
            "arns": {"value": "${[aws_ecs_service.svc.arn, aws_ecs_service.svc.arn_suffix_like]}"},
        },
    }


def expected_for_5x() -> dict[str, Any]:
    doc = stack()
    doc["terraform"]["required_providers"]["aws"]["version"] = "5.100.0"
    repo = doc["resource"]["aws_ecr_repository"]["repo"]
    del repo["image_tag_mutability_exclusion_filter"]
    repo["image_tag_mutability"] = "IMMUTABLE"
    service = doc["resource"]["aws_ecs_service"]["svc"]
    del service["deployment_configuration"]
    del service["load_balancer"][0]["advanced_configuration"]
    doc["output"]["ecs_service_arn"]["value"] = "${aws_ecs_service.svc.id}"
    doc["output"]["arns"]["value"] = "${[aws_ecs_service.svc.id, aws_ecs_service.svc.arn_suffix_like]}"
    return doc


def test_5x_removes_exactly_the_listed_attributes() -> None:
    original = stack()
    adapted, changes = adapt(original, "5.100.0")
    assert adapted == expected_for_5x()
    assert original == stack(), "the input is not modified"
    assert changes == [
        "aws_ecr_repository.image_tag_mutability_exclusion_filter: aws_ecr_repository.repo",
        "aws_ecr_repository.image_tag_mutability = IMMUTABLE_WITH_EXCLUSION (-> IMMUTABLE): aws_ecr_repository.repo",
        "aws_ecs_service.deployment_configuration: aws_ecs_service.svc",
        "aws_ecs_service.load_balancer[*].advanced_configuration: aws_ecs_service.svc",
        "aws_ecs_service.arn (references -> .id): aws_ecs_service.svc",
    ]
    assert len(not_exercised(changes)) == len(SIX_ONLY)


@pytest.mark.parametrize("version", ["6.0.0", "6.25.0", "7.1.2"])
def test_6x_and_newer_remove_nothing(version: str) -> None:
    adapted, changes = adapt(stack(), version)
    expected = stack()
    expected["terraform"]["required_providers"]["aws"]["version"] = version
    assert (adapted, changes) == (expected, [])
    assert not_exercised(changes) == []


def test_the_version_constraint_follows_the_provider_found() -> None:
    adapted, _ = adapt(stack(), "5.99.1")
    assert adapted["terraform"]["required_providers"]["aws"] == {"source": "aws", "version": "5.99.1"}


def test_a_stack_without_6x_attributes_only_gets_the_version() -> None:
    doc = {"terraform": {"required_providers": {"aws": {"version": "6.25.0"}}}, "resource": {"aws_s3_bucket": {"b": {"bucket": "x"}}}}
    adapted, changes = adapt(doc, "5.100.0")
    assert changes == []
    assert adapted == {"terraform": {"required_providers": {"aws": {"version": "5.100.0"}}}, "resource": {"aws_s3_bucket": {"b": {"bucket": "x"}}}}


def test_every_gap_applies_to_the_synthesized_stacks(synth: Synthesized) -> None:
    """The list matches the product: each entry is used by the registry or the dev copy, and none is left after adapting."""
    changes: list[str] = []
    for name in ("order-api-registry", f"order-api-dev-{SUFFIX}"):
        adapted, stack_changes = adapt(copy.deepcopy(synth.doc(name)), "5.100.0")
        changes += stack_changes
        text = json.dumps(adapted)
        assert "IMMUTABLE_WITH_EXCLUSION" not in text
        for attribute in ("image_tag_mutability_exclusion_filter", "deployment_configuration", "advanced_configuration"):
            assert f'"{attribute}"' not in text
        assert re.search(r"aws_ecs_service\.[A-Za-z0-9_-]+\.arn\b", text) is None
    assert {line.split(": ", 1)[0] for line in changes} == {gap.name for gap in SIX_ONLY}
