"""search.storage: default SQLite, env:VAR, journal files; dse.search and dse.studies read the same study."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
import scaleout_support as support

from dse.config import ConfigError
from dse.search import run_search, storage_url
from dse.storage import open_storage, redact, resolve_storage_url


def test_resolve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_storage_url(None, tmp_path) == f"sqlite:///{tmp_path.resolve()}/study.db"
    assert resolve_storage_url("journal://s.journal", tmp_path) == f"journal://{tmp_path.resolve()}/s.journal"
    assert resolve_storage_url("journal:///x/s.journal", tmp_path) == "journal:///x/s.journal"
    monkeypatch.setenv("DSE_TEST_STORAGE", "postgresql+psycopg://u@h:1/d")
    assert resolve_storage_url("env:DSE_TEST_STORAGE", tmp_path) == "postgresql+psycopg://u@h:1/d"
    monkeypatch.delenv("DSE_TEST_STORAGE")
    with pytest.raises(ConfigError, match="environment variable DSE_TEST_STORAGE is not set"):
        resolve_storage_url("env:DSE_TEST_STORAGE", tmp_path)
    with pytest.raises(ConfigError, match="not a storage URL"):
        resolve_storage_url("study.db", tmp_path)
    assert redact("postgresql://me:secret@h:5/d") == "postgresql://me:***@h:5/d"
    assert redact("postgresql://me@h:5/d") == "postgresql://me@h:5/d"


def test_journal_study(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    journal = tmp_path / "shared" / "study.journal"
    monkeypatch.setenv("DSE_STORAGE", f"journal://{journal}")
    config = support.tiny_config(3, storage="env:DSE_STORAGE")
    assert run_search(config, results_dir=tmp_path / "r").completed == 3
    assert journal.stat().st_size > 0 and not (tmp_path / "r" / "study.db").exists()
    assert storage_url(config, tmp_path / "r") == f"journal://{journal}"
    study = optuna.load_study(study_name="scaleout", storage=open_storage(config.search.storage, tmp_path / "r"))
    assert {t.state.name for t in study.trials} == {"COMPLETE"}
    assert sum("variant_of" not in t.user_attrs for t in study.trials) == 3
