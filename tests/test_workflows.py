"""GitHub Actions workflows: valid against the workflow schema, and shaped as docs/deploying.md and docs/releasing.md say."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

from tests.conftest import ROOT
from tools.review.pr_comment import MARKER, parse_sections, upsert_section

WORKFLOWS = ROOT / ".github" / "workflows"
CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"


def load(name: str) -> dict[Any, Any]:
    data: dict[Any, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    return data


def triggers(workflow: dict[Any, Any]) -> Any:
    # YAML 1.1 reads the bare key `on` as the boolean True.
    return workflow.get("on", workflow.get(True))


def run_commands(job: dict[str, Any]) -> list[str]:
    return [step["run"] for step in job["steps"] if "run" in step]


def uses(job: dict[str, Any]) -> list[str]:
    return [step["uses"] for step in job["steps"] if "uses" in step]


#: The domain variables of one environment, without its prefix (STAGING_, PROD_).
DOMAIN_SETTINGS = ("DOMAIN_NAME", "HOSTED_ZONE", "CERTIFICATE_ARN")


@pytest.fixture(scope="module")
def pr() -> dict[str, Any]:
    return load("pull-request.yml")


@pytest.fixture(scope="module")
def main_wf() -> dict[str, Any]:
    return load("main.yml")


def test_workflows_are_valid_against_the_schema() -> None:
    files = sorted(str(p) for p in WORKFLOWS.glob("*.yml"))
    assert len(files) >= 2
    # The schema is bundled with check-jsonschema: no network.
    proc = subprocess.run([str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.github-workflows", *files], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_action_is_pinned_to_a_full_commit_with_its_release_in_a_comment() -> None:
    for path in WORKFLOWS.glob("*.yml"):
        for job in load(path.name)["jobs"].values():
            for action in uses(job):
                assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", action), f"{path.name}: {action} is not pinned to a commit"
        for line in path.read_text().splitlines():
            if "uses:" in line:
                assert re.search(r"@[0-9a-f]{40} # v\d+\.\d+\.\d+$", line), f"{path.name}: {line.strip()} names no release"


def test_one_action_one_commit_across_the_workflows() -> None:
    pins: dict[str, set[str]] = {}
    for path in WORKFLOWS.glob("*.yml"):
        for job in load(path.name)["jobs"].values():
            for action in uses(job):
                name, _, sha = action.partition("@")
                pins.setdefault(name, set()).add(sha)
    assert {name: len(shas) for name, shas in pins.items() if len(shas) > 1} == {}


def test_no_checkout_keeps_its_credentials() -> None:
    for path in WORKFLOWS.glob("*.yml"):
        for job in load(path.name)["jobs"].values():
            for step in job["steps"]:
                if step.get("uses", "").startswith("actions/checkout@"):
                    assert step.get("with", {}).get("persist-credentials") is False, path.name


def test_every_job_says_its_permissions() -> None:
    for path in WORKFLOWS.glob("*.yml"):
        for name, job in load(path.name)["jobs"].items():
            assert job.get("permissions", {}).get("contents") == "read", (path.name, name)
            assert set(job["permissions"]) <= {"contents", "id-token", "pull-requests"}, (path.name, name)


def test_zizmor_finds_nothing_at_medium_or_higher() -> None:
    zizmor = Path(sys.executable).parent / "zizmor"
    proc = subprocess.run([str(zizmor), "--offline", "--min-severity", "medium", "--no-progress", str(WORKFLOWS)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No findings to report" in proc.stdout + proc.stderr


def test_zizmor_finds_a_planted_unpinned_action_and_persisted_credentials(tmp_path: Path) -> None:
    planted = tmp_path / ".github" / "workflows" / "planted.yml"
    planted.parent.mkdir(parents=True)
    checkout = "      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2\n        with:\n          persist-credentials: false\n"
    text = (WORKFLOWS / "main.yml").read_text()
    assert checkout in text
    planted.write_text(text.replace(checkout, "      - uses: actions/checkout@v4\n", 1))
    zizmor = Path(sys.executable).parent / "zizmor"
    proc = subprocess.run(
        [str(zizmor), "--offline", "--min-severity", "medium", "--no-progress", str(planted.parent)], capture_output=True, text=True, check=False
    )
    assert proc.returncode != 0
    assert "unpinned-uses" in proc.stdout and "artipacked" in proc.stdout


def test_default_permissions_are_read_only() -> None:
    for path in WORKFLOWS.glob("*.yml"):
        assert load(path.name)["permissions"] == {"contents": "read"}, path.name


def test_pull_request_workflow_tests_and_diffs(pr: dict[str, Any]) -> None:
    assert "pull_request" in triggers(pr)
    test = pr["jobs"]["test"]
    checkout = next(s for s in test["steps"] if s.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["fetch-depth"] == 0  # the merge base must be reachable
    python = next(s for s in test["steps"] if s.get("uses", "").startswith("actions/setup-python@"))
    assert python["with"]["python-version"] == "3.11" and python["with"]["cache"] == "pip"
    node = next(s for s in test["steps"] if s.get("uses", "").startswith("actions/setup-node@"))
    assert node["with"]["node-version"] == "20" and node["with"]["cache"] == "npm"
    commands = run_commands(test)
    assert "make test" in commands
    assert any(c.startswith("make --silent diff") and "> synth-diff.md" in c for c in commands)
    diff = next(s for s in test["steps"] if s.get("run", "").startswith("make --silent diff"))
    assert diff["env"]["BASE"] == "${{ github.event.pull_request.base.sha }}"  # never pasted into the script
    assert ".ci/pr-comment synth-diff synth-diff.md" in commands
    upload = next(s for s in test["steps"] if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["with"]["path"].rstrip("/") == "cdktf.out"


def test_plan_job_runs_only_with_the_plan_role(pr: dict[str, Any]) -> None:
    plan = pr["jobs"]["plan"]
    assert "vars.PLAN_ROLE_ARN != ''" in plan["if"]
    assert "environment" not in plan  # a pull request's token has the subject repo:<repo>:pull_request
    assert plan["permissions"]["id-token"] == "write"
    assert plan["needs"] == "test"
    aws = next(s for s in plan["steps"] if s.get("uses", "").startswith("aws-actions/configure-aws-credentials@"))
    assert aws["with"]["role-to-assume"] == "${{ vars.PLAN_ROLE_ARN }}"
    assert aws["with"]["role-duration-seconds"] == 3600
    assert "aws-access-key-id" not in aws["with"]
    assert any(u.startswith("hashicorp/setup-terraform@") for u in uses(plan))
    commands = run_commands(plan)
    assert ".ci/plan plan-summary.md" in commands
    assert ".ci/pr-comment plan plan-summary.md" in commands


def test_every_stack_is_validated_by_the_real_provider_without_credentials(pr: dict[str, Any]) -> None:
    validate = pr["jobs"]["validate"]
    assert validate["needs"] == "test"
    assert validate["permissions"] == {"contents": "read"}  # no OIDC token, no AWS
    assert ".ci/validate" in run_commands(validate)
    terraform = next(s for s in validate["steps"] if s.get("uses", "").startswith("hashicorp/setup-terraform@"))
    assert terraform["with"]["terraform_version"] == "1.10.5"
    artifact = next(s for s in validate["steps"] if s.get("uses", "").startswith("actions/download-artifact@"))
    assert artifact["with"]["name"] == "cdktf.out"
    script = (ROOT / ".ci" / "validate").read_text()
    assert "init -backend=false" in script and "validate -no-color" in script
    assert "for dir in cdktf.out/stacks/*/" in script


def test_telemetry_is_off_in_every_workflow(pr: dict[str, Any], main_wf: dict[str, Any]) -> None:
    assert pr["env"]["CHECKPOINT_DISABLE"] == main_wf["env"]["CHECKPOINT_DISABLE"] == "1"


def test_plan_script_is_read_only() -> None:
    script = (ROOT / ".ci" / "plan").read_text()
    assert "plan -input=false -no-color -lock=false" in script
    assert "apply" not in script


def test_only_the_jobs_that_need_it_get_an_oidc_token(pr: dict[str, Any], main_wf: dict[str, Any]) -> None:
    with_token = {name for wf in (pr, main_wf) for name, job in wf["jobs"].items() if job.get("permissions", {}).get("id-token") == "write"}
    assert with_token == {"plan", "deploy-shared", "deploy-staging", "deploy-prod"}


def test_each_job_assumes_the_role_of_its_purpose_for_no_longer_than_it_runs() -> None:
    """Deploy jobs run in the deploy environments, release jobs in the release ones; each role is
    the environment's AWS_ROLE_ARN, and its session no longer than the job's timeout allows."""
    from stacks.config.pipeline import DEFAULT_DEPLOY_ENVIRONMENTS, DEFAULT_RELEASE_ENVIRONMENTS

    expected = {
        ("main.yml", "deploy-shared"): dict(DEFAULT_DEPLOY_ENVIRONMENTS)["shared"],
        ("main.yml", "deploy-staging"): dict(DEFAULT_DEPLOY_ENVIRONMENTS)["staging"],
        ("main.yml", "deploy-prod"): dict(DEFAULT_DEPLOY_ENVIRONMENTS)["prod"],
        ("release.yml", "dev"): dict(DEFAULT_RELEASE_ENVIRONMENTS)["dev"],
        ("release.yml", "staging"): dict(DEFAULT_RELEASE_ENVIRONMENTS)["staging"],
        ("release.yml", "prod"): dict(DEFAULT_RELEASE_ENVIRONMENTS)["prod"],
    }
    for (name, job_name), environment in expected.items():
        job = load(name)["jobs"][job_name]
        assert job["environment"] == environment
        aws = next(s for s in job["steps"] if s.get("uses", "").startswith("aws-actions/configure-aws-credentials@"))
        assert aws["with"]["role-to-assume"] == "${{ vars.AWS_ROLE_ARN }}"
        assert job["timeout-minutes"] * 60 <= aws["with"]["role-duration-seconds"] <= 7200


def test_main_workflow_deploys_staging_then_production(main_wf: dict[str, Any]) -> None:
    assert triggers(main_wf)["push"]["branches"] == ["main"]
    jobs = main_wf["jobs"]
    assert "make test" in run_commands(jobs["test"])
    shared, staging, prod = jobs["deploy-shared"], jobs["deploy-staging"], jobs["deploy-prod"]
    assert (shared["needs"], staging["needs"]) == ("test", "deploy-shared")
    assert staging["environment"] == "staging"
    assert run_commands(shared) == ["make deploy STACK=order-api-account", "make deploy STACK=order-api-registry"]
    assert run_commands(staging)[0] == "make deploy STACK=order-api-staging"
    for job, env in ((staging, "STAGING"), (prod, "PROD")):
        deploy = next(s for s in job["steps"] if s.get("run", "") in ("make deploy STACK=order-api-staging", "make deploy STACK=order-api-prod"))
        channels = {f"{channel}_{what}" for channel in ("ALARM", "TICKET") for what in ("EMAILS", "HTTPS_ENDPOINTS", "TOPIC_ARN")}
        assert set(deploy["env"]) == {"IMAGE_TAG", *channels, *(f"{env}_{name}" for name in DOMAIN_SETTINGS)}
        # The GitHub environment's own domain settings reach the stack of that environment.
        assert [deploy["env"][f"{env}_{name}"] for name in DOMAIN_SETTINGS] == [f"${{{{ vars.{name} }}}}" for name in DOMAIN_SETTINGS]
    assert prod["needs"] == "deploy-staging"
    assert prod["environment"] == "production"
    assert "make deploy STACK=order-api-prod" in run_commands(prod)
    assert main_wf["concurrency"]["cancel-in-progress"] is False  # never cancel a running deploy


def test_comment_sections_are_replaced_and_kept() -> None:
    body = upsert_section("", "plan", "## Terraform plan\nold")
    body = upsert_section(body, "synth-diff", "## Synth diff\none")
    body = upsert_section(body, "plan", "## Terraform plan\nnew")
    assert body.startswith(MARKER + "\n")
    assert parse_sections(body) == {"synth-diff": "## Synth diff\none", "plan": "## Terraform plan\nnew"}
    assert body.index("begin:synth-diff") < body.index("begin:plan")
    assert body.count(MARKER) == 1


def test_the_release_workflow_ships_one_digest_through_the_environments() -> None:
    workflow = load("release.yml")
    on = triggers(workflow)
    # Dispatched, never called: a called workflow would check out and act as the caller's repository.
    assert set(on) == {"workflow_dispatch"}
    assert all(on[t]["inputs"]["digest"]["required"] is True for t in on)
    jobs = workflow["jobs"]
    assert (jobs["staging"]["needs"], jobs["prod"]["needs"]) == ("dev", "staging")
    assert [jobs[j]["environment"] for j in ("dev", "staging", "prod")] == ["dev-release", "staging-release", "production-release"]
    assert run_commands(jobs["dev"])[1] == 'make release STACK=order-api-dev IMAGE="$DIGEST"'
    assert run_commands(jobs["staging"])[0] == 'make promote FROM=order-api-dev TO=order-api-staging EXPECT="$DIGEST"'
    assert run_commands(jobs["prod"])[0] == 'make promote FROM=order-api-staging TO=order-api-prod EXPECT="$DIGEST"'
    for job in jobs.values():
        assert any("pytest tests/integration" in command for command in run_commands(job))


def test_the_release_workflow_never_runs_its_input_as_code() -> None:
    workflow = load("release.yml")
    assert workflow["env"]["DIGEST"] == "${{ inputs.digest }}"
    commands = [command for job in workflow["jobs"].values() for command in run_commands(job)]
    assert not any("${{" in command for command in commands)
    check = run_commands(workflow["jobs"]["dev"])[0]
    pattern = re.search(r"=~ (\S+) \]\]", check)
    assert pattern is not None
    assert re.fullmatch(pattern[1], "sha256:" + "0" * 64) and not re.fullmatch(pattern[1], "sha256:$(id)" + "0" * 58)


@pytest.mark.parametrize("name", ["pull-request.yml", "main.yml", "release.yml"])
def test_every_workflow_synthesizes_against_the_same_state_and_region(name: str) -> None:
    env = load(name)["env"]
    assert (env["AWS_REGION"], env["TF_STATE_BUCKET"]) == ("${{ vars.AWS_REGION }}", "${{ vars.TF_STATE_BUCKET }}")
