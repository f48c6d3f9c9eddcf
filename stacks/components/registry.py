"""ECR repository for the order API image, shared by every environment."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from stacks.aws import ecr_lifecycle_policy, ecr_repository
from stacks.config.registry import RELEASE_IMAGE_LIMIT, RELEASE_TAG_PREFIX
from stacks.framework import Construct

ecr = ecr_repository


def lifecycle_rules(*, releases_kept_by: Sequence[str], untagged_expiry_days: int, keep_images: int) -> list[dict[str, Any]]:
    """The repository's lifecycle rules, in priority order.

    ECR applies the rules by priority, expires an image by at most one rule, and never
    lets a rule expire an image that a rule before it selects.  So:

    1. one rule per environment in ``releases_kept_by`` (the standing ones), then one
       for every other environment (suffixed copies), each selecting the images with
       a ``release.<env>.`` tag and keeping :data:`RELEASE_IMAGE_LIMIT` of them: far
       more than the release tool leaves (it prunes each environment to
       ``releases_kept`` tags), so these rules never expire an image and shield every
       released image from the rules below;
    2. untagged images expire ``untagged_expiry_days`` after their push;
    3. of the other tagged images (builds never released), the newest ``keep_images`` stay.
    """
    rules: list[dict[str, Any]] = []

    def rule(description: str, selection: dict[str, Any]) -> None:
        rules.append({"rulePriority": len(rules) + 1, "description": description, "selection": selection, "action": {"type": "expire"}})

    for environment in releases_kept_by:
        rule(
            f"Never expire an image released to {environment}",
            {
                "tagStatus": "tagged",
                "tagPrefixList": [f"{RELEASE_TAG_PREFIX}{environment}."],
                "countType": "imageCountMoreThan",
                "countNumber": RELEASE_IMAGE_LIMIT,
            },
        )
    rule(
        "Never expire an image released to a suffixed copy",
        {"tagStatus": "tagged", "tagPrefixList": [RELEASE_TAG_PREFIX], "countType": "imageCountMoreThan", "countNumber": RELEASE_IMAGE_LIMIT},
    )
    rule(
        f"Expire untagged images {untagged_expiry_days} days after their push",
        {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": untagged_expiry_days},
    )
    rule(
        f"Keep the newest {keep_images} tagged images that were never released",
        {"tagStatus": "tagged", "tagPatternList": ["*"], "countType": "imageCountMoreThan", "countNumber": keep_images},
    )
    return rules


class Registry(Construct):
    """ECR repository: scan on push, immutable tags, KMS (customer-managed) encryption,
    and a lifecycle policy (:func:`lifecycle_rules`) that never expires a released image.

    ``mutable_tags`` lists tags that may be overwritten (dev's ``latest``); every other
    tag is immutable.  The repository is never force-deleted: it holds the images
    every environment runs.

    Attributes: ``repository_url``, ``repository_arn``, ``repository_name``.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        name: str,
        kms_key_arn: str,
        keep_images: int,
        environments: Sequence[str],
        untagged_expiry_days: int,
        mutable_tags: tuple[str, ...] = (),
    ) -> None:
        super().__init__(scope, id_)
        self.repository = ecr.EcrRepository(
            self,
            "repository",
            name=name,
            image_tag_mutability="IMMUTABLE_WITH_EXCLUSION" if mutable_tags else "IMMUTABLE",
            image_tag_mutability_exclusion_filter=[
                ecr.EcrRepositoryImageTagMutabilityExclusionFilter(filter=tag, filter_type="WILDCARD") for tag in mutable_tags
            ]
            or None,
            image_scanning_configuration=ecr.EcrRepositoryImageScanningConfiguration(scan_on_push=True),
            encryption_configuration=[ecr.EcrRepositoryEncryptionConfiguration(encryption_type="KMS", kms_key=kms_key_arn)],
        )
        rules = lifecycle_rules(releases_kept_by=environments, untagged_expiry_days=untagged_expiry_days, keep_images=keep_images)
        ecr_lifecycle_policy.EcrLifecyclePolicy(self, "lifecycle", repository=self.repository.name, policy=json.dumps({"rules": rules}, sort_keys=True))
        self.repository_url = self.repository.repository_url
        self.repository_arn = self.repository.arn
        self.repository_name = self.repository.name
