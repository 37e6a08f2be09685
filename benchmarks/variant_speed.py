"""Accelerator variants of one network scored per second (the inner level of `search.levels: two`).

    python benchmarks/variant_speed.py

Trains nothing: takes the quickstart space, fixes a 16-unit network and scores every combination of its
accelerator keys (per-layer PE, SIMD, weight storage) through the same path the two-level search uses
(parameters -> candidate -> estimate). Goal: >= 10,000 variants/s. Last line: one JSON object.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import optuna

from dse.config import load_config
from dse.hardware_space import variants
from dse.space import sample_candidate
from estimators import default_calibration, estimate_design, get_device


def main() -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    config = load_config(Path("search_spaces/quickstart.yaml"))
    study = optuna.create_study()
    trial = study.ask()
    sample_candidate(trial, config, 64, 10)  # registers the space's distributions on a real trial
    frozen = optuna.trial.FrozenTrial(
        number=0,
        state=optuna.trial.TrialState.COMPLETE,
        value=None,
        values=[0.0],
        datetime_start=None,
        datetime_complete=None,
        params=trial.params | {"hidden_layers": 1, "width_0": 16},
        distributions=trial.distributions,
        user_attrs={},
        system_attrs={},
        intermediate_values={},
        trial_id=0,
    )
    calibration, device = default_calibration("xc7"), get_device("xc7s15")
    started, count = time.perf_counter(), 0
    for params in variants(frozen, seed=0):
        candidate = sample_candidate(optuna.trial.FixedTrial(params), config, 64, 10)
        estimate_design(candidate.design, calibration, device)
        count += 1
    rate = count / (time.perf_counter() - started)
    print(f"{count} accelerator variants of one network: {rate:,.0f} per second")
    print(json.dumps({"variants": count, "variants_per_s": round(rate)}))


if __name__ == "__main__":
    main()
