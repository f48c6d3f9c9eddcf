"""A wrong argument to a tool is one line naming the tool, never argparse's usage block."""

from __future__ import annotations

import importlib

import pytest

TOOLS = (
    "ops.bootstrap",
    "port.cdktn_check",
    "ops.db_users",
    "ops.deploy",
    "common.flatten_outputs",
    "port.hcl_check",
    "port.hcl_export",
    "ops.release",
    "review.synth_diff",
    "ops.teardown",
)


@pytest.mark.parametrize("tool", TOOLS)
def test_fails_an_unknown_argument_in_one_line(tool: str, capsys: pytest.CaptureFixture[str]) -> None:
    module = importlib.import_module(f"tools.{tool}")
    with pytest.raises(SystemExit) as exited:
        module.main(["--no-such-option"])
    err = capsys.readouterr().err
    assert exited.value.code == 2
    assert err.startswith(f"error: python -m tools.{tool}: ") and err.endswith(" (--help lists the arguments)\n")
    assert err.count("\n") == 1 and "usage:" not in err


def test_fails_an_invalid_choice_naming_the_choices(capsys: pytest.CaptureFixture[str]) -> None:
    from tools.ops import teardown

    with pytest.raises(SystemExit):
        teardown.main(["--engine", "tofu", "order-api-staging"], environ={})
    assert capsys.readouterr().err == (
        "error: python -m tools.ops.teardown: argument --engine: invalid choice: 'tofu' (choose from 'cdktf', 'terraform') (--help lists the arguments)\n"
    )
