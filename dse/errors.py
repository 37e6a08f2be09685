"""Errors the CLI turns into a clear message and an exit code (no traceback)."""

from __future__ import annotations


class ConfigError(Exception):
    """A bad search file or argument; the message names the field path and what is allowed (exit 2)."""


class SearchAborted(Exception):
    """Too many failed trials; completed trials are kept (exit 1)."""


class VerificationFailed(Exception):
    """An exported design did not match the integer model or the estimated cycles (exit 1)."""


class StorageFailed(Exception):
    """The results folder or the study storage cannot be read or written (read-only, disk full, damaged); exit 1.

    Completed trials are kept; a trial that was running is queued again for the next run.
    """
