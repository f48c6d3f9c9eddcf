"""Shared validation helpers: one-line errors naming the field, the value and what is allowed."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from contextlib import contextmanager

_BUCKET_RE = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_IPV4_LIKE_RE = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+")
_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
#: Strict ``a.b.c.d/n``: decimal octets without leading zeros, a prefix length (never a netmask).
_CIDR_RE = re.compile(rf"{_OCTET}(\.{_OCTET}){{3}}/([12]?[0-9]|3[0-2])")
CIDR_NOTATION = "an IPv4 CIDR block in a.b.c.d/n notation (decimal, no leading zeros, a prefix length, not a netmask) whose address is the network address"
#: One DNS label (letters of either case, digits, inner hyphens; at most 63 characters).
DNS_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
#: A DNS host name: labels separated by dots (its length, at most 253, is checked apart).
DNS_NAME = rf"{DNS_LABEL}(\.{DNS_LABEL})*"
DNS_NAME_LIMIT = 253
#: Longest value an error message echoes; longer ones are cut with an ellipsis.
ECHO_LIMIT = 80


def shown(value: object) -> str:
    """``value`` as an error message shows it: ``repr`` (so control and bidi
    characters appear escaped, never raw), cut to :data:`ECHO_LIMIT` characters."""
    text = repr(value)
    return text if len(text) <= ECHO_LIMIT else text[: ECHO_LIMIT - 1] + "…"


class ConfigError(ValueError):
    """A configuration value is not allowed.  ``str()`` is one line:
    ``NAME='value' is invalid: what is allowed`` (``NAME is not set: ...`` for a
    missing value)."""

    def __init__(self, field_name: str, value: object, allowed: str) -> None:
        self.field_name = field_name
        self.value = value
        self.allowed = allowed
        shown_value = " is not set" if value is None else f"={shown(value)} is invalid"
        super().__init__(f"{field_name}{shown_value}: {allowed}")


def _require(ok: bool, field_name: str, value: object, allowed: str) -> None:
    if not ok:
        raise ConfigError(field_name, value, allowed)


def _int_in(field_name: str, value: int, low: int, high: int) -> None:
    _require(
        isinstance(value, int) and not isinstance(value, bool) and low <= value <= high,
        field_name,
        value,
        f"an integer from {low} to {high}",
    )


def valid_port(port: str | None) -> bool:
    """An absent port, or a decimal one from 1 to 65535."""
    return port is None or (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535)


def _one_of(field_name: str, value: object, allowed: tuple[object, ...]) -> None:
    _require(value in allowed, field_name, value, "one of " + ", ".join(str(a) for a in allowed))


def _network(field_name: str, value: str) -> ipaddress.IPv4Network:
    """``value`` in strict ``a.b.c.d/n`` notation (``ipaddress`` alone also takes netmasks
    and a prefix with leading zeros)."""
    try:
        if isinstance(value, str) and _CIDR_RE.fullmatch(value):
            return ipaddress.IPv4Network(value, strict=True)
    except ValueError:
        pass
    raise ConfigError(field_name, value, f"{CIDR_NOTATION}, e.g. 10.10.0.0/16")


@contextmanager
def as_variable(variable: str, raw: str) -> Iterator[None]:
    """Report any :class:`ConfigError` raised inside as an error of the override
    variable the user set (its name and raw value), keeping what is allowed."""
    try:
        yield
    except ConfigError as error:
        raise ConfigError(variable, raw, error.allowed) from None


def validate_bucket_name(field_name: str, value: str) -> None:
    """S3 general purpose bucket naming rules."""
    ok = (
        bool(_BUCKET_RE.fullmatch(value or ""))
        and ".." not in value
        and ".-" not in value
        and "-." not in value
        and not _IPV4_LIKE_RE.fullmatch(value)
        and not value.startswith(("xn--", "sthree-", "amzn-s3-demo-"))
        and not value.endswith(("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"))
    )
    _require(ok, field_name, value, "3-63 lowercase letters, digits, dots or hyphens, starting and ending with a letter or digit (S3 bucket naming rules)")
