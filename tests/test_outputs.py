"""Stack outputs: the product's integration points, each described."""

from __future__ import annotations

import pytest

from tests.conftest import Synthesized

ENV_STACKS = ["order-api-dev", "order-api-staging", "order-api-prod", "order-api-dev-pr42"]

#: What deploy tooling, the integration tests and on-call rely on.
REQUIRED = {
    "vpc_id",
    "alb_dns_name",
    "alb_url",
    "ecs_cluster_name",
    "ecs_service_name",
    "ecs_service_arn",
    "database_writer_endpoint",
    "database_reader_endpoint",
    "database_secret_arn",
    "ecr_repository_url",
    "waf_web_acl_arn",
    "waf_web_acl_name",
    "blue_target_group_arn",
    "green_target_group_arn",
    "dashboard_url",
    "alarm_topic_arn",
    "ssm_parameter_prefix",
}


@pytest.mark.parametrize("stack", ENV_STACKS)
def test_every_environment_exports_what_clients_need(synth: Synthesized, stack: str) -> None:
    missing = REQUIRED - set(synth.doc(stack)["output"])
    assert missing == set()


@pytest.mark.parametrize("stack", [*ENV_STACKS, "order-api-state"])
def test_every_output_is_described(synth: Synthesized, stack: str) -> None:
    outputs = synth.doc(stack)["output"]
    undescribed = [name for name, body in outputs.items() if len(body.get("description", "")) < 8]
    assert undescribed == []


def test_only_the_secret_reference_is_sensitive(synth: Synthesized) -> None:
    outputs = synth.doc("order-api-prod")["output"]
    assert [name for name, body in outputs.items() if body["sensitive"]] == ["database_secret_arn"]


def test_https_url_where_there_is_a_certificate(synth: Synthesized) -> None:
    assert synth.doc("order-api-prod")["output"]["alb_url"]["value"] == "https://api.orders.example.com"
    assert synth.doc("order-api-dev")["output"]["alb_url"]["value"].startswith("http://${aws_lb.")
