"""Flat, two-level and random search on the quickstart space: hypervolume and trainings per method.

    python benchmarks/search_efficiency.py [--seeds 3] [--trials 50]

For each seed every method runs the same budget of trials. The hypervolume (accuracy, energy, latency of the
feasible trained trials, normalized on the union of all runs, reference point 1.1) is reported as a share of the
union's. `trainings` counts distinct trained networks (trials that reuse a training do not count). This is not the
brute-force check the issue asks for (every model of an enumerable space trained): that is left undone. Last line:
one JSON object with the medians over seeds.
"""

from __future__ import annotations

import argparse
import io
import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from optuna._hypervolume import compute_hypervolume
from rich.console import Console

from dse.config import parse_config
from dse.search import run_search

METHODS = {"flat": {"sampler": "nsga2"}, "two": {"sampler": "nsga2", "levels": "two"}, "random": {"sampler": "random"}}


def points(frame: pd.DataFrame) -> np.ndarray:
    done = frame[frame["trained"] & frame["feasible"]]
    return np.stack([-done["accuracy"], done["energy_uj"], done["latency_us"]], axis=1).astype(np.float64)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--trials", type=int, default=50)
    args = parser.parse_args()
    base = yaml.safe_load(Path("search_spaces/quickstart.yaml").read_text())
    frames: dict[tuple[str, int], pd.DataFrame] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.seeds):
            for method, search in METHODS.items():
                data = base | {
                    "study": {"name": f"{method}{seed}", "seed": seed, "results_dir": f"{tmp}/{method}{seed}"}
                }
                data["search"] = base["search"] | search | {"n_trials": args.trials}
                run_search(parse_config(data), console=Console(file=io.StringIO()))
                frames[(method, seed)] = pd.read_csv(Path(tmp) / f"{method}{seed}" / "trials.csv")
    everything = np.concatenate([points(f) for f in frames.values()])
    low, high = everything.min(axis=0), everything.max(axis=0)
    reference = np.full(3, 1.1)
    union = compute_hypervolume((everything - low) / (high - low), reference)
    summary: dict[str, float] = {}
    for method in METHODS:
        ratios, trainings = [], []
        for seed in range(args.seeds):
            frame = frames[(method, seed)]
            ratios.append(compute_hypervolume((points(frame) - low) / (high - low), reference) / union)
            trainings.append(int(frame[frame["trained"]]["trained_by"].nunique()))
        print(f"{method:6s} hv/union {np.round(ratios, 3).tolist()}  trainings {trainings}")
        summary[f"{method}_hv_ratio"] = round(float(np.median(ratios)), 4)
        summary[f"{method}_trainings"] = float(np.median(trainings))
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
