"""Who may act on the account: the GitHub repository and environments the pipeline's roles trust.

The identity stack (``order-api-identity``) creates one role per purpose, each trusted by
exactly one subject of GitHub's OpenID Connect tokens (``repo:<owner>/<name>:...``) with
the audience checked, and, with ``STATE_BACKEND=cloud``, the HCP Terraform workspace roles
(plan and apply phases apart).  These names are configuration: a GitHub environment named
here must exist in the repository's settings, holding the ``AWS_ROLE_ARN`` of its role
(``make github-vars`` prints them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stacks.config.names import STANDING_ENVIRONMENTS
from stacks.config.validate import _require

#: GitHub's rules: an owner (user or organization) is 1-39 letters, digits or single inner
#: hyphens; a repository name 1-100 letters, digits, ``.``, ``-`` or ``_``, not ``.`` or ``..``.
_OWNER_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}")
_REPOSITORY_NAME_RE = re.compile(r"[A-Za-z0-9._-]{1,100}")
#: A GitHub environment name (GitHub allows up to 255 characters; ``:`` would be escaped in the
#: token's subject, and spaces and other punctuation are kept out so the subject is exact).
_ENVIRONMENT_RE = re.compile(r"[A-Za-z0-9._-]{1,255}")
#: An IAM OpenID Connect provider ARN.
_OIDC_ARN_RE = re.compile(r"arn:aws(-cn|-us-gov)?:iam::[0-9]{12}:oidc-provider/[A-Za-z0-9._/:-]{1,255}")
#: The catalogue's repository: nobody's, so the identity stack refuses to deploy it.
PLACEHOLDER_REPOSITORY = "example-org/order-api"
#: The stacks every pipeline role may deploy besides an environment: the shared ones.
SHARED = "shared"
#: Deploy (``make deploy``) and release (``make release``/``make promote``) run in GitHub
#: environments of their own, so a release job can never take the deploy role.
DEFAULT_DEPLOY_ENVIRONMENTS = ((SHARED, "shared"), ("dev", "dev"), ("staging", "staging"), ("prod", "production"))
DEFAULT_RELEASE_ENVIRONMENTS = (("dev", "dev-release"), ("staging", "staging-release"), ("prod", "production-release"))


def valid_repository(value: str) -> bool:
    owner, _, name = value.partition("/")
    return bool(_OWNER_RE.fullmatch(owner)) and bool(_REPOSITORY_NAME_RE.fullmatch(name)) and name not in (".", "..")


def valid_oidc_provider_arn(value: str) -> bool:
    return bool(_OIDC_ARN_RE.fullmatch(value))


@dataclass(frozen=True)
class PipelineConfig:
    """The pipeline's identities (see the module docstring)."""

    #: ``<owner>/<name>`` of the repository whose workflows assume the roles
    #: (``GITHUB_REPOSITORY``, which GitHub Actions also sets in every job).  Default: a
    #: placeholder that ``make deploy`` refuses.
    repository: str = PLACEHOLDER_REPOSITORY
    #: An existing GitHub OIDC provider (an account has one per URL); None: the stack creates it.
    github_provider_arn: str | None = None
    #: An existing HCP Terraform OIDC provider (``STATE_BACKEND=cloud``); None: the stack creates it.
    cloud_provider_arn: str | None = None
    #: ``(what, GitHub environment)`` of the deploy jobs: ``shared`` (account, registry) and each environment.
    deploy_environments: tuple[tuple[str, str], ...] = DEFAULT_DEPLOY_ENVIRONMENTS
    #: ``(environment, GitHub environment)`` of the release jobs.
    release_environments: tuple[tuple[str, str], ...] = DEFAULT_RELEASE_ENVIRONMENTS
    #: Longest session of each role (hours): a deploy job runs up to 90 minutes, a release
    #: up to 120 (prod's canary and bake), a pull request's plan up to 30.
    deploy_session_hours: int = 2
    release_session_hours: int = 2
    plan_session_hours: int = 1

    @property
    def placeholder(self) -> bool:
        return self.repository == PLACEHOLDER_REPOSITORY

    def deploy_environment(self, what: str) -> str:
        return dict(self.deploy_environments)[what]

    def release_environment(self, environment: str) -> str:
        return dict(self.release_environments)[environment]

    def __post_init__(self) -> None:
        _require(
            valid_repository(self.repository),
            "GITHUB_REPOSITORY",
            self.repository,
            "<owner>/<name>: GitHub's owner (1-39 letters, digits, single inner hyphens) and repository (1-100 letters, digits, . - _) rules",
        )
        for variable, arn in (("GITHUB_OIDC_PROVIDER_ARN", self.github_provider_arn), ("TF_CLOUD_OIDC_PROVIDER_ARN", self.cloud_provider_arn)):
            if arn is not None:
                _require(valid_oidc_provider_arn(arn), variable, arn, "an IAM OIDC provider ARN, arn:aws:iam::<12 digits>:oidc-provider/<url without https://>")
        self._check_mapping("GITHUB_ENVIRONMENTS", self.deploy_environments, (SHARED, *STANDING_ENVIRONMENTS))
        self._check_mapping("GITHUB_RELEASE_ENVIRONMENTS", self.release_environments, STANDING_ENVIRONMENTS)
        names = [name for _, name in (*self.deploy_environments, *self.release_environments)]
        _require(
            len(set(names)) == len(names),
            "GITHUB_RELEASE_ENVIRONMENTS",
            ",".join(names),
            "GitHub environments that differ from each other and from the deploy ones (a release job must not get a deploy role)",
        )
        for field, hours, high in (
            ("deploy_session_hours", self.deploy_session_hours, 12),
            ("release_session_hours", self.release_session_hours, 12),
            ("plan_session_hours", self.plan_session_hours, 12),
        ):
            _require(isinstance(hours, int) and 1 <= hours <= high, f"pipeline.{field}", hours, f"an integer from 1 to {high} (IAM's session limits)")

    @staticmethod
    def _check_mapping(variable: str, mapping: tuple[tuple[str, str], ...], expected: tuple[str, ...]) -> None:
        shown = ",".join(f"{key}={value}" for key, value in mapping)
        _require(
            sorted(key for key, _ in mapping) == sorted(expected) and all(_ENVIRONMENT_RE.fullmatch(value) for _, value in mapping),
            variable,
            shown,
            f"{'=<github environment>,'.join(expected)}=<github environment>: each once, names of 1-255 letters, digits, . - _",
        )
