"""An image in the emulator's registry: the stand-in for ``docker push`` that ``make e2e`` and
a user of ``make emulator`` use.

``.venv/bin/python -m tools.emulator.image <tag> [--build N]`` puts a small valid image (one
empty layer; ``--build`` makes another digest) into the shared registry's repository under
``<tag>`` and prints its digest.  It refuses anything but a loopback emulator
(``AWS_ENDPOINT_URL``), so it can never push to a real registry.  Nothing runs the image: the
emulator starts no containers.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import sys
from typing import Any
from urllib.parse import urlsplit

from stacks import process
from stacks.config import RegistryConfig
from stacks.config.registry import valid_tag
from tools.common import cli
from tools.common.aws_errors import AwsError, aws_errors

#: Hosts an emulator may listen on.
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _digest(blob: bytes) -> str:
    return f"sha256:{hashlib.sha256(blob).hexdigest()}"


def minimal_image(build: int = 0) -> tuple[str, str]:
    """``(manifest, media type)`` of a small valid image: one empty layer, of a length
    that differs per ``build`` (so each build has a digest of its own).  Pushing it is
    the emulator's stand-in for ``docker push``; nothing runs it."""
    layer_tar = bytes(512 * (2 + build))  # an empty tar archive: zero blocks
    layer = gzip.compress(layer_tar, mtime=0)
    config = json.dumps(
        {"architecture": "amd64", "os": "linux", "config": {}, "rootfs": {"type": "layers", "diff_ids": [_digest(layer_tar)]}},
        sort_keys=True,
    ).encode()
    media_type = "application/vnd.docker.distribution.manifest.v2+json"
    manifest = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": len(config), "digest": _digest(config)},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": len(layer), "digest": _digest(layer)}],
    }
    return json.dumps(manifest, sort_keys=True), media_type


def push(ecr: Any, repository: str, tag: str, build: int = 0) -> str:
    """Put the minimal image of ``build`` under ``tag``; its digest (the same manifest again is no error)."""
    manifest, media_type = minimal_image(build)
    try:
        pushed = ecr.put_image(repositoryName=repository, imageManifest=manifest, imageManifestMediaType=media_type, imageTag=tag)
    except ecr.exceptions.ImageAlreadyExistsException:
        return str(ecr.describe_images(repositoryName=repository, imageIds=[{"imageTag": tag}])["imageDetails"][0]["imageDigest"])
    return str(pushed["image"]["imageId"]["imageDigest"])


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser("tools.emulator.image", "Put a small test image into the emulator's registry.")
    parser.add_argument("tag", help="the tag to push, e.g. 1.0.0 or latest")
    parser.add_argument("--build", type=cli.number, default=0, choices=range(100), metavar="0-99", help="another build: another digest")
    args = parser.parse_args(argv)
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    if urlsplit(endpoint).hostname not in LOOPBACK:
        print(
            f"error: AWS_ENDPOINT_URL={endpoint[:80]!r} is not a local emulator: this command only pushes to one (make emulator prints the settings)",
            file=sys.stderr,
        )
        return 2
    if not valid_tag(args.tag):
        print(f"error: tag {args.tag[:80]!r} is invalid: letters, digits, _ . -, at most 128, not starting with . or -", file=sys.stderr)
        return 2
    import boto3  # type: ignore[import-untyped]

    try:
        with aws_errors():
            ecr = boto3.session.Session(region_name=os.environ.get("AWS_REGION") or None).client("ecr", endpoint_url=endpoint)
            digest = push(ecr, RegistryConfig().repository_name, args.tag, args.build)
    except AwsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"{RegistryConfig().repository_name}:{args.tag} is {digest}")
    return 0


if __name__ == "__main__":
    process.run(main)
