"""Find ``terraform`` and an offline ``hashicorp/aws`` provider; never download one.

Where a provider package is looked for, in this order (the newest version found wins):

1. the CLI configuration Terraform would read (``TF_CLI_CONFIG_FILE``, else
   ``~/.terraformrc``): the ``path`` of each ``filesystem_mirror`` block and
   ``plugin_cache_dir``;
2. ``TF_PLUGIN_CACHE_DIR``;
3. Terraform's implied local mirror directories: ``~/.terraform.d/plugins``,
   ``$XDG_DATA_HOME/terraform/plugins`` (``~/.local/share/terraform/plugins``) and
   ``<dir>/terraform/plugins`` for each ``XDG_DATA_DIRS`` entry
   (``/usr/local/share``, ``/usr/share`` by default);
4. a shallow search of ``/opt``: ``/opt/<x>/`` and ``/opt/<x>/<y>/``.

A directory qualifies when it holds ``registry.terraform.io/hashicorp/aws/<version>/<os_arch>/terraform-provider-aws_*``
(unpacked: mirrors and plugin caches) or ``registry.terraform.io/hashicorp/aws/terraform-provider-aws_<version>_<os_arch>.zip``
(packed mirror).  :func:`cli_config` then writes a configuration whose only
installation method is that directory, for ``hashicorp/aws`` only, so ``terraform
init`` can never fall back to the registry.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from stacks.requirements import TERRAFORM_MIN_VERSION

PROVIDER_SOURCE = "registry.terraform.io/hashicorp/aws"
_VERSION_RE = re.compile(r"(\d+)\.(\d+)\.(\d+)", re.ASCII)
_PACKED_RE = re.compile(r"terraform-provider-aws_(\d+\.\d+\.\d+)_([a-z0-9]+_[a-z0-9]+)\.zip", re.ASCII)
_PLUGIN_CACHE_RE = re.compile(r'^\s*plugin_cache_dir\s*=\s*"((?:[^"\\]|\\.)*)"', re.MULTILINE | re.ASCII)
_MIRROR_BLOCK_RE = re.compile(r"\bfilesystem_mirror\s*\{", re.ASCII)
_PATH_RE = re.compile(r'^\s*path\s*=\s*"((?:[^"\\]|\\.)*)"', re.MULTILINE | re.ASCII)


def version_tuple(version: str) -> tuple[int, int, int] | None:
    """``"5.100.0"`` -> ``(5, 100, 0)``; None for anything else (pre-releases included)."""
    match = _VERSION_RE.fullmatch(version)
    return (int(match[1]), int(match[2]), int(match[3])) if match else None


def os_arch() -> str:
    """Terraform's name of this platform, e.g. ``linux_amd64``."""
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64", "i386": "386", "i686": "386"}.get(machine, machine)
    return f"{platform.system().lower()}_{arch}"


@dataclass(frozen=True)
class ProviderPackage:
    """One ``hashicorp/aws`` package found on disk."""

    #: The directory to use as a ``filesystem_mirror`` (it holds ``registry.terraform.io/``).
    mirror: Path
    version: str
    os_arch: str
    #: The executable (unpacked) or the zip (packed).
    package: Path

    @property
    def major(self) -> int:
        parsed = version_tuple(self.version)
        return parsed[0] if parsed else 0


@dataclass(frozen=True)
class Tools:
    """Everything the lifecycle needs from the machine."""

    terraform: Path
    terraform_version: str
    provider: ProviderPackage


class Skip(Exception):
    """Nothing to run the lifecycle with: the one-line reason."""


def _expand(raw: str, environ: Mapping[str, str], home: Path) -> Path:
    """A path from a configuration: HCL string escapes undone, ``$VAR``/``${VAR}`` and a leading ``~`` expanded."""
    value = raw.replace('\\"', '"').replace("\\\\", "\\")

    def variable(match: re.Match[str]) -> str:
        name = match[1] or match[2]
        return environ.get(name) or (str(home) if name == "HOME" else match[0])

    value = re.sub(r"\$(?:\{([A-Za-z_]\w*)\}|([A-Za-z_]\w*))", variable, value, flags=re.ASCII)
    if value == "~" or value.startswith("~/"):
        return home / value[2:]
    return Path(value)


def cli_config_dirs(text: str, environ: Mapping[str, str], home: Path, *, json_syntax: bool = False) -> list[Path]:
    """``filesystem_mirror`` paths and ``plugin_cache_dir`` of a CLI configuration (HCL or JSON)."""
    if json_syntax:
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            return []
        if not isinstance(data, dict):
            return []
        found: list[str] = []
        for installation in _as_list(data.get("provider_installation")):
            for mirror in _as_list(installation.get("filesystem_mirror") if isinstance(installation, dict) else None):
                if isinstance(mirror, dict) and isinstance(mirror.get("path"), str):
                    found.append(mirror["path"])
        if isinstance(data.get("plugin_cache_dir"), str):
            found.append(data["plugin_cache_dir"])
        return [_expand(raw, environ, home) for raw in found]
    uncommented = re.sub(r"(?am)^\s*(#|//).*$", "", text)
    paths = [m[1] for start in _MIRROR_BLOCK_RE.finditer(uncommented) for m in _PATH_RE.finditer(_block_body(uncommented, start.end()))]
    return [_expand(raw, environ, home) for raw in paths + _PLUGIN_CACHE_RE.findall(uncommented)]


def _block_body(text: str, start: int) -> str:
    """The body of an HCL block whose ``{`` ends just before ``start`` (braces inside strings ignored)."""
    depth, in_string, escaped = 1, False, False
    for index in range(start, len(text)):
        char = text[index]
        if escaped:
            escaped = False
        elif in_string:
            escaped = char == "\\"
            in_string = char != '"'
        elif char == '"':
            in_string = True
        elif char in "{}":
            depth += 1 if char == "{" else -1
            if depth == 0:
                return text[start:index]
    return text[start:]


def _as_list(value: object) -> list[object]:
    if isinstance(value, list):
        return value
    return [value] if isinstance(value, dict) else []


def candidate_dirs(environ: Mapping[str, str], home: Path, opt: Path = Path("/opt")) -> list[Path]:
    """Every directory that may hold the provider, in search order, without duplicates."""
    dirs: list[Path] = []
    config_file = Path(environ["TF_CLI_CONFIG_FILE"]) if environ.get("TF_CLI_CONFIG_FILE") else home / ".terraformrc"
    if config_file.is_file():
        dirs += cli_config_dirs(config_file.read_text(errors="replace"), environ, home, json_syntax=config_file.suffix == ".json")
    if environ.get("TF_PLUGIN_CACHE_DIR"):
        dirs.append(_expand(environ["TF_PLUGIN_CACHE_DIR"], environ, home))
    dirs.append(home / ".terraform.d" / "plugins")
    dirs.append(Path(environ.get("XDG_DATA_HOME") or home / ".local" / "share") / "terraform" / "plugins")
    for data_dir in (environ.get("XDG_DATA_DIRS") or "/usr/local/share/:/usr/share/").split(":"):
        if data_dir:
            dirs.append(Path(data_dir) / "terraform" / "plugins")
    dirs += _opt_dirs(opt)
    unique: list[Path] = []
    for d in dirs:
        if d not in unique:
            unique.append(d)
    return unique


def _opt_dirs(opt: Path) -> Iterator[Path]:
    """``/opt/<x>`` and ``/opt/<x>/<y>`` that contain ``registry.terraform.io/hashicorp/aws``."""
    try:
        level1 = sorted(p for p in opt.iterdir() if p.is_dir())
    except OSError:
        return
    for first in level1:
        if (first / PROVIDER_SOURCE).is_dir():
            yield first
            continue
        try:
            level2 = sorted(p for p in first.iterdir() if p.is_dir())
        except OSError:
            continue
        yield from (second for second in level2 if (second / PROVIDER_SOURCE).is_dir())


def packages_in(directory: Path, arch: str) -> list[ProviderPackage]:
    """The ``hashicorp/aws`` packages for ``arch`` in one mirror or cache directory."""
    base = directory / PROVIDER_SOURCE
    if not base.is_dir():
        return []
    found = []
    for entry in sorted(base.iterdir()):
        if entry.is_dir() and version_tuple(entry.name) and (entry / arch).is_dir():
            binaries = sorted(p for p in (entry / arch).glob("terraform-provider-aws*") if p.is_file() and os.access(p, os.X_OK))
            if binaries:
                found.append(ProviderPackage(directory, entry.name, arch, binaries[0]))
        match = _PACKED_RE.fullmatch(entry.name)
        if entry.is_file() and match and match[2] == arch:
            found.append(ProviderPackage(directory, match[1], arch, entry))
    return found


def find_provider(dirs: list[Path], arch: str) -> ProviderPackage | None:
    """The newest package in ``dirs`` (the first directory wins a tie)."""
    best: ProviderPackage | None = None
    for directory in dirs:
        for package in packages_in(directory, arch):
            if best is None or (version_tuple(package.version) or (0, 0, 0)) > (version_tuple(best.version) or (0, 0, 0)):
                best = package
    return best


#: Oldest Terraform the stacks accept (their ``required_version``).
MIN_TERRAFORM = version_tuple(TERRAFORM_MIN_VERSION) or (0, 0, 0)


def terraform_version(binary: Path) -> str:
    env = {**os.environ, "CHECKPOINT_DISABLE": "1"}
    result = subprocess.run([str(binary), "version", "-json"], capture_output=True, text=True, check=False, timeout=60, env=env)
    try:
        return str(json.loads(result.stdout)["terraform_version"])
    except (json.JSONDecodeError, KeyError, TypeError):
        raise Skip(f"cannot read the version of {binary} (terraform version -json exited {result.returncode})") from None


def discover(environ: Mapping[str, str], home: Path, opt: Path = Path("/opt")) -> Tools:
    """``terraform`` on ``PATH`` and the newest offline provider, or :class:`Skip`."""
    found = shutil.which("terraform", path=environ.get("PATH", ""))
    if found is None:
        raise Skip("no terraform on PATH")
    binary = Path(found)
    version = terraform_version(binary)
    parsed = version_tuple(version)
    if parsed is None or parsed < MIN_TERRAFORM:
        raise Skip(f"terraform {version} is older than {TERRAFORM_MIN_VERSION}, the stacks' required_version")
    arch = os_arch()
    dirs = candidate_dirs(environ, home, opt)
    provider = find_provider(dirs, arch)
    if provider is None:
        raise Skip(f"no {PROVIDER_SOURCE} provider for {arch} in a filesystem mirror or plugin cache (looked in {len(dirs)} places; nothing is downloaded)")
    return Tools(binary, version, provider)


def cli_config(provider: ProviderPackage) -> str:
    """A CLI configuration that installs ``hashicorp/aws`` from ``provider.mirror`` and nothing from anywhere else."""
    return (
        "# Written by make e2e: install hashicorp/aws from this mirror only; never download.\n"
        "provider_installation {\n"
        "  filesystem_mirror {\n"
        f"    path    = {json.dumps(str(provider.mirror))}\n"
        f'    include = ["{PROVIDER_SOURCE}"]\n'
        "  }\n"
        "}\n"
    )
