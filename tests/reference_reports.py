"""The real tool reports in ../shared/reference-reports (CI checks the shared folder out beside the repo)."""

from __future__ import annotations

from pathlib import Path

import pytest

REFERENCE_REPORTS = Path(__file__).resolve().parents[2] / "shared" / "reference-reports"


def read_reference(relative: str) -> str:
    path = REFERENCE_REPORTS / relative
    if not path.is_file():
        pytest.fail(f"reference report {path} is missing: the shared folder must be checked out beside the repo")
    return path.read_text(encoding="utf-8")
