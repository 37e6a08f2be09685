"""Errors the CLI turns into a clear message and an exit code (no traceback)."""

from __future__ import annotations

from pathlib import Path


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


def not_a_file(path: Path | str, shown: Path | str | None = None) -> str:
    """Why ``path`` cannot be read as a file (named as ``shown``, default itself), for a message that already names
    the field."""
    name = repr(str(path if shown is None else shown))
    return f"{name} is a folder, not a file" if Path(path).is_dir() else f"file {name} does not exist"


def file_in_the_way(folder: Path) -> Path | None:
    """The file that keeps ``folder`` from being a folder: ``folder`` itself or its nearest existing parent, when
    that is not a directory; None when the folder exists or can be made."""
    folder = Path(folder).resolve()
    existing = next((p for p in (folder, *folder.parents) if p.exists()), None)
    return existing if existing is not None and not existing.is_dir() else None
