"""The guards of make destroy and make teardown, at their edges, all before any AWS call."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Synthesized
from tools.common import engine
from tools.ops import deploy, teardown


def no_aws(*_: Any, **__: Any) -> Any:
    raise AssertionError("no AWS call may come before the guards")


@pytest.mark.parametrize("stack", ["order-api-state", "order-api-registry", "order-api-account"])
@pytest.mark.parametrize("confirm", [None, "", "order-api", "yes", "order-api-dev"])
def test_fails_to_destroy_a_shared_stack_without_its_name_repeated(
    synth: Synthesized, stack: str, confirm: str | None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(deploy, "check_credentials", no_aws)
    monkeypatch.setattr(deploy, "destroy", no_aws)
    environ = {} if confirm is None else {"CONFIRM": confirm}
    assert deploy.main([stack, "--destroy", "--skip-synth", "--outdir", str(synth.outdir)], environ=environ) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"error: {stack} is shared (") and err.endswith(f"CONFIRM={stack}\n")


def test_a_shared_stack_is_destroyed_with_its_name_repeated(synth: Synthesized, monkeypatch: pytest.MonkeyPatch, account_ready: list[str]) -> None:
    calls: list[str] = []
    monkeypatch.setattr(deploy, "check_credentials", lambda *a: calls.append("sts"))
    monkeypatch.setattr(deploy, "destroy", lambda stack, outdir, **kw: calls.append(f"destroy {stack} {kw['engine_name']}"))
    argv = ["order-api-registry", "--destroy", "--skip-synth", "--outdir", str(synth.outdir), "--engine", ""]
    assert deploy.main(argv, environ={"CONFIRM": "order-api-registry"}) == 0
    assert calls == ["sts", "destroy order-api-registry cdktf"]


def test_a_disposable_copy_needs_no_confirmation(synth: Synthesized, monkeypatch: pytest.MonkeyPatch, account_ready: list[str]) -> None:
    calls: list[str] = []
    monkeypatch.setattr(deploy, "check_credentials", lambda *a: calls.append("sts"))
    monkeypatch.setattr(deploy, "destroy", lambda stack, outdir, **kw: calls.append(f"destroy {stack}"))
    assert deploy.main(["order-api-dev-pr42", "--destroy", "--skip-synth", "--outdir", str(synth.outdir)], environ={}) == 0
    assert calls == ["sts", "destroy order-api-dev-pr42"]


@pytest.mark.parametrize(("given", "expected"), [("", "cdktf"), ("cdktf", "cdktf"), ("terraform", "terraform")])
def test_an_empty_engine_means_the_default(given: str, expected: str) -> None:
    assert engine.engine_name(given) == expected


@pytest.mark.parametrize("tool", [deploy, teardown])
@pytest.mark.parametrize("value", ["Terraform", "tofu", " cdktf", "cdktf\n"])
def test_fails_an_unknown_engine_in_one_line(tool: Any, value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as excinfo:
        tool.main(["order-api-dev", "--engine", value, "--skip-synth"], environ={})
    assert excinfo.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "invalid choice" in err


# ------------------------------------------------------------------------- teardown


@pytest.mark.parametrize(
    ("environ", "allowed"),
    [
        ({"CONFIRM": "order-api-prod"}, False),
        ({"CONFIRM": "order-api-prod", "ALLOW_PROD": ""}, False),
        ({"CONFIRM": "order-api-prod", "ALLOW_PROD": "1"}, True),
    ],
)
def test_prod_teardown_takes_allow_prod_1_and_nothing_less(
    synth: Synthesized, environ: dict[str, str], allowed: bool, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: dict[str, Any] = {}

    def fake(stack: str, outdir: Any, **kwargs: Any) -> teardown.Kept:
        teardown.check_request(teardown.plan_of(teardown.load(outdir, stack), stack), kwargs["confirm"], kwargs["allow_prod"])
        seen.update(kwargs)
        return teardown.Kept()

    monkeypatch.setattr(teardown, "teardown", fake)
    code = teardown.main(["order-api-prod", "--skip-synth", "--outdir", str(synth.outdir)], environ=environ)
    err = capsys.readouterr().err
    if allowed:
        assert code == 0 and seen["allow_prod"] is True
    else:
        assert code == 1 and err == "error: order-api-prod is production: set ALLOW_PROD=1 as well to tear it down\n"


@pytest.mark.parametrize("value", ["0", "no", "false", "true", "yes", " 1", "1\n", "2"])
def test_fails_any_other_allow_prod_before_anything_runs(
    synth: Synthesized, value: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(teardown, "teardown", no_aws)
    monkeypatch.setattr(teardown, "synthesize", no_aws)
    assert teardown.main(["order-api-prod"], environ={"CONFIRM": "order-api-prod", "ALLOW_PROD": value}) == 2
    assert capsys.readouterr().err == f"error: ALLOW_PROD={value!r} is invalid: 1 (tear production down) or unset\n"


@pytest.mark.parametrize("value", ["delete", "Empty", "keep\n", " keep"])
def test_fails_any_other_log_bucket_choice_before_anything_runs(value: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(teardown, "synthesize", no_aws)
    assert teardown.main(["order-api-staging"], environ={"CONFIRM": "order-api-staging", "LOG_BUCKET": value}) == 2
    assert capsys.readouterr().err.startswith(f"error: LOG_BUCKET={value!r} is invalid")


@pytest.mark.parametrize("confirm", ["order-api-staging ", "order-api-stagin", "ORDER-API-STAGING", "order-api-staging\n"])
def test_fails_a_confirmation_that_is_not_exactly_the_stack(
    synth: Synthesized, confirm: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(teardown, "check_credentials", no_aws)
    assert teardown.main(["order-api-staging", "--skip-synth", "--outdir", str(synth.outdir)], environ={"CONFIRM": confirm}) == 1
    assert "repeat its name, CONFIRM=order-api-staging" in capsys.readouterr().err
