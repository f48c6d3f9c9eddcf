"""ECS deployment lifecycle hook: smoke-test the new revision before production traffic reaches it.

ECS invokes :func:`handler` at ``POST_TEST_TRAFFIC_SHIFT``: the test listener then
sends all of its traffic to the new revision, and the production listener none.
The function requests ``SMOKE_BASE_URL`` + each path of ``SMOKE_PATHS`` (a JSON
list; the health check path first), without following redirects.  A path passes on
a 2xx within ``SMOKE_TIMEOUT_SECONDS``; any other status, a timeout, a TLS or
connection error is retried after 1, 2, 4, then every 5 s until the path passes or
the retry window ``SMOKE_RETRY_SECONDS`` (counted from the first request) runs out
(a listener rule can take seconds to apply); every path gets one attempt at least.
It answers ``SUCCEEDED`` only if every path passed, else ``FAILED``, and ECS rolls
the deployment back.  One JSON log line per attempt and one for the verdict.

Which revision answered: when an answer carries :data:`VERSION_HEADER` (the
application's image digest, which it reads from ``IMAGE_DIGEST``), the function asks
ECS once (``DescribeServiceRevisions`` of the event's target revision, signed with the
function's credentials) which digest the new revision runs; an answer stating another
digest came from the old revision and fails like an error status.  Without the header
the function logs that it cannot tell, and does not fail for it.

``{"warmup": true}`` (:data:`WARMUP_EVENT`; a weekly schedule and ``make release``
send it to keep the function from going idle) is answered at once, without touching
the network.

Standard library only, so the package is this one file.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

#: What ECS reads from the answer.
SUCCEEDED, FAILED = "SUCCEEDED", "FAILED"
#: The event that only keeps the function warm.
WARMUP_EVENT = {"warmup": True}
#: The response header in which the application states the digest of the image it runs.
VERSION_HEADER = "X-Image-Digest"
#: The container whose digest the application states (the task definition's only container).
CONTAINER = "order-api"
#: Seconds between attempts at a path: 1, 2, 4, then 5 for every further attempt.
BACKOFF_SECONDS = (1, 2, 4, 5)
NOT_STATED = "the application does not state its version; cannot tell which revision answered"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not a hop: a 3xx fails the smoke test."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


#: No proxies (the function talks to the load balancer and the ECS API only), no redirects.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


def log(**fields: Any) -> None:
    print(json.dumps(fields, sort_keys=True))


@dataclass(frozen=True)
class Answer:
    """What one request found: ``None`` or why the answer does not pass, and the digest it states."""

    problem: str | None
    digest: str | None = None


def check(url: str, timeout: float) -> Answer:
    """``GET url``: passes on a 2xx within ``timeout`` seconds; the :data:`VERSION_HEADER` it states."""
    request = urllib.request.Request(url, headers={"User-Agent": "order-api-smoke-test"})
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            status, digest = response.status, response.headers.get(VERSION_HEADER)
            response.read(65536)
    except urllib.error.HTTPError as error:
        status, digest = error.code, None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        return Answer(f"no answer: {reason}")
    return Answer(None if 200 <= status < 300 else f"HTTP {status}", digest.strip() if digest else None)


# ------------------------------------------------------------------ the expected digest


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def signed_headers(
    url: str, region: str, service: str, body: bytes, headers: dict[str, str], environ: dict[str, str], now: datetime.datetime
) -> dict[str, str]:
    """``headers`` with AWS Signature Version 4 (``X-Amz-Date``, the session token,
    ``Authorization``) for a POST of ``body`` to ``url``, with the credentials of ``environ``."""
    stamp = now.astimezone(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    parts = urlsplit(url)
    signing = {k.lower(): v for k, v in headers.items()} | {"host": parts.netloc, "x-amz-date": stamp}
    if environ.get("AWS_SESSION_TOKEN"):
        signing["x-amz-security-token"] = environ["AWS_SESSION_TOKEN"]
    names = ";".join(sorted(signing))
    lines = ["POST", parts.path or "/", parts.query, *(f"{k}:{' '.join(signing[k].split())}" for k in sorted(signing)), "", names]
    canonical = "\n".join([*lines, hashlib.sha256(body).hexdigest()])
    scope = f"{stamp[:8]}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + environ["AWS_SECRET_ACCESS_KEY"]).encode()
    for part in (stamp[:8], region, service, "aws4_request"):
        key = _hmac(key, part)
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    authorization = f"AWS4-HMAC-SHA256 Credential={environ['AWS_ACCESS_KEY_ID']}/{scope}, SignedHeaders={names}, Signature={signature}"
    return {k: v for k, v in signing.items() if k != "host"} | {"authorization": authorization}


def ecs_endpoint(partition: str, region: str, environ: dict[str, str]) -> str:
    """The ECS API of the region (``AWS_ENDPOINT_URL_ECS`` when set, as the AWS SDKs read it)."""
    return environ.get("AWS_ENDPOINT_URL_ECS") or f"https://ecs.{region}.amazonaws.com{'.cn' if partition == 'aws-cn' else ''}/"


def revision_digest(revision_arn: str, environ: dict[str, str], timeout: float) -> str:
    """The digest ECS resolved for :data:`CONTAINER` of the service revision (DescribeServiceRevisions).
    Raises ``LookupError`` with the reason when it cannot be learnt."""
    fields = revision_arn.split(":")
    if len(fields) < 6 or not fields[5].startswith("service-revision/"):
        raise LookupError(f"no service revision in the event ({revision_arn})")
    if not environ.get("AWS_ACCESS_KEY_ID") or not environ.get("AWS_SECRET_ACCESS_KEY"):
        raise LookupError("no AWS credentials in the environment")
    region = fields[3]
    url = ecs_endpoint(fields[1], region, environ)
    body = json.dumps({"serviceRevisionArns": [revision_arn]}).encode()
    target = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AmazonEC2ContainerServiceV20141113.DescribeServiceRevisions"}
    headers = signed_headers(url, region, "ecs", body, target, environ, datetime.datetime.now(datetime.UTC))
    try:
        with _OPENER.open(urllib.request.Request(url, data=body, headers=headers, method="POST"), timeout=timeout) as response:
            found = json.loads(response.read(1 << 20))
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise LookupError(f"DescribeServiceRevisions failed: {getattr(error, 'reason', error)}") from None
    images = [i for r in found.get("serviceRevisions", []) for i in r.get("containerImages", []) if i.get("containerName") == CONTAINER]
    digests = {i["imageDigest"] for i in images if i.get("imageDigest")}
    if len(digests) != 1:
        raise LookupError(f"ECS reports no single image digest for container {CONTAINER} of {revision_arn}")
    return digests.pop()


class Expected:
    """The digest the new revision runs, learnt from ECS the first time an answer states one."""

    def __init__(self, revision_arn: str, environ: dict[str, str], timeout: float) -> None:
        self.revision_arn, self.environ, self.timeout = revision_arn, environ, timeout
        self.digest: str | None = None
        #: Whether ECS was asked; whether a passing answer stated a digest, and whether one did not.
        self.asked, self.stated, self.unstated = False, False, False

    def problem(self, answer: Answer) -> str | None:
        """Why a passing answer came from another revision than the new one, or None."""
        if answer.digest is None:
            self.unstated = True
            return None
        self.stated = True
        if not self.asked:
            self.asked = True
            try:
                self.digest = revision_digest(self.revision_arn, self.environ, self.timeout)
                log(version="expected", digest=self.digest)
            except LookupError as error:
                log(version="unknown", problem=f"{error}; cannot tell which revision answered")
        if self.digest is None or answer.digest == self.digest:
            return None
        return f"the old revision answered: {VERSION_HEADER} {answer.digest}, expected {self.digest}"


# ------------------------------------------------------------------ the hook


def smoke(
    url: str, path: str, *, timeout: float, deadline: float, expected: Expected, clock: Callable[[], float], sleep: Callable[[float], None]
) -> str | None:
    """Request ``url`` until it passes or ``deadline`` (on ``clock``) leaves no time for another
    attempt; ``None`` when it passed, else the last attempt's problem."""
    attempt = 0
    while True:
        attempt += 1
        start = clock()
        answer = check(url, timeout)
        problem = answer.problem or expected.problem(answer)
        log(path=path, attempt=attempt, ok=problem is None, problem=problem, ms=round((clock() - start) * 1000))
        if problem is None:
            return None
        pause = BACKOFF_SECONDS[min(attempt, len(BACKOFF_SECONDS)) - 1]
        if clock() + pause >= deadline:
            return problem
        sleep(pause)


def handler(
    event: dict[str, Any], context: object = None, *, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep
) -> dict[str, Any]:
    """The lifecycle hook: ``{"hookStatus": "SUCCEEDED"}`` or ``{"hookStatus": "FAILED"}``
    (``{"warmup": true}`` for the warm-up event)."""
    event = event or {}
    if event.get("warmup") is True:
        log(warmup=True)
        return {"warmup": True}
    base = os.environ["SMOKE_BASE_URL"].rstrip("/")
    paths = json.loads(os.environ["SMOKE_PATHS"])
    timeout = float(os.environ["SMOKE_TIMEOUT_SECONDS"])
    deadline = clock() + float(os.environ["SMOKE_RETRY_SECONDS"])
    revision = event.get("executionDetails", event).get("targetServiceRevisionArn", "unknown")
    expected = Expected(revision, dict(os.environ), timeout)
    failures = []
    for path in paths:
        problem = smoke(base + path, path, timeout=timeout, deadline=deadline, expected=expected, clock=clock, sleep=sleep)
        if problem is not None:
            failures.append(f"{path}: {problem}")
    if expected.unstated and not expected.stated:
        log(version="not stated", note=NOT_STATED)
    status = FAILED if failures else SUCCEEDED
    log(hookStatus=status, revision=revision, failures=failures)
    return {"hookStatus": status}
