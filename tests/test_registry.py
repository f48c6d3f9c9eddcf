"""The shared registry stack, and how the environments pull from it."""

from __future__ import annotations

import json

import pytest

from stacks.aws import ecr_repository
from stacks.framework import Testing
from tests.conftest import PROD_DIGEST, Synthesized

REGISTRY = "order-api-registry"
ENV_STACKS = ["order-api-dev", "order-api-staging", "order-api-prod", "order-api-dev-pr42"]


def test_one_repository_scans_on_push_with_immutable_tags_and_its_own_key(synth: Synthesized) -> None:
    assert Testing.to_have_resource_with_properties(
        synth.text(REGISTRY),
        ecr_repository.EcrRepository.TF_RESOURCE_TYPE,
        {
            "name": "order-api",
            "image_tag_mutability": "IMMUTABLE_WITH_EXCLUSION",
            "image_tag_mutability_exclusion_filter": [{"filter": "latest", "filter_type": "WILDCARD"}],
            "image_scanning_configuration": {"scan_on_push": True},
        },
    )
    repo = synth.resource(REGISTRY, "aws_ecr_repository", "registry/repository")
    assert repo["encryption_configuration"] == [{"encryption_type": "KMS", "kms_key": synth.ref(REGISTRY, "aws_kms_key", "registry_key/key", "arn")}]
    # The images every environment runs: never deleted with the stack.
    assert "force_delete" not in repo or repo["force_delete"] is False
    key = synth.resource(REGISTRY, "aws_kms_key", "registry_key/key")
    assert key["enable_key_rotation"] is True


def test_lifecycle_shields_released_images_then_expires_old_builds(synth: Synthesized) -> None:
    policy = json.loads(synth.resource(REGISTRY, "aws_ecr_lifecycle_policy", "registry/lifecycle")["policy"])
    rules = policy["rules"]
    assert [r["rulePriority"] for r in rules] == [1, 2, 3, 4, 5, 6]
    released = [r["selection"] for r in rules[:4]]
    assert [s["tagPrefixList"] for s in released] == [["release.dev."], ["release.staging."], ["release.prod."], ["release."]]
    assert all((s["tagStatus"], s["countType"], s["countNumber"]) == ("tagged", "imageCountMoreThan", 1000) for s in released)
    untagged, builds = rules[4]["selection"], rules[5]["selection"]
    assert (untagged["tagStatus"], untagged["countType"], untagged["countUnit"], untagged["countNumber"]) == ("untagged", "sinceImagePushed", "days", 14)
    assert (builds["tagStatus"], builds["tagPatternList"], builds["countType"], builds["countNumber"]) == ("tagged", ["*"], "imageCountMoreThan", 100)


def test_registry_state_lives_with_the_environments(synth: Synthesized) -> None:
    assert synth.doc(REGISTRY)["terraform"]["backend"]["s3"]["key"] == "order-api-registry/terraform.tfstate"


def test_registry_outputs_say_where_to_push(synth: Synthesized) -> None:
    outputs = synth.doc(REGISTRY)["output"]
    assert outputs["ecr_repository_url"]["value"] == synth.ref(REGISTRY, "aws_ecr_repository", "registry/repository", "repository_url")
    assert set(outputs) == {"ecr_repository_url", "ecr_repository_arn", "ecr_repository_name"}


@pytest.mark.parametrize("stack", ENV_STACKS)
def test_environments_look_the_shared_repository_up_and_own_none(synth: Synthesized, stack: str) -> None:
    assert synth.resources(stack, "aws_ecr_repository") == {}
    (lookup,) = synth.doc(stack)["data"]["aws_ecr_repository"].values()
    assert lookup["name"] == "order-api"


@pytest.mark.parametrize(("stack", "suffix"), [("order-api-dev", ":latest"), ("order-api-staging", ":1.0.0"), ("order-api-prod", ":1.0.0")])
def test_each_environment_runs_its_image_from_the_shared_repository(synth: Synthesized, stack: str, suffix: str) -> None:
    (task,) = synth.resources(stack, "aws_ecs_task_definition").values()
    (container,) = json.loads(task["container_definitions"])
    assert container["image"] == "${data.aws_ecr_repository.registry.repository_url}" + suffix
    assert synth.doc(stack)["output"]["container_image"]["value"] == container["image"]


def test_a_digest_gives_an_at_reference(synth_prod_digest: Synthesized) -> None:
    (task,) = synth_prod_digest.resources("order-api-prod", "aws_ecs_task_definition").values()
    (container,) = json.loads(task["container_definitions"])
    assert container["image"] == "${data.aws_ecr_repository.registry.repository_url}@" + PROD_DIGEST


def test_pull_permission_is_scoped_to_the_shared_repository(synth: Synthesized) -> None:
    docs = synth.doc("order-api-dev")["data"]["aws_iam_policy_document"]
    (doc,) = [d for d in docs.values() if d["//"]["metadata"]["path"].endswith("service/execution_policy")]
    (pull,) = [s for s in doc["statement"] if s["sid"] == "PullImage"]
    assert pull["resources"] == ["${data.aws_ecr_repository.registry.arn}"]


@pytest.mark.parametrize("stack", ENV_STACKS)
def test_the_old_per_environment_repository_and_its_policy_leave_state_untouched(synth: Synthesized, stack: str) -> None:
    """Every resource of the repository each environment once had (and its lifecycle
    policy, which a plan would otherwise destroy) leaves state without being destroyed."""
    removed = synth.doc(stack)["removed"]
    assert removed == [
        {"from": "aws_ecr_repository.registry_repository_BAFE171E", "lifecycle": {"destroy": False}},
        {"from": "aws_ecr_lifecycle_policy.registry_lifecycle_20133E5C", "lifecycle": {"destroy": False}},
    ]
