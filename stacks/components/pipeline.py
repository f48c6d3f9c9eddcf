"""The pipeline's identities: OpenID Connect providers, one role per purpose, their policies.

Each role is trusted by exactly one subject of an OIDC token, with its audience checked:

- GitHub Actions (``token.actions.githubusercontent.com``): the pull requests of the
  repository plan; the jobs of a GitHub environment deploy or release (one environment
  per role, so a release job never gets a deploy role);
- HCP Terraform (``STATE_BACKEND=cloud``): each stack's workspace, its plan phase and
  its apply phase apart.

The permissions are :mod:`stacks.pipeline_policies`'s documents, as managed policies; the
boundary every role of an environment stack carries is one of them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from stacks.aspects import Violation
from stacks.aws import iam_openid_connect_provider, iam_policy, iam_role, iam_role_policy_attachment
from stacks.components.common import AwsContext
from stacks.config.pipeline import SHARED, PipelineConfig
from stacks.framework import Construct
from stacks.pipeline_policies import (
    BOUNDARY_POLICY_NAME,
    PIPELINE_ROLE_PREFIX,
    PROMOTED_FROM,
    Account,
    Document,
    boundary_document,
    deploy_documents,
    plan_document,
    release_document,
    shared_deploy_documents,
)
from stacks.pipeline_rules import permission_problems, trust_problems

GITHUB_HOST = "token.actions.githubusercontent.com"
GITHUB_AUDIENCE = "sts.amazonaws.com"
CLOUD_AUDIENCE = "aws.workload.identity"


@dataclass(frozen=True)
class Trust:
    """Who may assume a role: an OIDC provider, the audience and the one subject."""

    provider_arn: str
    host: str
    audience: str
    subject: str

    def document(self) -> Document:
        return {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": self.provider_arn},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {"StringEquals": {f"{self.host}:aud": self.audience, f"{self.host}:sub": self.subject}},
                }
            ],
        }


class PipelineRoles(Construct):
    """Builds the providers, the managed policies and the roles; :attr:`outputs` maps each
    output name (``github_dev_deploy_role_arn``) to its value and description."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        config: PipelineConfig,
        account: Account,
        aws: AwsContext,
        environments: Sequence[str],
        repository: str,
        cloud: tuple[str, str, str, Sequence[str]] | None = None,
    ) -> None:
        """``cloud``: ``(hostname, organization, project, workspaces by stack)`` of HCP Terraform."""
        super().__init__(scope, id_)
        self._aws, self._config = aws, config
        self.roles: dict[str, iam_role.IamRole] = {}
        self.outputs: dict[str, tuple[str, str]] = {}
        #: The document of each managed policy made here (by the policy object's identity).
        self._documents: dict[int, Document] = {}
        self.boundary = self._policy("boundary", BOUNDARY_POLICY_NAME, boundary_document(account), "the most any role of an environment stack may do")
        plan = [self._policy("plan", f"{PIPELINE_ROLE_PREFIX}plan", plan_document(account), "terraform plan: read, the state, the lock")]
        deploy = {env: self._policies(f"{env}_deploy", f"{PIPELINE_ROLE_PREFIX}{env}-deploy", deploy_documents(account, env)) for env in environments}
        deploy[SHARED] = self._policies("shared_deploy", f"{PIPELINE_ROLE_PREFIX}shared-deploy", shared_deploy_documents(account, repository))
        github = self._provider("github", f"https://{GITHUB_HOST}", GITHUB_AUDIENCE, config.github_provider_arn)
        self._github_roles(github, plan, deploy, {env: [self._release_policy(account, env, repository)] for env in environments})
        if cloud is not None:
            self._cloud_roles(cloud, plan, deploy)

    # -- building blocks ------------------------------------------------------------------------
    def _policy(self, id_: str, name: str, doc: Document, description: str) -> iam_policy.IamPolicy:
        policy = iam_policy.IamPolicy(
            self, f"{id_}_policy", name=name, description=f"order-api pipeline: {description}", policy=json.dumps(doc, sort_keys=True)
        )
        self._documents[id(policy)] = doc
        return policy

    def _policies(self, id_: str, name: str, docs: Sequence[Document]) -> list[iam_policy.IamPolicy]:
        return [self._policy(f"{id_}_{i}", f"{name}-{i}", doc, f"{name}, part {i + 1} of {len(docs)}") for i, doc in enumerate(docs)]

    def _release_policy(self, account: Account, env: str, repository: str) -> iam_policy.IamPolicy:
        doc = release_document(account, env, PROMOTED_FROM.get(env), repository)
        return self._policy(f"{env}_release", f"{PIPELINE_ROLE_PREFIX}{env}-release", doc, f"make release and make promote to {env}")

    def _provider(self, id_: str, url: str, audience: str, existing: str | None) -> str:
        """The ARN of the OIDC provider for ``url``: an existing one, or created here (IAM
        trusts GitHub's and HCP Terraform's certificates itself: no thumbprint)."""
        if existing is not None:
            return existing
        provider = iam_openid_connect_provider.IamOpenidConnectProvider(self, f"{id_}_oidc_provider", url=url, client_id_list=[audience])
        self.outputs[f"{id_}_oidc_provider_arn"] = (provider.arn, f"OIDC provider for {url}")
        return provider.arn

    def _role(self, output: str, name: str, trust: Trust, policies: Sequence[iam_policy.IamPolicy], hours: int, description: str) -> None:
        """A role trusted as ``trust`` with ``policies``, checked against :mod:`stacks.pipeline_rules`
        (a broken rule fails synthesis)."""
        problems = trust_problems(name, trust.document()) + permission_problems(name, [self._documents[id(p)] for p in policies])
        for problem in problems:
            self.node.add_validation(Violation(f"pipeline rule: {problem}"))
        role = iam_role.IamRole(
            self,
            output.removesuffix("_role_arn"),
            name=name,
            description=description,
            assume_role_policy=json.dumps(trust.document(), sort_keys=True),
            max_session_duration=hours * 3600,
        )
        for i, policy in enumerate(policies):
            iam_role_policy_attachment.IamRolePolicyAttachment(self, f"{output.removesuffix('_role_arn')}_{i}", role=role.name, policy_arn=policy.arn)
        self.roles[output] = role
        self.outputs[output] = (role.arn, description)

    # -- GitHub ---------------------------------------------------------------------------------
    def _github_roles(
        self,
        provider: str,
        plan: list[iam_policy.IamPolicy],
        deploy: dict[str, list[iam_policy.IamPolicy]],
        release: dict[str, list[iam_policy.IamPolicy]],
    ) -> None:
        config, repo = self._config, self._config.repository

        def trust(subject: str) -> Trust:
            return Trust(provider, GITHUB_HOST, GITHUB_AUDIENCE, f"repo:{repo}:{subject}")

        self._role(
            "github_plan_role_arn",
            f"{PIPELINE_ROLE_PREFIX}plan",
            trust("pull_request"),
            plan,
            config.plan_session_hours,
            f"terraform plan of {repo}'s pull requests",
        )
        for what, policies in deploy.items():
            github_env = config.deploy_environment(what)
            self._role(
                f"github_{what}_deploy_role_arn",
                f"{PIPELINE_ROLE_PREFIX}{what}-deploy",
                trust(f"environment:{github_env}"),
                policies,
                config.deploy_session_hours,
                f"make deploy of the {what} stacks, from {repo}'s GitHub environment {github_env}",
            )
        for env, policies in release.items():
            github_env = config.release_environment(env)
            self._role(
                f"github_{env}_release_role_arn",
                f"{PIPELINE_ROLE_PREFIX}{env}-release",
                trust(f"environment:{github_env}"),
                policies,
                config.release_session_hours,
                f"make release and make promote to {env}, from {repo}'s GitHub environment {github_env}",
            )

    # -- HCP Terraform --------------------------------------------------------------------------
    def _cloud_roles(self, cloud: tuple[str, str, str, Sequence[str]], plan: list[iam_policy.IamPolicy], deploy: dict[str, list[iam_policy.IamPolicy]]) -> None:
        hostname, organization, project, workspaces = cloud
        host = hostname.split(":", 1)[0]
        provider = self._provider("cloud", f"https://{hostname}", CLOUD_AUDIENCE, self._config.cloud_provider_arn)
        for workspace in workspaces:
            what = next((env for env in deploy if env != SHARED and workspace.endswith(f"order-api-{env}")), SHARED)
            for phase, policies in (("plan", plan), ("apply", deploy[what])):
                subject = f"organization:{organization}:project:{project}:workspace:{workspace}:run_phase:{phase}"
                key = workspace.replace("-", "_")
                self._role(
                    f"cloud_{key}_{phase}_role_arn",
                    f"{PIPELINE_ROLE_PREFIX}tfc-{workspace.removeprefix('order-api-')}-{phase}"[:64],
                    Trust(provider, host, CLOUD_AUDIENCE, subject),
                    policies,
                    self._config.deploy_session_hours,
                    f"HCP Terraform workspace {workspace}, {phase} phase",
                )
