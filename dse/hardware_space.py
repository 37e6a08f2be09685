"""The inner level of the two-level search: every accelerator of one trained network, scored by the estimators.

A trial's parameters split into the network's (family, widths, bits, training) and the accelerator's (per-layer
folding knobs, device, clock, MCU head and tail). The weights do not depend on the accelerator, so all accelerators
of a trained network can be scored without training: exhaustively when the space is small, else a seeded random
sample of it. Their estimator Pareto set (over the cost objectives, feasible only) goes back to the study as
queued trials, which complete at once by reusing the network's training (``search.reuse_training``).
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import optuna

from contract.layers import KINDS

# Parameters that describe the accelerator, not the network (knob_<layer> for every kind's folding knobs).
_KNOB_NAMES = sorted({knob.name for cls in KINDS.values() for knob in cls.KNOBS})
HARDWARE_PARAM = re.compile(rf"^({'|'.join(_KNOB_NAMES)})_\d+$|^(device|clock_mhz|mcu_head_layers|mcu_tail_layers)$")
MAX_VARIANTS = 4096  # scored per network; beyond that a seeded random sample of the space


def is_hardware_param(name: str) -> bool:
    return bool(HARDWARE_PARAM.match(name))


def _values(distribution: optuna.distributions.BaseDistribution) -> list[Any]:
    if isinstance(distribution, optuna.distributions.CategoricalDistribution):
        return list(distribution.choices)
    if isinstance(distribution, optuna.distributions.IntDistribution):
        return list(range(distribution.low, distribution.high + 1, distribution.step))
    return []  # float hardware parameters (none today) are not enumerated


def accelerator_space(trial: optuna.trial.FrozenTrial) -> tuple[list[str], list[list[Any]]]:
    """The trial's accelerator parameters and the values each can take."""
    names = sorted(name for name in trial.distributions if is_hardware_param(name))
    return names, [_values(trial.distributions[name]) or [trial.params[name]] for name in names]


def variants(trial: optuna.trial.FrozenTrial, seed: int) -> Iterator[dict[str, Any]]:
    """Full parameter sets: the network's values with every accelerator (or a seeded sample when there are more
    than MAX_VARIANTS)."""
    names, values = accelerator_space(trial)
    size = math.prod(len(v) for v in values)
    if size <= MAX_VARIANTS:
        combos: Iterator[tuple[Any, ...]] = itertools.product(*values)
    else:
        rng = np.random.default_rng(seed)
        combos = (tuple(v[int(rng.integers(len(v)))] for v in values) for _ in range(MAX_VARIANTS))
    for combo in combos:
        yield trial.params | dict(zip(names, combo, strict=True))


def pareto_variants(scored: list[tuple[dict[str, Any], list[float]]], keep: int) -> list[dict[str, Any]]:
    """Non-dominated parameter sets (all costs minimized), at most ``keep``, spread along the first cost."""
    costs = np.array([c for _, c in scored], dtype=np.float64)
    front = [
        i
        for i in range(len(scored))
        if not np.any(np.all(costs <= costs[i], axis=1) & np.any(costs < costs[i], axis=1))
    ]
    unique: dict[tuple[float, ...], int] = {}
    for i in sorted(front, key=lambda i: tuple(costs[i])):
        unique.setdefault(tuple(costs[i]), i)  # equal costs: one representative
    chosen = list(unique.values())
    if len(chosen) > keep:
        picks = np.linspace(0, len(chosen) - 1, keep).round().astype(int)
        chosen = [chosen[p] for p in sorted(set(picks.tolist()))]
    return [scored[i][0] for i in chosen]


def hardware_pareto(
    trial: optuna.trial.FrozenTrial,
    score: Callable[[dict[str, Any]], list[float] | None],
    keep: int,
    seed: int,
) -> list[dict[str, Any]]:
    """The accelerators of ``trial``'s network on the estimator Pareto front; ``score`` returns the cost objectives
    of a parameter set, or None when it is infeasible. The trial's own accelerator is left out."""
    scored = []
    for params in variants(trial, seed):
        if params == trial.params:
            continue
        costs = score(params)
        if costs is not None:
            scored.append((params, costs))
    return pareto_variants(scored, keep) if scored else []
