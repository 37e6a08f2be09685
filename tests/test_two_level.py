"""The two-level search: the accelerators of each trained network are scored by the estimators, and their Pareto
set is queued as trials that reuse the network's training."""

from __future__ import annotations

from pathlib import Path

import optuna
import pandas as pd
import pytest

from dse.config import ConfigError, parse_config
from dse.hardware_space import is_hardware_param, pareto_variants
from dse.search import run_search


def test_pareto_variants_keep_the_non_dominated_spread_along_the_first_cost() -> None:
    scored = [({"v": i}, costs) for i, costs in enumerate([[1, 9], [2, 5], [3, 6], [4, 4], [5, 1], [2, 5], [9, 9]])]
    assert [p["v"] for p in pareto_variants(scored, keep=10)] == [
        0,
        1,
        3,
        4,
    ]  # [3,6] and [9,9] dominated, a tie kept once
    assert [p["v"] for p in pareto_variants(scored, keep=2)] == [0, 4]


def test_hardware_parameters_are_told_from_network_parameters() -> None:
    for name in ("pe_0", "simd_12", "multiplier_1", "weight_storage_3", "device", "clock_mhz", "mcu_tail_layers"):
        assert is_hardware_param(name)
    for name in ("width_0", "hidden_layers", "activation_bits", "weight_bits_1", "epochs", "pooling"):
        assert not is_hardware_param(name)


def test_two_levels_queue_accelerators_that_reuse_the_training(tmp_path: Path) -> None:
    config = parse_config(
        {
            "study": {"name": "two", "seed": 0, "results_dir": str(tmp_path / "res")},
            "dataset": {"kind": "digits", "max_samples": 400},
            "model": {"hidden_layers": 1, "width": {"choices": [8, 16]}},
            "hardware": {"pe": {"choices": [1, 2, 4]}, "simd": {"choices": [1, 2, 4]}},
            "training": {"epochs": 2},
            "objectives": [{"name": "accuracy"}, {"name": "latency_us"}, {"name": "lut"}],
            "search": {"n_trials": 8, "sampler": "random", "levels": "two", "variants_per_model": 3},
        }
    )
    run_search(config)
    study = optuna.load_study(study_name="two", storage=f"sqlite:///{tmp_path / 'res' / 'study.db'}")
    done = optuna.trial.TrialState.COMPLETE  # queued accelerators beyond n_trials stay WAITING for a rerun
    queued = [t for t in study.trials if "variant_of" in t.user_attrs and t.state == done]
    assert queued, "a trained network must queue its accelerators"
    for trial in queued:
        source = study.trials[trial.user_attrs["variant_of"]]
        assert trial.user_attrs["trained_by"] == source.number
        assert {k: v for k, v in trial.params.items() if not is_hardware_param(k)} == {
            k: v for k, v in source.params.items() if not is_hardware_param(k)
        }
    trials = pd.read_csv(tmp_path / "res" / "trials.csv")
    assert trials[trials["trained"]]["trained_by"].nunique() < len(trials[trials["trained"]])
    # designs.csv: every accelerator scored for every trained network; the queued ones are the variant trials.
    designs = pd.read_csv(tmp_path / "res" / "designs.csv")
    networks = set(trials[trials["trained"] & (trials["trained_by"] == trials["number"])]["number"])
    assert set(designs["model"]) == networks
    assert len(designs) == len(networks) * (3 * 3 * 3 * 3 - 1)  # pe x simd per layer, the sampled one left out
    assert designs["queued"].sum() == len(queued) == trials["variant_of"].notna().sum()
    assert {"accuracy", "latency_us", "lut", "hardware", "est_cycles", "feasible"} <= set(designs.columns)
    # Trained trials are scored with the ROM columns their weights keep; the pre-training estimate is beside it.
    trained = trials[trials["trained"]]
    assert (trained["pre_lut"] >= trained["est_lut"] - 1e-9).all()
    assert (trained["pre_lut"] > trained["est_lut"]).any()
    assert trained["lut"].tolist() == trained["est_lut"].tolist()
    sampled = trials[trials["variant_of"].isna()]
    fresh = sampled[~sampled["trained"] | (sampled["trained_by"] == sampled["number"])]
    assert len(fresh) == 2  # both networks of the space; re-proposals do not count, and stop once exhausted


def test_two_levels_need_reuse() -> None:
    with pytest.raises(ConfigError, match="search.levels: two needs search.reuse_training"):
        parse_config(
            {
                "study": {"name": "x"},
                "dataset": {"kind": "digits"},
                "objectives": [{"name": "accuracy"}],
                "search": {"levels": "two", "reuse_training": False},
            }
        )
