"""What the study plots draw where: trials split into groups, and which objective pairs carry information.

Kept free of matplotlib so that tests check the data, not pixels.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import optuna
from scipy.stats import spearmanr

from dse.config import QUALITY_OBJECTIVES
from dse.results import is_feasible, pareto_trials

# Two objectives whose ranks agree this closely (|Spearman ρ|) trade nothing off: one plot of them says nothing.
REDUNDANT_RHO = 0.95

FrozenTrial = optuna.trial.FrozenTrial


@dataclass(frozen=True)
class TrialGroups:
    """Every trial of a study in exactly one group (running or waiting trials are left out)."""

    feasible: list[FrozenTrial]  # COMPLETE, trained, every constraint met: their quality values are real
    front: list[FrozenTrial]  # the feasible trials no other feasible trial dominates in *all* objectives
    infeasible: list[FrozenTrial]  # COMPLETE but broke a constraint: quality is a placeholder (not trained)
    failed: list[FrozenTrial]  # FAIL: no values at all; user_attrs["fail_reason"] says why
    broken: dict[int, list[str]] = field(default_factory=dict)  # trial number -> constraints it broke

    @property
    def front_numbers(self) -> set[int]:
        return {t.number for t in self.front}


def broken_constraints(trial: FrozenTrial) -> list[str]:
    """Names of the constraints with a positive (violated) value, or ["not trained"] if none was recorded."""
    broken = sorted(name for name, value in trial.constraints.items() if value > 0)
    return broken or ["not trained"]


def split_trials(study: optuna.Study) -> TrialGroups:
    feasible, infeasible, failed = [], [], []
    broken: dict[int, list[str]] = {}
    for trial in study.get_trials(deepcopy=False):
        if trial.state == optuna.trial.TrialState.FAIL:
            failed.append(trial)
        elif trial.state != optuna.trial.TrialState.COMPLETE:
            continue
        elif is_feasible(trial) and trial.user_attrs.get("trained", False):
            feasible.append(trial)
        else:
            infeasible.append(trial)
            broken[trial.number] = broken_constraints(trial)
    return TrialGroups(feasible, pareto_trials(study), infeasible, failed, broken)


def is_quality(name: str) -> bool:
    """Quality objectives are measured by training; only feasible (trained) trials have a real value."""
    return name in QUALITY_OBJECTIVES


def rank_correlation(values: np.ndarray) -> np.ndarray:
    """Spearman ρ between the objective columns; NaN where a column is constant or there are < 3 points."""
    n = values.shape[1]
    rho = np.full((n, n), np.nan)
    np.fill_diagonal(rho, 1.0)
    if len(values) < 3:
        return rho
    for i, j in itertools.combinations(range(n), 2):
        if np.ptp(values[:, i]) > 0 and np.ptp(values[:, j]) > 0:
            rho[i, j] = rho[j, i] = float(spearmanr(values[:, i], values[:, j]).statistic)
    return rho


@dataclass(frozen=True)
class PairChoice:
    shown: list[tuple[int, int]]  # (x, y) objective indices: a cost on x, quality on y where there is one
    redundant: list[tuple[int, int, float]]  # pairs left out, with their ρ


def objective_pairs(names: list[str], feasible: list[FrozenTrial]) -> PairChoice:
    """Every pair of objectives, except pairs whose ranks move together (|ρ| >= REDUNDANT_RHO)."""
    values = np.array([t.values for t in feasible], dtype=float).reshape(len(feasible), len(names))
    rho = rank_correlation(values)
    shown, redundant = [], []
    for i, j in itertools.combinations(range(len(names)), 2):
        if abs(rho[i, j]) >= REDUNDANT_RHO:  # NaN compares False: too few points counts as informative
            redundant.append((i, j, float(rho[i, j])))
        elif is_quality(names[i]) and not is_quality(names[j]):
            shown.append((j, i))  # the usual trade-off picture: cost along x, quality up y
        else:
            shown.append((i, j))
    return PairChoice(shown, redundant)


def non_dominated_2d(points: np.ndarray, minimize: tuple[bool, bool]) -> np.ndarray:
    """Indices of the points no other point dominates in these two objectives, sorted by x."""
    oriented = points * np.where(minimize, 1.0, -1.0)
    keep = []
    for k, p in enumerate(oriented):
        dominated = np.any(np.all(oriented <= p, axis=1) & np.any(oriented < p, axis=1))
        if not dominated:
            keep.append(k)
    return np.array(sorted(keep, key=lambda k: points[k, 0]), dtype=int)
