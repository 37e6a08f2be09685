"""The two-level search against the true Pareto front of an enumerable space, found by brute force.

    python benchmarks/two_level_bruteforce.py [--seeds 5] [--fraction 0.1]

The space: a one-hidden-layer MLP on digits (1797 samples) for the XC7S15 at 100 MHz; 8 widths x 4 activation
widths x 5 weight widths = 160 networks, each with 4 PE x 4 SIMD x 2 multipliers per layer = 1024 accelerators
(163,840 designs). Objectives: accuracy, energy per inference, latency.

Brute force, once per seed (cached in benchmarks/data/bruteforce_metrics.json): every network trained through
dse.evaluate.train_candidate, the path a search trains with (the network and the study seed set the training
seed, so a search that trains a network gets exactly these metrics); every accelerator estimated. The true front
is the non-dominated set of all feasible designs.

Then, per seed, three searches with the same budget of sampled trials (`--fraction` of the networks, so at most that
many trainings): two-level (the default), flat NSGA-II and random. Each search's feasible trained trials are
compared with the true front by hypervolume (objectives normalized on the brute-force set, reference point 1.1).
Goal: the two-level median >= 0.95 of the true hypervolume with <= 10 % of the networks trained, above flat and
random. Last line: {"hv_ratio", "trainings_fraction", "flat_hv_ratio", "random_hv_ratio"} (medians over seeds).
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import statistics
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from optuna._hypervolume import compute_hypervolume
from rich.console import Console

from dse.config import SearchConfig, parse_config
from dse.evaluate import train_candidate
from dse.search import run_search
from dse.space import ParamsTrial, sample_candidate
from estimators import estimate_design

WIDTHS = (4, 6, 8, 12, 16, 24, 32, 48)
ACTIVATION_BITS = (4, 5, 6, 8)
WEIGHT_BITS = (3, 4, 5, 6, 8)
PE = SIMD = (1, 2, 4, 8)
MULTIPLIERS = ("dsp", "lut")
CACHE = Path(__file__).parent / "data" / "bruteforce_metrics.json"
N_FEATURES, N_CLASSES = 64, 10
VARIANTS = int(__import__("os").environ.get("VARIANTS", "6"))


def space(seed: int, sampler: str, levels: str, n_trials: int, results_dir: str) -> SearchConfig:
    return parse_config(
        {
            "study": {"name": f"bf_{levels}_{sampler}_{seed}", "seed": seed, "results_dir": results_dir},
            "dataset": {"kind": "digits"},
            "model": {"family": "mlp", "hidden_layers": 1, "width": {"choices": list(WIDTHS)}, "activation": "relu"},
            "quantization": {
                "activation_bits": {"choices": list(ACTIVATION_BITS)},
                "activation_int_bits": 3,
                "weight_bits": {"choices": list(WEIGHT_BITS)},
                "weight_int_bits": 1,
            },
            "hardware": {
                "device": "xc7s15",
                "clock_mhz": 100,
                "pe": {"choices": list(PE)},
                "simd": {"choices": list(SIMD)},
                "multiplier": {"choices": list(MULTIPLIERS)},
                "weight_storage": "lutrom",
            },
            "training": {"epochs": 6, "learning_rate": 0.01, "batch_size": 64},
            "objectives": [{"name": "accuracy"}, {"name": "energy_uj"}, {"name": "latency_us"}],
            "constraints": {"fit_device": True},
            "search": {"sampler": sampler, "levels": levels, "n_trials": n_trials, "variants_per_model": VARIANTS},
        }
    )


def networks() -> list[dict[str, Any]]:
    return [
        {"width_0": w, "activation_bits": a, "weight_bits": b}
        for w, a, b in itertools.product(WIDTHS, ACTIVATION_BITS, WEIGHT_BITS)
    ]


def accelerators() -> list[dict[str, Any]]:
    return [
        {"pe_0": p0, "simd_0": s0, "multiplier_0": m0, "pe_1": p1, "simd_1": s1, "multiplier_1": m1}
        for p0, s0, m0, p1, s1, m1 in itertools.product(PE, SIMD, MULTIPLIERS, PE, SIMD, MULTIPLIERS)
    ]


def key(network: dict[str, Any]) -> str:
    return f"{network['width_0']}-{network['activation_bits']}-{network['weight_bits']}"


def brute_force_metrics(seed: int, cache: dict[str, dict[str, float]]) -> dict[str, float]:
    """Validation accuracy of every network for this seed (trained once, then read from the cache)."""
    done = cache.setdefault(str(seed), {})
    config = space(seed, "random", "flat", 1, "unused")
    todo = [n for n in networks() if key(n) not in done]
    with tempfile.TemporaryDirectory() as tmp:
        for index, network in enumerate(todo):
            candidate = sample_candidate(ParamsTrial(network | accelerators()[0]), config, N_FEATURES, N_CLASSES)
            dataset = config.dataset.model_dump(mode="json")
            outcome = train_candidate(dataset, seed, candidate.to_dict(), index, f"{tmp}/{index}")
            done[key(network)] = outcome["metrics"]["val_accuracy"]
            if index % 20 == 19:
                print(f"  seed {seed}: {len(done)}/{len(networks())} networks trained", flush=True)
    CACHE.parent.mkdir(exist_ok=True)
    CACHE.write_text(json.dumps(cache, indent=1, sort_keys=True) + "\n")
    return done


def design_points(seed: int, metrics: dict[str, float]) -> np.ndarray:
    """(-accuracy, energy, latency) of every feasible design of the space."""
    config = space(seed, "random", "flat", 1, "unused")
    points = []
    for network in networks():
        for accelerator in accelerators():
            candidate = sample_candidate(ParamsTrial(network | accelerator), config, N_FEATURES, N_CLASSES)
            estimate = estimate_design(candidate.design)
            if estimate.fits:
                points.append((-metrics[key(network)], estimate.energy_uj, estimate.latency_us))
    return np.array(points, dtype=np.float64)


def non_dominated(points: np.ndarray) -> np.ndarray:
    order = np.lexsort(points.T[::-1])
    front: list[np.ndarray] = []
    for point in points[order]:
        if not any(np.all(kept <= point) for kept in front):
            front.append(point)
    return np.array(front)


def hypervolume(points: np.ndarray, low: np.ndarray, high: np.ndarray) -> float:
    if not len(points):
        return 0.0
    scaled = np.clip((points - low) / (high - low), 0.0, None)
    inside = scaled[np.all(scaled < 1.1, axis=1)]
    return float(compute_hypervolume(non_dominated(inside), np.full(3, 1.1))) if len(inside) else 0.0


def search_points(seed: int, sampler: str, levels: str, n_trials: int) -> tuple[np.ndarray, int]:
    with tempfile.TemporaryDirectory() as tmp:
        config = space(seed, sampler, levels, n_trials, f"{tmp}/res")
        run_search(config, console=Console(file=io.StringIO()))
        frame = pd.read_csv(Path(tmp) / "res" / "trials.csv")
    done = frame[frame["trained"] & frame["feasible"]]
    trainings = int((frame["trained"] & (frame["trained_by"] == frame["number"])).sum())
    points = np.stack([-done["accuracy"], done["energy_uj"], done["latency_us"]], axis=1).astype(np.float64)
    return points, trainings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--fraction", type=float, default=0.1)
    args = parser.parse_args()
    cache = json.loads(CACHE.read_text()) if CACHE.exists() else {}
    budget = max(1, int(args.fraction * len(networks())))
    methods = {"two": ("nsga2", "two"), "flat": ("nsga2", "flat"), "random": ("random", "flat")}
    ratios: dict[str, list[float]] = {m: [] for m in methods}
    fractions: list[float] = []
    print(f"{len(networks())} networks x {len(accelerators())} accelerators; budget {budget} sampled trials per search")
    for seed in range(args.seeds):
        metrics = brute_force_metrics(seed, cache)
        everything = design_points(seed, metrics)
        low, high = everything.min(axis=0), everything.max(axis=0)
        truth = hypervolume(everything, low, high)
        line = [f"seed {seed}: true front {len(non_dominated(everything))} designs"]
        for method, (sampler, levels) in methods.items():
            points, trainings = search_points(seed, sampler, levels, budget)
            ratio = hypervolume(points, low, high) / truth
            ratios[method].append(ratio)
            if method == "two":
                fractions.append(trainings / len(networks()))
            line.append(f"{method} {ratio:.3f} ({trainings} trainings)")
        print("; ".join(line), flush=True)
    print(
        json.dumps(
            {
                "hv_ratio": round(statistics.median(ratios["two"]), 4),
                "trainings_fraction": round(statistics.median(fractions), 4),
                "flat_hv_ratio": round(statistics.median(ratios["flat"]), 4),
                "random_hv_ratio": round(statistics.median(ratios["random"]), 4),
            }
        )
    )


if __name__ == "__main__":
    main()
