"""Shared by the synthesis benchmarks: many designs synthesized in parallel through a result cache, a tool failure
recorded rather than raised, and the error summaries they print."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np

from dse.calibrate.cache import ResultCache
from estimators.fit import error_stats


def failure(error: Exception) -> dict[str, Any]:
    """A worker's record of a design the tools could not build."""
    return {"error": f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"[:300]}


def measure_all(
    worker: Callable[..., dict[str, Any]],
    designs: Sequence[Any],
    weights: Sequence[Any],
    keys: Sequence[str],
    cache: ResultCache,
    jobs: int,
) -> dict[int, dict[str, Any]]:
    """Each design's measurement, from the cache or from ``worker`` (run in ``jobs`` processes); successes are
    cached."""
    measured: dict[int, dict[str, Any]] = {i: hit for i, key in enumerate(keys) if (hit := cache.get(key))}
    todo = [i for i in range(len(designs)) if i not in measured]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        results = pool.map(worker, [designs[i] for i in todo], [weights[i] for i in todo])
        for i, result in zip(todo, results, strict=True):
            measured[i] = result
            if not result["error"]:
                cache.put(keys[i], result)
    return measured


def error_summary(measured: Sequence[float], estimated: Sequence[float]) -> dict[str, float]:
    """Median and p90 of the relative error, in % of the measured value."""
    found = error_stats(np.array(measured, dtype=float), np.array(estimated, dtype=float))
    return {"median_pct": round(found.median_pct, 2), "p90_pct": round(found.p90_pct, 2)}


def exact_share(pairs: Sequence[tuple[float, float]]) -> float:
    """Share of (measured, estimated) pairs that are equal: the DSP and BRAM rules are exact or wrong."""
    return round(float(np.mean([a == b for a, b in pairs])), 4)
