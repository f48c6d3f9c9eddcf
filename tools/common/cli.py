"""The tools' command lines: a wrong argument is one line, as every other user error."""

from __future__ import annotations

import argparse
from typing import NoReturn


class Parser(argparse.ArgumentParser):
    """``argparse`` whose errors are ``error: <what>`` on one line (exit 2), without the usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {self.prog}: {message} (--help lists the arguments)\n")


def number(value: str) -> int:
    """An argument of ASCII digits only (``int`` would also take ``1_0`` and other scripts' digits)."""
    if not (value.isascii() and value.isdigit() and len(value) <= 9):
        raise argparse.ArgumentTypeError(f"{value[:20]!r} is not a number (ASCII digits)")
    return int(value)


def parser(prog: str, description: str | None) -> Parser:
    """The argument parser of ``python -m <prog>``."""
    return Parser(prog=f"python -m {prog}", description=description)
