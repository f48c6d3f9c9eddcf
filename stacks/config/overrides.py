"""Override variables (read by main.py) turned into a validated AppConfig."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import replace

from stacks.config.catalogue import EPHEMERAL_VPC_CIDR, catalogue
from stacks.config.environment import AppConfig, EnvironmentConfig, validate_suffix
from stacks.config.network import NetworkConfig
from stacks.config.state import STATE_BACKENDS, STATE_KEY_ALIAS, StateConfig
from stacks.config.validate import ConfigError, _one_of, _require, validate_region

#: Environment variables ``main.py`` reads; documented in the README.
OVERRIDE_VARIABLES = (
    "ENVIRONMENT_SUFFIX",
    "AWS_REGION",
    "AVAILABILITY_ZONE_LETTERS",
    "VPC_CIDR",
    "IMAGE_TAG",
    "STATE_BACKEND",
    "TF_STATE_BUCKET",
    "TF_STATE_REGION",
    "TF_STATE_KMS_KEY_ID",
    "TF_CLOUD_ORGANIZATION",
    "TF_CLOUD_PROJECT",
    "TF_CLOUD_HOSTNAME",
    "TF_WORKSPACE_PREFIX",
)


def _get(overrides: Mapping[str, str | None], name: str) -> str | None:
    value = overrides.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def build_app_config(overrides: Mapping[str, str | None]) -> AppConfig:
    """Build and validate the whole configuration from override variables.

    ``overrides`` maps names in :data:`OVERRIDE_VARIABLES` to their values
    (``None`` or empty: not set).  Raises :class:`ConfigError`.
    """
    unknown = sorted(set(overrides) - set(OVERRIDE_VARIABLES))
    _require(not unknown, "overrides", unknown, "only " + ", ".join(OVERRIDE_VARIABLES))
    region = _get(overrides, "AWS_REGION") or "us-east-1"
    validate_region("AWS_REGION", region)
    envs = catalogue(region)
    letters = _get(overrides, "AVAILABILITY_ZONE_LETTERS")
    if letters is not None:
        try:
            envs = {name: replace(env, network=replace(env.network, az_letters=tuple(x.strip() for x in letters.split(",")))) for name, env in envs.items()}
        except ConfigError as error:
            raise ConfigError("AVAILABILITY_ZONE_LETTERS", letters, error.allowed) from None
    image_tag = _get(overrides, "IMAGE_TAG")
    if image_tag is not None:
        try:
            envs = {name: replace(env, service=replace(env.service, image_tag=image_tag)) for name, env in envs.items()}
        except ConfigError as error:
            raise ConfigError("IMAGE_TAG", image_tag, error.allowed) from None
    environments = list(envs.values())

    suffix = _get(overrides, "ENVIRONMENT_SUFFIX")
    vpc_cidr = _get(overrides, "VPC_CIDR")
    if vpc_cidr is not None and suffix is None:
        raise ConfigError("VPC_CIDR", vpc_cidr, "only applies together with ENVIRONMENT_SUFFIX (the standing environments have fixed CIDRs)")
    if suffix is not None:
        validate_suffix(suffix)
        network = _ephemeral_network(envs, vpc_cidr or EPHEMERAL_VPC_CIDR)
        environments.append(replace(envs["dev"], suffix=suffix, network=network))

    backend = _get(overrides, "STATE_BACKEND") or "s3"
    _one_of("STATE_BACKEND", backend, STATE_BACKENDS)
    state = StateConfig(
        backend=backend,  # type: ignore[arg-type]
        bucket=_get(overrides, "TF_STATE_BUCKET") or StateConfig.bucket,
        region=_get(overrides, "TF_STATE_REGION"),
        kms_key_id=_get(overrides, "TF_STATE_KMS_KEY_ID") or STATE_KEY_ALIAS,
        cloud_organization=_get(overrides, "TF_CLOUD_ORGANIZATION"),
        cloud_project=_get(overrides, "TF_CLOUD_PROJECT"),
        cloud_hostname=_get(overrides, "TF_CLOUD_HOSTNAME") or StateConfig.cloud_hostname,
        workspace_prefix=_get(overrides, "TF_WORKSPACE_PREFIX") or "",
    )
    return AppConfig(environments=tuple(environments), state=state, region=region)


def _ephemeral_network(envs: Mapping[str, EnvironmentConfig], cidr: str) -> NetworkConfig:
    network = replace(envs["dev"].network, vpc_cidr=cidr)
    wanted = ipaddress.IPv4Network(cidr)
    for env in envs.values():
        _require(
            not wanted.overlaps(ipaddress.IPv4Network(env.network.vpc_cidr)),
            "VPC_CIDR",
            cidr,
            f"a block that does not overlap {env.name}'s {env.network.vpc_cidr}",
        )
    return network
