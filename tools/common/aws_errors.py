"""Errors from AWS, or from the way to it, as one line that says what to do.

Every tool that calls AWS wraps its work in :func:`aws_errors` and reports
:class:`AwsError` like its own errors (``error: <line>``, non-zero exit, no
traceback)::

    try:
        with aws_errors():
            check_credentials(region, endpoint_url)
            ...
    except AwsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1

What it recognises: missing, incomplete or expired credentials (and an expired
SSO session, an unknown profile), access denied, throttling after the SDK's
retries, and an endpoint that cannot be reached; anything else from AWS is
still one line (``AWS refused <operation>: <code>: <message>``).  A body of markup (an HTML
page from a proxy or a load balancer on the way, an XML error the SDK could not parse) is
never printed: its AWS code and message, or its text without the markup after the HTTP
status.
:func:`check_credentials` asks STS who the caller is, so a command that hands
the work to Terraform fails before it starts, in one line, rather than in
Terraform's pages of output.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore import exceptions  # type: ignore[import-untyped]

#: Longest AWS message quoted in a line.
MESSAGE_LIMIT = 240
#: Longest part of an HTML page's text quoted in a line.
PAGE_TEXT_LIMIT = 120

#: Error codes meaning the credentials are expired or not valid.
CREDENTIAL_CODES = frozenset(
    {
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "InvalidAccessKeyId",
        "InvalidToken",
        "UnrecognizedClientException",
        "AuthFailure",
        "MissingAuthenticationToken",
        "IncompleteSignature",
        "TokenRefreshRequired",
    }
)
#: The request's signature was refused: wrong secret key, or a clock far off.
SIGNATURE_CODES = frozenset({"SignatureDoesNotMatch", "InvalidSignatureException", "RequestExpired", "RequestTimeTooSkewed"})
#: Error codes meaning the caller lacks a permission.
ACCESS_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "UnauthorizedAccess",
        "AuthorizationError",
        "AuthorizationErrorException",
        "Forbidden",
        "NotAuthorized",
        "KMSAccessDeniedException",
    }
)
#: Throttling error codes (botocore's list, ``botocore.retries.standard``, which a test keeps in step).
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
    }
)

LOGIN = "run aws sso login (or aws configure), set AWS_PROFILE, or export an assumed role's AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN"


class AwsError(RuntimeError):
    """One line: what AWS (or the way to it) said, and what to do."""


def error_code(error: Exception) -> str:
    """The AWS error code of a botocore ``ClientError`` (``RepositoryNotFoundException``), else ``""``."""
    response = getattr(error, "response", None)
    return str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""


def _one_line(text: object) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= MESSAGE_LIMIT else line[: MESSAGE_LIMIT - 1] + "…"


def describe(error: Exception) -> str:
    """The one line for an error of botocore (:class:`~botocore.exceptions.BotoCoreError`
    or :class:`~botocore.exceptions.ClientError`)."""
    if isinstance(error, exceptions.ClientError):
        return _client_error(error)
    if isinstance(error, exceptions.NoCredentialsError | exceptions.NoAuthTokenError):
        return f"no AWS credentials found: {LOGIN}; then run the command again"
    if isinstance(error, exceptions.PartialCredentialsError):
        return f"incomplete AWS credentials ({_one_line(error)}): {LOGIN}"
    if isinstance(error, exceptions.ProfileNotFound):
        return f"AWS profile {error.kwargs.get('profile')!r} not found: set AWS_PROFILE to a profile of ~/.aws/config (aws configure list-profiles)"
    if isinstance(error, exceptions.SSOError | exceptions.TokenRetrievalError):
        return "the AWS SSO session has expired or never started: run aws sso login (with your AWS_PROFILE), then the command again"
    if isinstance(error, exceptions.CredentialRetrievalError):
        return f"AWS credentials could not be obtained ({_one_line(error)}): check the role or credential process of your profile, or {LOGIN}"
    if isinstance(error, exceptions.NoRegionError):
        return "no AWS region: set AWS_REGION (e.g. in settings.env) and run the command again"
    if isinstance(error, exceptions.EndpointConnectionError | exceptions.ConnectionError | exceptions.HTTPClientError):
        where = error.kwargs.get("endpoint_url") or "its endpoint"
        return (
            f"cannot reach AWS at {where} ({type(error).__name__}): check the network, the proxy settings (HTTPS_PROXY, NO_PROXY), "
            "the region, or AWS_ENDPOINT_URL for an emulator; then run the command again"
        )
    return f"AWS request failed: {_one_line(error)}"


#: A tag of markup: what an HTML page (a proxy's, a load balancer's) or an unparsed XML body holds.
_TAG_RE = re.compile(r"<[A-Za-z!/?][^>]*>")
_HIDDEN_RE = re.compile(r"<(script|style|head)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL | re.ASCII)


def _field(markup: str, name: str) -> str:
    found = re.search(rf"<{name}>(.*?)</{name}>", markup, re.DOTALL)
    return html.unescape(found.group(1)).strip() if found else ""


def _code_and_message(response: Any) -> tuple[str, str]:
    """The error's code and message; a body of markup (an HTML page from a proxy, or an XML
    error the SDK could not parse) becomes its AWS code and message, or its text with the
    markup removed after the HTTP status: never the page itself."""
    details = response.get("Error", {}) if isinstance(response, dict) else {}
    code, message = str(details.get("Code") or ""), str(details.get("Message") or "")
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode") if isinstance(response, dict) else None
    if not code and not message and status:  # a body the SDK could not read at all
        return f"HTTP {status}", ""
    if not _TAG_RE.search(message):
        return code, _one_line(message)
    if _field(message, "Code"):
        return _field(message, "Code"), _one_line(_field(message, "Message"))
    text = _one_line(html.unescape(_TAG_RE.sub(" ", _HIDDEN_RE.sub(" ", message))))[:PAGE_TEXT_LIMIT]
    return (f"HTTP {status or code}" if not code or code.isdigit() else code), text


def _client_error(error: Any) -> str:
    code, message = _code_and_message(error.response)
    operation = error.operation_name or "the request"
    said = f" ({code}: {message})" if message else f" ({code})"
    if code in CREDENTIAL_CODES:
        return f"AWS refused the credentials for {operation}{said}: they are expired or not valid; refresh them ({LOGIN}) and run the command again"
    if code in SIGNATURE_CODES:
        return f"AWS refused the signature of {operation}{said}: check the secret key, and that this machine's clock is right; then run the command again"
    if code in ACCESS_CODES:
        return f"access denied to {operation}{said}: the caller needs that permission: grant it, or use a role that has it"
    if code in THROTTLING_CODES:
        return f"AWS throttled {operation}{said} after the SDK's retries: wait a minute and run the command again (AWS_MAX_ATTEMPTS=10 retries longer)"
    return f"AWS refused {operation}{said}"


@contextmanager
def aws_errors() -> Iterator[None]:
    """Turn any botocore error raised inside into an :class:`AwsError` (one line)."""
    try:
        yield
    except (exceptions.BotoCoreError, exceptions.ClientError) as error:
        raise AwsError(describe(error)) from None


def sts_client(region: str, endpoint_url: str | None = None) -> Any:
    import boto3  # type: ignore[import-untyped]

    return boto3.session.Session(region_name=region).client("sts", endpoint_url=endpoint_url)


def check_credentials(region: str, endpoint_url: str | None = None, client: Any = None) -> str:
    """The caller's ARN (STS ``GetCallerIdentity``, which needs no permission); an
    :class:`AwsError` when there are no usable credentials or AWS cannot be reached."""
    with aws_errors():
        identity = (client or sts_client(region, endpoint_url)).get_caller_identity()
    return str(identity.get("Arn", ""))
