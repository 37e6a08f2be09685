"""Inputs that used to hang or loop: a huge network, a CSV too small for its splits, a NaN metric in every trial."""

from __future__ import annotations

import math
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import optuna
import pytest
import yaml

import dse.search
from dse.config import parse_config
from dse.errors import SearchAborted

MINIMAL = {"study": {"name": "h"}, "dataset": {"kind": "digits"}, "objectives": [{"name": "accuracy"}]}


def _run_cli(tmp_path: Path, data: dict) -> subprocess.CompletedProcess[str]:
    search = tmp_path / "s.yaml"
    search.write_text(yaml.safe_dump(data))
    return subprocess.run(
        [sys.executable, "-m", "dse.cli", "run", str(search)], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )


def test_huge_network_is_refused_at_once(tmp_path: Path) -> None:
    started = time.monotonic()
    result = _run_cli(tmp_path, {**MINIMAL, "model": {"hidden_layers": 100000}})
    assert result.returncode == 2 and time.monotonic() - started < 60
    assert "model.hidden_layers: values must be >= 0 and <= 64, got 100000" in result.stderr
    assert not (tmp_path / "results").exists()


def test_three_row_csv_is_refused_before_any_trial(tmp_path: Path) -> None:
    (tmp_path / "tiny.csv").write_text("a,b,label\n0,1,0\n1,0,1\n2,2,0\n")
    dataset = {"kind": "csv", "path": "tiny.csv", "task": "classification", "target_columns": ["label"]}
    result = _run_cli(tmp_path, {**MINIMAL, "dataset": dataset})
    assert result.returncode == 2, result.stderr
    assert "'tiny' has 3 rows, too few for a non-empty" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "results").exists()


def test_nan_metric_fails_with_a_reason_and_counts_towards_max_failures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def nan_training(*args: Any) -> dict[str, Any]:
        return {"metrics": {"val_accuracy": math.nan}, "seconds": 0.0}

    monkeypatch.setattr(dse.search, "train_candidate", nan_training)
    # timeout_s: without the fix the loop never ends (FAIL trials without a reason did not count)
    config = parse_config({**MINIMAL, "search": {"n_trials": 50, "max_failures": 3, "timeout_s": 60}})
    with pytest.raises(SearchAborted, match="stopped after 3 failed trials"):
        dse.search.run_search(config, results_dir=tmp_path / "res")
    study = optuna.load_study(study_name="h", storage=f"sqlite:///{tmp_path / 'res' / 'study.db'}")
    failed = study.get_trials(deepcopy=False)
    assert len(failed) == 3
    assert all(t.state == optuna.trial.TrialState.FAIL for t in failed)
    assert all("non-finite objective values" in t.user_attrs["fail_reason"] for t in failed)
