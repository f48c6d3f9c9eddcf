"""Shared validation helpers: one-line errors naming the field, the value and what is allowed."""

from __future__ import annotations

import ipaddress
import re

_REGION_RE = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[1-9]$")
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


class ConfigError(ValueError):
    """A configuration value is not allowed.  ``str()`` is one line."""

    def __init__(self, field_name: str, value: object, allowed: str) -> None:
        self.field_name = field_name
        self.value = value
        self.allowed = allowed
        super().__init__(f"{field_name}={value!r} is invalid: {allowed}")


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


def _one_of(field_name: str, value: object, allowed: tuple[object, ...]) -> None:
    _require(value in allowed, field_name, value, "one of " + ", ".join(str(a) for a in allowed))


def _network(field_name: str, value: str) -> ipaddress.IPv4Network:
    try:
        return ipaddress.IPv4Network(value, strict=True)
    except (ValueError, TypeError):
        raise ConfigError(field_name, value, "an IPv4 CIDR block whose address is the network address, e.g. 10.10.0.0/16") from None


def validate_region(field_name: str, value: str) -> None:
    _require(bool(_REGION_RE.match(value or "")), field_name, value, "an AWS region name such as us-east-1 or eu-west-2")


def validate_bucket_name(field_name: str, value: str) -> None:
    """S3 general purpose bucket naming rules."""
    ok = (
        bool(_BUCKET_RE.match(value or ""))
        and ".." not in value
        and ".-" not in value
        and "-." not in value
        and not re.match(r"^\d+\.\d+\.\d+\.\d+$", value)
        and not value.startswith(("xn--", "sthree-", "amzn-s3-demo-"))
        and not value.endswith(("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"))
    )
    _require(ok, field_name, value, "3-63 lowercase letters, digits, dots or hyphens, starting and ending with a letter or digit (S3 bucket naming rules)")
