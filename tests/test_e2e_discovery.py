"""make e2e: finding terraform and an offline hashicorp/aws provider (fixture directories only)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from tools.e2e import lifecycle
from tools.emulator.discovery import (
    PROVIDER_SOURCE,
    Skip,
    candidate_dirs,
    cli_config,
    cli_config_dirs,
    discover,
    find_provider,
    os_arch,
    packages_in,
    version_tuple,
)

ARCH = os_arch()


def unpacked(root: Path, version: str, arch: str = ARCH, *, executable: bool = True) -> Path:
    """A provider package as a filesystem mirror or plugin cache holds it."""
    binary = root / PROVIDER_SOURCE / version / arch / f"terraform-provider-aws_v{version}_x5"
    binary.parent.mkdir(parents=True)
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755 if executable else 0o644)
    return binary


def packed(root: Path, version: str, arch: str = ARCH) -> Path:
    archive = root / PROVIDER_SOURCE / f"terraform-provider-aws_{version}_{arch}.zip"
    archive.parent.mkdir(parents=True, exist_ok=True)
    archive.write_bytes(b"PK")
    return archive


def fake_terraform(bin_dir: Path, version: str) -> Path:
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = bin_dir / "terraform"
    script.write_text(f"#!/bin/sh\necho '{json.dumps({'terraform_version': version})}'\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def test_version_tuple_accepts_releases_only() -> None:
    assert version_tuple("5.100.0") == (5, 100, 0)
    assert version_tuple("6.25.0") > version_tuple("5.100.0")  # type: ignore[operator]
    assert version_tuple("6.0.0-beta1") is None
    assert version_tuple("latest") is None


def test_unpacked_and_packed_packages_are_found(tmp_path: Path) -> None:
    binary = unpacked(tmp_path / "mirror", "5.100.0")
    archive = packed(tmp_path / "mirror", "5.99.1")
    found = {p.version: p for p in packages_in(tmp_path / "mirror", ARCH)}
    assert set(found) == {"5.100.0", "5.99.1"}
    assert found["5.100.0"].package == binary
    assert found["5.99.1"].package == archive
    assert found["5.100.0"].mirror == tmp_path / "mirror"


def test_other_platforms_and_non_executables_are_ignored(tmp_path: Path) -> None:
    unpacked(tmp_path / "m", "6.1.0", "plan9_mips")
    packed(tmp_path / "m", "6.2.0", "plan9_mips")
    unpacked(tmp_path / "m", "6.3.0", executable=False)
    assert packages_in(tmp_path / "m", ARCH) == []


def test_the_newest_version_wins_and_the_first_directory_breaks_ties(tmp_path: Path) -> None:
    unpacked(tmp_path / "a", "5.100.0")
    unpacked(tmp_path / "b", "6.25.0")
    unpacked(tmp_path / "c", "6.25.0")
    best = find_provider([tmp_path / "a", tmp_path / "missing", tmp_path / "b", tmp_path / "c"], ARCH)
    assert best is not None
    assert (best.version, best.mirror, best.major) == ("6.25.0", tmp_path / "b", 6)
    assert find_provider([tmp_path / "missing"], ARCH) is None


def test_cli_config_mirrors_and_plugin_cache_are_read(tmp_path: Path) -> None:
    text = """
    # plugin_cache_dir = "/commented/out"
    plugin_cache_dir = "$HOME/.terraform.d/plugin-cache"
    provider_installation {
      filesystem_mirror {
        path    = "/srv/mirror"
        include = ["registry.terraform.io/*/*"]
      }
      filesystem_mirror {
        include = ["example.com/*/*"]
        path    = "${MIRRORS}/second"
      }
      direct {
        exclude = ["registry.terraform.io/hashicorp/aws"]
      }
    }
    """
    dirs = cli_config_dirs(text, {"MIRRORS": "/data"}, tmp_path)
    assert dirs == [Path("/srv/mirror"), Path("/data/second"), tmp_path / ".terraform.d" / "plugin-cache"]


def test_json_cli_config_is_read(tmp_path: Path) -> None:
    text = json.dumps({"plugin_cache_dir": "~/cache", "provider_installation": [{"filesystem_mirror": [{"path": "/srv/m", "include": ["*/*/*"]}]}]})
    assert cli_config_dirs(text, {}, tmp_path, json_syntax=True) == [Path("/srv/m"), tmp_path / "cache"]


def test_candidate_dirs_follow_terraforms_search_order(tmp_path: Path) -> None:
    home = tmp_path / "home"
    config = tmp_path / "cli.tfrc"
    config.write_text('provider_installation {\n  filesystem_mirror {\n    path = "/from/config"\n  }\n}\nplugin_cache_dir = "/cache/config"\n')
    opt = tmp_path / "opt"
    unpacked(opt / "tf-plugins", "5.100.0")
    unpacked(opt / "vendor" / "terraform", "5.90.0")
    unpacked(opt / "deep" / "a" / "b", "6.0.0")  # three levels down: not searched
    (opt / "empty").mkdir()
    environ = {"TF_CLI_CONFIG_FILE": str(config), "TF_PLUGIN_CACHE_DIR": "/cache/env", "XDG_DATA_DIRS": "/xdg/one:/xdg/two"}
    assert candidate_dirs(environ, home, opt) == [
        Path("/from/config"),
        Path("/cache/config"),
        Path("/cache/env"),
        home / ".terraform.d" / "plugins",
        home / ".local" / "share" / "terraform" / "plugins",
        Path("/xdg/one/terraform/plugins"),
        Path("/xdg/two/terraform/plugins"),
        opt / "tf-plugins",
        opt / "vendor" / "terraform",
    ]


def test_default_locations_without_configuration(tmp_path: Path) -> None:
    dirs = candidate_dirs({}, tmp_path, tmp_path / "no-opt")
    assert dirs == [
        tmp_path / ".terraform.d" / "plugins",
        tmp_path / ".local" / "share" / "terraform" / "plugins",
        Path("/usr/local/share/terraform/plugins"),
        Path("/usr/share/terraform/plugins"),
    ]


def test_discover_finds_terraform_and_the_provider(tmp_path: Path) -> None:
    fake_terraform(tmp_path / "bin", "1.11.4")
    unpacked(tmp_path / "home" / ".terraform.d" / "plugins", "5.100.0")
    tools = discover({"PATH": str(tmp_path / "bin")}, tmp_path / "home", tmp_path / "no-opt")
    assert tools.terraform_version == "1.11.4"
    assert (tools.provider.version, tools.provider.mirror) == ("5.100.0", tmp_path / "home" / ".terraform.d" / "plugins")


@pytest.mark.parametrize(
    ("terraform", "provider", "reason"),
    [
        (None, True, "no terraform on PATH"),
        ("1.9.8", True, "terraform 1.9.8 is older than 1.10.0"),
        ("1.11.4", False, "no registry.terraform.io/hashicorp/aws provider"),
    ],
)
def test_discover_skips_with_one_reason(tmp_path: Path, terraform: str | None, provider: bool, reason: str) -> None:
    (tmp_path / "bin").mkdir()
    if terraform:
        fake_terraform(tmp_path / "bin", terraform)
    if provider:
        unpacked(tmp_path / "home" / ".terraform.d" / "plugins", "5.100.0")
    with pytest.raises(Skip, match=reason):
        discover({"PATH": str(tmp_path / "bin")}, tmp_path / "home", tmp_path / "no-opt")


def test_cli_config_installs_only_hashicorp_aws_from_the_mirror(tmp_path: Path) -> None:
    package = unpacked(tmp_path / "mirror dir", "5.100.0")
    (found,) = packages_in(tmp_path / "mirror dir", ARCH)
    text = cli_config(found)
    assert f'path    = "{tmp_path / "mirror dir"}"' in text
    assert 'include = ["registry.terraform.io/hashicorp/aws"]' in text
    assert "direct" not in text and "network_mirror" not in text
    assert cli_config_dirs(text, {}, tmp_path) == [package.parents[5]]


def test_make_e2e_skips_without_terraform(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "bin").mkdir()
    work = tmp_path / ".e2e"
    code = lifecycle.main({"PATH": str(tmp_path / "bin"), "HOME": str(tmp_path)}, home=tmp_path, work=work)
    assert code == 0
    assert capsys.readouterr().out == "SKIPPED: no terraform on PATH\n"
    assert not work.exists()
