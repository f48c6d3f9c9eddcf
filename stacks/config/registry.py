"""The shared image registry (one ECR repository for every environment)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from stacks.config.names import PROJECT
from stacks.config.validate import _int_in, _require

#: Images with a release tag the lifecycle policy keeps per environment: far above
#: ``releases_kept`` (the release tool prunes to that), so it never expires one.
RELEASE_IMAGE_LIMIT = 1000
#: Tags ``make release`` puts on a released image: ``release.<environment>.<UTC time>``.
RELEASE_TAG_PREFIX = "release."
_TAG_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")


def valid_tag(tag: str) -> bool:
    """A Docker tag as ECR takes it: letters, digits, ``_ . -``, at most 128, not starting with ``.`` or ``-``."""
    return bool(_TAG_RE.fullmatch(tag))


@dataclass(frozen=True)
class RegistryConfig:
    """The ECR repository that dev, staging, prod and every suffixed copy pull from.

    Images are built once, pushed here, and promoted by digest from dev to
    staging to prod; the repository lives in its own stack (``order-api-registry``),
    applied once per account before any environment.
    """

    #: Repository name.  Default ``order-api``.
    repository_name: str = PROJECT
    #: Tags that may be overwritten (a build may move ``latest``; releases pin the
    #: digest it names); every other tag is immutable.  Default ``("latest",)``.
    mutable_tags: tuple[str, ...] = ("latest",)
    #: Tagged images that were never released which the lifecycle policy keeps (the
    #: newest pushes).  Default 100.
    keep_images: int = 100
    #: Releases per environment whose image stays in the registry: ``make release``
    #: keeps the environment's newest release tags (``release.<env>.<time>``) and
    #: removes older ones; the lifecycle policy never expires an image with a release
    #: tag.  At least 2 (the live image and the one before it).  Default 10.
    releases_kept: int = 10
    #: Days an untagged image stays (an image loses its last tag when a mutable tag such
    #: as ``latest`` moves on, or when its release tags are pruned).  Every image an
    #: environment runs carries a release tag, so this only bounds how long a build
    #: may wait between its push and its release.  Default 14.
    untagged_expiry_days: int = 14

    def __post_init__(self) -> None:
        _require(
            bool(re.fullmatch(r"[a-z0-9]+([._/-][a-z0-9]+)*", self.repository_name)) and 2 <= len(self.repository_name) <= 256,
            "registry.repository_name",
            self.repository_name,
            "an ECR repository name: lowercase letters, digits and single . _ - / separators",
        )
        for tag in self.mutable_tags:
            _require(valid_tag(tag), "registry.mutable_tags", tag, "Docker tags")
        _int_in("registry.keep_images", self.keep_images, 1, 10_000)
        _int_in("registry.releases_kept", self.releases_kept, 2, RELEASE_IMAGE_LIMIT)
        _int_in("registry.untagged_expiry_days", self.untagged_expiry_days, 1, 3650)
