"""Shared by the scale-out tests (test_execution_*, test_failures, test_resume, test_postgres): a tiny search
and picklable task functions for worker processes and Ray (they must live in an importable module)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import optuna
import pandas as pd

from dse.config import SearchConfig, parse_config


def tiny_config(n_trials: int = 6, *, execution: dict[str, Any] | None = None, **search: Any) -> SearchConfig:
    """Random sampler on a space large enough (~3000 candidates) that a replayed sequence would be noticed; the flat
    search (one trial per proposal), so that counts of trials are the counts these execution tests reason about."""
    return parse_config(
        {
            "study": {"name": "scaleout", "seed": 7},
            "dataset": {"kind": "digits"},
            "model": {"hidden_layers": 1, "width": {"low": 4, "high": 24}},
            "quantization": {"activation_bits": {"choices": [4, 6, 8]}, "weight_bits": {"choices": [3, 4, 8]}},
            "hardware": {"pe": {"choices": [1, 2, 4]}},
            "training": {"epochs": 2},
            "objectives": [{"name": "accuracy"}, {"name": "energy_uj"}],
            "search": {"n_trials": n_trials, "sampler": "random", "levels": "flat", **search},
            "execution": execution or {},
        }
    )


def trials(results: Path) -> pd.DataFrame:
    return pd.read_csv(results / "trials.csv", keep_default_na=False, na_values=[""])


def param_key(params: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted(params.items()))


def load(results: Path, name: str = "scaleout") -> optuna.Study:
    return optuna.load_study(study_name=name, storage=f"sqlite:///{results / 'study.db'}")


# ---- task functions for executors ----


def double(x: int) -> int:
    return 2 * x


def pid_of_worker() -> int:
    return os.getpid()


def sleep_then(seconds: float, value: int) -> int:
    time.sleep(seconds)
    return value


class NotPicklable(RuntimeError):
    """Like dse.training.TrainingDiverged: a custom __init__ that pickle cannot call back."""

    def __init__(self, epoch: int, detail: str) -> None:
        super().__init__(f"failed in epoch {epoch}: {detail}")


def raise_unpicklable() -> None:
    raise NotPicklable(3, "loss is nan")


def exit_on_first_attempt(marker: str) -> str:
    """Kills its own worker process unless `marker` exists (so Ray's retry succeeds)."""
    path = Path(marker)
    if not path.exists():
        path.touch()
        os._exit(66)
    return "second attempt"


def exit_always() -> None:
    os._exit(67)
