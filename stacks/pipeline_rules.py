"""Rules every pipeline role must keep, checked when the identity stack is synthesized.

A role that breaks one fails synthesis (``node.add_validation``), whatever the policy
documents say elsewhere:

- its trust names one OIDC provider and checks the token's audience and its subject with
  ``StringEquals`` (never ``StringLike``), and the subject holds no wildcard (``*``, ``?``)
  in its repository, branch or environment part;
- ``iam:PassRole`` is allowed only with an ``iam:PassedToService`` condition;
- a role is created, or given a policy, only with the ``iam:PermissionsBoundary`` condition.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

#: Actions that give a role permissions: each needs the boundary condition.
ROLE_GRANTS = ("iam:createrole", "iam:putrolepolicy", "iam:attachrolepolicy", "iam:putrolepermissionsboundary")


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def trust_problems(role: str, trust: dict[str, Any]) -> list[str]:
    """What is wrong with ``role``'s trust policy."""
    problems = []
    for number, statement in enumerate(trust.get("Statement", []), start=1):
        where = f"{role} trust statement {number}"
        if statement.get("Effect") != "Allow":
            continue
        federated = _as_list(statement.get("Principal", {}).get("Federated", []))
        if len(federated) != 1 or set(statement.get("Principal", {})) != {"Federated"}:
            problems.append(f"{where}: trusts {statement.get('Principal')!r}, not exactly one OIDC provider")
        equals = statement.get("Condition", {}).get("StringEquals", {})
        if set(statement.get("Condition", {})) != {"StringEquals"}:
            problems.append(f"{where}: conditions other than StringEquals ({sorted(statement.get('Condition', {}))})")
        audiences = [key for key in equals if key.endswith(":aud")]
        subjects = [key for key in equals if key.endswith(":sub")]
        if len(audiences) != 1:
            problems.append(f"{where}: the token's audience is not checked")
        if len(subjects) != 1:
            problems.append(f"{where}: the token's subject is not checked")
        for key in subjects:
            for subject in _as_list(equals[key]):
                if any(mark in str(subject) for mark in "*?"):
                    problems.append(f"{where}: wildcard in the subject {subject!r}")
    return problems


def _actions(statement: dict[str, Any]) -> list[str]:
    return [str(action).lower() for action in _as_list(statement.get("Action", []))]


def _matches(action: str, pattern: str) -> bool:
    import fnmatch

    return fnmatch.fnmatchcase(action, pattern)


def permission_problems(role: str, documents: Iterable[dict[str, Any]]) -> list[str]:
    """What is wrong with the permission documents attached to ``role``."""
    problems = []
    for document in documents:
        for statement in document.get("Statement", []):
            if statement.get("Effect") != "Allow":
                continue
            sid, condition = statement.get("Sid", "?"), statement.get("Condition", {})
            keys = {key for values in condition.values() for key in values}
            actions = _actions(statement)
            if any(_matches("iam:passrole", action) for action in actions) and "iam:PassedToService" not in keys:
                problems.append(f"{role} {sid}: iam:PassRole without an iam:PassedToService condition")
            if any(_matches(grant, action) for grant in ROLE_GRANTS for action in actions) and "iam:PermissionsBoundary" not in keys:
                problems.append(f"{role} {sid}: a role is created or granted permissions without the iam:PermissionsBoundary condition")
    return problems
