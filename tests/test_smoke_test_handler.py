"""The smoke test's handler against a real HTTP server on loopback."""

from __future__ import annotations

import contextlib
import http.server
import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from stacks.functions import smoke_test

REVISION = "arn:aws:ecs:us-east-1:123456789012:service-revision/order-api-dev/order-api-dev-api/1"
EVENT = {"executionDetails": {"targetServiceRevisionArn": REVISION, "testTrafficWeights": {REVISION: 100}}}


class _Handler(http.server.BaseHTTPRequestHandler):
    """Answers by path: /health 200, /broken 500, /slow after 2 s, /moved 302, /missing 404."""

    def do_GET(self) -> None:
        if self.path == "/slow":
            time.sleep(2)
        status = {"/health": 200, "/orders?limit=1": 204, "/broken": 500, "/slow": 200, "/moved": 302, "/missing": 404}.get(self.path, 404)
        self.send_response(status)
        if status == 302:
            self.send_header("Location", "/health")
        self.send_header("Content-Length", "2")
        self.end_headers()
        with contextlib.suppress(BrokenPipeError):  # /slow: the client timed out and left, as meant
            self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def run(monkeypatch: pytest.MonkeyPatch, base_url: str, paths: list[str], timeout: float = 1.0) -> dict[str, str]:
    monkeypatch.setenv("SMOKE_BASE_URL", base_url)
    monkeypatch.setenv("SMOKE_PATHS", json.dumps(paths))
    monkeypatch.setenv("SMOKE_TIMEOUT_SECONDS", str(timeout))
    return smoke_test.handler(EVENT, None)


def test_a_healthy_revision_succeeds(monkeypatch: pytest.MonkeyPatch, base_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(monkeypatch, base_url, ["/health"]) == {"hookStatus": "SUCCEEDED"}
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines[0]["path"] == "/health" and lines[0]["ok"] is True
    assert lines[-1] == {"hookStatus": "SUCCEEDED", "revision": REVISION, "failures": []}


def test_every_smoke_path_must_answer_2xx(monkeypatch: pytest.MonkeyPatch, base_url: str) -> None:
    assert run(monkeypatch, base_url, ["/health", "/orders?limit=1"]) == {"hookStatus": "SUCCEEDED"}
    assert run(monkeypatch, base_url, ["/health", "/missing"]) == {"hookStatus": "FAILED"}


def test_a_server_error_fails(monkeypatch: pytest.MonkeyPatch, base_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(monkeypatch, base_url, ["/health", "/broken"]) == {"hookStatus": "FAILED"}
    verdict = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert verdict["failures"] == ["/broken: HTTP 500"]


def test_a_slow_answer_fails_at_the_timeout(monkeypatch: pytest.MonkeyPatch, base_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    start = time.monotonic()
    assert run(monkeypatch, base_url, ["/slow"], timeout=0.3) == {"hookStatus": "FAILED"}
    assert time.monotonic() - start < 1.9
    assert "no answer" in json.loads(capsys.readouterr().out.splitlines()[-1])["failures"][0]


def test_a_refused_connection_fails(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert run(monkeypatch, f"http://127.0.0.1:{port}", ["/health"]) == {"hookStatus": "FAILED"}
    assert "refused" in json.loads(capsys.readouterr().out.splitlines()[-1])["failures"][0].lower()


def test_a_redirect_is_not_followed(monkeypatch: pytest.MonkeyPatch, base_url: str) -> None:
    assert run(monkeypatch, base_url, ["/moved"]) == {"hookStatus": "FAILED"}


def test_an_event_without_execution_details_is_logged_as_unknown(monkeypatch: pytest.MonkeyPatch, base_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SMOKE_BASE_URL", base_url + "/")
    monkeypatch.setenv("SMOKE_PATHS", '["/health"]')
    monkeypatch.setenv("SMOKE_TIMEOUT_SECONDS", "1")
    assert smoke_test.handler({}, None) == {"hookStatus": "SUCCEEDED"}
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["revision"] == "unknown"
