"""The provider loader imports only what the project uses."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT

PROBE = """
import json, sys
import stacks.aws as aws
loaded = sorted(m for m in sys.modules if m.startswith("cdktf_cdktf_provider_aws."))
from stacks.aws import vpc
root = sys.modules["cdktf_cdktf_provider_aws"]
print(json.dumps({"loaded": loaded, "vpc": vpc.Vpc.__name__, "root_has_all": hasattr(root, "__all__"), "exported": aws.__all__}))
"""


def probe() -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def test_loads_only_the_listed_submodules() -> None:
    result = probe()
    submodules = {m.split(".")[1] for m in result["loaded"]}
    assert submodules == set(result["exported"]) - {"install"} | {"_jsii"}
    assert len(submodules) < 100  # of 2,214


def test_root_init_is_not_executed_but_classes_work() -> None:
    result = probe()
    assert result["root_has_all"] is False  # the real __init__ defines __all__
    assert result["vpc"] == "Vpc"


def test_install_is_idempotent() -> None:
    import stacks.aws as aws

    before = sys.modules["cdktf_cdktf_provider_aws"]
    aws.install()
    assert sys.modules["cdktf_cdktf_provider_aws"] is before
