"""ECS deployment lifecycle hook: smoke-test the new revision before production traffic reaches it.

ECS invokes :func:`handler` at ``POST_TEST_TRAFFIC_SHIFT``: the test listener then
sends all of its traffic to the new revision, and the production listener none.
The function requests ``SMOKE_BASE_URL`` + each path of ``SMOKE_PATHS`` (a JSON
list; the health check path first) once, without following redirects, and
answers ``SUCCEEDED`` only if every answer is a 2xx.  Any other status, a
timeout (``SMOKE_TIMEOUT_SECONDS`` per request), a TLS or connection error
answers ``FAILED``, and ECS rolls the deployment back.  One JSON log line per
request and one for the verdict.

Standard library only, so the package is this one file.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from typing import Any

#: What ECS reads from the answer.
SUCCEEDED, FAILED = "SUCCEEDED", "FAILED"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not a hop: a 3xx fails the smoke test."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


#: No proxies (the function talks to the load balancer only), no redirects.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


def check(url: str, timeout: float) -> str | None:
    """``None`` when ``GET url`` answers 2xx within ``timeout`` seconds, else why not."""
    request = urllib.request.Request(url, headers={"User-Agent": "order-api-smoke-test"})
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            status = response.status
            response.read(65536)
    except urllib.error.HTTPError as error:
        status = error.code
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        return f"no answer: {reason}"
    return None if 200 <= status < 300 else f"HTTP {status}"


def handler(event: dict[str, Any], context: object = None) -> dict[str, str]:
    """The lifecycle hook: ``{"hookStatus": "SUCCEEDED"}`` or ``{"hookStatus": "FAILED"}``."""
    base = os.environ["SMOKE_BASE_URL"].rstrip("/")
    paths = json.loads(os.environ["SMOKE_PATHS"])
    timeout = float(os.environ["SMOKE_TIMEOUT_SECONDS"])
    revision = (event or {}).get("executionDetails", event or {}).get("targetServiceRevisionArn", "unknown")
    failures = []
    for path in paths:
        start = time.monotonic()
        problem = check(base + path, timeout)
        millis = round((time.monotonic() - start) * 1000)
        print(json.dumps({"path": path, "ok": problem is None, "problem": problem, "ms": millis}, sort_keys=True))
        if problem is not None:
            failures.append(f"{path}: {problem}")
    status = FAILED if failures else SUCCEEDED
    print(json.dumps({"hookStatus": status, "revision": revision, "failures": failures}, sort_keys=True))
    return {"hookStatus": status}
