"""The offline synth diff: pure diff logic on fixtures, plus the git plumbing end to end."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tools.review import synth_diff
from tools.review.stateful import REPLACE_FORCING, STATEFUL_TYPES, forces_replacement
from tools.review.synth_diff import Report, changed_paths, diff_stacks, render_markdown, render_text

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"synth_diff_{name}.json").read_text())
    return data


@pytest.fixture(scope="module")
def report() -> Report:
    return diff_stacks(load("base"), load("head"))


@pytest.fixture(scope="module")
def markdown(report: Report) -> str:
    return render_markdown(report, base_label="abc1234", head_label="working tree")


def stack(report: Report, name: str) -> synth_diff.StackDiff:
    (found,) = [s for s in report.stacks if s.stack == name]
    return found


def change(report: Report, stack_name: str, address: str) -> synth_diff.ResourceChange:
    (found,) = [c for c in stack(report, stack_name).resources if c.address == address]
    return found


# -- attribute paths -----------------------------------------------------------


def test_changed_paths_are_dotted_and_ignore_metadata() -> None:
    old = {"//": {"metadata": {"path": "a"}}, "name": "x", "tags": {"a": "1"}, "list": [1, 2], "gone": True}
    new = {"//": {"metadata": {"path": "b"}}, "name": "x", "tags": {"a": "2", "b": "3"}, "list": [1, 5], "new": 1}
    assert changed_paths(old, new) == ["gone", "list.1", "new", "tags.a", "tags.b"]


def test_changed_paths_of_lists_of_different_length_name_the_list() -> None:
    assert changed_paths({"subnets": ["a"]}, {"subnets": ["a", "b"]}) == ["subnets"]


def test_replace_forcing_table_covers_every_stateful_type() -> None:
    assert set(STATEFUL_TYPES) <= set(REPLACE_FORCING)
    assert forces_replacement("aws_rds_cluster", "engine")
    assert forces_replacement("aws_ecr_repository", "encryption_configuration.0.kms_key")
    assert not forces_replacement("aws_rds_cluster", "backup_retention_period")
    assert not forces_replacement("aws_cloudwatch_log_group", "kms_key_id")


# -- the report ------------------------------------------------------------------


def test_added_resource(report: Report) -> None:
    added = stack(report, "order-api-dev").of_kind("added")
    assert [c.address for c in added] == ["aws_ecs_service.service_service_2A3B4C5D", "aws_kms_key.encryption_logs_key_8C9D0E1F"]
    assert not any(c.destructive for c in added)


def test_removed_stateful_resource_is_destructive(report: Report) -> None:
    removed = change(report, "order-api-dev", "aws_s3_bucket.artifacts_bucket_5E6F7A8B")
    assert removed.kind == "removed"
    assert removed.destructive


def test_removed_stateless_resource_is_not_destructive(report: Report) -> None:
    removed = change(report, "order-api-dev", "aws_security_group.legacy_sg_0A1B2C3D")
    assert removed.kind == "removed"
    assert not removed.destructive


def test_renamed_construct_id_is_recognised(report: Report) -> None:
    removed = change(report, "order-api-dev", "aws_kms_key.logs_key_4E5F6A7B")
    assert removed.renamed_to == "aws_kms_key.encryption_logs_key_8C9D0E1F"
    assert removed.destructive


def test_changed_resource_lists_paths_and_ignores_metadata(report: Report) -> None:
    lb = change(report, "order-api-dev", "aws_lb.alb_lb_9C0D1E2F")
    assert lb.paths == ("idle_timeout", "subnets.2")
    assert not lb.destructive


def test_replace_forcing_change_of_stateful_resource(report: Report) -> None:
    cluster = change(report, "order-api-dev", "aws_rds_cluster.database_cluster_1A2B3C4D")
    assert cluster.paths == ("backup_retention_period", "engine")
    assert cluster.replace_paths == ("engine",)
    assert cluster.destructive


def test_data_sources_unchanged_are_not_reported(report: Report) -> None:
    assert not [c for c in stack(report, "order-api-dev").resources if c.is_data_source]


def test_outputs_and_settings(report: Report) -> None:
    dev = stack(report, "order-api-dev")
    assert dev.outputs == (("alb_dns_name", "added"), ("legacy_sg_id", "removed"), ("vpc_id", "changed"))
    assert dev.settings == ("terraform.backend.s3.use_lockfile",)


def test_unchanged_and_added_stacks(report: Report) -> None:
    assert stack(report, "order-api-prod").status == "unchanged"
    assert stack(report, "order-api-prod").resources == ()
    assert stack(report, "order-api-dev-pr42").status == "added"


def test_identical_inputs_report_no_changes() -> None:
    base = load("base")
    report = diff_stacks(base, json.loads(json.dumps(base)))
    assert not report.has_changes
    assert report.destructive == []
    text = render_markdown(report, base_label="a", head_label="b")
    assert "No changes in the synthesized stacks." in text
    assert "**" not in text


# -- markdown --------------------------------------------------------------------


def test_markdown_flags_destructive_lines_in_bold(markdown: str) -> None:
    bold = [line for line in markdown.splitlines() if line.startswith("- **")]
    assert len(bold) == 3, markdown
    assert any("`aws_rds_cluster.database_cluster_1A2B3C4D`: REPLACED" in line and "`engine`" in line for line in bold)
    assert any("`aws_s3_bucket.artifacts_bucket_5E6F7A8B`: stateful, deleting it destroys its data" in line for line in bold)
    assert any("`aws_kms_key.logs_key_4E5F6A7B`" in line and "`moved` block" in line for line in bold)
    assert "**3 destructive change(s)" in markdown


def test_markdown_lists_plain_changes_without_bold(markdown: str) -> None:
    assert "- `aws_lb.alb_lb_9C0D1E2F`: `idle_timeout`, `subnets.2`" in markdown
    assert "- `aws_security_group.legacy_sg_0A1B2C3D`" in markdown
    assert "- `aws_ecs_service.service_service_2A3B4C5D`" in markdown
    assert "### `order-api-prod`: no changes" in markdown
    assert "### `order-api-dev`: 2 added, 3 removed, 2 changed" in markdown
    assert "Outputs: added `alb_dns_name`, removed `legacy_sg_id`, changed `vpc_id`" in markdown
    assert "## Synth diff: `abc1234` -> `working tree`" in markdown


def test_replace_forcing_change_of_load_balancer_is_flagged() -> None:
    base = {"s": {"resource": {"aws_lb": {"alb": {"name": "a", "internal": False}}}}}
    head = {"s": {"resource": {"aws_lb": {"alb": {"name": "a", "internal": True}}}}}
    text = render_markdown(diff_stacks(base, head), base_label="a", head_label="b")
    assert "- **`aws_lb.alb`: REPLACED (clients see a new resource): `internal` forces a new resource**" in text


def test_markdown_is_truncated_for_a_comment() -> None:
    head = {"s": {"resource": {"aws_sqs_queue": {f"q{i:04d}": {"name": f"q{i}"} for i in range(3000)}}}}
    text = render_markdown(diff_stacks({"s": {}}, head), base_label="a", head_label="b", max_chars=5000)
    assert len(text) <= 5000
    assert text.rstrip().endswith("(truncated: run `make diff` locally for the full report)")


def test_text_summary_names_each_change(report: Report) -> None:
    text = render_text(report)
    assert "order-api-dev: changed aws_rds_cluster.database_cluster_1A2B3C4D (backup_retention_period, engine) [DESTRUCTIVE]" in text
    assert "order-api-dev-pr42: stack added" in text
    assert "order-api-prod" not in text


# -- plumbing ----------------------------------------------------------------------


def write_stacks(stacks: dict[str, Any], root: Path) -> Path:
    for name, doc in stacks.items():
        (root / name).mkdir(parents=True)
        (root / name / "cdk.tf.json").write_text(json.dumps(doc))
    return root


def test_cli_compares_two_synthesized_folders(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = write_stacks(load("base"), tmp_path / "base")
    head = write_stacks(load("head"), tmp_path / "head")
    assert synth_diff.main(["--base-dir", str(base), "--head-dir", str(head)]) == 0
    out = capsys.readouterr().out
    assert "**3 destructive change(s)" in out
    assert "### `order-api-dev-pr42`: new stack (1 resources)" in out


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


#: ``main.py`` of a throwaway project: writes the stacks in ``stacks.json`` where cdktf would.
FAKE_MAIN = """
import json, os, pathlib
out = pathlib.Path(os.environ.get("CDKTF_OUTDIR") or "cdktf.out") / "stacks"
for name, doc in json.loads(pathlib.Path("stacks.json").read_text()).items():
    (out / name).mkdir(parents=True, exist_ok=True)
    (out / name / "cdk.tf.json").write_text(json.dumps(doc))
"""


def commit_stacks(repo: Path, stacks: dict[str, Any], message: str) -> str:
    (repo / "stacks.json").write_text(json.dumps(stacks))
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=ci", "-c", "user.email=ci@example.invalid", "commit", "--quiet", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def new_repo(path: Path, main_py: str) -> Path:
    """A git repository at ``path`` holding ``main_py`` as its ``main.py`` (nothing committed)."""
    if shutil.which("git") is None:
        pytest.skip("needs git")
    path.mkdir()
    git(path, "init", "--quiet", "--initial-branch=main")
    (path / "main.py").write_text(main_py)
    return path


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A throwaway repository whose ``main.py`` writes ``stacks.json`` out as synthesized stacks."""
    path = new_repo(tmp_path / "repo", FAKE_MAIN)
    commit_stacks(path, load("base"), "base")
    return path


def test_default_base_is_the_merge_base_with_main(repo: Path) -> None:
    main_tip = git(repo, "rev-parse", "HEAD")
    assert synth_diff.default_base(repo) == main_tip  # on main itself: the working tree against HEAD
    git(repo, "checkout", "--quiet", "-b", "feature")
    commit_stacks(repo, load("head"), "feature")
    git(repo, "checkout", "--quiet", "main")
    commit_stacks(repo, {}, "main moves on")
    git(repo, "checkout", "--quiet", "feature")
    assert synth_diff.default_base(repo) == main_tip


def test_default_base_falls_back_to_the_parent_without_main(repo: Path) -> None:
    first = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "--quiet", "--detach")
    git(repo, "branch", "--quiet", "-D", "main")
    assert synth_diff.default_base(repo) == first  # a single commit: HEAD itself
    commit_stacks(repo, load("head"), "second")
    assert synth_diff.default_base(repo) == first  # HEAD~1 (e.g. the base side of a pull request merge commit)


def test_end_to_end_base_revision_against_working_tree(repo: Path) -> None:
    (repo / "stacks.json").write_text(json.dumps(load("head")))  # uncommitted change
    proc = subprocess.run(
        [sys.executable, "-m", "tools.review.synth_diff", "--repo", str(repo)],
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if k != "CDKTF_OUTDIR"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    short = git(repo, "rev-parse", "--short", "HEAD")
    assert f"## Synth diff: `{short}` -> `working tree`" in proc.stdout
    assert "**3 destructive change(s)" in proc.stdout
    assert "- **`aws_rds_cluster.database_cluster_1A2B3C4D`: REPLACED" in proc.stdout
    assert not (repo / "cdktf.out").exists()  # both sides synthesized into scratch folders
    assert git(repo, "status", "--porcelain") == "M stacks.json"


def test_end_to_end_reports_a_broken_base_cleanly(repo: Path) -> None:
    (repo / "main.py").write_text("raise SystemExit('boom')\n")
    commit_stacks(repo, load("base"), "broken")
    proc = subprocess.run(
        [sys.executable, "-m", "tools.review.synth_diff", "--repo", str(repo), "--base", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: synthesis in base failed")
    assert proc.stdout == ""


def _cluster(version: str) -> dict[str, Any]:
    return {"resource": {"aws_rds_cluster": {"db": {"engine": "aurora-mysql", "engine_version": version}}}}


@pytest.mark.parametrize(
    ("before", "after", "downgrade"),
    [
        ("8.0.mysql_aurora.3.08.2", "8.0.mysql_aurora.3.05.2", True),
        ("8.0.mysql_aurora.3.08.2", "8.0.mysql_aurora.3.08.1", True),
        ("8.0.mysql_aurora.3.08.2", "8.0.mysql_aurora.3.10.0", False),
        ("8.0.mysql_aurora.3.08.2", "8.0", False),  # a prefix widens the pin: no downgrade
        ("8.0", "8.0.mysql_aurora.3.08.2", False),
        ("8.4.mysql_aurora.4.00.0", "8.0.mysql_aurora.3.10.0", True),
    ],
)
def test_engine_version_going_down_is_a_bold_downgrade(before: str, after: str, downgrade: bool) -> None:
    report = diff_stacks({"s": _cluster(before)}, {"s": _cluster(after)})
    (change,) = report.stacks[0].resources
    assert (change.downgrade is not None) is downgrade
    assert change.destructive is downgrade
    markdown = render_markdown(report, base_label="base", head_label="head")
    line = next(line for line in markdown.splitlines() if "aws_rds_cluster.db" in line)
    if downgrade:
        assert line == (
            f"- **`aws_rds_cluster.db`: engine_version {before} -> {after} is a DOWNGRADE: "
            "AWS cannot downgrade an engine; the apply fails or replaces the database**"
        )
    else:
        assert "**" not in line and "`engine_version`" in line


def test_engine_version_of_other_types_is_not_judged() -> None:
    old = {"resource": {"aws_elasticache_cluster": {"c": {"engine_version": "7.1"}}}}
    new = {"resource": {"aws_elasticache_cluster": {"c": {"engine_version": "6.2"}}}}
    (change,) = diff_stacks({"s": old}, {"s": new}).stacks[0].resources
    assert change.downgrade is None


def test_a_removed_block_keeps_a_stateful_resource_out_of_the_bold_lines() -> None:
    old = {"resource": {"aws_ecr_repository": {"repo": {"name": "order-api-dev"}}}}
    new: dict[str, Any] = {"resource": {}, "removed": [{"from": "aws_ecr_repository.repo", "lifecycle": {"destroy": False}}]}
    report = diff_stacks({"s": old}, {"s": new})
    (change,) = report.stacks[0].resources
    assert change.forgotten and not change.destructive
    text = render_markdown(report, base_label="a", head_label="b")
    assert "- `aws_ecr_repository.repo`: leaves the state and stays in the account (a `removed` block with destroy = false)" in text
    assert "**" not in text.split("\n", 3)[2]
    destroyed = {"resource": {}, "removed": [{"from": "aws_ecr_repository.repo", "lifecycle": {"destroy": True}}]}
    (change,) = diff_stacks({"s": old}, {"s": destroyed}).stacks[0].resources
    assert change.destructive


#: ``main.py`` of a throwaway project that, like the real one, reads AWS_REGION from the
#: environment, else from settings.env, and writes it into its one stack.
SETTINGS_MAIN = """
import json, os, pathlib
def setting(name, default):
    if name in os.environ:
        return os.environ[name] or default
    path = pathlib.Path("settings.env")
    for line in path.read_text().splitlines() if path.is_file() else []:
        key, _, value = line.partition("=")
        if key.strip() == name and value.strip():
            return value.strip()
    return default
out = pathlib.Path(os.environ.get("CDKTF_OUTDIR") or "cdktf.out") / "stacks" / "order-api-dev"
out.mkdir(parents=True, exist_ok=True)
region = setting("AWS_REGION", "us-east-1")
cluster = {"engine": "aurora-mysql", "availability_zones": [region + "a"]}
doc = {"provider": {"aws": [{"region": region}]}, "resource": {"aws_rds_cluster": {"db": cluster}}}
(out / "cdk.tf.json").write_text(json.dumps(doc))
"""


@pytest.fixture
def settings_repo(tmp_path: Path) -> Path:
    """A throwaway repository whose ``main.py`` reads AWS_REGION like the real one; settings.env is git-ignored."""
    path = new_repo(tmp_path / "settings-repo", SETTINGS_MAIN)
    (path / ".gitignore").write_text("settings.env\n")
    git(path, "add", "-A")
    git(path, "-c", "user.name=ci", "-c", "user.email=ci@example.invalid", "commit", "--quiet", "-m", "base")
    return path


def run_diff(repo: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k != "CDKTF_OUTDIR"} | env
    return subprocess.run(
        [sys.executable, "-m", "tools.review.synth_diff", "--repo", str(repo)], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=60, check=False
    )


def test_a_changed_settings_file_is_no_difference_in_the_code(settings_repo: Path) -> None:
    """After a bootstrap to another region: base and head both read the same settings."""
    (settings_repo / "settings.env").write_text("# after a bootstrap to another region\r\nAWS_REGION=eu-west-1\r\n")
    proc = run_diff(settings_repo)
    assert proc.returncode == 0, proc.stderr
    assert "No changes in the synthesized stacks." in proc.stdout, proc.stdout
    assert "aws_rds_cluster.db" not in proc.stdout


def test_a_variable_in_the_environment_applies_to_both_sides(settings_repo: Path) -> None:
    (settings_repo / "settings.env").write_text("AWS_REGION=eu-west-1\n")
    proc = run_diff(settings_repo, AWS_REGION="eu-west-2")
    assert proc.returncode == 0, proc.stderr
    assert "No changes in the synthesized stacks." in proc.stdout, proc.stdout


def test_the_settings_are_read_once_for_both_synths(tmp_path: Path) -> None:
    (tmp_path / "settings.env").write_text("AWS_REGION=eu-west-1\nTF_STATE_BUCKET=acme-state\n")
    env = synth_diff.synth_environment(tmp_path, {"PATH": "/bin", "TF_STATE_BUCKET": "", "IMAGE_TAG": "1.2.3"})
    assert (env["AWS_REGION"], env["TF_STATE_BUCKET"], env["IMAGE_TAG"], env["ENVIRONMENT_SUFFIX"], env["PATH"]) == ("eu-west-1", "", "1.2.3", "", "/bin")


def test_fails_an_unreadable_settings_file_with_one_line(settings_repo: Path) -> None:
    (settings_repo / "settings.env").write_bytes(b"AWS_REGION=eu-west-1\n# caf\xe9\n")
    proc = run_diff(settings_repo)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "error: settings.env line 2=b'# caf\\xe9' is invalid: UTF-8 text (this line is in another encoding: save the file as UTF-8)"
    ]


@pytest.mark.parametrize("base", ["--output=/tmp/x", "-h", "", "no-such-ref", "HEAD~99"])
def test_fails_a_base_that_is_not_a_commit(repo: Path, base: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert synth_diff.main(["--repo", str(repo), f"--base={base}"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: --base {base!r}: not a")
    assert not list(repo.parent.glob("x"))


def test_make_passes_stack_and_base_as_arguments_never_as_command_text() -> None:
    if shutil.which("make") is None:
        pytest.skip("needs make")
    hostile = "x; touch pwned #"
    for target, variable in (("deploy", "STACK"), ("destroy", "STACK"), ("db-users", "STACK"), ("diff", "BASE")):
        proc = subprocess.run(["make", "-n", target, f"{variable}={hostile}"], cwd=ROOT, capture_output=True, text=True, check=False)
        assert "touch pwned" not in proc.stdout, (target, proc.stdout)
        assert f'"$${variable}"'.replace("$$", "$") in proc.stdout or f'"--base=${variable}"' in proc.stdout, (target, proc.stdout)


def test_make_passes_command_line_values_as_typed() -> None:
    """make expands $(...) and ${...} in a command-line variable it exports, unless told not to."""
    if shutil.which("make") is None:
        pytest.skip("needs make")
    from stacks.config import OVERRIDE_VARIABLES

    inputs = re.search(r"^INPUTS := (.*?)\n\$\(foreach", (ROOT / "Makefile").read_text(), re.M | re.S)
    assert inputs is not None
    assert set(OVERRIDE_VARIABLES) | {"STACK", "BASE", "REPOINT_STATE", "FUZZ_SEED", "FUZZ_EXAMPLES"} <= set(inputs[1].replace("\\", " ").split())
    probe = 'probe: ; @printf "%s|%s|%s" "$$AWS_REGION" "$$STACK" "$$ALARM_HTTPS_ENDPOINTS"'
    values = ["AWS_REGION=a$(shell echo ran)b", "STACK=${file >pwned,x}", "ALARM_HTTPS_ENDPOINTS=https://h/${x}"]
    proc = subprocess.run(["make", "-s", "--eval", probe, "probe", *values], cwd=ROOT, capture_output=True, text=True, check=False)
    assert proc.stdout == "a$(shell echo ran)b|${file >pwned,x}|https://h/${x}", proc.stdout + proc.stderr
    assert not (ROOT / "pwned").exists()


# ------------------------------------------------------------ what ECS owns on a live service

GOLDEN_DEV = ROOT / "tests" / "golden" / "order-api-dev.json"


def _planted(change: Any) -> tuple[Report, str]:
    """The golden dev stack against a copy with one planted change; the report and its markdown."""
    base = json.loads(GOLDEN_DEV.read_text())
    head = json.loads(GOLDEN_DEV.read_text())
    change(head["resource"])
    report = diff_stacks({"order-api-dev": base}, {"order-api-dev": head})
    return report, render_markdown(report, base_label="main", head_label="branch")


def _blue(resources: dict[str, Any]) -> dict[str, Any]:
    """The blue target group's body, to change in place."""
    (body,) = [b for name, b in resources["aws_lb_target_group"].items() if "blue" in name]
    found: dict[str, Any] = body
    return found


def test_a_target_group_replaced_under_what_ecs_owns_is_flagged() -> None:
    """A new port replaces the blue target group, which the listener rules' forwards and the
    service's load balancers still name (both left to ECS): the old one stays in use."""
    report, markdown = _planted(lambda r: _blue(r).update(port=9090))
    ((_, change),) = report.blocked
    assert change.resource_type == "aws_lb_target_group" and change.replace_paths == ("port",)
    assert any(h.startswith("aws_ecs_service.") and h.endswith(".load_balancer") for h in change.held_by)
    assert any(h.startswith("aws_lb_listener_rule.") and h.endswith(".action") for h in change.held_by)
    assert "cannot apply while ECS owns the load balancer settings" in markdown and "REPLACED while" in markdown and "the apply fails" in markdown


def test_a_change_under_ignore_changes_is_not_applied_and_says_so() -> None:
    def plant(resources: dict[str, Any]) -> None:
        service = next(iter(resources["aws_ecs_service"].values()))
        service["load_balancer"][0]["container_port"] = 9090
        service["desired_count"] = 4  # also ignored
        service["enable_execute_command"] = not service.get("enable_execute_command", False)  # applied

    report, markdown = _planted(plant)
    ((_, change),) = report.blocked
    assert change.ignored_paths == ("desired_count", "load_balancer.0.container_port")
    assert "NOT APPLIED: `desired_count`, `load_balancer.0.container_port` is under lifecycle.ignore_changes" in markdown
    assert "applied: `enable_execute_command`" in markdown


def test_a_listener_rules_forward_is_ecss() -> None:
    def plant(resources: dict[str, Any]) -> None:
        rule = next(iter(resources["aws_lb_listener_rule"].values()))
        rule["action"][0]["forward"]["target_group"][0]["weight"] = 50

    report, _ = _planted(plant)
    assert [c.ignored_paths[0].split(".")[0] for _, c in report.blocked] == ["action"]


def test_an_ordinary_change_of_the_same_resources_is_not_flagged() -> None:
    report, markdown = _planted(lambda r: _blue(r).update(deregistration_delay="45"))
    assert report.blocked == [] and "cannot apply" not in markdown


def test_a_base_revision_with_links_out_of_its_tree_is_exported_without_them(tmp_path: Path) -> None:
    """A link to an absolute path or out of the tree is left out of the export (nothing is
    written through it); the files and the links inside the tree are exported."""
    repo, outside = tmp_path / "repo", tmp_path / "outside"
    repo.mkdir()
    outside.mkdir()
    (repo / "main.py").write_text("print('base')\n")
    (repo / "inside").symlink_to("main.py")
    (repo / "absolute").symlink_to(outside)
    (repo / "climbing").symlink_to("../outside")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"]
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "base"], cwd=repo, check=True)
    dest = tmp_path / "work" / "base"
    dest.parent.mkdir()
    synth_diff.export_revision("HEAD", dest, cwd=repo)
    assert (dest / "main.py").read_text() == "print('base')\n"
    assert (dest / "inside").is_symlink() and (dest / "inside").read_text() == "print('base')\n"
    assert not os.path.lexists(dest / "absolute") and not os.path.lexists(dest / "climbing")
    assert list(outside.iterdir()) == [] and sorted(p.name for p in dest.parent.iterdir()) == ["base"]
