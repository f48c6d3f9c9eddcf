"""What every stack's JSON asks of the Terraform that runs it and of the AWS provider.

The synthesized JSON must stand on its own: run by plain ``terraform``, HCP
Terraform or OpenTofu, not only by the cdktf CLI.  So each stack declares

- ``terraform.required_version``: the oldest Terraform that knows every construct
  the JSON uses (``tools/port/terraform_requirements.py`` maps each construct to the
  release that introduced it; ``tests/test_requirements.py`` checks that this
  constraint is exactly their maximum);
- the provider's full source address, ``hashicorp/aws`` (a bare ``aws`` is
  ambiguous outside Terraform's own registry, e.g. to OpenTofu), pinned to the
  release the prebuilt bindings were generated from.

An attribute the bindings lack (a provider release after theirs added it) is set
with :func:`newer_provider_attribute`, which also raises the stack's provider pin
to the release that introduced it (README, "cdktf is archived").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the constants are read without starting the framework (tools/e2e)
    from stacks.framework import TerraformResource, TerraformStack

#: The oldest Terraform the stacks run on: the S3 backend's ``use_lockfile`` came in 1.10.
TERRAFORM_MIN_VERSION = "1.10.0"
REQUIRED_VERSION = f">= {TERRAFORM_MIN_VERSION}"
AWS_PROVIDER_SOURCE = "hashicorp/aws"
#: The hashicorp/aws release the prebuilt bindings (cdktf-cdktf-provider-aws 21.22.1) wrap.
AWS_PROVIDER_VERSION = "6.25.0"

#: Attribute of a stack that holds its raised provider pin.
_PIN = "_aws_provider_version"


def version_key(version: str) -> tuple[int, ...]:
    """``"6.25.0"`` -> ``(6, 25, 0)``, for comparing releases."""
    return tuple(int(part) for part in version.split("."))


def declare_requirements(stack: TerraformStack) -> None:
    """``required_version`` and the pinned ``hashicorp/aws`` source of ``stack``."""
    stack.add_override("terraform.required_version", REQUIRED_VERSION)
    stack.add_override("terraform.required_providers.aws.source", AWS_PROVIDER_SOURCE)
    stack.add_override("terraform.required_providers.aws.version", AWS_PROVIDER_VERSION)


def require_provider_version(stack: TerraformStack, version: str) -> str:
    """Pin ``stack`` to at least provider ``version`` (never lower); the pin now in force."""
    current: str = getattr(stack, _PIN, AWS_PROVIDER_VERSION)
    if version_key(version) > version_key(current):
        current = version
        setattr(stack, _PIN, current)
        stack.add_override("terraform.required_providers.aws.version", current)
    return current


def newer_provider_attribute(resource: TerraformResource, attribute: str, value: Any, *, since: str) -> None:
    """Set ``attribute`` (a dotted path) of ``resource``, which the 6.25 bindings lack, and pin
    the stack's provider to ``since``, the first hashicorp/aws release that has it.

    The value reaches the JSON as given: the bindings cannot type-check it, so the
    caller's test must assert it (and ``make hcl`` and ``make e2e`` see it like any other).
    """
    from stacks.framework import TerraformStack

    resource.add_override(attribute, value)
    require_provider_version(TerraformStack.of(resource), since)
