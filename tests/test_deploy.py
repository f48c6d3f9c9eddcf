"""``make deploy`` and ``make bootstrap``: the checks before a deploy, the order of the steps,
the settings that persist between synth and deploy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3  # type: ignore[import-untyped]
import pytest
from botocore.stub import Stubber  # type: ignore[import-untyped]

import main
from stacks.config import ConfigError, build_app_config, parse_settings
from tests.conftest import PAGING_TOPIC as PAGING
from tests.conftest import PROD_DIGEST as DIGEST
from tests.conftest import STATE_SETTINGS, Synthesized
from tools import bootstrap, deploy
from tools.deploy import DeployError, Image, alarms_reach_someone, check_image, preflight, stack_image

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


def test_fails_when_the_registry_stack_was_never_deployed(synth: Synthesized) -> None:
    client = ecr(("describe_repositories", "RepositoryNotFoundException", {"repositoryNames": ["order-api"]}))
    with pytest.raises(DeployError) as excinfo:
        check_image(synth.doc("order-api-dev"), "order-api-dev", client)
    assert "registry order-api does not exist in us-east-1: run make deploy STACK=order-api-registry first" in str(excinfo.value)


def test_prod_without_an_alarm_destination_is_refused_before_anything_else(synth: Synthesized) -> None:
    with pytest.raises(DeployError) as excinfo:
        preflight(synth.doc("order-api-prod"), "order-api-prod", ecr_client=lambda region, endpoint: pytest.fail("ECR asked before the alarm check"))
    assert str(excinfo.value).startswith("order-api-prod: its alarms reach nobody; set ALARM_EMAILS, ALARM_HTTPS_ENDPOINTS or ALARM_TOPIC_ARN")


def test_prod_with_an_external_topic_passes_the_alarm_check(prod_with_paging: Synthesized) -> None:
    assert alarms_reach_someone(prod_with_paging.doc("order-api-prod"))
    client = ecr(
        REPO_FOUND, ("describe_images", {"imageDetails": [{"imageDigest": DIGEST}]}, {"repositoryName": "order-api", "imageIds": [{"imageDigest": DIGEST}]})
    )
    preflight(prod_with_paging.doc("order-api-prod"), "order-api-prod", ecr_client=lambda region, endpoint: client)


def test_alarm_destinations_are_subscriptions_or_external_topics() -> None:
    own = {"alarm_actions": ["${aws_sns_topic.t.arn}"]}
    assert not alarms_reach_someone({"resource": {"aws_cloudwatch_metric_alarm": {"a": own}}})
    assert alarms_reach_someone({"resource": {"aws_cloudwatch_metric_alarm": {"a": own}, "aws_sns_topic_subscription": {"s": {}}}})
    assert alarms_reach_someone({"resource": {"aws_cloudwatch_metric_alarm": {"a": {"alarm_actions": ["${aws_sns_topic.t.arn}", PAGING]}}}})
    # The SLO page is a composite alarm: its external topic counts too.
    assert alarms_reach_someone({"resource": {"aws_cloudwatch_metric_alarm": {"a": own}, "aws_cloudwatch_composite_alarm": {"p": {"alarm_actions": [PAGING]}}}})


def test_dev_and_shared_stacks_need_no_alarm_destination(synth: Synthesized) -> None:
    calls: list[str] = []
    for stack in ("order-api-state", "order-api-registry"):
        preflight(synth.doc(stack), stack, ecr_client=lambda region, endpoint: calls.append(region))
    assert calls == []


def test_deploy_runs_the_steps_in_order(synth: Synthesized, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    steps: list[str] = []
    outputs_dir = tmp_path / "cfn-outputs"

    def fake_cdktf(command: str, stack: str, outdir: Path, *extra: str) -> None:
        steps.append(f"cdktf {command} {stack}")
        assert "--outputs-file-include-sensitive-outputs=false" in extra and "--terraform-parallelism" in extra
        (outputs_dir / "outputs.json").write_text(json.dumps({stack: {"vpc_id": "vpc-1", "task_definition_arn": "arn:td:1"}}))

    monkeypatch.setattr(deploy, "preflight", lambda doc, stack, ecr_client: steps.append(f"preflight {stack}"))
    monkeypatch.setattr(deploy, "cdktf", fake_cdktf)
    monkeypatch.setattr(deploy, "settle", lambda stack, doc, declared, since: steps.append(f"settle {stack} {declared}"))

    def fake_users(stack: str, synth_dir: Path) -> list[str]:
        steps.append(f"db-users {stack}")
        return [f"{stack}: no change"]

    monkeypatch.setattr(deploy.db_users, "run", fake_users)
    deploy.deploy("order-api-dev", synth.outdir, outputs_dir, parallelism=20)
    assert steps == ["preflight order-api-dev", "cdktf deploy order-api-dev", "db-users order-api-dev", "settle order-api-dev arn:td:1"]
    assert json.loads((outputs_dir / "flat-outputs.json").read_text()) == {"task_definition_arn": "arn:td:1", "vpc_id": "vpc-1"}


def test_shared_stacks_deploy_without_outputs_file_or_users(synth: Synthesized, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
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

    monkeypatch.setattr(deploy.subprocess, "run", fake_run)
    deploy.cdktf("destroy", "order-api-dev-pr42", tmp_path)
    assert seen["args"] == ["npx", "--no-install", "cdktf", "destroy", "order-api-dev-pr42", "--skip-synth", "--output", str(tmp_path), "--auto-approve"]
    assert seen["env"]["CHECKPOINT_DISABLE"] == "1"


def test_a_failing_cli_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class Result:
        returncode = 7

    monkeypatch.setattr(deploy.subprocess, "run", lambda *a, **k: Result())
    with pytest.raises(DeployError, match=r"^cdktf deploy order-api-dev failed \(exit 7\); see its output above$"):
        deploy.cdktf("deploy", "order-api-dev", tmp_path)


def test_unknown_stack_says_which_exist(synth: Synthesized) -> None:
    with pytest.raises(DeployError, match=r"stack order-api-dev-nope was not synthesized .* a suffixed copy needs ENVIRONMENT_SUFFIX"):
        deploy.load(synth.outdir, "order-api-dev-nope")


def test_main_reports_errors_on_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert deploy.main(["order-api-dev", "--skip-synth", "--outdir", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: stack order-api-dev was not synthesized")


# ---------------------------------------------------------------- bootstrap


def test_bootstrap_saves_only_the_state_settings_given(tmp_path: Path) -> None:
    settings = tmp_path / "settings.env"
    settings.write_text("ALARM_TOPIC_ARN=arn:aws:sns:us-east-1:123456789012:paging\n")
    saved = bootstrap.save_settings(settings, {"TF_STATE_BUCKET": "acme-order-api-state", "AWS_REGION": "eu-west-1", "IMAGE_TAG": "9.9.9", "PATH": "/bin"})
    assert saved == {"ALARM_TOPIC_ARN": PAGING, "TF_STATE_BUCKET": "acme-order-api-state", "AWS_REGION": "eu-west-1"}
    assert parse_settings(settings.read_text()) == saved


def test_a_setting_made_once_reaches_the_next_synths(tmp_path: Path, synth_state_settings: Synthesized) -> None:
    settings = tmp_path / "settings.env"
    bootstrap.save_settings(settings, STATE_SETTINGS)
    # A later synth (make, or the cdktf CLI's) has no variables in its environment.
    overrides = main.read_overrides({}, settings)
    config = build_app_config(overrides)
    assert (config.state.bucket, config.region, config.state_region) == ("acme-order-api-state", "eu-west-1", "eu-central-1")
    assert {k: v for k, v in overrides.items() if v} == STATE_SETTINGS
    # synth_state_settings is the synthesis of exactly these overrides (plus two unrelated to state).
    dev = synth_state_settings.doc("order-api-dev")
    assert (dev["terraform"]["backend"]["s3"]["bucket"], dev["terraform"]["backend"]["s3"]["region"]) == ("acme-order-api-state", "eu-central-1")
    assert dev["provider"]["aws"][0]["region"] == "eu-west-1"


def test_fails_bootstrap_with_a_bad_bucket_and_leaves_the_file(tmp_path: Path) -> None:
    settings = tmp_path / "settings.env"
    settings.write_text("AWS_REGION=eu-west-1\n")
    with pytest.raises(ConfigError, match="TF_STATE_BUCKET"):
        bootstrap.save_settings(settings, {"TF_STATE_BUCKET": "Bad_Bucket"})
    assert settings.read_text() == "AWS_REGION=eu-west-1\n"


def test_bootstrap_says_what_is_next() -> None:
    lines = bootstrap.next_steps({"AWS_REGION": "eu-west-1", "TF_STATE_BUCKET": "acme"})
    assert "state of order-api-state: terraform-state/order-api-state.tfstate (keep it safe; README, State)" in lines
    assert lines[-3:] == [
        "  make deploy STACK=order-api-registry",
        "  docker push <account>.dkr.ecr.eu-west-1.amazonaws.com/order-api:<tag>   (dev runs :latest unless IMAGE_TAG says otherwise)",
        "  make deploy STACK=order-api-dev",
    ]


def test_a_stack_aimed_at_an_emulator_skips_the_registry_provider_lock(synth_emulated: Synthesized, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = synth_emulated
    seen: list[tuple[str, ...]] = []
    monkeypatch.setattr(deploy, "cdktf", lambda command, stack, outdir, *extra: seen.append(extra))
    deploy.deploy("order-api-registry", out.outdir, tmp_path)
    assert deploy.is_emulated(out.doc("order-api-registry")) and "--skip-provider-lock" in seen[0]
    deploy.deploy("order-api-state", out.outdir, tmp_path)
    assert "--skip-provider-lock" in seen[1]


def test_a_stack_aimed_at_aws_keeps_the_provider_lock(synth: Synthesized, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, ...]] = []
    monkeypatch.setattr(deploy, "cdktf", lambda command, stack, outdir, *extra: seen.append(extra))
    deploy.deploy("order-api-registry", synth.outdir, tmp_path)
    assert not deploy.is_emulated(synth.doc("order-api-registry")) and "--skip-provider-lock" not in seen[0]
