"""The AWS provider: real AWS by default, or every service at a local emulator."""

from __future__ import annotations

import json

import pytest

from stacks.framework import TerraformStack, Testing
from stacks.provider import EMULATOR_MAX_RETRIES, SERVICES, aws_provider
from tests.conftest import EMULATOR_URL, Synthesized

URL = EMULATOR_URL

#: Resource or data source type prefix -> the provider endpoint it calls (None: computed locally).
SERVICE_OF = {
    "aws_vpc": "ec2",
    "aws_subnet": "ec2",
    "aws_route": "ec2",
    "aws_eip": "ec2",
    "aws_nat_gateway": "ec2",
    "aws_internet_gateway": "ec2",
    "aws_security_group": "ec2",
    "aws_default_security_group": "ec2",
    "aws_flow_log": "ec2",
    "aws_lb": "elbv2",
    "aws_ecs_": "ecs",
    "aws_ecr_": "ecr",
    "aws_rds_": "rds",
    "aws_db_": "rds",
    "aws_iam_policy_document": None,
    "aws_iam_": "iam",
    "aws_kms_": "kms",
    "aws_cloudwatch_log_": "logs",
    "aws_cloudwatch_event_": "events",
    "aws_lambda_": "lambda",
    "aws_cloudwatch_": "cloudwatch",
    "aws_appautoscaling_": "appautoscaling",
    "aws_backup_": "backup",
    "aws_s3_": "s3",
    "aws_secretsmanager_": "secretsmanager",
    "aws_sns_": "sns",
    "aws_ssm_": "ssm",
    "aws_wafv2_": "wafv2",
    "aws_acm_": "acm",
    "aws_route53_": "route53",
    "aws_caller_identity": "sts",
    "aws_partition": None,
    "terraform_data": None,
}


def service_of(resource_type: str) -> str | None:
    for prefix in sorted(SERVICE_OF, key=len, reverse=True):
        if resource_type.startswith(prefix):
            return SERVICE_OF[prefix]
    raise AssertionError(f"{resource_type}: which provider endpoint does it call? Add it to SERVICE_OF and, if new, to stacks.provider.SERVICES")


def _provider_block(endpoint_url: str | None) -> dict:
    app = Testing.app()
    stack = TerraformStack(app, "p")
    aws_provider(stack, region="eu-west-1", tags={"project": "order-api"}, endpoint_url=endpoint_url)
    (block,) = json.loads(Testing.synth(stack))["provider"]["aws"]
    return block


def test_real_aws_has_region_and_tags_only() -> None:
    assert _provider_block(None) == {"region": "eu-west-1", "default_tags": [{"tags": {"project": "order-api"}}]}


def test_emulator_points_every_service_at_it_and_fails_fast() -> None:
    block = _provider_block(URL)
    assert block["endpoints"] == [dict.fromkeys(SERVICES, URL)]
    assert block["s3_use_path_style"] is True
    assert block["skip_credentials_validation"] is True
    assert block["skip_metadata_api_check"] == "true"
    assert block["skip_region_validation"] is True
    # The provider counts attempts: 2 is one retry (a dropped connection is retried, a missing action fails at once).
    assert block["max_retries"] == EMULATOR_MAX_RETRIES == 2
    # No credentials are written: the emulator's dummy keys come from the environment.
    assert not {"access_key", "secret_key", "token"} & set(block)


def test_every_type_the_stacks_use_calls_a_redirected_endpoint(synth: Synthesized) -> None:
    types = {t for stack in synth.stack_names() for section in ("resource", "data") for t in synth.doc(stack).get(section, {})}
    assert len(types) > 50
    services = {service_of(t) for t in types} - {None}
    assert services <= set(SERVICES), services - set(SERVICES)


def test_unknown_types_are_not_silently_accepted() -> None:
    with pytest.raises(AssertionError, match="which provider endpoint"):
        service_of("aws_sqs_queue")


@pytest.fixture(scope="module")
def emulated(synth_emulated: Synthesized) -> Synthesized:
    return synth_emulated


@pytest.mark.parametrize("stack", ["order-api-state", "order-api-identity", "order-api-account", "order-api-registry", "order-api-dev", "order-api-dev-e2e"])
def test_emulator_override_reaches_every_stack_and_its_backend(emulated: Synthesized, stack: str) -> None:
    doc = emulated.doc(stack)
    assert doc["provider"]["aws"][0]["endpoints"] == [dict.fromkeys(SERVICES, URL)]
    backend = doc["terraform"]["backend"]
    if "s3" in backend:
        assert backend["s3"]["endpoints"] == {"s3": URL, "sts": URL, "iam": URL}
        assert backend["s3"]["use_path_style"] is True
    else:
        assert backend == {"local": {"path": f"../../../terraform-state/{stack}.tfstate"}}
    assert sorted(emulated.stack_names()) == [
        "order-api-account",
        "order-api-dev",
        "order-api-dev-e2e",
        "order-api-identity",
        "order-api-registry",
        "order-api-state",
    ]
