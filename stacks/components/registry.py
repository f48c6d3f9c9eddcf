"""ECR repository for the order API image, shared by every environment."""

from __future__ import annotations

import json

from stacks.aws import ecr_lifecycle_policy, ecr_repository
from stacks.framework import Construct

ecr = ecr_repository


class Registry(Construct):
    """ECR repository: scan on push, immutable tags, KMS (customer-managed) encryption,
    and a lifecycle policy that expires untagged images after a day and keeps the
    last ``keep_images`` tagged ones.

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
        rules = [
            {
                "rulePriority": 1,
                "description": "Expire untagged images after a day",
                "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 1},
                "action": {"type": "expire"},
            },
            {
                "rulePriority": 2,
                "description": f"Keep the last {keep_images} tagged images",
                "selection": {"tagStatus": "tagged", "tagPatternList": ["*"], "countType": "imageCountMoreThan", "countNumber": keep_images},
                "action": {"type": "expire"},
            },
        ]
        ecr_lifecycle_policy.EcrLifecyclePolicy(self, "lifecycle", repository=self.repository.name, policy=json.dumps({"rules": rules}, sort_keys=True))
        self.repository_url = self.repository.repository_url
        self.repository_arn = self.repository.arn
        self.repository_name = self.repository.name
