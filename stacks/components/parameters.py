"""The service's configuration in SSM Parameter Store."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from stacks.aws import ssm_parameter
from stacks.framework import Construct


@dataclass(frozen=True)
class Parameter:
    """One parameter below the prefix.  ``env`` is the container variable it becomes."""

    key: str
    value: str
    env: str


class Parameters(Construct):
    """SSM parameters under ``prefix`` (``/order-api/<env>/``), all ``SecureString``
    encrypted with the customer-managed ``kms_key_arn``: nothing about the service's
    configuration is readable without both SSM and KMS permissions.

    Attributes: ``prefix``, ``arns`` (container variable -> parameter ARN),
    ``names`` (full parameter names), ``path_arn`` (ARN pattern of every
    parameter below the prefix, for IAM).
    """

    def __init__(self, scope: Construct, id_: str, *, prefix: str, parameters: Sequence[Parameter], kms_key_arn: str, path_arn: str) -> None:
        super().__init__(scope, id_)
        self.prefix = prefix
        self.path_arn = path_arn
        self.arns: dict[str, str] = {}
        #: Full parameter names, in declaration order.
        self.names: list[str] = [f"{prefix}{p.key}" for p in parameters]
        for p in parameters:
            resource = ssm_parameter.SsmParameter(
                self,
                p.key.replace("/", "_").replace(".", "_").replace("-", "_"),
                name=f"{prefix}{p.key}",
                type="SecureString",
                value=p.value,
                key_id=kms_key_arn,
                description=f"Order API configuration: {p.key}",
            )
            self.arns[p.env] = resource.arn
