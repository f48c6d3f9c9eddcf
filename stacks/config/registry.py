"""The shared image registry (one ECR repository for every environment)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from stacks.config.names import PROJECT
from stacks.config.validate import _int_in, _require

_TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


@dataclass(frozen=True)
class RegistryConfig:
    """The ECR repository that dev, staging, prod and every suffixed copy pull from.

    Images are built once, pushed here, and promoted by digest from dev to
    staging to prod; the repository lives in its own stack (``order-api-registry``),
    applied once per account before any environment.
    """

    #: Repository name.  Default ``order-api``.
    repository_name: str = PROJECT
    #: Tags that may be overwritten (dev follows ``latest``); every other tag is
    #: immutable.  Default ``("latest",)``.
    mutable_tags: tuple[str, ...] = ("latest",)
    #: Tagged images the lifecycle policy keeps (the newest ones); untagged images
    #: expire after a day.  Keep it above the number of builds between a prod release
    #: and its rollback target.  Default 100.
    keep_images: int = 100

    def __post_init__(self) -> None:
        _require(
            bool(re.fullmatch(r"[a-z0-9]+([._/-][a-z0-9]+)*", self.repository_name)) and 2 <= len(self.repository_name) <= 256,
            "registry.repository_name",
            self.repository_name,
            "an ECR repository name: lowercase letters, digits and single . _ - / separators",
        )
        for tag in self.mutable_tags:
            _require(bool(_TAG_RE.match(tag)), "registry.mutable_tags", tag, "Docker tags")
        _int_in("registry.keep_images", self.keep_images, 1, 10_000)
