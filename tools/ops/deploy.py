"""Deploy (or destroy) one stack with the cdktf CLI or plain Terraform, in the documented order, with checks first.

``make deploy STACK=<stack>`` runs this.  Steps:

1. synthesize (``main.py``), unless ``--skip-synth``;
2. the caller's credentials (STS), then the preflight; one clear line and exit 1
   when either fails (:mod:`tools.common.aws_errors`: missing or expired credentials,
   access denied, throttling, an unreachable endpoint):
   - a prod stack must send its pages somewhere (a subscription or an external
     topic): ``ALARM_EMAILS``, ``ALARM_HTTPS_ENDPOINTS`` or ``ALARM_TOPIC_ARN``; without
     a destination for its cause alarms (``TICKET_*``) it says so in a warning line;
   - an environment stack's image must already be in the shared registry (else
     the first tasks fail with CannotPullContainerError and the deploy never turns
     healthy): the line names the push command;
3. ``npx cdktf deploy <stack> --skip-synth --auto-approve``, outputs to
   ``cfn-outputs/outputs.json`` (sensitive ones left out); with ``--engine terraform``
   plain ``terraform`` init and apply in the stack's directory instead, which writes the
   same outputs file (:mod:`tools.common.engine`);
4. for an environment stack: ``cfn-outputs/flat-outputs.json`` (what the
   integration tests read) and the database users (:mod:`tools.ops.db_users`);
5. for an environment stack, the service (:meth:`tools.ops.release.Releaser.settle`):
   follows the deployment the apply started to its end (a failed or rolled-back one
   fails the deploy), rolls changed task settings out with the image the service
   already runs, and records that image as a release.  A deploy never moves the
   image: ``make release`` and ``make promote`` do.

``--outputs-only`` writes the outputs files of the deployed stack (``cdktf output``).
``--destroy`` runs ``npx cdktf destroy <stack>`` (or ``terraform destroy``) instead
(after the synth), then removes what releases added outside Terraform (:func:`destroy`).
Telemetry is off (``CHECKPOINT_DISABLE=1``) for the CLI and Terraform.

Usage: ``python -m tools.ops.deploy STACK [--destroy] [--engine cdktf|terraform] [--skip-synth] [--outdir cdktf.out] [--parallelism N]``
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from stacks import process
from stacks.config import PLACEHOLDER_REPOSITORY
from stacks.config.names import ACCOUNT_STACK, IDENTITY_STACK, LOG_DELIVERY_POLICY_NAME, PAGING_TOPIC_SUFFIX, TICKET_TOPIC_SUFFIX
from stacks.pipeline_policies import BOUNDARY_POLICY_NAME
from tools.common import cli, engine
from tools.common.aws_errors import AwsError, aws_errors, check_credentials, error_code
from tools.common.flatten_outputs import OutputsError, flatten, output_mapping, write_atomically
from tools.common.stack import (
    ROOT,
    DeployError,
    SynthesisFailed,
    cli_env,
    default_outdir,
    is_emulated,
    is_environment_stack,
    is_production,
    load,
    outputs_dir_of,
    provider_target,
    stack_image,
    stack_name_problem,
    synthesize,
)
from tools.ops import account_checks, db_users, release


def alarms_reach_someone(doc: Mapping[str, Any], topic_name: str) -> bool:
    """Whether the alarms of the stack's topic ``topic_name`` reach a person: a subscription
    on it, or an alarm that notifies it and also an existing topic (an ARN)."""
    resources = doc.get("resource", {})
    topics = {f"${{aws_sns_topic.{name}.arn}}" for name, body in resources.get("aws_sns_topic", {}).items() if body.get("name") == topic_name}
    if any(s.get("topic_arn") in topics for s in resources.get("aws_sns_topic_subscription", {}).values()):
        return True
    alarms = [alarm for kind in ("aws_cloudwatch_metric_alarm", "aws_cloudwatch_composite_alarm") for alarm in resources.get(kind, {}).values()]
    actions = [alarm.get("alarm_actions", []) for alarm in alarms]
    return any(topics & set(a) and any(isinstance(arn, str) and arn.startswith("arn:") for arn in a) for a in actions)


def check_alarm_destination(doc: Mapping[str, Any], stack: str) -> list[str]:
    """Prod's pages must reach someone (a :class:`DeployError` otherwise); its cause alarms
    should: the warning lines to print when they do not."""
    if not is_production(doc):
        return []
    if not alarms_reach_someone(doc, f"{stack}-{PAGING_TOPIC_SUFFIX}"):
        raise DeployError(
            f"{stack}: its alarms reach nobody; set ALARM_EMAILS, ALARM_HTTPS_ENDPOINTS or ALARM_TOPIC_ARN (e.g. in settings.env) and deploy again"
        )
    if not alarms_reach_someone(doc, f"{stack}-{TICKET_TOPIC_SUFFIX}"):
        return [
            f"warning: {stack}: its cause alarms (errors, hosts, CPU, database) reach nobody but the dashboard; "
            "set TICKET_EMAILS, TICKET_HTTPS_ENDPOINTS or TICKET_TOPIC_ARN (e.g. in settings.env) so that they open tickets"
        ]
    return []


def check_image(doc: Mapping[str, Any], stack: str, ecr: Any) -> None:
    """The image must be in the registry before the service asks for it."""
    image = stack_image(doc)
    region, _ = provider_target(doc)
    try:
        (repository,) = ecr.describe_repositories(repositoryNames=[image.repository])["repositories"]
    except Exception as error:
        if error_code(error) == "RepositoryNotFoundException":
            raise DeployError(f"{stack}: registry {image.repository} does not exist in {region}: run make deploy STACK=order-api-registry first") from None
        raise
    image_id = {"imageTag": image.tag} if image.tag else {"imageDigest": image.digest}
    try:
        found = ecr.describe_images(repositoryName=image.repository, imageIds=[image_id])["imageDetails"]
    except Exception as error:
        if error_code(error) != "ImageNotFoundException":
            raise
        found = []
    if not found:
        uri = f"{repository['repositoryUri']}:{image.tag}" if image.tag else f"{repository['repositoryUri']}@{image.digest}"
        push = f"docker push {uri}" if image.tag else f"push the image and deploy with IMAGE_TAG={image.digest} only once it is in {image.repository}"
        raise DeployError(f"{stack}: image {image.reference} is not in the registry yet; {push} (see README, Deploying)")


#: Domains nobody can own (RFC 2606): the catalogue's placeholders for staging and prod.
PLACEHOLDER_DOMAIN = "example.com"


def check_domain(doc: Mapping[str, Any], stack: str) -> None:
    """A stack whose domain is the catalogue's placeholder cannot get a certificate or a record."""
    zones = [body["name"] for body in doc.get("data", {}).get("aws_route53_zone", {}).values()]
    placeholders = [z for z in zones if z == PLACEHOLDER_DOMAIN or z.endswith("." + PLACEHOLDER_DOMAIN)]
    if placeholders:
        env = str(doc["provider"]["aws"][0].get("default_tags", [{}])[0].get("tags", {}).get("environment", stack)).upper()
        raise DeployError(
            f"{stack}: its domain is the placeholder zone {placeholders[0]}: set {env}_DOMAIN_NAME and {env}_HOSTED_ZONE "
            f"(and optionally {env}_CERTIFICATE_ARN), e.g. in settings.env (README, Configuration)"
        )


def check_account_stack(stack: str, logs: Any) -> None:
    """The account stack's singletons must exist: without its log resource policy, WAF
    and the ECS event rules of the environment cannot write their logs."""
    policies = {p["policyName"] for p in logs.describe_resource_policies()["resourcePolicies"]}
    if LOG_DELIVERY_POLICY_NAME not in policies:
        raise DeployError(
            f"{stack}: the account-wide singletons are missing (log resource policy {LOG_DELIVERY_POLICY_NAME}): run make deploy STACK={ACCOUNT_STACK} first"
        )


def check_identity_stack(doc: Mapping[str, Any], stack: str) -> None:
    """The identity stack's roles must trust a real repository, not the catalogue's placeholder."""
    trusts = [str(body.get("assume_role_policy", "")) for body in doc.get("resource", {}).get("aws_iam_role", {}).values()]
    if any(f"repo:{PLACEHOLDER_REPOSITORY}:" in trust for trust in trusts):
        raise DeployError(
            f"{stack}: its roles would trust the placeholder repository {PLACEHOLDER_REPOSITORY}: "
            "set GITHUB_REPOSITORY=<owner>/<name> (e.g. in settings.env) and deploy again"
        )


def check_boundary(stack: str, iam: Any, caller_arn: str) -> None:
    """The permissions boundary every role of an environment carries comes from the identity stack."""
    partition, account = caller_arn.split(":")[1], caller_arn.split(":")[4]
    try:
        iam.get_policy(PolicyArn=f"arn:{partition}:iam::{account}:policy/{BOUNDARY_POLICY_NAME}")
    except Exception as error:
        if error_code(error) != "NoSuchEntity":
            raise
        raise DeployError(
            f"{stack}: the pipeline's permissions boundary {BOUNDARY_POLICY_NAME} is missing: "
            f"an administrator runs make deploy STACK={IDENTITY_STACK} first (once per account)"
        ) from None


def preflight(
    doc: Mapping[str, Any],
    stack: str,
    ecr_client: Callable[[str, str | None], Any] | None = None,
    logs_client: Callable[[str, str | None], Any] | None = None,
    *,
    caller_arn: str | None = None,
    iam_client: Callable[[str, str | None], Any] | None = None,
) -> None:
    """Every check that must pass before ``stack`` is deployed; a check that only warns
    prints its line to stderr."""
    if stack == IDENTITY_STACK:
        check_identity_stack(doc, stack)
    if not is_environment_stack(doc):
        return
    for line in check_alarm_destination(doc, stack):
        print(line, file=sys.stderr)
    check_domain(doc, stack)
    region, endpoint = provider_target(doc)
    check_account_stack(stack, (logs_client or _client("logs"))(region, endpoint))
    if caller_arn is not None:
        check_boundary(stack, (iam_client or _client("iam"))(region, provider_target(doc, "iam")[1]), caller_arn)
    check_image(doc, stack, (ecr_client or _client("ecr"))(region, endpoint))


def _client(service: str) -> Callable[[str, str | None], Any]:
    """A factory of boto3 clients of ``service`` for a region and an optional emulator endpoint."""

    def make(region: str, endpoint: str | None) -> Any:
        import boto3  # type: ignore[import-untyped]

        return boto3.session.Session(region_name=region).client(service, endpoint_url=endpoint)

    return make


def cdktf(command: str, stack: str, outdir: Path, *extra: str) -> None:
    """``npx cdktf <command> <stack> --skip-synth`` on the synthesized ``outdir``."""
    approve = ["--auto-approve"] if command in ("deploy", "destroy") else []
    args = ["npx", "--no-install", "cdktf", command, stack, "--skip-synth", "--output", str(outdir), *approve, *extra]
    result = process.run_child(args, what=f"cdktf {command}", cwd=ROOT, env=cli_env())
    if result.returncode != 0:
        raise DeployError(f"cdktf {command} {stack} failed (exit {result.returncode}); see its output above")


def deploy(
    stack: str,
    outdir: Path,
    outputs_dir: Path,
    *,
    parallelism: int | None = None,
    ecr_client: Callable[[str, str | None], Any] | None = None,
    skip_provider_lock: bool = False,
    logs_client: Callable[[str, str | None], Any] | None = None,
    engine_name: str = "cdktf",
    caller_arn: str | None = None,
    account_clients: Callable[[str, str | None], account_checks.Clients] = account_checks.boto_clients,
) -> None:
    """Preflight, apply, write outputs, provision the database users, settle the service
    (see the module docstring).  ``caller_arn`` (from STS): who deploys, for the checks that
    need the account.

    ``skip_provider_lock``: no ``terraform providers lock`` after init (the CLI runs it
    against the registry; an offline run installs from a filesystem mirror only).  A
    stack aimed at an emulator (``AWS_ENDPOINT_URL``) always skips it.  ``engine_name``:
    ``cdktf`` (the CLI) or ``terraform`` (:mod:`tools.common.engine`)."""
    doc = load(outdir, stack)
    skip_provider_lock = skip_provider_lock or is_emulated(doc)
    bucket = account_checks.check_state_bucket(doc, stack, account_clients)
    preflight(doc, stack, ecr_client, logs_client, caller_arn=caller_arn)
    checked = [f"state bucket {bucket}"] if bucket else []
    if is_environment_stack(doc):
        checked.append(account_checks.account_preflight(doc, stack, account_clients))
    print(f"{stack}: preflight passed" + (f": {'; '.join(checked)}" if checked else ""), flush=True)
    outputs_dir.mkdir(parents=True, exist_ok=True)
    outputs_file = outputs_dir / "outputs.json"
    since = datetime.now(UTC) - timedelta(seconds=60)
    if engine_name == "terraform":
        engine.apply(stack, outdir, outputs_file, parallelism=parallelism)
    else:
        _cdktf_deploy(stack, outdir, outputs_file, parallelism, skip_provider_lock)
    if not is_environment_stack(doc):
        return
    flat = write_flat_outputs(outputs_file, stack, outdir / "stacks", outputs_dir / "flat-outputs.json")
    for line in db_users.run(stack, outdir / "stacks"):
        print(line)
    settle(stack, doc, str(flat["task_definition_arn"]), since)


def _cdktf_deploy(stack: str, outdir: Path, outputs_file: Path, parallelism: int | None, skip_provider_lock: bool) -> None:
    extra = ["--outputs-file", str(outputs_file), "--outputs-file-include-sensitive-outputs=false"]
    if parallelism:
        extra += ["--terraform-parallelism", str(parallelism)]
    if skip_provider_lock:
        extra.append("--skip-provider-lock")
    cdktf("deploy", stack, outdir, *extra)


def settle(stack: str, doc: Mapping[str, Any], declared_task_definition: str, since: datetime) -> None:
    """The service after the apply (see the module docstring, step 5)."""
    releaser = release.releaser_from(doc, stack)
    try:
        releaser.settle(declared_task_definition, since)
    except (release.ReleaseError, release.DeploymentFailed, release.StillRunning) as error:
        raise DeployError(f"{stack}: the service did not settle: {error}") from None


def outputs(stack: str, outdir: Path, outputs_dir: Path) -> None:
    """The outputs files of a deployed stack (``cdktf output``), without applying anything:
    what the integration tests read after a release."""
    doc = load(outdir, stack)
    outputs_dir.mkdir(parents=True, exist_ok=True)
    outputs_file = outputs_dir / "outputs.json"
    skip = ["--skip-provider-lock"] if is_emulated(doc) else []
    cdktf("output", stack, outdir, "--outputs-file", str(outputs_file), "--outputs-file-include-sensitive-outputs=false", *skip)
    if is_environment_stack(doc):
        write_flat_outputs(outputs_file, stack, outdir / "stacks", outputs_dir / "flat-outputs.json")


def destroy(stack: str, outdir: Path, *, parallelism: int | None = None, engine_name: str = "cdktf") -> None:
    """Destroy ``stack`` with the cdktf CLI or plain Terraform; then, for an environment
    stack, what releases added outside Terraform: their task definition revisions and the
    environment's release tags."""
    doc = load(outdir, stack)
    if engine_name == "terraform":
        engine.destroy(stack, outdir, parallelism=parallelism)
    else:
        extra = ["--terraform-parallelism", str(parallelism)] if parallelism else []
        cdktf("destroy", stack, outdir, *extra, *(["--skip-provider-lock"] if is_emulated(doc) else []))
    if is_environment_stack(doc):
        release.releaser_from(doc, stack).forget()


def write_flat_outputs(outputs_file: Path, stack: str, synth_dir: Path, flat_file: Path) -> dict[str, Any]:
    """``{output: value}`` of ``stack`` from the CLI's outputs file (what the integration tests read)."""
    try:
        flat = flatten(json.loads(outputs_file.read_text()), stack, output_mapping(synth_dir, stack))
    except (OSError, json.JSONDecodeError, OutputsError) as error:
        raise DeployError(f"cannot read the outputs of {stack}: {error}") from None
    write_atomically(flat_file, json.dumps(flat, indent=2, sort_keys=True) + "\n")
    return flat


#: What each shared stack holds for every environment (said when its destroy is refused).
SHARED_STACKS = {
    "order-api-state": "its bucket holds the state of every stack",
    "order-api-registry": "every environment pulls its images from it",
    "order-api-account": "its log policy lets every environment's WAF and ECS event logs be delivered",
}


def check_destroy(doc: Mapping[str, Any], stack: str, confirm: str | None) -> None:
    """A shared stack is destroyed only with its name repeated (``CONFIRM=<stack>``), as a
    standing environment's teardown is."""
    if not is_environment_stack(doc) and confirm != stack:
        what = SHARED_STACKS.get(stack, "every environment depends on it")
        raise DeployError(f"{stack} is shared ({what}): destroying it needs its name repeated, CONFIRM={stack}")


def main(argv: list[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    environ = os.environ if environ is None else environ
    parser = cli.parser("tools.ops.deploy", "Deploy or destroy one stack with the cdktf CLI or plain Terraform.")
    parser.add_argument("stack")
    parser.add_argument("--destroy", action="store_true", help="destroy the stack instead")
    parser.add_argument("--outputs-only", action="store_true", help="only write the outputs files of the deployed stack (cdktf output)")
    parser.add_argument("--skip-synth", action="store_true", help="use the stacks already in --outdir")
    parser.add_argument("--outdir", type=Path, default=default_outdir(environ), help="default: CDKTF_OUTDIR, else cdktf.out")
    parser.add_argument("--outputs-dir", type=Path, help="default: cfn-outputs beside the output directory")
    parser.add_argument("--parallelism", type=cli.number)
    parser.add_argument("--engine", type=engine.engine_name, choices=engine.ENGINES, default="cdktf", help="cdktf CLI (default) or plain terraform")
    args = parser.parse_args(argv)
    args.outputs_dir = args.outputs_dir or outputs_dir_of(args.outdir)
    problem = stack_name_problem(args.stack, "STACK")
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    try:
        with aws_errors():
            if not args.skip_synth:
                synthesize(args.outdir)
            doc = load(args.outdir, args.stack)
            if args.destroy:
                check_destroy(doc, args.stack, environ.get("CONFIRM") or None)
            caller = check_credentials(*provider_target(doc, "sts"))
            if args.destroy or args.outputs_only:
                account_checks.check_state_bucket(doc, args.stack, account_checks.boto_clients)
            if args.destroy:
                destroy(args.stack, args.outdir, parallelism=args.parallelism, engine_name=args.engine)
            elif args.outputs_only:
                outputs(args.stack, args.outdir, args.outputs_dir)
            else:
                deploy(args.stack, args.outdir, args.outputs_dir, parallelism=args.parallelism, engine_name=args.engine, caller_arn=caller)
    except SynthesisFailed as failed:
        return failed.code  # main.py has printed its one line
    except (DeployError, engine.EngineError, db_users.ProvisioningError, AwsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    process.run(main)
