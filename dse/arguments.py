"""argparse types shared by the dse commands: argparse names the option and exits 2 when they refuse a value."""

from __future__ import annotations

import argparse
from collections.abc import Callable


def whole_number(minimum: int, maximum: int | None = None, what: str = "a whole number") -> Callable[[str], int]:
    """A type accepting whole numbers in [minimum, maximum]."""
    allowed = f"{what} >= {minimum}" if maximum is None else f"{what} {minimum}..{maximum}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {allowed}, got {text!r}") from None
        if value < minimum or (maximum is not None and value > maximum):
            raise argparse.ArgumentTypeError(f"must be {allowed}, got {value}")
        return value

    return parse
