"""Errors from AWS are one line that says what to do: botocore's Stubber for what AWS
answers, real botocore without credentials and a closed loopback port for the rest
(no test reaches anything but 127.0.0.1)."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import boto3  # type: ignore[import-untyped]
import pytest
from botocore import exceptions  # type: ignore[import-untyped]
from botocore.config import Config  # type: ignore[import-untyped]
from botocore.retries import standard  # type: ignore[import-untyped]
from botocore.stub import Stubber  # type: ignore[import-untyped]

from tests.conftest import ROOT, Synthesized
from tools.common.aws_errors import THROTTLING_CODES, AwsError, aws_errors, check_credentials, describe
from tools.ops import db_users, deploy


def sts(*errors: tuple[str, int]) -> Any:
    client = boto3.session.Session(region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x").client("sts", endpoint_url="http://127.0.0.1:9")
    stubber = Stubber(client)
    for code, status in errors:
        stubber.add_client_error("get_caller_identity", service_error_code=code, service_message=f"{code} says\nsomething", http_status_code=status)
    stubber.activate()
    return client


def assert_one_line(error: AwsError, *fragments: str) -> None:
    line = str(error)
    assert "\n" not in line and "\r" not in line and "Traceback" not in line
    for fragment in fragments:
        assert fragment in line, line


@pytest.mark.parametrize(
    ("code", "status", "fragments"),
    [
        ("ExpiredToken", 403, ("AWS refused the credentials for GetCallerIdentity (ExpiredToken: ExpiredToken says something)", "aws sso login")),
        ("InvalidClientTokenId", 403, ("they are expired or not valid",)),
        ("SignatureDoesNotMatch", 403, ("check the secret key, and that this machine's clock is right",)),
        ("AccessDenied", 403, ("access denied to GetCallerIdentity (AccessDenied: AccessDenied says something)", "the caller needs that permission")),
        ("Throttling", 400, ("AWS throttled GetCallerIdentity", "wait a minute and run the command again")),
        ("SomethingNew", 400, ("AWS refused GetCallerIdentity (SomethingNew: SomethingNew says something)",)),
    ],
)
def test_fails_an_aws_answer_with_one_line_saying_what_to_do(code: str, status: int, fragments: tuple[str, ...]) -> None:
    with pytest.raises(AwsError) as excinfo:
        check_credentials("us-east-1", client=sts((code, status)))
    assert_one_line(excinfo.value, *fragments)


def test_a_good_answer_names_the_caller() -> None:
    client = boto3.session.Session(region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x").client("sts")
    stubber = Stubber(client)
    stubber.add_response("get_caller_identity", {"Arn": "arn:aws:iam::123456789012:role/deploy", "Account": "123456789012", "UserId": "AROA"})
    with stubber:
        assert check_credentials("us-east-1", client=client) == "arn:aws:iam::123456789012:role/deploy"


def test_fails_without_credentials_before_any_request(no_credentials: str) -> None:
    with pytest.raises(AwsError) as excinfo:
        check_credentials("us-east-1")
    assert_one_line(excinfo.value, "no AWS credentials found:", "aws sso login", "then run the command again")


def test_fails_with_half_the_credentials(no_credentials: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    with pytest.raises(AwsError) as excinfo:
        check_credentials("us-east-1")
    assert_one_line(excinfo.value, "incomplete AWS credentials")


def test_fails_with_an_unknown_profile(no_credentials: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "nowhere")
    with pytest.raises(AwsError) as excinfo:
        check_credentials("us-east-1")
    assert_one_line(excinfo.value, "AWS profile 'nowhere' not found", "aws configure list-profiles")


def test_fails_on_an_unreachable_endpoint(no_credentials: str) -> None:
    client = boto3.session.Session(region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x").client(
        "sts", endpoint_url=no_credentials, config=Config(retries={"max_attempts": 1}, connect_timeout=2)
    )
    with pytest.raises(AwsError) as excinfo:
        check_credentials("us-east-1", client=client)
    assert_one_line(excinfo.value, f"cannot reach AWS at {no_credentials}/ (EndpointConnectionError)", "HTTPS_PROXY")


@pytest.mark.parametrize(
    ("error", "fragment"),
    [
        (exceptions.UnauthorizedSSOTokenError(), "the AWS SSO session has expired or never started: run aws sso login"),
        (exceptions.SSOTokenLoadError(error_msg="token expired"), "run aws sso login"),
        (exceptions.TokenRetrievalError(provider="sso", error_msg="expired"), "run aws sso login"),
        (exceptions.CredentialRetrievalError(provider="assume-role", error_msg="denied"), "AWS credentials could not be obtained"),
        (exceptions.NoRegionError(), "no AWS region: set AWS_REGION"),
        (exceptions.ReadTimeoutError(endpoint_url="https://sts.amazonaws.com"), "cannot reach AWS at https://sts.amazonaws.com"),
        (exceptions.ParamValidationError(report="bad\nparam"), "AWS request failed: Parameter validation failed: bad param"),
    ],
)
def test_every_other_botocore_error_is_one_line(error: Exception, fragment: str) -> None:
    with pytest.raises(AwsError) as excinfo, aws_errors():
        raise error
    assert_one_line(excinfo.value, fragment)
    assert describe(error) == str(excinfo.value)


def test_other_errors_pass_through() -> None:
    with pytest.raises(KeyError), aws_errors():
        raise KeyError("not AWS")


def test_throttling_codes_cover_botocores() -> None:
    assert set(standard.ThrottledRetryableChecker._THROTTLED_ERROR_CODES) <= THROTTLING_CODES


def test_a_long_aws_message_is_cut() -> None:
    error = exceptions.ClientError({"Error": {"Code": "AccessDenied", "Message": "x" * 5000}}, "ExecuteStatement")
    assert len(describe(error)) < 500 and describe(error).count("x") < 300


# ---------------------------------------------------------------- every tool


def test_deploy_without_credentials_is_one_line(synth: Synthesized, no_credentials: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert deploy.main(["order-api-registry", "--skip-synth", "--outdir", str(synth.outdir)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: no AWS credentials found:")


def test_destroy_without_credentials_is_one_line_before_terraform(
    synth: Synthesized, no_credentials: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(deploy, "cdktf", lambda *a, **k: pytest.fail("cdktf ran without credentials"))
    assert deploy.main(["order-api-dev", "--destroy", "--skip-synth", "--outdir", str(synth.outdir)]) == 1
    assert capsys.readouterr().err.startswith("error: no AWS credentials found:")


def test_db_users_without_credentials_is_one_line(synth: Synthesized, no_credentials: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert db_users.main(["order-api-dev", "--synth-dir", str(synth.stacks_dir)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: no AWS credentials found:")


def test_db_users_access_denied_is_one_line(synth: Synthesized, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    rds = boto3.session.Session(region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x").client("rds", endpoint_url="http://127.0.0.1:9")
    stubber = Stubber(rds)
    stubber.add_client_error("describe_db_clusters", service_error_code="AccessDenied", service_message="not allowed", http_status_code=403)
    stubber.activate()
    monkeypatch.setattr(db_users, "_boto3_clients", lambda target: (rds, None))
    assert db_users.main(["order-api-dev", "--synth-dir", str(synth.stacks_dir)]) == 1
    assert capsys.readouterr().err.strip().splitlines() == [
        "error: access denied to DescribeDBClusters (AccessDenied: not allowed): the caller needs that permission: grant it, or use a role that has it"
    ]


def test_a_real_deploy_process_without_credentials_prints_no_traceback(synth: Synthesized, no_credentials: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tools.ops.deploy", "order-api-dev", "--skip-synth", "--outdir", str(synth.outdir)],
        cwd=ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [result.stderr.strip()] and result.stderr.startswith("error: no AWS credentials found:")


# ---------------------------------------------------------------- bodies of markup

PROXY_PAGE = (
    b"<html><head><title>403 Forbidden</title><style>body{color:red}</style></head>"
    b"<body><h1>Forbidden</h1><p>The proxy blocked the request &amp; gave up.</p>" + b"<p>filler</p>" * 400 + b"</body></html>"
)
XML_DENIAL = (
    b'<?xml version="1.0" encoding="utf-8"?><ErrorResponse><Errors><Error><Code>AccessDenied</Code>'
    b"<Message>User: arn:aws:sts::123456789012:assumed-role/r/s is not authorized to perform: ecs:UpdateService</Message></Error></Errors></ErrorResponse>"
)


@pytest.fixture
def answering() -> Any:
    """A loopback server that answers every request with the (status, content type, body) set on it."""
    import http.server
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        answer: tuple[int, str, bytes] = (200, "text/plain", b"")

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, kind, body = Handler.answer
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield Handler, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _client(service: str, endpoint: str) -> Any:
    session = boto3.session.Session(region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    return session.client(service, endpoint_url=endpoint, config=Config(retries={"max_attempts": 1}))


@pytest.mark.parametrize(
    ("service", "operation", "said"),
    [
        ("ecs", "list_clusters", "AWS refused ListClusters (HTTP 403: Forbidden The proxy blocked the request & gave up. filler filler"),  # JSON
        ("lambda", "list_functions", "AWS refused ListFunctions (HTTP 403: Forbidden The proxy blocked the request & gave up."),  # REST-JSON
        ("sts", "get_caller_identity", "AWS refused GetCallerIdentity (HTTP 403)"),  # query: botocore keeps nothing of the page
    ],
)
def test_an_html_page_as_the_error_is_its_status_and_text(answering: Any, service: str, operation: str, said: str) -> None:
    handler, endpoint = answering
    handler.answer = (403, "text/html", PROXY_PAGE)
    with pytest.raises(AwsError) as excinfo, aws_errors():
        getattr(_client(service, endpoint), operation)()
    line = str(excinfo.value)
    assert_one_line(excinfo.value, said)
    assert "<" not in line and "color:red" not in line and "403 Forbidden" not in line and len(line) < 300


def test_an_xml_error_a_json_service_could_not_parse_is_its_aws_code(answering: Any) -> None:
    handler, endpoint = answering
    handler.answer = (403, "text/xml", XML_DENIAL)
    with pytest.raises(AwsError) as excinfo, aws_errors():
        _client("ecs", endpoint).update_service(cluster="c", service="s", desiredCount=0)
    assert_one_line(excinfo.value, "access denied to UpdateService (AccessDenied: User: arn:aws:sts::123456789012:assumed-role/r/s is not authorized")
    assert "<" not in str(excinfo.value)
