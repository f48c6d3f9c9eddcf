"""``make github-vars``: the GitHub settings the workflows need, as commands ready to paste.

Reads the deployed identity stack's outputs (its role ARNs) and prints ``gh`` commands that
create each GitHub environment and set, in it, the ``AWS_ROLE_ARN`` its jobs assume, plus
the repository variables every workflow reads (``AWS_REGION``, ``TF_STATE_BUCKET``, and
``PLAN_ROLE_ARN`` for pull requests, which run in no environment).  It changes nothing;
review the lines, then run them with a ``gh`` logged in to the repository.

``--outputs-file`` reads a saved outputs file (``cfn-outputs/outputs.json``) instead of
asking Terraform.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path
from typing import Any

import main as synth_entry
from stacks import process
from stacks.config import ConfigError, build_app_config
from stacks.config.names import IDENTITY_STACK
from stacks.config.pipeline import SHARED, PipelineConfig
from tools.common import cli
from tools.common.aws_errors import AwsError, aws_errors, check_credentials
from tools.common.stack import DeployError, SynthesisFailed, default_outdir, load, outputs_dir_of, provider_target, synthesize
from tools.ops import deploy

#: What the jobs of each GitHub environment deploy, for the comment above its lines.
DEPLOYS = {SHARED: "make deploy of order-api-account and order-api-registry"}


def commands(pipeline: PipelineConfig, region: str, state_bucket: str, outputs: dict[str, Any]) -> list[str]:
    """The lines to paste: comments, ``gh api`` to create the environments, ``gh variable set``."""
    repo = shlex.quote(pipeline.repository)

    def variable(name: str, value: str, env: str | None = None) -> str:
        where = f" --env {shlex.quote(env)}" if env else ""
        return f"gh variable set {name} --repo {repo}{where} --body {shlex.quote(value)}"

    lines = [
        "# Repository variables: every workflow reads them; PLAN_ROLE_ARN is the pull requests' (no environment).",
        variable("AWS_REGION", region),
        variable("TF_STATE_BUCKET", state_bucket),
        variable("PLAN_ROLE_ARN", outputs["github_plan_role_arn"]),
    ]
    for what, env in pipeline.deploy_environments:
        lines += [
            f"# GitHub environment {env}: {DEPLOYS.get(what, f'make deploy of order-api-{what}')} (main workflow)",
            f"gh api --method PUT repos/{pipeline.repository}/environments/{env} --silent",
            variable("AWS_ROLE_ARN", outputs[f"github_{what}_deploy_role_arn"], env),
        ]
    for what, env in pipeline.release_environments:
        lines += [
            f"# GitHub environment {env}: make release and make promote to order-api-{what} (release workflow)",
            f"gh api --method PUT repos/{pipeline.repository}/environments/{env} --silent",
            variable("AWS_ROLE_ARN", outputs[f"github_{what}_release_role_arn"], env),
        ]
    lines.append("# Production environments want required reviewers: Settings -> Environments -> production, production-release.")
    return lines


def read_outputs(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
        found: dict[str, Any] = data[IDENTITY_STACK]
    except (OSError, ValueError, KeyError, TypeError):
        raise DeployError(f"{path} holds no outputs of {IDENTITY_STACK}: deploy it (make deploy STACK={IDENTITY_STACK}), then run make github-vars") from None
    return found


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser("tools.ops.github_vars", "Print the GitHub variables of each environment, ready to paste.")
    parser.add_argument("--outputs-file", type=Path, help="a saved outputs file instead of terraform's")
    args = parser.parse_args(argv)
    outdir = default_outdir()
    try:
        config = build_app_config(synth_entry.read_overrides(os.environ))
        with aws_errors():
            if args.outputs_file is None:
                synthesize(outdir)
                check_credentials(*provider_target(load(outdir, IDENTITY_STACK), "sts"))
                deploy.outputs(IDENTITY_STACK, outdir, outputs_dir_of(outdir))
            outputs = read_outputs(args.outputs_file or outputs_dir_of(outdir) / "outputs.json")
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except SynthesisFailed as failed:
        return failed.code
    except (DeployError, AwsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print("\n".join(commands(config.pipeline, config.region, config.state.bucket, outputs)))
    return 0


if __name__ == "__main__":
    process.run(main)
