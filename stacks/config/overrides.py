"""Override variables (read by ``main.py``) turned into a validated :class:`AppConfig`.

``main.py`` reads each variable in :data:`OVERRIDE_VARIABLES` from the process
environment, or else from the git-ignored settings file (``settings.env``,
see :func:`parse_settings`).  Values are trimmed of surrounding whitespace;
an empty value counts as not set.  Every error names the variable the user
set, never an internal field.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from stacks.config.catalogue import EPHEMERAL_VPC_CIDR, catalogue
from stacks.config.environment import AppConfig, EnvironmentConfig, validate_suffix
from stacks.config.monitoring import CHANNELS
from stacks.config.names import STANDING_ENVIRONMENTS
from stacks.config.network import NetworkConfig
from stacks.config.pipeline import PipelineConfig
from stacks.config.regions import REGIONS, region
from stacks.config.state import STATE_BACKENDS, STATE_KEY_ALIAS, StateConfig
from stacks.config.validate import ConfigError, _one_of, _require, as_variable

#: Environment variables ``main.py`` reads; documented in the README.
OVERRIDE_VARIABLES = (
    "ENVIRONMENT_SUFFIX",
    "ENVIRONMENTS",
    "AWS_REGION",
    "AVAILABILITY_ZONE_LETTERS",
    "VPC_CIDR",
    "IMAGE_TAG",
    "AWS_ENDPOINT_URL",
    "ALARM_EMAILS",
    "ALARM_HTTPS_ENDPOINTS",
    "ALARM_TOPIC_ARN",
    "TICKET_EMAILS",
    "TICKET_HTTPS_ENDPOINTS",
    "TICKET_TOPIC_ARN",
    "STATE_BACKEND",
    "TF_STATE_BUCKET",
    "TF_STATE_REGION",
    "TF_STATE_KMS_KEY_ID",
    "TF_STATE_BOOTSTRAP_BACKEND",
    "TF_CLOUD_ORGANIZATION",
    "TF_CLOUD_PROJECT",
    "TF_CLOUD_HOSTNAME",
    "TF_WORKSPACE_PREFIX",
    "DEV_DOMAIN_NAME",
    "DEV_HOSTED_ZONE",
    "DEV_CERTIFICATE_ARN",
    "STAGING_DOMAIN_NAME",
    "STAGING_HOSTED_ZONE",
    "STAGING_CERTIFICATE_ARN",
    "PROD_DOMAIN_NAME",
    "PROD_HOSTED_ZONE",
    "PROD_CERTIFICATE_ARN",
    "GITHUB_REPOSITORY",
    "GITHUB_OIDC_PROVIDER_ARN",
    "GITHUB_ENVIRONMENTS",
    "GITHUB_RELEASE_ENVIRONMENTS",
    "TF_CLOUD_OIDC_PROVIDER_ARN",
)

#: Per standing environment, where it serves HTTPS: the domain, the public hosted zone that
#: holds it (a certificate is created and validated there, and an alias record points at the
#: load balancer), and optionally an existing ACM certificate to use instead.
DOMAIN_FIELDS = (("DOMAIN_NAME", "domain_name"), ("HOSTED_ZONE", "hosted_zone_name"), ("CERTIFICATE_ARN", "certificate_arn"))

#: Variables of other tools that look like ours but are not misspellings of them.
_NOT_MISSPELT = re.compile(r"(AWS_ENDPOINT_URL_[A-Z0-9_]+|AWS_DEFAULT_REGION|TF_WORKSPACE|TF_CLI_CONFIG_FILE)")
_CUTOFF = 0.85
#: Environments by name, as the catalogue gives them.
Environments = dict[str, EnvironmentConfig]


def misspelt(names: Iterable[str]) -> list[str]:
    """One warning per name that is probably a misspelt override variable: a known
    one in another case, or close to one (``difflib``).  Sorted by name."""
    known = {v.upper(): v for v in OVERRIDE_VARIABLES}
    warnings = []
    for name in sorted(set(names)):
        if name in OVERRIDE_VARIABLES or _NOT_MISSPELT.fullmatch(name):
            continue
        meant = known.get(name.upper())
        if meant is None:
            close = difflib.get_close_matches(name.upper(), list(known), n=1, cutoff=_CUTOFF)
            meant = known[close[0]] if close else None
        if meant is not None:
            warnings.append(f"warning: {name} is not read; did you mean {meant}?")
    return warnings


_SETTING_RE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)[ \t]*=(.*)")
#: A comment after a value: blanks, then ``#`` (no valid value holds a blank before ``#``).
_INLINE_COMMENT_RE = re.compile(r"[ \t]+#.*\Z")


BOM = "\ufeff"


def decode_settings(data: bytes, source: str = "settings.env") -> str:
    """The settings file's bytes as text: UTF-8, with or without a byte order mark.
    Another encoding is a :class:`ConfigError` naming the file and the line."""
    try:
        return data.decode("utf-8").removeprefix(BOM)
    except UnicodeDecodeError as error:
        number = data.count(b"\n", 0, error.start) + 1
        line = data.split(b"\n")[number - 1].rstrip(b"\r")
        raise ConfigError(f"{source} line {number}", line, "UTF-8 text (this line is in another encoding: save the file as UTF-8)") from None


def _unquoted(value: str) -> str:
    """``value`` without one pair of matching surrounding quotes (``"..."`` or ``'...'``),
    as many .env files write them; no valid value starts and ends with a quote."""
    return value[1:-1].strip() if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'" else value


#: Names of the control characters that some parsers take for line or record ends.
_CONTROL_NAMES = {"\0": "NUL", "\v": "LINE TABULATION", "\f": "FORM FEED", "\r": "CARRIAGE RETURN", "\x1c": "FILE SEPARATOR"}
_CONTROL_NAMES |= {"\x1d": "GROUP SEPARATOR", "\x1e": "RECORD SEPARATOR", "\x85": "NEXT LINE"}


def _hidden_break(line: str) -> str | None:
    """The first character of ``line`` (without its LF / CRLF end) that no settings line may
    hold, described for the error message; None when there is none.  Those are the characters
    that end a line for some parser but not for an editor or grep (form feed, NEL, the Unicode
    line and paragraph separators, ...) and every other control character but the tab."""
    for char in line:
        if char != "\t" and unicodedata.category(char) in ("Cc", "Zl", "Zp"):
            return f"U+{ord(char):04X} ({unicodedata.name(char, _CONTROL_NAMES.get(char, 'a control character'))})"
    return None


def settings_lines(text: str, source: str = "settings.env") -> list[str]:
    """The lines of a settings file's text: split on LF only, a CR before it dropped.  A
    line holding any other line or record separator or control character (tabs aside) is
    a :class:`ConfigError` naming the file, the line number and the character."""
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    found = []
    for number, line in enumerate(lines, start=1):
        line = line.removesuffix("\r")
        hidden = _hidden_break(line)
        _require(
            hidden is None,
            f"{source} line {number}",
            line,
            f"one line of printable text ending in LF or CRLF (it holds {hidden}, which an editor shows inside the line)",
        )
        found.append(line)
    return found


def parse_settings(text: str, source: str = "settings.env") -> dict[str, str]:
    """``NAME=value`` lines of decoded text (:func:`decode_settings` drops the file's one
    byte order mark; :func:`settings_lines` splits it): ``#`` comments, a `` #`` comment
    after a value and blank lines ignored; one pair of surrounding quotes dropped, nothing
    expanded; LF or CRLF line ends.  Only override variables; each at most once."""
    settings: dict[str, str] = {}
    for number, line in enumerate(settings_lines(text, source), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _SETTING_RE.fullmatch(stripped)
        where = f"{source} line {number}"
        _require(match is not None, where, stripped, "NAME=value lines, # comments or blank lines")
        assert match is not None
        name, value = match[1], _unquoted(_INLINE_COMMENT_RE.sub("", match[2]).strip())
        _require(name in OVERRIDE_VARIABLES, where, name, "one of " + ", ".join(OVERRIDE_VARIABLES))
        _require(name not in settings, where, name, "each variable at most once")
        settings[name] = value
    return settings


def edit_settings(text: str, updates: Mapping[str, str]) -> str:
    """``text`` of a settings file (without a byte order mark) with each variable of
    ``updates`` set: its line rewritten in place (a comment after the value kept), or a
    line appended at the end.  Every other line stays as it was: comments, blank lines,
    order, other variables, line ends."""
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = [line for line in re.split(r"(?<=\n)", text) if line]
    left = dict(updates)
    for i, line in enumerate(lines):
        match = _SETTING_RE.fullmatch(line.strip())
        if match is not None and match[1] in left:
            ending = line[len(line.rstrip("\r\n")) :]
            comment = _INLINE_COMMENT_RE.search(match[2])
            lines[i] = f"{match[1]}={left.pop(match[1])}{comment[0] if comment else ''}{ending or newline}"
    if lines and not lines[-1].endswith(("\n", "\r")):
        lines[-1] += newline
    lines += [f"{name}={value}{newline}" for name, value in left.items()]
    return "".join(lines)


#: What surrounds a value and is dropped: blanks and line ends, no other character (a record
#: separator or NEL stays, and the value's rule refuses it, as settings.env does).
TRIMMED = " \t\r\n"


def _get(overrides: Mapping[str, str | None], name: str) -> str | None:
    value = overrides.get(name)
    if value is None:
        return None
    value = value.strip(TRIMMED)
    return value or None


def _without_root_dot(name: str | None) -> str | None:
    """A DNS name (with an optional ``:port``) without the trailing dot of its fully qualified
    form: ``acme-orders.com.`` is ``acme-orders.com``."""
    return None if name is None else re.sub(r"(?<=[^.])\.(?=(:[0-9]*)?\Z)", "", name)


def _list(value: str) -> tuple[str, ...]:
    return tuple(item.strip(TRIMMED) for item in value.split(","))


#: What starts a Terraform template sequence (``${...}`` interpolation, ``%{...}`` directive).
_TEMPLATE_START = re.compile(r"[$%]\{")
TEMPLATE_ALLOWED = (
    "no ${ or %{ anywhere, and no $ or % at the end of the value or of a comma-separated item "
    "(Terraform would evaluate it, or what follows it, as an expression)"
)


def refuse_templates(overrides: Mapping[str, str | None]) -> None:
    """The one guarantee for every value from outside the code: Terraform reads each
    JSON string as a template, so no value may start a template sequence (``${`` or
    ``%{``), nor end in ``$`` or ``%`` where code might append a ``{``.  Checked here,
    before any validator, for every variable; no valid value of any variable needs
    either (``{`` is not allowed in any of them, a URL included)."""
    for name in OVERRIDE_VARIABLES:
        value = _get(overrides, name)
        if value is None:
            continue
        parts = (value, *_list(value))
        _require(not any(_TEMPLATE_START.search(part) or part.endswith(("$", "%")) for part in parts), name, value, TEMPLATE_ALLOWED)


def build_app_config(overrides: Mapping[str, str | None]) -> AppConfig:
    """Build and validate the whole configuration from override variables.

    ``overrides`` maps names in :data:`OVERRIDE_VARIABLES` to their values
    (``None`` or empty: not set).  Raises :class:`ConfigError`.
    """
    unknown = sorted(set(overrides) - set(OVERRIDE_VARIABLES))
    _require(not unknown, "overrides", unknown, "only " + ", ".join(OVERRIDE_VARIABLES))
    refuse_templates(overrides)
    region_name = _get(overrides, "AWS_REGION") or "us-east-1"
    region("AWS_REGION", region_name)
    selected = _get(overrides, "ENVIRONMENTS")
    envs = _selected(catalogue(region_name), selected, overrides)
    envs, notices = _zones(envs, overrides, region_name)
    envs = _image_and_alarms(envs, overrides)
    environments = _environments(envs, selected, overrides, region_name)
    state = _state(overrides)
    endpoint_url = _get(overrides, "AWS_ENDPOINT_URL")
    if endpoint_url is not None:
        _require(
            state.backend != "cloud",
            "AWS_ENDPOINT_URL",
            endpoint_url,
            "not with STATE_BACKEND=cloud (an emulator's resources cannot live in Terraform Cloud state)",
        )
    return AppConfig(
        environments=tuple(environments), state=state, region=region_name, pipeline=_pipeline(overrides), endpoint_url=endpoint_url, notices=tuple(notices)
    )


def _pairs(variable: str, value: str) -> tuple[tuple[str, str], ...]:
    """``a=b,c=d`` as ``(("a", "b"), ("c", "d"))``; each item must hold exactly one ``=``."""
    items = _list(value)
    _require(all(item.count("=") == 1 for item in items), variable, value, "comma-separated <name>=<github environment> pairs")
    return tuple((key.strip(TRIMMED), name.strip(TRIMMED)) for key, name in (item.split("=") for item in items))


def _pipeline(overrides: Mapping[str, str | None]) -> PipelineConfig:
    """The pipeline's identities (``GITHUB_*``, ``TF_CLOUD_OIDC_PROVIDER_ARN``)."""
    fields: dict[str, Any] = {}
    for variable, field_name in (
        ("GITHUB_REPOSITORY", "repository"),
        ("GITHUB_OIDC_PROVIDER_ARN", "github_provider_arn"),
        ("TF_CLOUD_OIDC_PROVIDER_ARN", "cloud_provider_arn"),
    ):
        if (value := _get(overrides, variable)) is not None:
            fields[field_name] = value
    for variable, field_name in (("GITHUB_ENVIRONMENTS", "deploy_environments"), ("GITHUB_RELEASE_ENVIRONMENTS", "release_environments")):
        if (value := _get(overrides, variable)) is not None:
            fields[field_name] = _pairs(variable, value)
    return PipelineConfig(**fields)


def _selected(envs: Environments, selected: str | None, overrides: Mapping[str, str | None]) -> Environments:
    """The environments ``ENVIRONMENTS`` names (all when not set), and dev whenever ``ENVIRONMENT_SUFFIX`` copies it."""
    if selected is None:
        return envs
    names = _list(selected)
    _require(
        all(n in STANDING_ENVIRONMENTS for n in names) and len(set(names)) == len(names),
        "ENVIRONMENTS",
        selected,
        "comma-separated distinct names from " + ",".join(STANDING_ENVIRONMENTS),
    )
    return {name: env for name, env in envs.items() if name in names or (name == "dev" and _get(overrides, "ENVIRONMENT_SUFFIX"))}


def _changed(envs: Environments, overrides: Mapping[str, str | None], variable: str, change: dict[str, object]) -> Environments:
    """``envs`` with ``change`` (``concern -> {field: value}``) applied to each, blaming ``variable``."""
    raw = overrides.get(variable) or ""
    with as_variable(variable, raw.strip(TRIMMED)):
        return {name: replace(env, **{c: replace(getattr(env, c), **fields) for c, fields in change.items()}) for name, env in envs.items()}  # type: ignore[arg-type]


def _zones(envs: Environments, overrides: Mapping[str, str | None], region_name: str) -> tuple[Environments, list[str]]:
    """``AVAILABILITY_ZONE_LETTERS`` applied, or else a notice where the region's default letters may not all exist."""
    letters = _get(overrides, "AVAILABILITY_ZONE_LETTERS")
    notices = []
    if letters is not None:
        zones = _list(letters)
        _require(len(zones) in (2, 3), "AVAILABILITY_ZONE_LETTERS", letters, "2 or 3 distinct single lowercase letters (one per AZ), e.g. a,b,c")
        envs = _changed(envs, overrides, "AVAILABILITY_ZONE_LETTERS", {"network": {"az_letters": zones, "az_count": len(zones)}})
    elif (usable := REGIONS[region_name].usable_zones) is not None:
        default = REGIONS[region_name].default_az_letters()
        notices.append(
            f"{region_name} offers most accounts only {usable} availability zones (which ones differs per account), and the stacks use "
            f"{len(default)} ({','.join(default)}): set AVAILABILITY_ZONE_LETTERS to the {usable} your account has (aws ec2 describe-availability-zones)"
        )
    return envs, notices


def _image_and_alarms(envs: Environments, overrides: Mapping[str, str | None]) -> Environments:
    """``IMAGE_TAG`` and both alert channels' destinations (:func:`_channel`) applied."""
    image_tag = _get(overrides, "IMAGE_TAG")
    if image_tag is not None:
        envs = _changed(envs, overrides, "IMAGE_TAG", {"service": {"image_tag": image_tag}})
    for channel in CHANNELS:
        envs = _channel(envs, overrides, channel)
    return envs


def _channel(envs: Environments, overrides: Mapping[str, str | None], channel: str) -> Environments:
    """One alert channel's destinations: ``<CHANNEL>_EMAILS``, ``<CHANNEL>_HTTPS_ENDPOINTS``
    (comma-separated) and ``<CHANNEL>_TOPIC_ARN`` (``ALARM_*``: the pages, ``TICKET_*``: the
    cause alarms), each blamed on its variable."""
    for suffix, is_list in (("emails", True), ("https_endpoints", True), ("topic_arn", False)):
        variable = f"{channel}_{suffix}".upper()
        value = _get(overrides, variable)
        if value is not None:
            envs = _changed(envs, overrides, variable, {"monitoring": {f"{channel}_{suffix}": _list(value) if is_list else value}})
    return envs


def _environments(envs: Environments, selected: str | None, overrides: Mapping[str, str | None], region_name: str) -> list[EnvironmentConfig]:
    """The selected standing environments with their domains, and the suffixed copy of dev
    (``ENVIRONMENT_SUFFIX``, on ``VPC_CIDR`` or the ephemeral default) if any."""
    suffix = _get(overrides, "ENVIRONMENT_SUFFIX")
    vpc_cidr = _get(overrides, "VPC_CIDR")
    if vpc_cidr is not None and suffix is None:
        raise ConfigError("VPC_CIDR", vpc_cidr, "only applies together with ENVIRONMENT_SUFFIX (the standing environments have fixed CIDRs)")
    environments = [env for name, env in envs.items() if selected is None or name in _list(selected)]
    if suffix is not None:
        validate_suffix(suffix)
        cidr = vpc_cidr or EPHEMERAL_VPC_CIDR
        with as_variable("VPC_CIDR", cidr):
            network = _ephemeral_network(catalogue(region_name), envs["dev"].network, cidr)
            environments.append(replace(envs["dev"], suffix=suffix, network=network))

    _check_domains(catalogue(region_name), overrides)
    # Domains belong to the standing environments: a suffixed copy never takes dev's.
    return [_with_domain(env, overrides) if env.suffix is None else env for env in environments]


def _check_domains(standing: Mapping[str, EnvironmentConfig], overrides: Mapping[str, str | None]) -> None:
    """Every ``<ENV>_DOMAIN_NAME`` / ``_HOSTED_ZONE`` / ``_CERTIFICATE_ARN`` is valid, whether or
    not ``ENVIRONMENTS`` selects its environment, and no two environments share a domain (its
    alias record exists once in the zone: the second environment's apply would fail).  The
    error names a variable the user set, never a default of the catalogue."""
    owners: dict[str, str] = {}
    for name, env in standing.items():
        domain = _with_domain(env, overrides).load_balancer.domain_name
        if domain is None:
            continue
        if domain in owners:
            first, second = owners[domain], name
            blamed = second if _get(overrides, f"{second.upper()}_DOMAIN_NAME") is not None else first
            other = first if blamed == second else second
            set_by = f"{other.upper()}_DOMAIN_NAME has it" if _get(overrides, f"{other.upper()}_DOMAIN_NAME") is not None else f"it is {other}'s default"
            raise ConfigError(f"{blamed.upper()}_DOMAIN_NAME", domain, f"a domain no other environment serves ({set_by})")
        owners[domain] = name


def _state(overrides: Mapping[str, str | None]) -> StateConfig:
    """Where the stacks keep their state (``STATE_BACKEND``, ``TF_STATE_*``, ``TF_CLOUD_*``, ``TF_WORKSPACE_PREFIX``)."""
    backend = _get(overrides, "STATE_BACKEND") or "s3"
    _one_of("STATE_BACKEND", backend, STATE_BACKENDS)
    return StateConfig(
        backend=backend,  # type: ignore[arg-type]
        bucket=_get(overrides, "TF_STATE_BUCKET") or StateConfig.bucket,
        region=_get(overrides, "TF_STATE_REGION"),
        kms_key_id=_get(overrides, "TF_STATE_KMS_KEY_ID") or STATE_KEY_ALIAS,
        cloud_organization=_get(overrides, "TF_CLOUD_ORGANIZATION"),
        cloud_project=_get(overrides, "TF_CLOUD_PROJECT"),
        cloud_hostname=_without_root_dot(_get(overrides, "TF_CLOUD_HOSTNAME")) or StateConfig.cloud_hostname,
        workspace_prefix=_get(overrides, "TF_WORKSPACE_PREFIX") or "",
        bootstrap_backend=_get(overrides, "TF_STATE_BOOTSTRAP_BACKEND") or "local",  # type: ignore[arg-type]
    )


def _with_domain(env: EnvironmentConfig, overrides: Mapping[str, str | None]) -> EnvironmentConfig:
    """``env`` with the domain, zone and certificate its ``<ENV>_...`` variables set (a
    rejected value is blamed on the variable that carried it)."""
    variables = {f"{env.name.upper()}_{suffix}": field_name for suffix, field_name in DOMAIN_FIELDS}
    given = {variable: value for variable in variables if (value := _get(overrides, variable)) is not None}
    if not given:
        return env
    blame = {f"load_balancer.{field_name}": variable for variable, field_name in variables.items()}
    try:
        fields: dict[str, Any] = {
            variables[v]: _without_root_dot(value) if v.endswith(("_DOMAIN_NAME", "_HOSTED_ZONE")) else value for v, value in given.items()
        }
        return replace(env, load_balancer=replace(env.load_balancer, **fields))
    except ConfigError as error:
        variable = blame.get(error.field_name, next(iter(given)))
        raise ConfigError(variable, overrides.get(variable) if variable in given else None, error.allowed) from None


def _ephemeral_network(standing: Mapping[str, EnvironmentConfig], network: NetworkConfig, cidr: str) -> NetworkConfig:
    """Dev's network on ``cidr``, which must not overlap any standing environment."""
    network = replace(network, vpc_cidr=cidr)
    wanted = ipaddress.IPv4Network(cidr)
    for env in standing.values():
        _require(
            not wanted.overlaps(ipaddress.IPv4Network(env.network.vpc_cidr)),
            "VPC_CIDR",
            cidr,
            f"a block that does not overlap {env.name}'s {env.network.vpc_cidr}",
        )
    return network
