"""``make deploy`` and ``make bootstrap``: the checks before a deploy, the order of the steps,
the settings that persist between synth and deploy."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import boto3  # type: ignore[import-untyped]
import pytest
from botocore.stub import Stubber  # type: ignore[import-untyped]

from tests.conftest import PAGING_TOPIC as PAGING
from tests.conftest import PROD_DIGEST as DIGEST
from tests.conftest import Synthesized
from tools.common.stack import DeployError, Image, stack_image
from tools.ops import deploy
from tools.ops.deploy import alarms_reach_someone, check_alarm_destination, check_image, preflight

REPO_URI = "123456789012.dkr.ecr.us-east-1.amazonaws.com/order-api"


def ecr(*responses: tuple[str, dict[str, Any] | str, dict[str, Any]]) -> Any:
    """A Stubber-backed ECR client: (operation, response or error code, expected params)."""
    client = boto3.session.Session(region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x").client("ecr")
    stubber = Stubber(client)
    for operation, response, params in responses:
        if isinstance(response, str):
            stubber.add_client_error(operation, service_error_code=response, expected_params=params)
        else:
            stubber.add_response(operation, response, params)
    stubber.activate()
    return client


REPO_FOUND = ("describe_repositories", {"repositories": [{"repositoryName": "order-api", "repositoryUri": REPO_URI}]}, {"repositoryNames": ["order-api"]})


@pytest.fixture(scope="module")
def prod_with_paging(synth_prod_digest: Synthesized) -> Synthesized:
    return synth_prod_digest


def test_stack_image_reads_the_task_definition(synth: Synthesized, prod_with_paging: Synthesized) -> None:
    assert stack_image(synth.doc("order-api-dev")) == Image("order-api", "latest", None)
    assert stack_image(synth.doc("order-api-prod")) == Image("order-api", "1.0.0", None)
    assert stack_image(prod_with_paging.doc("order-api-prod")) == Image("order-api", None, DIGEST)


def test_image_in_the_registry_passes(synth: Synthesized) -> None:
    client = ecr(
        REPO_FOUND, ("describe_images", {"imageDetails": [{"imageTags": ["latest"]}]}, {"repositoryName": "order-api", "imageIds": [{"imageTag": "latest"}]})
    )
    check_image(synth.doc("order-api-dev"), "order-api-dev", client)


def test_fails_when_the_image_is_not_pushed_yet_and_names_the_push(synth: Synthesized) -> None:
    client = ecr(REPO_FOUND, ("describe_images", "ImageNotFoundException", {"repositoryName": "order-api", "imageIds": [{"imageTag": "1.0.0"}]}))
    with pytest.raises(DeployError) as excinfo:
        check_image(synth.doc("order-api-staging"), "order-api-staging", client)
    assert str(excinfo.value) == (f"order-api-staging: image order-api:1.0.0 is not in the registry yet; docker push {REPO_URI}:1.0.0 (see README, Deploying)")


def test_fails_when_a_digest_is_not_in_the_registry(prod_with_paging: Synthesized) -> None:
    client = ecr(REPO_FOUND, ("describe_images", {"imageDetails": []}, {"repositoryName": "order-api", "imageIds": [{"imageDigest": DIGEST}]}))
    with pytest.raises(DeployError, match=f"image order-api@{DIGEST} is not in the registry yet"):
        check_image(prod_with_paging.doc("order-api-prod"), "order-api-prod", client)


class _Logs:
    def __init__(self, *names: str) -> None:
        self.names = names

    def describe_resource_policies(self) -> dict[str, Any]:
        return {"resourcePolicies": [{"policyName": name, "policyDocument": "{}"} for name in self.names]}


ACCOUNT_READY = _Logs("order-api-log-delivery", "AWSWAF-LOGS")


def test_fails_when_the_account_stack_was_never_deployed(synth: Synthesized) -> None:
    with pytest.raises(DeployError) as excinfo:
        preflight(
            synth.doc("order-api-dev"), "order-api-dev", ecr_client=lambda r, e: pytest.fail("ECR asked first"), logs_client=lambda r, e: _Logs("AWSWAF-LOGS")
        )
    assert str(excinfo.value) == (
        "order-api-dev: the account-wide singletons are missing (log resource policy order-api-log-delivery): run make deploy STACK=order-api-account first"
    )


def test_fails_when_the_registry_stack_was_never_deployed(synth: Synthesized) -> None:
    client = ecr(("describe_repositories", "RepositoryNotFoundException", {"repositoryNames": ["order-api"]}))
    with pytest.raises(DeployError) as excinfo:
        check_image(synth.doc("order-api-dev"), "order-api-dev", client)
    assert "registry order-api does not exist in us-east-1: run make deploy STACK=order-api-registry first" in str(excinfo.value)


def test_prod_without_an_alarm_destination_is_refused_before_anything_else(synth: Synthesized) -> None:
    with pytest.raises(DeployError) as excinfo:
        preflight(
            synth.doc("order-api-prod"),
            "order-api-prod",
            ecr_client=lambda region, endpoint: pytest.fail("ECR asked before the alarm check"),
            logs_client=lambda region, endpoint: pytest.fail("Logs asked before the alarm check"),
        )
    assert str(excinfo.value).startswith("order-api-prod: its alarms reach nobody; set ALARM_EMAILS, ALARM_HTTPS_ENDPOINTS or ALARM_TOPIC_ARN")


def test_prod_with_an_external_topic_passes_the_alarm_check_and_warns_of_the_tickets(prod_with_paging: Synthesized, capsys: pytest.CaptureFixture[str]) -> None:
    """Pages reach the existing topic; the cause alarms reach nobody: one warning line, no refusal."""
    doc = prod_with_paging.doc("order-api-prod")
    assert alarms_reach_someone(doc, "order-api-prod-alarms")
    assert not alarms_reach_someone(doc, "order-api-prod-tickets")
    client = ecr(
        REPO_FOUND, ("describe_images", {"imageDetails": [{"imageDigest": DIGEST}]}, {"repositoryName": "order-api", "imageIds": [{"imageDigest": DIGEST}]})
    )
    preflight(doc, "order-api-prod", ecr_client=lambda region, endpoint: client, logs_client=lambda r, e: ACCOUNT_READY)
    assert capsys.readouterr().err == (
        "warning: order-api-prod: its cause alarms (errors, hosts, CPU, database) reach nobody but the dashboard; "
        "set TICKET_EMAILS, TICKET_HTTPS_ENDPOINTS or TICKET_TOPIC_ARN (e.g. in settings.env) so that they open tickets\n"
    )


def test_prod_with_a_ticket_subscriber_deploys_without_the_warning(prod_with_paging: Synthesized) -> None:
    doc = prod_with_paging.doc("order-api-prod")
    ticket_topic = prod_with_paging.ref("order-api-prod", "aws_sns_topic", "monitoring/ticket_topic", "arn")
    doc["resource"]["aws_sns_topic_subscription"] = {"s": {"topic_arn": ticket_topic, "protocol": "email", "endpoint": "orders@example.com"}}
    assert check_alarm_destination(doc, "order-api-prod") == []


def test_a_subscriber_of_the_ticket_topic_does_not_satisfy_the_page(synth: Synthesized) -> None:
    doc = synth.doc("order-api-prod")
    ticket_topic = synth.ref("order-api-prod", "aws_sns_topic", "monitoring/ticket_topic", "arn")
    doc["resource"]["aws_sns_topic_subscription"] = {"s": {"topic_arn": ticket_topic, "protocol": "email", "endpoint": "orders@example.com"}}
    with pytest.raises(DeployError, match="order-api-prod: its alarms reach nobody"):
        check_alarm_destination(doc, "order-api-prod")


TOPICS = {"aws_sns_topic": {"p": {"name": "s-alarms"}, "t": {"name": "s-tickets"}}}


def test_alarm_destinations_are_subscriptions_or_external_topics_of_that_channel() -> None:
    page, ticket = "${aws_sns_topic.p.arn}", "${aws_sns_topic.t.arn}"
    own = {"alarm_actions": [page]}
    assert not alarms_reach_someone({"resource": {**TOPICS, "aws_cloudwatch_metric_alarm": {"a": own}}}, "s-alarms")
    subscribed = {"resource": {**TOPICS, "aws_cloudwatch_metric_alarm": {"a": own}, "aws_sns_topic_subscription": {"s": {"topic_arn": page}}}}
    assert alarms_reach_someone(subscribed, "s-alarms") and not alarms_reach_someone(subscribed, "s-tickets")
    external = {"resource": {**TOPICS, "aws_cloudwatch_metric_alarm": {"a": {"alarm_actions": [ticket, PAGING]}}}}
    assert alarms_reach_someone(external, "s-tickets") and not alarms_reach_someone(external, "s-alarms")
    # The SLO page is a composite alarm: its external topic counts too.
    composite = {"resource": {**TOPICS, "aws_cloudwatch_metric_alarm": {"a": own}, "aws_cloudwatch_composite_alarm": {"p": {"alarm_actions": [page, PAGING]}}}}
    assert alarms_reach_someone(composite, "s-alarms")


def test_dev_and_shared_stacks_need_no_alarm_destination(synth: Synthesized) -> None:
    calls: list[str] = []
    for stack in ("order-api-state", "order-api-registry"):
        preflight(synth.doc(stack), stack, ecr_client=lambda region, endpoint: calls.append(region))
    assert calls == []


def test_deploy_runs_the_steps_in_order(synth: Synthesized, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, account_ready: list[str]) -> None:
    steps: list[str] = []
    outputs_dir = tmp_path / "cfn-outputs"

    def fake_cdktf(command: str, stack: str, outdir: Path, *extra: str) -> None:
        steps.append(f"cdktf {command} {stack}")
        assert "--outputs-file-include-sensitive-outputs=false" in extra and "--terraform-parallelism" in extra
        (outputs_dir / "outputs.json").write_text(json.dumps({stack: {"vpc_id": "vpc-1", "task_definition_arn": "arn:td:1"}}))

    monkeypatch.setattr(deploy, "preflight", lambda doc, stack, ecr_client, logs_client, caller_arn=None: steps.append(f"preflight {stack}"))
    monkeypatch.setattr(deploy, "cdktf", fake_cdktf)
    monkeypatch.setattr(deploy, "settle", lambda stack, doc, declared, since: steps.append(f"settle {stack} {declared}"))

    def fake_users(stack: str, synth_dir: Path) -> list[str]:
        steps.append(f"db-users {stack}")
        return [f"{stack}: no change"]

    monkeypatch.setattr(deploy.db_users, "run", fake_users)
    deploy.deploy("order-api-dev", synth.outdir, outputs_dir, parallelism=20)
    assert account_ready == ["state bucket order-api-dev", "account order-api-dev"]
    assert steps == ["preflight order-api-dev", "cdktf deploy order-api-dev", "db-users order-api-dev", "settle order-api-dev arn:td:1"]
    assert json.loads((outputs_dir / "flat-outputs.json").read_text()) == {"task_definition_arn": "arn:td:1", "vpc_id": "vpc-1"}


def test_shared_stacks_deploy_without_outputs_file_or_users(
    synth: Synthesized, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, account_ready: list[str]
) -> None:
    steps: list[str] = []
    monkeypatch.setattr(deploy, "cdktf", lambda command, stack, outdir, *extra: steps.append(f"cdktf {command} {stack}"))
    monkeypatch.setattr(deploy.db_users, "run", lambda stack, synth_dir: pytest.fail("no users in a shared stack"))
    deploy.deploy("order-api-registry", synth.outdir, tmp_path / "out")
    assert steps == ["cdktf deploy order-api-registry"]
    assert not (tmp_path / "out" / "flat-outputs.json").exists()


def test_cdktf_runs_the_locked_cli_without_telemetry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    class Result:
        returncode = 0

    def fake_run(args: list[str], **kwargs: Any) -> Result:
        seen.update(args=args, env=kwargs["env"])
        return Result()

    monkeypatch.setattr(deploy.process, "run_child", fake_run)
    deploy.cdktf("destroy", "order-api-dev-pr42", tmp_path)
    assert seen["args"] == ["npx", "--no-install", "cdktf", "destroy", "order-api-dev-pr42", "--skip-synth", "--output", str(tmp_path), "--auto-approve"]
    assert seen["env"]["CHECKPOINT_DISABLE"] == "1"


def test_a_failing_cli_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class Result:
        returncode = 7

    monkeypatch.setattr(deploy.process, "run_child", lambda *a, **k: Result())
    with pytest.raises(DeployError, match=r"^cdktf deploy order-api-dev failed \(exit 7\); see its output above$"):
        deploy.cdktf("deploy", "order-api-dev", tmp_path)


def test_unknown_stack_says_which_exist(synth: Synthesized) -> None:
    with pytest.raises(DeployError, match=r"stack order-api-dev-nope was not synthesized .* a suffixed copy needs ENVIRONMENT_SUFFIX"):
        deploy.load(synth.outdir, "order-api-dev-nope")


def test_main_reports_errors_on_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert deploy.main(["order-api-dev", "--skip-synth", "--outdir", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: stack order-api-dev was not synthesized")


def test_a_stack_aimed_at_an_emulator_skips_the_registry_provider_lock(
    synth_emulated: Synthesized, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, account_ready: list[str]
) -> None:
    out = synth_emulated
    seen: list[tuple[str, ...]] = []
    monkeypatch.setattr(deploy, "cdktf", lambda command, stack, outdir, *extra: seen.append(extra))
    deploy.deploy("order-api-registry", out.outdir, tmp_path)
    assert deploy.is_emulated(out.doc("order-api-registry")) and "--skip-provider-lock" in seen[0]
    deploy.deploy("order-api-state", out.outdir, tmp_path)
    assert "--skip-provider-lock" in seen[1]


def test_a_stack_aimed_at_aws_keeps_the_provider_lock(synth: Synthesized, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, account_ready: list[str]) -> None:
    seen: list[tuple[str, ...]] = []
    monkeypatch.setattr(deploy, "cdktf", lambda command, stack, outdir, *extra: seen.append(extra))
    deploy.deploy("order-api-registry", synth.outdir, tmp_path)
    assert not deploy.is_emulated(synth.doc("order-api-registry")) and "--skip-provider-lock" not in seen[0]


def test_a_failed_synth_is_the_synths_one_line_and_its_status(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TF_"))} | {"IMAGE_TAG": "bad tag", "ENVIRONMENTS": "dev"}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(deploy.os, "environ", env)
        assert deploy.main(["order-api-dev", "--outdir", str(tmp_path / "out")]) == 2
    err = capfd.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: IMAGE_TAG='bad tag' is invalid:")


def test_fails_a_stack_on_the_placeholder_domain(synth: Synthesized) -> None:
    with pytest.raises(DeployError) as excinfo:
        preflight(synth.doc("order-api-staging"), "order-api-staging", ecr_client=lambda r, e: pytest.fail("ECR asked first"))
    assert str(excinfo.value) == (
        "order-api-staging: its domain is the placeholder zone staging.orders.example.com: set STAGING_DOMAIN_NAME and STAGING_HOSTED_ZONE "
        "(and optionally STAGING_CERTIFICATE_ARN), e.g. in settings.env (README, Configuration)"
    )


def test_a_stack_on_its_own_domain_passes_the_domain_check(prod_with_paging: Synthesized) -> None:
    from tools.ops.deploy import check_domain

    (zone,) = prod_with_paging.doc("order-api-prod")["data"]["aws_route53_zone"].values()
    assert zone["name"] == "acme-orders.com"
    check_domain(prod_with_paging.doc("order-api-prod"), "order-api-prod")
