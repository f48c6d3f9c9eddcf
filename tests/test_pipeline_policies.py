"""The pipeline's identities: audited policies, exact trust, the boundary, environments kept apart.

A small IAM evaluator (:func:`allowed`: Allow and Deny statements, wildcard actions and
resources, the condition operators the documents use) checks what each role may and may
not do on sample ARNs; it is the test's, not a substitute for AWS's.
"""

from __future__ import annotations

import copy
import fnmatch
import json
from typing import Any

import pytest

from stacks.config.pipeline import PipelineConfig
from stacks.pipeline_policies import (
    BOUNDARY_POLICY_NAME,
    MANAGED_POLICIES,
    Account,
    boundary_document,
    deploy_documents,
    plan_document,
    release_document,
)
from stacks.pipeline_rules import permission_problems, trust_problems
from tests.conftest import Synthesized
from tools.review import iam_audit

ACCOUNT = iam_audit.SAMPLE
A = "arn:aws:{service}:us-east-1:123456789012:{resource}"
IDENTITY = "order-api-identity"


def arn(service: str, resource: str) -> str:
    return A.format(service=service, resource=resource)


def _condition_holds(operator: str, values: dict[str, Any], context: dict[str, Any]) -> bool:
    for key, expected in values.items():
        wanted = expected if isinstance(expected, list) else [expected]
        actual = context.get(key)
        if operator == "Null":
            if (actual is None) != (str(wanted[0]).lower() == "true"):
                return False
            continue
        if actual is None:
            return False
        actuals = actual if isinstance(actual, list) else [actual]
        if operator in ("StringEquals", "ForAnyValue:StringEquals"):
            ok = any(a == w for a in actuals for w in wanted)
        elif operator in ("StringLike", "ArnLike"):
            ok = any(fnmatch.fnmatchcase(str(a), str(w)) for a in actuals for w in wanted)
        else:
            raise AssertionError(f"the evaluator does not know {operator}")
        if not ok:
            return False
    return True


def _matches(statement: dict[str, Any], action: str, resource: str, context: dict[str, Any]) -> bool:
    actions = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
    resources = [statement["Resource"]] if isinstance(statement["Resource"], str) else statement["Resource"]
    return (
        any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in actions)
        and any(fnmatch.fnmatchcase(resource, r) for r in resources)
        and all(_condition_holds(op, values, context) for op, values in statement.get("Condition", {}).items())
    )


def allowed(documents: list[dict[str, Any]], action: str, resource: str, **context: Any) -> bool:
    statements = [s for d in documents for s in d["Statement"]]
    if any(s["Effect"] == "Deny" and _matches(s, action, resource, context) for s in statements):
        return False
    return any(s["Effect"] == "Allow" and _matches(s, action, resource, context) for s in statements)


# ------------------------------------------------------------------------- audits


def test_every_finding_of_parliament_and_cloudsplaining_is_excepted_with_a_reason() -> None:
    unexplained, stale = iam_audit.evaluate(iam_audit.audit(iam_audit.documents()), iam_audit.load_exceptions())
    assert [str(f) for f in unexplained] == []
    assert stale == []


def test_every_exception_says_why() -> None:
    assert all(len(e.reason) >= 60 for e in iam_audit.load_exceptions())


def test_the_audit_finds_a_planted_wildcard() -> None:
    docs = {"release-planted": copy.deepcopy(release_document(ACCOUNT, "prod", "staging", "order-api"))}
    docs["release-planted"]["Statement"].append({"Sid": "Planted", "Effect": "Allow", "Action": ["iam:*"], "Resource": ["*"]})
    unexplained, _ = iam_audit.evaluate(iam_audit.audit(docs), iam_audit.load_exceptions())
    assert {f.issue for f in unexplained} >= {"PRIVILEGE_ESCALATION"}


def test_every_document_fits_a_managed_policy() -> None:
    for name, doc in iam_audit.documents().items():
        assert len(json.dumps(doc, separators=(",", ":"))) < 6144, name


# ------------------------------------------------------------------------- rules, planted defects

TRUST = {
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Federated": "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {
                    "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                    "token.actions.githubusercontent.com:sub": "repo:acme/order-api:environment:production",
                }
            },
        }
    ]
}


def test_the_rules_accept_an_exact_trust() -> None:
    assert trust_problems("r", TRUST) == []


def test_a_deny_statement_only_narrows_a_trust() -> None:
    """A Deny takes nothing away from the rules: it is skipped, and the Allow still checked."""
    deny = {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRoleWithWebIdentity", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
    assert trust_problems("r", {**TRUST, "Statement": [*TRUST["Statement"], deny]}) == []
    loose = copy.deepcopy(TRUST)
    loose["Statement"][0]["Principal"] = {"AWS": "*"}
    assert len(trust_problems("r", {**loose, "Statement": [deny, *loose["Statement"]]})) == 1


@pytest.mark.parametrize(
    ("plant", "problem"),
    [
        (lambda s: s["Condition"]["StringEquals"].update({"token.actions.githubusercontent.com:sub": "repo:acme/*:environment:production"}), "wildcard"),
        (lambda s: s["Condition"]["StringEquals"].update({"token.actions.githubusercontent.com:sub": "repo:acme/order-api:environment:prod?"}), "wildcard"),
        (lambda s: s["Condition"]["StringEquals"].pop("token.actions.githubusercontent.com:aud"), "audience is not checked"),
        (lambda s: s["Condition"]["StringEquals"].pop("token.actions.githubusercontent.com:sub"), "subject is not checked"),
        (lambda s: s["Condition"].update({"StringLike": s["Condition"].pop("StringEquals")}), "other than StringEquals"),
        (lambda s: s.update({"Principal": {"AWS": "*"}}), "not exactly one OIDC provider"),
    ],
    ids=["wildcard repository", "wildcard environment", "no audience", "no subject", "StringLike", "any principal"],
)
def test_fails_a_planted_trust_defect(plant: Any, problem: str) -> None:
    trust = copy.deepcopy(TRUST)
    plant(trust["Statement"][0])
    assert any(problem in p for p in trust_problems("r", trust))


@pytest.mark.parametrize(
    ("statement", "problem"),
    [
        ({"Sid": "P", "Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}, "iam:PassRole without an iam:PassedToService"),
        ({"Sid": "C", "Effect": "Allow", "Action": ["iam:CreateRole"], "Resource": "*"}, "without the iam:PermissionsBoundary"),
        ({"Sid": "W", "Effect": "Allow", "Action": ["iam:*"], "Resource": "*"}, "without the iam:PermissionsBoundary"),
        ({"Sid": "A", "Effect": "Allow", "Action": ["iam:AttachRolePolicy"], "Resource": "*"}, "without the iam:PermissionsBoundary"),
    ],
    ids=["PassRole without condition", "CreateRole without boundary", "iam:*", "AttachRolePolicy without boundary"],
)
def test_fails_a_planted_permission_defect(statement: dict[str, Any], problem: str) -> None:
    assert any(problem in p for p in permission_problems("r", [{"Statement": [statement]}]))


def test_the_pipelines_own_documents_keep_the_rules() -> None:
    for name, doc in iam_audit.documents().items():
        assert permission_problems(name, [doc]) == [], name


def test_a_broken_rule_fails_the_synthesis(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    from stacks.app import build_app
    from stacks.components import pipeline
    from stacks.config import build_app_config

    def without_boundary(account: Account, env: str) -> list[dict[str, Any]]:
        docs = deploy_documents(account, env)
        for doc in docs:
            for statement in doc["Statement"]:
                statement.get("Condition", {}).get("StringEquals", {}).pop("iam:PermissionsBoundary", None)
        return docs

    monkeypatch.setattr(pipeline, "deploy_documents", without_boundary)
    with pytest.raises(RuntimeError, match="pipeline rule: order-api-pipeline-dev-deploy RolesWithTheBoundary: a role is created"):
        build_app(build_app_config({"ENVIRONMENTS": "dev"}), outdir=str(tmp_path)).synth()


# ------------------------------------------------------------------------- the identity stack


def roles(synth: Synthesized) -> dict[str, dict[str, Any]]:
    return {body["name"]: body for body in synth.resources(IDENTITY, "aws_iam_role").values()}


def test_each_role_is_trusted_by_exactly_its_subject(synth: Synthesized) -> None:
    subjects = {name: json.loads(body["assume_role_policy"])["Statement"][0]["Condition"]["StringEquals"] for name, body in roles(synth).items()}
    expected = {
        "order-api-pipeline-plan": "repo:example-org/order-api:pull_request",
        "order-api-pipeline-shared-deploy": "repo:example-org/order-api:environment:shared",
        "order-api-pipeline-dev-deploy": "repo:example-org/order-api:environment:dev",
        "order-api-pipeline-staging-deploy": "repo:example-org/order-api:environment:staging",
        "order-api-pipeline-prod-deploy": "repo:example-org/order-api:environment:production",
        "order-api-pipeline-dev-release": "repo:example-org/order-api:environment:dev-release",
        "order-api-pipeline-staging-release": "repo:example-org/order-api:environment:staging-release",
        "order-api-pipeline-prod-release": "repo:example-org/order-api:environment:production-release",
    }
    assert {name: c["token.actions.githubusercontent.com:sub"] for name, c in subjects.items()} == expected
    assert {c["token.actions.githubusercontent.com:aud"] for c in subjects.values()} == {"sts.amazonaws.com"}
    for name, body in roles(synth).items():
        assert trust_problems(name, json.loads(body["assume_role_policy"])) == []


def test_sessions_last_no_longer_than_the_longest_job(synth: Synthesized) -> None:
    hours = {name: body["max_session_duration"] // 3600 for name, body in roles(synth).items()}
    assert hours["order-api-pipeline-plan"] == 1
    assert {hours[n] for n in hours if n.endswith("-deploy")} == {2}
    assert {hours[n] for n in hours if n.endswith("-release")} == {2}


def test_the_synthesized_policies_are_the_audited_documents(synth: Synthesized) -> None:
    refs = {"${data.aws_partition.partition.partition}": "aws", "${data.aws_caller_identity.caller.account_id}": "123456789012"}
    synthesized = {}
    for body in synth.resources(IDENTITY, "aws_iam_policy").values():
        text = body["policy"]
        for ref, value in refs.items():
            text = text.replace(ref, value)
        synthesized[body["name"].removeprefix("order-api-pipeline-").removeprefix("order-api-")] = json.loads(text)
    audited = {name: doc for name, doc in iam_audit.documents().items()}
    assert synthesized.pop("workload-boundary") == audited.pop("boundary")
    assert synthesized == audited


def test_the_github_provider_is_created_once_or_taken_as_given(synth: Synthesized) -> None:
    (provider,) = synth.resources(IDENTITY, "aws_iam_openid_connect_provider").values()
    assert provider["url"] == "https://token.actions.githubusercontent.com" and provider["client_id_list"] == ["sts.amazonaws.com"]


def test_every_role_of_every_environment_carries_the_boundary(synth: Synthesized) -> None:
    for stack in synth.stack_names():
        for name, body in synth.resources(stack, "aws_iam_role").items():
            if stack == IDENTITY:
                continue
            assert body.get("permissions_boundary", "").endswith(f":policy/{BOUNDARY_POLICY_NAME}"), (stack, name)


def test_the_deploy_roles_attach_only_the_managed_policies_the_stacks_use(synth: Synthesized) -> None:
    attached = {
        body["policy_arn"].split(":policy/", 1)[1]
        for stack in synth.stack_names()
        for body in synth.resources(stack, "aws_iam_role_policy_attachment").values()
        if ":iam::aws:" in body["policy_arn"]
    }
    assert attached <= set(MANAGED_POLICIES)
    assert {"service-role/AmazonRDSEnhancedMonitoringRole", "AmazonECSInfrastructureRolePolicyForLoadBalancers"} <= attached


# ------------------------------------------------------------------------- the boundary covers the workload


def _actions(statements: list[dict[str, Any]]) -> set[str]:
    return {a for s in statements if s.get("Effect", "Allow") == "Allow" for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}


def test_the_boundary_allows_what_the_stacks_roles_are_given(synth: Synthesized) -> None:
    boundary = [boundary_document(ACCOUNT)]
    for stack in ("order-api-dev", "order-api-prod"):
        for doc in synth.doc(stack)["data"]["aws_iam_policy_document"].values():
            for statement in doc.get("statement", []):
                if statement.get("principals") or statement.get("effect") == "Deny":
                    continue  # key and resource policies: not a role's
                for action in statement["actions"]:
                    if action != "sts:AssumeRole":
                        assert allowed(boundary, action, "*", **{"iam:PassedToService": "backup.amazonaws.com"}), (stack, action)


def test_the_boundary_allows_the_managed_policies_for_the_services_the_stacks_use() -> None:
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    data = json.loads(aws_managed_policies_data)
    boundary = [boundary_document(ACCOUNT)]
    used = ("rds:", "backup:", "kms:", "tag:", "logs:", "elasticloadbalancing:", "ec2:Describe")
    for name in MANAGED_POLICIES:
        for action in _actions(data[name.rsplit("/", 1)[-1]]["Document"]["Statement"]):
            if action.startswith(used) or action in ("iam:PassRole", "iam:GetRole"):
                assert allowed(boundary, action, "*", **{"iam:PassedToService": "rds.amazonaws.com"}), (name, action)


def test_the_boundary_forbids_every_identity_change() -> None:
    boundary = [boundary_document(ACCOUNT)]
    for action in (
        "iam:CreateRole",
        "iam:PutRolePolicy",
        "iam:AttachRolePolicy",
        "iam:CreateUser",
        "iam:CreateAccessKey",
        "iam:UpdateAssumeRolePolicy",
        "sts:AssumeRole",
    ):
        assert not allowed(boundary, action, "*"), action
    assert not allowed(boundary, "iam:PassRole", "*", **{"iam:PassedToService": "ec2.amazonaws.com"})


# ------------------------------------------------------------------------- environments kept apart


@pytest.fixture(scope="module")
def prod_deploy() -> list[dict[str, Any]]:
    return deploy_documents(ACCOUNT, "prod")


BOUNDARY = "arn:aws:iam::123456789012:policy/order-api-workload-boundary"


@pytest.mark.parametrize(
    ("action", "resource", "context"),
    [
        ("rds:DeleteDBCluster", arn("rds", "cluster:order-api-prod-aurora"), {}),
        ("ecs:UpdateService", arn("ecs", "service/order-api-prod/order-api-prod-api"), {}),
        ("logs:PutRetentionPolicy", arn("logs", "log-group:/ecs/order-api-prod/order-api"), {}),
        ("ec2:DeleteVpc", arn("ec2", "vpc/vpc-1"), {"aws:ResourceTag/environment": "prod"}),
        ("ec2:CreateVpc", arn("ec2", "vpc/*"), {"aws:RequestTag/environment": "prod"}),
        ("iam:CreateRole", "arn:aws:iam::123456789012:role/order-api-prod-task", {"iam:PermissionsBoundary": BOUNDARY}),
        ("iam:PassRole", "arn:aws:iam::123456789012:role/order-api-prod-task", {"iam:PassedToService": "ecs-tasks.amazonaws.com"}),
        ("kms:ScheduleKeyDeletion", arn("kms", "key/1"), {"aws:ResourceTag/environment": "prod"}),
        ("s3:PutObject", "arn:aws:s3:::order-api-terraform-state/order-api-prod/terraform.tfstate", {}),
        # The smoke test's weekly warm-up: the rule, its target, and the permission to invoke.
        ("events:PutRule", arn("events", "rule/order-api-prod-smoke-test-warmup"), {}),
        ("events:PutTargets", arn("events", "rule/order-api-prod-smoke-test-warmup"), {}),
        ("lambda:AddPermission", arn("lambda", "function:order-api-prod-smoke-test"), {}),
        ("lambda:RemovePermission", arn("lambda", "function:order-api-prod-smoke-test"), {}),
    ],
)
def test_the_prod_deploy_role_may_change_prod(prod_deploy: list[dict[str, Any]], action: str, resource: str, context: dict[str, Any]) -> None:
    assert allowed(prod_deploy, action, resource, **context)


@pytest.mark.parametrize(
    ("action", "resource", "context"),
    [
        ("rds:DeleteDBCluster", arn("rds", "cluster:order-api-dev-aurora"), {}),
        ("ecs:UpdateService", arn("ecs", "service/order-api-staging/order-api-staging-api"), {}),
        ("logs:DeleteLogGroup", arn("logs", "log-group:/ecs/order-api-dev/order-api"), {}),
        ("ec2:DeleteVpc", arn("ec2", "vpc/vpc-1"), {"aws:ResourceTag/environment": "dev"}),
        ("ec2:CreateTags", arn("ec2", "security-group/sg-1"), {"aws:ResourceTag/environment": "dev", "aws:RequestTag/environment": "prod"}),
        ("kms:ScheduleKeyDeletion", arn("kms", "key/1"), {"aws:ResourceTag/environment": "staging"}),
        ("iam:CreateRole", "arn:aws:iam::123456789012:role/order-api-prod-task", {}),
        ("iam:CreateRole", "arn:aws:iam::123456789012:role/order-api-dev-task", {"iam:PermissionsBoundary": BOUNDARY}),
        ("iam:PutRolePolicy", "arn:aws:iam::123456789012:role/order-api-pipeline-prod-deploy", {"iam:PermissionsBoundary": BOUNDARY}),
        ("iam:DeleteRolePermissionsBoundary", "arn:aws:iam::123456789012:role/order-api-prod-task", {}),
        ("iam:CreatePolicyVersion", BOUNDARY, {}),
        ("iam:PassRole", "arn:aws:iam::123456789012:role/order-api-prod-task", {"iam:PassedToService": "ec2.amazonaws.com"}),
        ("s3:PutObject", "arn:aws:s3:::order-api-terraform-state/order-api-dev/terraform.tfstate", {}),
        ("secretsmanager:GetSecretValue", arn("secretsmanager", "secret:rds!cluster-1"), {}),
    ],
)
def test_the_prod_deploy_role_may_not_touch_other_environments_or_escalate(
    prod_deploy: list[dict[str, Any]], action: str, resource: str, context: dict[str, Any]
) -> None:
    assert not allowed(prod_deploy, action, resource, **context)


@pytest.fixture(scope="module")
def staging_release() -> list[dict[str, Any]]:
    return [release_document(ACCOUNT, "staging", "dev", "order-api")]


@pytest.mark.parametrize(
    ("action", "resource", "context", "ok"),
    [
        ("ecs:UpdateService", arn("ecs", "service/order-api-staging/order-api-staging-api"), {}, True),
        ("ecs:ListServiceDeployments", arn("ecs", "service/order-api-dev/order-api-dev-api"), {}, True),
        ("ecr:PutImage", arn("ecr", "repository/order-api"), {}, True),
        ("ecr:BatchDeleteImage", arn("ecr", "repository/order-api"), {}, True),
        ("ecs:RegisterTaskDefinition", arn("ecs", "task-definition/order-api-staging-api:12"), {}, True),
        ("iam:PassRole", "arn:aws:iam::123456789012:role/order-api-staging-task", {"iam:PassedToService": "ecs-tasks.amazonaws.com"}, True),
        ("s3:GetObject", "arn:aws:s3:::order-api-terraform-state/order-api-staging/terraform.tfstate", {}, True),
        ("ecs:UpdateService", arn("ecs", "service/order-api-dev/order-api-dev-api"), {}, False),
        ("ecs:UpdateService", arn("ecs", "service/order-api-prod/order-api-prod-api"), {}, False),
        ("ecs:RegisterTaskDefinition", arn("ecs", "task-definition/order-api-prod-api:3"), {}, False),
        ("iam:PassRole", "arn:aws:iam::123456789012:role/order-api-staging-smoke-test", {"iam:PassedToService": "lambda.amazonaws.com"}, False),
        ("iam:CreateRole", "arn:aws:iam::123456789012:role/order-api-staging-x", {}, False),
        ("rds:DeleteDBCluster", arn("rds", "cluster:order-api-staging-aurora"), {}, False),
        ("ecr:DeleteRepository", arn("ecr", "repository/order-api"), {}, False),
        ("s3:PutObject", "arn:aws:s3:::order-api-terraform-state/order-api-staging/terraform.tfstate", {}, False),
        # Before the deployment: its rollback alarms' states, its own smoke test function's state and warm-up.
        ("cloudwatch:DescribeAlarms", arn("cloudwatch", "alarm:order-api-staging-slo-fast-5m"), {}, True),
        ("lambda:GetFunctionConfiguration", arn("lambda", "function:order-api-staging-smoke-test"), {}, True),
        ("lambda:InvokeFunction", arn("lambda", "function:order-api-staging-smoke-test"), {}, True),
        ("lambda:InvokeFunction", arn("lambda", "function:order-api-staging-pr7-smoke-test"), {}, True),
        ("lambda:InvokeFunction", arn("lambda", "function:order-api-dev-smoke-test"), {}, False),
        ("lambda:InvokeFunction", arn("lambda", "function:order-api-prod-smoke-test"), {}, False),
        ("lambda:GetFunctionConfiguration", arn("lambda", "function:order-api-prod-smoke-test"), {}, False),
        ("lambda:UpdateFunctionCode", arn("lambda", "function:order-api-staging-smoke-test"), {}, False),
        ("lambda:UpdateFunctionConfiguration", arn("lambda", "function:order-api-staging-smoke-test"), {}, False),
    ],
)
def test_the_release_role_does_exactly_what_a_release_calls(
    staging_release: list[dict[str, Any]], action: str, resource: str, context: dict[str, Any], ok: bool
) -> None:
    assert allowed(staging_release, action, resource, **context) is ok


def test_the_plan_role_reads_and_locks_but_writes_no_state_and_reads_no_secret() -> None:
    plan = [plan_document(ACCOUNT)]
    state = "arn:aws:s3:::order-api-terraform-state/order-api-prod/terraform.tfstate"
    assert allowed(plan, "s3:GetObject", state) and allowed(plan, "s3:PutObject", state + ".tflock") and allowed(plan, "s3:DeleteObject", state + ".tflock")
    assert not allowed(plan, "s3:PutObject", state)
    assert not allowed(plan, "secretsmanager:GetSecretValue", arn("secretsmanager", "secret:rds!cluster-1"))
    assert not allowed(plan, "kms:Decrypt", arn("kms", "key/1"))
    assert allowed(plan, "kms:Decrypt", arn("kms", "key/1"), **{"kms:ViaService": "ssm.us-east-1.amazonaws.com"})
    assert not allowed(plan, "ec2:CreateVpc", arn("ec2", "vpc/*"), **{"aws:RequestTag/environment": "dev"})


def test_a_state_key_given_by_arn_is_named_by_arn() -> None:
    key = "arn:aws:kms:eu-west-1:123456789012:key/0123abcd-0123-4567-89ab-0123456789ab"
    plan = [plan_document(Account("aws", "123456789012", "b", key))]
    assert allowed(plan, "kms:Decrypt", key) and not allowed(plan, "kms:Decrypt", arn("kms", "key/other"))
    by_id = [plan_document(Account("aws", "123456789012", "b", "0123abcd-0123-4567-89ab-0123456789ab"))]
    assert allowed(by_id, "kms:Decrypt", "arn:aws:kms:*:123456789012:key/0123abcd-0123-4567-89ab-0123456789ab")


def test_default_configuration_is_the_placeholder_repository() -> None:
    assert PipelineConfig().placeholder and not PipelineConfig(repository="acme/order-api").placeholder
