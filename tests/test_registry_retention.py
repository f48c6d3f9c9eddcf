"""The registry never expires an image an environment runs or can roll back to.

A small model of ECR's lifecycle evaluation, as AWS documents it ("Lifecycle policy
evaluation rules"): rules apply by priority; an image that matches the tag selection of
a rule cannot be expired by a rule of lower priority; count rules keep the newest
images by push time; age rules expire images pushed longer ago than their count; an
image is expired by at most one rule; ``tagPrefixList`` matches when every prefix is on
one of the image's tags, ``tagPatternList`` when one tag matches one pattern.

Over sequences of pushes, moving ``latest``, releases, promotions, rollbacks and
passing days, with the policy the registry stack synthesizes and the release tool's own
recording (:func:`tools.ops.release.record_plan`), no image that is live or one release
back in any environment is ever expired.
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from stacks.components.registry import lifecycle_rules
from stacks.config import STANDING_ENVIRONMENTS, RegistryConfig
from tests.conftest import Synthesized
from tools.ops.release import RELEASE_TAG_PREFIX, record_plan

ENVIRONMENTS = ("dev", "staging", "prod", "dev-pr1")
START = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class Image:
    digest: str
    pushed_day: float
    tags: set[str] = field(default_factory=set)


def _selected(selection: dict[str, Any], image: Image) -> bool:
    status = selection["tagStatus"]
    if status == "any":
        return True
    if status == "untagged":
        return not image.tags
    if not image.tags:
        return False
    if "tagPrefixList" in selection:
        return all(any(tag.startswith(prefix) for tag in image.tags) for prefix in selection["tagPrefixList"])
    return any(fnmatch.fnmatchcase(tag, pattern) for tag in image.tags for pattern in selection["tagPatternList"])


def expired(rules: list[dict[str, Any]], images: list[Image], today: float) -> set[str]:
    """Digests ECR's lifecycle evaluation expires today."""
    claimed: set[str] = set()
    gone: set[str] = set()
    for rule in sorted(rules, key=lambda r: r["rulePriority"]):
        selection = rule["selection"]
        selected = [image for image in images if _selected(selection, image)]
        if selection["countType"] == "imageCountMoreThan":
            candidates = sorted(selected, key=lambda i: i.pushed_day, reverse=True)[selection["countNumber"] :]
        else:
            candidates = [i for i in selected if today - i.pushed_day > selection["countNumber"]]
        gone |= {i.digest for i in candidates if i.digest not in claimed}
        claimed |= {i.digest for i in selected}
    return gone


class Registry:
    """The repository, the environments' history, and the release tool's recording."""

    def __init__(self, rules: list[dict[str, Any]], releases_kept: int, *, record: bool = True) -> None:
        self.rules = rules
        self.keep = releases_kept
        self.record = record
        self.images: dict[str, Image] = {}
        self.day = 0.0
        self.builds = 0
        self.history: dict[str, list[str]] = {env: [] for env in ENVIRONMENTS}

    def push(self, build_tag: bool = True) -> None:
        """A new image tagged ``latest`` (which leaves the previous one), and ``build-<n>``
        unless the build pushes ``latest`` alone."""
        self.builds += 1
        digest = f"sha256:{self.builds:064x}"
        for image in self.images.values():
            image.tags.discard("latest")
        self.images[digest] = Image(digest, self.day, {"latest"} | ({f"build-{self.builds}"} if build_tag else set()))

    def release(self, environment: str, digest: str) -> None:
        if digest not in self.images:
            return  # the release tool refuses an image that is not in the registry
        self.history[environment].append(digest)
        if not self.record:
            return
        tags = {tag: image.digest for image in self.images.values() for tag in image.tags if tag.startswith(RELEASE_TAG_PREFIX)}
        tag, stale = record_plan(tags, environment, digest, START + timedelta(days=self.day, seconds=len(self.history[environment])), self.keep)
        if tag is not None:
            self.images[digest].tags.add(tag)
        for image in list(self.images.values()):
            if image.tags & set(stale):
                image.tags -= set(stale)
                if not image.tags:  # ECR's BatchDeleteImage by tag deletes an image with its last tag, at once
                    del self.images[image.digest]

    def live(self, environment: str, back: int = 0) -> str | None:
        distinct = [d for i, d in enumerate(self.history[environment]) if i == 0 or d != self.history[environment][i - 1]]
        return distinct[-1 - back] if len(distinct) > back else None

    def wait(self, days: float) -> None:
        self.day += days
        for digest in expired(self.rules, list(self.images.values()), self.day):
            del self.images[digest]

    def protected_but_gone(self) -> list[str]:
        return [
            f"{env} {'live' if back == 0 else 'previous'} {digest[-6:]}"
            for env in ENVIRONMENTS
            for back in (0, 1)
            if (digest := self.live(env, back)) is not None and digest not in self.images
        ]


def policy_rules(synth: Synthesized) -> list[dict[str, Any]]:
    body = next(iter(synth.resources("order-api-registry", "aws_ecr_lifecycle_policy").values()))
    rules: list[dict[str, Any]] = json.loads(body["policy"])["rules"]
    return rules


def test_the_synthesized_policy_is_the_modelled_one(synth: Synthesized) -> None:
    config = RegistryConfig()
    assert policy_rules(synth) == lifecycle_rules(
        releases_kept_by=STANDING_ENVIRONMENTS, untagged_expiry_days=config.untagged_expiry_days, keep_images=config.keep_images
    )


#: Small numbers, so that every rule fires within a short sequence.
STRESSED = lifecycle_rules(releases_kept_by=STANDING_ENVIRONMENTS, untagged_expiry_days=2, keep_images=3)

operation = st.one_of(
    st.tuples(st.just("push"), st.sampled_from(["", "latest only"])),
    st.tuples(st.just("release"), st.sampled_from(["dev", "dev-pr1"])),
    st.tuples(st.just("promote"), st.sampled_from(["staging", "prod"])),
    st.tuples(st.just("rollback"), st.sampled_from(ENVIRONMENTS)),
    st.tuples(st.just("wait"), st.sampled_from(["1", "3", "30"])),
)


def run(registry: Registry, operations: list[tuple[str, str]]) -> None:
    source = {"staging": "dev", "prod": "staging"}
    for kind, argument in operations:
        if kind == "push":
            registry.push(build_tag=argument != "latest only")
        elif kind == "release":
            newest = max(registry.images.values(), key=lambda i: i.pushed_day, default=None)
            if newest is not None and "latest" in newest.tags:
                registry.release(argument, newest.digest)
        elif kind == "promote":
            if (digest := registry.live(source[argument])) is not None:
                registry.release(argument, digest)
        elif kind == "rollback":
            if (digest := registry.live(argument, 1)) is not None:
                registry.release(argument, digest)
        else:
            registry.wait(float(argument))
        assert registry.protected_but_gone() == [], f"after {kind} {argument}"


@settings(max_examples=150, deadline=None)
@given(st.lists(operation, min_size=10, max_size=80))
def test_no_live_or_rollback_image_is_ever_expired(operations: list[tuple[str, str]]) -> None:
    run(Registry(STRESSED, releases_kept=2), [("push", ""), *operations])


def test_released_images_stay_while_never_released_builds_go() -> None:
    registry = Registry(STRESSED, releases_kept=2)
    registry.push()
    registry.release("dev", "sha256:" + f"{1:064x}")
    for _ in range(6):
        registry.push()
        registry.wait(3)
    # The released build 1 stays; of the never-released builds only the newest 3 tagged ones stay.
    assert sorted(int(d[7:], 16) for d in registry.images) == [1, 5, 6, 7]


def test_without_release_tags_the_image_dev_runs_expires() -> None:
    """The failure this policy exists for: dev runs the digest `latest` named, a new push
    moves `latest`, the image is untagged and expires while dev still runs it."""
    registry = Registry(STRESSED, releases_kept=2, record=False)
    registry.push(build_tag=False)
    registry.release("dev", next(iter(registry.images)))
    registry.push(build_tag=False)
    registry.wait(3)
    assert registry.protected_but_gone() == [f"dev live {1:06x}"]
    recorded = Registry(STRESSED, releases_kept=2)
    recorded.push(build_tag=False)
    recorded.release("dev", next(iter(recorded.images)))
    recorded.push(build_tag=False)
    recorded.wait(3)
    assert recorded.protected_but_gone() == []


def test_pruning_an_images_last_release_tag_deletes_it_at_once() -> None:
    """ECR deletes an image with its last tag: the image dev ran three releases ago, with no
    other tag, is gone as soon as the release that prunes its tag finishes, no day passing."""
    registry = Registry(STRESSED, releases_kept=2)
    for _ in range(3):
        registry.push(build_tag=False)
        registry.release("dev", f"sha256:{registry.builds:064x}")
    assert f"sha256:{1:064x}" not in registry.images and registry.day == 0
    assert sorted(int(d[7:], 16) for d in registry.images) == [2, 3] and registry.protected_but_gone() == []
