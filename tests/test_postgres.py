"""A study in PostgreSQL (a throwaway server from scripts/postgres.sh), its URL taken from an env variable."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
import scaleout_support as support

from dse.search import run_search
from dse.storage import open_storage

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "postgres.sh"
pytestmark = pytest.mark.postgres


def _server_binaries() -> bool:
    return shutil.which("initdb") is not None or any(Path("/usr/lib/postgresql").glob("*/bin/initdb"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    if not _server_binaries():
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed: apt-get install postgresql")
    # Under /tmp, not pytest's tmp_path: as root the server runs as user postgres, which cannot enter /root-owned
    # private folders.
    folder = Path(tempfile.mkdtemp(prefix="dse-pg-"))
    port = str(_free_port())
    started = subprocess.run(["bash", str(SCRIPT), "start", str(folder), port], capture_output=True, text=True)
    assert started.returncode == 0, started.stderr
    yield started.stdout.strip().splitlines()[-1]
    subprocess.run(["bash", str(SCRIPT), "stop", str(folder), port], check=True, capture_output=True)
    shutil.rmtree(folder, ignore_errors=True)


def test_search_in_postgres_resumes(postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert postgres_url.startswith("postgresql+psycopg://dse@127.0.0.1:")
    monkeypatch.setenv("DSE_STORAGE", postgres_url)
    config = support.tiny_config(3, storage="env:DSE_STORAGE")
    first = run_search(config, results_dir=tmp_path)
    assert first.completed == 3
    assert not (tmp_path / "study.db").exists()  # nothing went to the SQLite default
    study = optuna.load_study(study_name="scaleout", storage=postgres_url)
    before = {t.number: t.values for t in study.trials}
    second = run_search(config, results_dir=tmp_path, n_trials=5)
    assert second.completed == 5
    after = optuna.load_study(study_name="scaleout", storage=open_storage("env:DSE_STORAGE", tmp_path)).trials
    assert len(after) == 5 and all(after[n].values == v for n, v in before.items())
    frame = support.trials(tmp_path)
    assert list(frame["number"]) == [0, 1, 2, 3, 4] and set(frame["state"]) == {"COMPLETE"}
