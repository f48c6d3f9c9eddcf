"""``make e2e``'s access proof: a release role's own credentials, under the emulator's IAM enforcement.

moto authorizes requests against the IAM policies it holds once its free request count is
used up (``POST /moto-api/reset-auth`` sets the count; ``inf`` turns the check off again).
:func:`enforced` sets one free request, spends it on ``AssumeRoleWithWebIdentity`` of the
role (as GitHub's OIDC token would), and yields that session's credentials; everything
until the block ends is authorized against the role's policies, the harness's own dummy
credentials included (they are nobody's in IAM).

What this proves: the role's permission policies allow exactly what ``make release`` and
``make promote`` call, on the names they call them on (moto evaluates actions and resource
ARNs, with the project's patch for ECS, ECR, RDS and Lambda ARNs:
:mod:`tools.emulator.patches`), and deny the destructive calls in :data:`DENIED`.  What it does not: the trust policy (moto
accepts any token for any role), condition keys (moto skips conditions: ``iam:PassedToService``
and the boundary's conditions are the synth-time rules' and the audit's,
``tests/test_pipeline_policies.py``), permissions boundaries and ``iam:PassRole`` (moto checks
neither).
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

#: A token the emulator accepts (it checks neither its signature nor the trust policy).
WEB_IDENTITY_TOKEN = "e2e.github-oidc.token"
#: Errors that mean "not allowed", by service.
ACCESS_DENIED = ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation")


def set_free_requests(endpoint: str, count: int | str) -> None:
    """Requests the emulator serves before it authorizes against IAM (``inf``: never)."""
    request = urllib.request.Request(f"{endpoint}/moto-api/reset-auth", data=str(count).encode(), method="POST", headers={"Content-Type": "text/plain"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        answer.read()


@contextmanager
def enforced(endpoint: str, sts: Any, role_arn: str, session_name: str) -> Iterator[dict[str, str]]:
    """The role's credentials, as environment variables, with IAM enforced for the block."""
    set_free_requests(endpoint, 1)
    try:
        found = sts.assume_role_with_web_identity(RoleArn=role_arn, RoleSessionName=session_name, WebIdentityToken=WEB_IDENTITY_TOKEN)["Credentials"]
        yield {"AWS_ACCESS_KEY_ID": found["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": found["SecretAccessKey"], "AWS_SESSION_TOKEN": found["SessionToken"]}
    finally:
        set_free_requests(endpoint, "inf")


def denied_calls(stack: str, other: str) -> list[tuple[str, str, str, dict[str, Any]]]:
    """What a release role of ``stack`` must never do: (what, service, operation, arguments)."""
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    return [
        (f"delete {stack}'s database cluster", "rds", "delete_db_cluster", {"DBClusterIdentifier": f"{stack}-aurora", "SkipFinalSnapshot": True}),
        (f"update {other}'s service", "ecs", "update_service", {"cluster": other, "service": f"{other}-api", "desiredCount": 0}),
        (
            f"register {other}'s task family",
            "ecs",
            "register_task_definition",
            {"family": f"{other}-api", "containerDefinitions": [{"name": "api", "image": "x", "memory": 128}]},
        ),
        ("create an IAM role", "iam", "create_role", {"RoleName": f"{stack}-escalated", "AssumeRolePolicyDocument": json.dumps(trust)}),
        ("delete the shared repository", "ecr", "delete_repository", {"repositoryName": "order-api", "force": True}),
    ]


def is_denial(error: Exception) -> bool:
    """An authorization refusal: its code, or (for the JSON services, to which moto answers in
    XML) HTTP 403 with an ``AccessDenied`` code in the body botocore could not parse."""
    answer = getattr(error, "response", {})
    code = answer.get("Error", {}).get("Code", "")
    status = answer.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return code in ACCESS_DENIED or (status == 403 and "<Code>AccessDenied</Code>" in answer.get("Error", {}).get("Message", ""))


def refused(client: Callable[[str], Any], calls: list[tuple[str, str, str, dict[str, Any]]]) -> tuple[list[str], list[str]]:
    """Try each call; (the ones denied, the ones that were not, with what happened)."""
    denied: list[str] = []
    problems: list[str] = []
    for what, service, operation, arguments in calls:
        try:
            getattr(client(service), operation)(**arguments)
        except Exception as error:  # botocore's ClientError, by code
            if is_denial(error):
                denied.append(what)
            else:
                problems.append(f"{what}: {getattr(error, 'response', {}).get('Error', {}).get('Code', type(error).__name__)}, not access denied")
            continue
        problems.append(f"{what}: allowed")
    return denied, problems
