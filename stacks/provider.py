"""The AWS provider of every stack, pointed at AWS or at a local emulator.

With ``endpoint_url`` (the ``AWS_ENDPOINT_URL`` override), every service the
stacks use is sent to that URL (moto, LocalStack), S3 is addressed by path
(an emulator on ``127.0.0.1`` has no per-bucket host names), the checks that
need real AWS credentials or an EC2 metadata service are skipped, and the
provider gives up after :data:`EMULATOR_MAX_RETRIES` attempts, so an action the
emulator lacks fails at once instead of after minutes of back-off.
"""

from __future__ import annotations

import keyword
from collections.abc import Mapping

from stacks.aws import provider
from stacks.backend import configure_backend
from stacks.components.common import AwsContext, account_context
from stacks.config import StateConfig
from stacks.framework import Construct, TerraformStack
from stacks.requirements import declare_requirements

#: Provider endpoint names of every AWS service the stacks call (resources and data
#: sources).  ``tests/test_provider.py`` checks every synthesized type against it.
SERVICES = (
    "acm",
    "appautoscaling",
    "backup",
    "cloudwatch",
    "ec2",
    "ecr",
    "ecs",
    "elbv2",
    "events",
    "iam",
    "kms",
    "lambda",
    "logs",
    "rds",
    "route53",
    "s3",
    "secretsmanager",
    "sns",
    "ssm",
    "sts",
    "wafv2",
)
#: ``max_retries`` in emulator mode: attempts per request, so 2 is one retry.
EMULATOR_MAX_RETRIES = 2


def _argument(endpoint: str) -> str:
    """The bindings' argument for a provider endpoint name (``lambda`` is a Python keyword)."""
    return f"{endpoint}_" if keyword.iskeyword(endpoint) else endpoint


def aws_provider(scope: Construct, *, region: str, tags: Mapping[str, str], endpoint_url: str | None) -> provider.AwsProvider:
    """The stack's ``aws`` provider with ``tags`` as default tags on every resource, and the
    stack's requirements (:func:`stacks.requirements.declare_requirements`)."""
    declare_requirements(TerraformStack.of(scope))
    emulator: dict[str, object] = {}
    if endpoint_url is not None:
        emulator = {
            "endpoints": [provider.AwsProviderEndpoints(**{_argument(name): endpoint_url for name in SERVICES})],
            "s3_use_path_style": True,
            "skip_credentials_validation": True,
            "skip_metadata_api_check": "true",
            "skip_region_validation": True,
            "max_retries": EMULATOR_MAX_RETRIES,
        }
    return provider.AwsProvider(
        scope,
        "aws",
        region=region,
        default_tags=[provider.AwsProviderDefaultTags(tags=dict(tags))],
        **emulator,  # type: ignore[arg-type]
    )


def remote_stack(
    stack: TerraformStack,
    *,
    stack_name: str,
    region: str,
    tags: Mapping[str, str],
    state: StateConfig,
    state_region: str,
    endpoint_url: str | None,
) -> AwsContext:
    """What every stack on remote state starts with: its provider (default ``tags``), its
    backend (key ``<stack_name>/...`` in ``state_region``) and the account it deploys to."""
    aws_provider(stack, region=region, tags=tags, endpoint_url=endpoint_url)
    configure_backend(stack, state=state, stack_name=stack_name, region=state_region, endpoint_url=endpoint_url)
    return account_context(stack, region)
