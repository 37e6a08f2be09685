"""Errors the CLI turns into a clear message and an exit code (no traceback)."""

from __future__ import annotations


class ConfigError(Exception):
    """A bad search file or argument; the message names the field path and what is allowed (exit 2)."""


class SearchAborted(Exception):
    """Too many failed trials; completed trials are kept (exit 1)."""


class VerificationFailed(Exception):
    """An exported design did not match the integer model or the estimated cycles (exit 1)."""
