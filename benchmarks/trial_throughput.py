"""Trials per second with 1 and 2 workers on a trial-bound search (~1 s of real QAT training per trial).

    python benchmarks/trial_throughput.py [--trials 16] [--epochs 80] [--backends local,ray]

Goal on a 2-core machine: 2 workers >= 1.7x the trials/s of 1 worker. Two rates per run:
- wall: n_trials / wall time of run_search (includes worker start-up: spawn + torch import, or Ray task warm-up)
- steady: trials completed after the first round of `workers` trials, per second of the time they took
Ray's own start-up (ray.init) is done once, before the timed runs, and printed separately.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import tempfile
import time
from pathlib import Path

import optuna
from rich.console import Console

from dse.config import SearchConfig, parse_config
from dse.search import run_search


def config(trials: int, epochs: int, backend: str, workers: int) -> SearchConfig:
    return parse_config(
        {
            "study": {"name": "throughput", "seed": 0},
            "dataset": {"kind": "digits"},
            "model": {"hidden_layers": 1, "width": {"choices": [24, 32]}},
            "training": {"epochs": epochs},
            "objectives": [{"name": "accuracy"}, {"name": "energy_uj"}],
            "constraints": {"fit_device": False},  # every candidate is trained: the search is trial-bound
            "search": {"n_trials": trials, "sampler": "random"},
            "execution": {"backend": backend, "workers": workers},
        }
    )


def measure(trials: int, epochs: int, backend: str, workers: int, scratch: Path) -> tuple[float, float, float]:
    results = scratch / f"{backend}-{workers}"
    quiet = Console(file=io.StringIO())
    started = time.perf_counter()
    run_search(config(trials, epochs, backend, workers), results_dir=results, console=quiet)
    wall = time.perf_counter() - started
    study = optuna.load_study(study_name="throughput", storage=f"sqlite:///{results / 'study.db'}")
    ends = sorted(t.datetime_complete.timestamp() for t in study.trials if t.datetime_complete)
    # steady state: skip the first round, whose trials also paid for the workers' start-up
    steady = (len(ends) - workers) / (ends[-1] - ends[workers - 1])
    train = sum(t.user_attrs.get("train_seconds", 0.0) for t in study.trials) / len(study.trials)
    return trials / wall, steady, train


def _burn(_: int) -> float:
    started = time.perf_counter()
    total = 0
    for i in range(15_000_000):
        total += i
    return time.perf_counter() - started


def machine_ceiling() -> float:
    """Speed-up that 2 processes of pure CPU work get right now (< 2 when other jobs share the cores)."""
    import multiprocessing

    one = _burn(0)
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        two = max(pool.map(_burn, [0, 1]))
    return 2 * one / two


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=80, help="about 1 s of training per trial at 80")
    parser.add_argument("--backends", default="local,ray")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    scratch = Path(tempfile.mkdtemp(prefix="dse-bench-"))
    print(
        f"{os.cpu_count()} CPUs, {args.trials} trials of {args.epochs} epochs each; load average "
        f"{os.getloadavg()[0]:.1f}; 2-process ceiling for pure CPU work now: {machine_ceiling():.2f}x"
    )
    print(f"{'backend':8} {'workers':>7} {'wall trials/s':>14} {'steady trials/s':>16} {'s/trial (train)':>16}")
    try:
        for backend in args.backends.split(","):
            if backend == "ray":
                import ray

                from dse.ray_backend import start_local_ray

                started = time.perf_counter()
                start_local_ray(2, str(scratch / "ray"))
                print(f"(ray.init: {time.perf_counter() - started:.1f} s, once for both runs)")
            rates = {}
            for workers in (1, 2):
                wall, steady, train = measure(args.trials, args.epochs, backend, workers, scratch)
                rates[workers] = (wall, steady)
                print(f"{backend:8} {workers:>7} {wall:>14.2f} {steady:>16.2f} {train:>16.2f}")
            print(
                f"{backend:8} speed-up wall {rates[2][0] / rates[1][0]:.2f}x, "
                f"steady {rates[2][1] / rates[1][1]:.2f}x (goal >= 1.7x)"
            )
            if backend == "ray":
                ray.shutdown()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
