"""The CDK framework, imported here and nowhere else.

cdktf 0.21.0 is the final release of Terraform CDK (archived); CDK Terrain
(``cdktn``) continues it with the same classes under another package name.
Every module of the project takes the framework's classes from this module, and
:mod:`stacks.aws` loads the prebuilt AWS bindings named by
:data:`PROVIDER_PACKAGE`, which follows the framework.  So moving to CDK Terrain
is the one line marked below (``from cdktf import (`` -> ``from cdktn import (``),
plus the dependencies (README, "cdktf is archived").  ``make cdktn-check``
rehearses exactly that change; ``tests/test_framework.py`` keeps every other
module from importing a framework package directly.
"""

from __future__ import annotations

from cdktf import (  # the framework line: `from cdktn import (` for CDK Terrain
    App,
    Aspects,
    AssetType,
    CloudBackend,
    IAspect,
    ITerraformDependable,
    LocalBackend,
    NamedCloudWorkspace,
    S3Backend,
    S3BackendEndpointConfig,
    TerraformAsset,
    TerraformOutput,
    TerraformResource,
    TerraformResourceLifecycle,
    TerraformStack,
    Testing,
    Token,
)
from constructs import Construct, IConstruct, IValidation

#: The prebuilt AWS provider bindings of each framework (Python package names).
PROVIDER_PACKAGES = {"cdktf": "cdktf_cdktf_provider_aws", "cdktn": "cdktn_provider_aws"}
#: The framework in use: the package the classes above come from.
FRAMEWORK = App.__module__.split(".", 1)[0]
#: The AWS bindings that go with it (loaded by :mod:`stacks.aws`).
PROVIDER_PACKAGE = PROVIDER_PACKAGES[FRAMEWORK]

__all__ = [
    "FRAMEWORK",
    "PROVIDER_PACKAGE",
    "PROVIDER_PACKAGES",
    "App",
    "Aspects",
    "AssetType",
    "CloudBackend",
    "Construct",
    "IAspect",
    "IConstruct",
    "ITerraformDependable",
    "IValidation",
    "LocalBackend",
    "NamedCloudWorkspace",
    "S3Backend",
    "S3BackendEndpointConfig",
    "TerraformAsset",
    "TerraformOutput",
    "TerraformResource",
    "TerraformResourceLifecycle",
    "TerraformStack",
    "Testing",
    "Token",
]
