"""The smoke test's handler against a real HTTP server on loopback (the application and, for
the version check, the ECS API), with an injected clock for the retry window."""

from __future__ import annotations

import contextlib
import datetime
import http.server
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest

from stacks.functions import smoke_test
from tests.conftest import Clock, closed_port
from tools.common.ecs_deployments import CONTAINER

REVISION = "arn:aws:ecs:us-east-1:123456789012:service-revision/order-api-dev/order-api-dev-api/1"
EVENT = {"executionDetails": {"targetServiceRevisionArn": REVISION, "testTrafficWeights": {REVISION: 100}}}
NEW, OLD = "sha256:" + "b" * 64, "sha256:" + "a" * 64
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "token"}


class _Handler(http.server.BaseHTTPRequestHandler):
    """Answers by path: /health 200, /broken 500, /slow after 2 s, /moved 302, /missing 404;
    /flaky 503 twice, then 200; /new and /old state the new and the old digest; POST /ecs/
    is the ECS API (DescribeServiceRevisions), answering what ``ecs_answer`` holds."""

    flaky = 0
    ecs_requests: ClassVar[list[tuple[dict[str, str], dict[str, Any]]]] = []
    ecs_answer: ClassVar[tuple[int, dict[str, Any]]] = (200, {})

    def do_GET(self) -> None:
        if self.path == "/slow":
            time.sleep(2)
        status = {"/health": 200, "/orders?limit=1": 204, "/broken": 500, "/slow": 200, "/moved": 302, "/missing": 404, "/new": 200, "/old": 200}.get(
            self.path, 404
        )
        if self.path == "/flaky":
            type(self).flaky += 1
            status = 503 if type(self).flaky <= 2 else 200
        self.send_response(status)
        if status == 302:
            self.send_header("Location", "/health")
        if self.path in ("/new", "/old"):
            self.send_header(smoke_test.VERSION_HEADER, NEW if self.path == "/new" else OLD)
        self.send_header("Content-Length", "2")
        self.end_headers()
        with contextlib.suppress(BrokenPipeError):  # /slow: the client timed out and left, as meant
            self.wfile.write(b"ok")

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).ecs_requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
        status, answer = type(self).ecs_answer
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def ecs(base_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[dict[str, str], dict[str, Any]]]]:
    """The loopback ECS API, answering the new digest for the revision; the requests it got."""
    for name, value in {**CREDENTIALS, "AWS_ENDPOINT_URL_ECS": f"{base_url}/ecs/"}.items():
        monkeypatch.setenv(name, value)
    _Handler.ecs_requests = []
    _Handler.ecs_answer = (200, {"serviceRevisions": [{"serviceRevisionArn": REVISION, "containerImages": [{"containerName": CONTAINER, "imageDigest": NEW}]}]})
    yield _Handler.ecs_requests


def run(
    monkeypatch: pytest.MonkeyPatch, base_url: str, paths: list[str], timeout: float = 1.0, window: float = 0, clock: Clock | None = None
) -> dict[str, Any]:
    monkeypatch.setenv("SMOKE_BASE_URL", base_url)
    monkeypatch.setenv("SMOKE_PATHS", json.dumps(paths))
    monkeypatch.setenv("SMOKE_TIMEOUT_SECONDS", str(timeout))
    monkeypatch.setenv("SMOKE_RETRY_SECONDS", str(window))
    clock = clock or Clock()
    return smoke_test.handler(EVENT, None, clock=clock, sleep=clock.sleep)


def logged(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_a_healthy_revision_succeeds(monkeypatch: pytest.MonkeyPatch, base_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(monkeypatch, base_url, ["/health"]) == {"hookStatus": "SUCCEEDED"}
    lines = logged(capsys)
    assert lines[0]["path"] == "/health" and lines[0]["ok"] is True and lines[0]["attempt"] == 1
    assert lines[-1] == {"hookStatus": "SUCCEEDED", "revision": REVISION, "failures": []}


def test_every_smoke_path_must_answer_2xx(monkeypatch: pytest.MonkeyPatch, base_url: str) -> None:
    assert run(monkeypatch, base_url, ["/health", "/orders?limit=1"]) == {"hookStatus": "SUCCEEDED"}
    assert run(monkeypatch, base_url, ["/health", "/missing"]) == {"hookStatus": "FAILED"}


def test_a_server_error_fails(monkeypatch: pytest.MonkeyPatch, base_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(monkeypatch, base_url, ["/health", "/broken"]) == {"hookStatus": "FAILED"}
    assert logged(capsys)[-1]["failures"] == ["/broken: HTTP 500"]


def test_a_slow_answer_fails_at_the_timeout(monkeypatch: pytest.MonkeyPatch, base_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    start = time.monotonic()
    assert run(monkeypatch, base_url, ["/slow"], timeout=0.3) == {"hookStatus": "FAILED"}
    assert time.monotonic() - start < 1.9
    assert "no answer" in logged(capsys)[-1]["failures"][0]


def test_a_refused_connection_fails(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(monkeypatch, f"http://127.0.0.1:{closed_port()}", ["/health"]) == {"hookStatus": "FAILED"}
    assert "refused" in logged(capsys)[-1]["failures"][0].lower()


def test_a_redirect_is_not_followed(monkeypatch: pytest.MonkeyPatch, base_url: str) -> None:
    assert run(monkeypatch, base_url, ["/moved"]) == {"hookStatus": "FAILED"}


def test_an_event_without_execution_details_is_logged_as_unknown(monkeypatch: pytest.MonkeyPatch, base_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SMOKE_BASE_URL", base_url + "/")
    monkeypatch.setenv("SMOKE_PATHS", '["/health"]')
    monkeypatch.setenv("SMOKE_TIMEOUT_SECONDS", "1")
    monkeypatch.setenv("SMOKE_RETRY_SECONDS", "0")
    assert smoke_test.handler({}, None) == {"hookStatus": "SUCCEEDED"}
    assert logged(capsys)[-1]["revision"] == "unknown"


# ------------------------------------------------------------------ warm-up


def test_the_warmup_event_is_answered_at_once_without_the_network(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("SMOKE_BASE_URL", "SMOKE_PATHS", "SMOKE_TIMEOUT_SECONDS", "SMOKE_RETRY_SECONDS"):
        monkeypatch.delenv(name, raising=False)

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("the warm-up touched the network")

    monkeypatch.setattr(smoke_test._OPENER, "open", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    assert smoke_test.handler(dict(smoke_test.WARMUP_EVENT), None) == {"warmup": True}
    assert logged(capsys) == [{"warmup": True}]


def test_only_a_true_warmup_flag_skips_the_smoke_test(monkeypatch: pytest.MonkeyPatch, base_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    run(monkeypatch, base_url, ["/health"])
    capsys.readouterr()
    assert smoke_test.handler({**EVENT, "warmup": "yes"}, None) == {"hookStatus": "SUCCEEDED"}
    assert logged(capsys)[0]["path"] == "/health"


# ------------------------------------------------------------------ retries within the window


def test_a_path_that_fails_twice_then_succeeds_passes(monkeypatch: pytest.MonkeyPatch, base_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    _Handler.flaky = 0
    clock = Clock()
    assert run(monkeypatch, base_url, ["/flaky"], window=10, clock=clock) == {"hookStatus": "SUCCEEDED"}
    attempts = [(line["attempt"], line["ok"], line["problem"]) for line in logged(capsys) if "path" in line]
    assert attempts == [(1, False, "HTTP 503"), (2, False, "HTTP 503"), (3, True, None)]
    assert clock.sleeps == [1, 2]


def test_a_path_that_always_fails_fails_when_the_window_runs_out(monkeypatch: pytest.MonkeyPatch, base_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    clock = Clock()
    assert run(monkeypatch, base_url, ["/broken"], window=20, clock=clock) == {"hookStatus": "FAILED"}
    lines = logged(capsys)
    # Attempts at 0, 1, 3, 7, 12 and 17 s: the next would start at 22 s, past the window.
    assert [line["attempt"] for line in lines if "path" in line] == [1, 2, 3, 4, 5, 6]
    assert clock.sleeps == [1, 2, 4, 5, 5] and clock.now == 17
    assert lines[-1]["failures"] == ["/broken: HTTP 500"]


def test_without_a_window_each_path_is_tried_once(monkeypatch: pytest.MonkeyPatch, base_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    clock = Clock()
    assert run(monkeypatch, base_url, ["/broken"], window=0, clock=clock) == {"hookStatus": "FAILED"}
    assert clock.sleeps == [] and len([line for line in logged(capsys) if "path" in line]) == 1


def test_every_path_gets_an_attempt_after_the_window(monkeypatch: pytest.MonkeyPatch, base_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    clock = Clock()
    assert run(monkeypatch, base_url, ["/broken", "/health"], window=3, clock=clock) == {"hookStatus": "FAILED"}
    lines = logged(capsys)
    assert [(line["path"], line["attempt"]) for line in lines if "path" in line] == [("/broken", 1), ("/broken", 2), ("/health", 1)]
    assert lines[-1]["failures"] == ["/broken: HTTP 500"]


# ------------------------------------------------------------------ which revision answered


def test_the_new_revisions_digest_passes_and_ecs_is_asked_once(
    monkeypatch: pytest.MonkeyPatch, base_url: str, ecs: list[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(monkeypatch, base_url, ["/new", "/new"]) == {"hookStatus": "SUCCEEDED"}
    ((headers, body),) = ecs
    assert body == {"serviceRevisionArns": [REVISION]}
    assert headers["x-amz-target"] == "AmazonEC2ContainerServiceV20141113.DescribeServiceRevisions"
    assert headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/") and headers["x-amz-security-token"] == "token"
    lines = logged(capsys)
    assert {"version": "expected", "digest": NEW} in lines
    assert not [line for line in lines if line.get("version") == "not stated"]


def test_an_answer_from_the_old_revision_fails(monkeypatch: pytest.MonkeyPatch, base_url: str, ecs: list[Any], capsys: pytest.CaptureFixture[str]) -> None:
    clock = Clock()
    assert run(monkeypatch, base_url, ["/old"], window=4, clock=clock) == {"hookStatus": "FAILED"}
    lines = logged(capsys)
    failure = f"/old: the old revision answered: X-Image-Digest {OLD}, expected {NEW}"
    assert lines[-1]["failures"] == [failure]
    assert [line["attempt"] for line in lines if "path" in line] == [1, 2, 3], "the old revision's answer is retried like an error"
    assert len(ecs) == 1


def test_an_application_that_does_not_state_its_version_passes_and_says_so(
    monkeypatch: pytest.MonkeyPatch, base_url: str, ecs: list[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(monkeypatch, base_url, ["/health"]) == {"hookStatus": "SUCCEEDED"}
    assert {"version": "not stated", "note": "the application does not state its version; cannot tell which revision answered"} in logged(capsys)
    assert ecs == [], "ECS is asked only when an answer states a digest"


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ((403, {"__type": "AccessDeniedException"}), "DescribeServiceRevisions failed: Forbidden"),
        ((200, {"serviceRevisions": [], "failures": [{"arn": REVISION, "reason": "MISSING"}]}), "ECS reports no single image digest for container order-api"),
        ((200, {"serviceRevisions": [{"containerImages": [{"containerName": "sidecar", "imageDigest": NEW}]}]}), "ECS reports no single image digest"),
    ],
)
def test_a_digest_that_cannot_be_learnt_is_said_and_does_not_fail(
    monkeypatch: pytest.MonkeyPatch, base_url: str, ecs: list[Any], capsys: pytest.CaptureFixture[str], answer: tuple[int, dict[str, Any]], problem: str
) -> None:
    _Handler.ecs_answer = answer
    assert run(monkeypatch, base_url, ["/old"]) == {"hookStatus": "SUCCEEDED"}
    (unknown,) = [line for line in logged(capsys) if line.get("version") == "unknown"]
    assert problem in unknown["problem"] and unknown["problem"].endswith("cannot tell which revision answered")


def test_an_unreachable_ecs_api_does_not_fail_the_smoke_test(
    monkeypatch: pytest.MonkeyPatch, base_url: str, ecs: list[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_ECS", f"http://127.0.0.1:{closed_port()}/")
    assert run(monkeypatch, base_url, ["/new"]) == {"hookStatus": "SUCCEEDED"}
    (unknown,) = [line for line in logged(capsys) if line.get("version") == "unknown"]
    assert unknown["problem"].startswith("DescribeServiceRevisions failed:")


@pytest.mark.parametrize(
    ("revision", "environ", "problem"),
    [
        ("unknown", CREDENTIALS, "no service revision in the event (unknown)"),
        ("arn:aws:ecs:us-east-1:123456789012:service/order-api-dev/order-api-dev-api", CREDENTIALS, "no service revision in the event"),
        (REVISION, {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE"}, "no AWS credentials in the environment"),
    ],
)
def test_no_revision_or_no_credentials_means_no_lookup(revision: str, environ: dict[str, str], problem: str) -> None:
    with pytest.raises(LookupError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        smoke_test.revision_digest(revision, environ, 1.0)


@pytest.mark.parametrize(
    ("partition", "region", "url"),
    [("aws", "eu-west-2", "https://ecs.eu-west-2.amazonaws.com/"), ("aws-cn", "cn-north-1", "https://ecs.cn-north-1.amazonaws.com.cn/")],
)
def test_the_ecs_endpoint_is_the_regions(partition: str, region: str, url: str) -> None:
    assert smoke_test.ecs_endpoint(partition, region, {}) == url
    assert smoke_test.ecs_endpoint(partition, region, {"AWS_ENDPOINT_URL_ECS": "http://127.0.0.1:1/"}) == "http://127.0.0.1:1/"


@pytest.mark.parametrize("token", ["token", None], ids=["session", "long-term keys"])
def test_the_signature_is_the_one_botocore_computes(monkeypatch: pytest.MonkeyPatch, token: str | None) -> None:
    """The hand-written Signature Version 4 agrees with botocore's for the same request."""
    from botocore import auth  # type: ignore[import-untyped]
    from botocore.awsrequest import AWSRequest  # type: ignore[import-untyped]
    from botocore.credentials import Credentials  # type: ignore[import-untyped]

    now = datetime.datetime(2026, 11, 30, 12, 0, 0, tzinfo=datetime.UTC)
    url, body = "https://ecs.us-east-1.amazonaws.com/", json.dumps({"serviceRevisionArns": [REVISION]}).encode()
    target = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AmazonEC2ContainerServiceV20141113.DescribeServiceRevisions"}
    environ = {k: v for k, v in CREDENTIALS.items() if token or k != "AWS_SESSION_TOKEN"}
    ours = smoke_test.signed_headers(url, "us-east-1", "ecs", body, target, environ, now)

    class Frozen(datetime.datetime):
        @classmethod
        def utcnow(cls) -> datetime.datetime:  # type: ignore[override]
            return now.replace(tzinfo=None)

    monkeypatch.setattr(auth.datetime, "datetime", Frozen)
    request = AWSRequest(method="POST", url=url, data=body, headers=dict(target))
    auth.SigV4Auth(Credentials("AKIDEXAMPLE", "secret", token), "ecs", "us-east-1").add_auth(request)
    assert ours["authorization"] == request.headers["Authorization"]
    assert (ours["x-amz-date"], ours.get("x-amz-security-token")) == ("20261130T120000Z", token)


def test_the_container_is_the_one_releases_change() -> None:
    assert smoke_test.CONTAINER == CONTAINER
