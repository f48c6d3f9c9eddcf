"""The provider loader imports only what the project uses."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT

PROBE = """
import json, sys
import stacks.aws as aws
loaded = sorted(m for m in sys.modules if m.startswith("cdktf_cdktf_provider_aws."))
from stacks.aws import vpc
root = sys.modules["cdktf_cdktf_provider_aws"]
print(json.dumps({"loaded": loaded, "vpc": vpc.Vpc.__name__, "root_has_all": hasattr(root, "__all__"), "exported": aws.__all__}))
"""


@pytest.fixture(scope="module")
def result() -> dict:
    """What a fresh interpreter loads when it imports the loader (run once)."""
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    data: dict = json.loads(out)
    return data


def test_loads_only_the_listed_submodules(result: dict) -> None:
    submodules = {m.split(".")[1] for m in result["loaded"]}
    assert submodules == set(result["exported"]) - {"install"} | {"_jsii"}
    assert len(submodules) < 100  # of 2,212


def test_root_init_is_not_executed_but_classes_work(result: dict) -> None:
    assert result["root_has_all"] is False  # the real __init__ defines __all__
    assert result["vpc"] == "Vpc"


def test_install_is_idempotent() -> None:
    import stacks.aws as aws

    before = sys.modules["cdktf_cdktf_provider_aws"]
    aws.install()
    assert sys.modules["cdktf_cdktf_provider_aws"] is before


def test_install_reports_a_missing_package(monkeypatch: pytest.MonkeyPatch) -> None:
    import stacks.aws as aws

    monkeypatch.delitem(sys.modules, aws.PACKAGE)
    monkeypatch.setattr(aws.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ImportError, match="is not installed; run `make synth` to set up"):
        aws.install()
    assert aws.PACKAGE not in sys.modules


def test_install_leaves_nothing_registered_when_the_assembly_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    import stacks.aws as aws

    monkeypatch.delitem(sys.modules, aws.PACKAGE)

    def broken(name: str) -> None:
        raise RuntimeError(f"cannot load {name}")

    monkeypatch.setattr(aws.importlib, "import_module", broken)
    with pytest.raises(RuntimeError, match=r"cannot load cdktf_cdktf_provider_aws\._jsii"):
        aws.install()
    assert aws.PACKAGE not in sys.modules
