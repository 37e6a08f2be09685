"""The measured goals of search_spaces/timeseries_conv1d.yaml (issue 9) in one run.

    python benchmarks/timeseries_conv1d.py [--out DIR]

Runs the search (fresh results folder), then prints: wall time (goal <= 5 min on 2 cores), feasible Pareto points
(goal >= 3) and the best integer test accuracy. The float comparison is
benchmarks/float_gap.py DIR; bit- and cycle-exactness is `dse export DIR --pick knee --out build/cnn --verify`.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd
from rich.console import Console

from dse.config import load_config
from dse.search import run_search

SEARCH_FILE = Path(__file__).resolve().parents[1] / "search_spaces" / "timeseries_conv1d.yaml"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=None, help="results folder (default: a temporary one)")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="conv1d-")) / "timeseries_conv1d"
    started = time.perf_counter()
    run_search(load_config(SEARCH_FILE), results_dir=out, console=Console(stderr=True, quiet=True))
    wall = time.perf_counter() - started
    trials = pd.read_csv(out / "trials.csv")
    pareto = trials[(trials["pareto"] == True) & (trials["feasible"] == True)]  # noqa: E712 - pandas masks
    print(f"results: {out}")
    print(f"wall time: {wall:.0f} s (goal <= 300 s on 2 cores)")
    print(f"feasible Pareto points: {len(pareto)} (goal >= 3)")
    print(f"best integer test accuracy: {trials['test_accuracy'].max():.4f}")


if __name__ == "__main__":
    main()
