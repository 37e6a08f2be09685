"""Accelerator variants of one network scored per second (the inner level of `search.levels: two`, and what
`search.mode: hardware` does for a pretrained model).

    python benchmarks/variant_speed.py

Trains nothing: takes search_spaces/pretrained_mlp.yaml (a trained digits MLP read from ONNX), fixes its formats
and scores every combination of its accelerator keys (per-layer PE, SIMD, multiplier, weight storage; a seeded
sample of 4096 when there are more) through the same path the two-level search uses (parameters -> candidate ->
estimate). Goal: >= 10,000 variants/s. Last line: one JSON object.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import optuna

from dse.config import load_config
from dse.hardware_space import variants
from dse.space import ParamsTrial, sample_candidate
from estimators import default_calibration, estimate_design, get_device


def main() -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    config = load_config(Path("search_spaces/pretrained_mlp.yaml"))
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    trial = study.ask()
    sample_candidate(trial, config, 64, 10)  # registers the space's distributions on a real trial
    frozen = optuna.trial.FrozenTrial(
        number=0,
        state=optuna.trial.TrialState.COMPLETE,
        value=None,
        values=[0.0],
        datetime_start=None,
        datetime_complete=None,
        params=trial.params,
        distributions=trial.distributions,
        user_attrs={},
        system_attrs={},
        intermediate_values={},
        trial_id=0,
    )
    calibration, device = default_calibration("xc7"), get_device("xc7s15")
    started, count = time.perf_counter(), 0
    for params in variants(frozen, seed=0):
        candidate = sample_candidate(ParamsTrial(params), config, 64, 10)  # type: ignore[arg-type]
        estimate_design(candidate.design, calibration, device)
        count += 1
    rate = count / (time.perf_counter() - started)
    print(f"{count} accelerator variants of one network: {rate:,.0f} per second")
    print(json.dumps({"variants": count, "variants_per_s": round(rate)}))


if __name__ == "__main__":
    main()
