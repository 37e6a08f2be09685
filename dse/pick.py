"""Choosing one trial of a study: by number, the knee of the Pareto front, or `max X where Y <= v and ...`."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable

import numpy as np
import optuna

from dse.results import pareto_trials

_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    "<": operator.lt,
    ">=": operator.ge,
    ">": operator.gt,
    "==": operator.eq,
}
_CONDITION = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(<=|>=|==|<|>)\s*([-+0-9.eE]+)\s*$")
_GOAL = re.compile(r"^\s*(max|min)\s+([A-Za-z_][A-Za-z0-9_]*)\s*(?:where\s+(.+))?$", re.IGNORECASE)
PICK_HELP = (
    'use "knee" or "max|min <metric> [where <metric> <op> <number> [and ...]]", '
    'e.g. "max accuracy where energy_uj <= 2"'
)


def selection_warning(expression: str) -> str | None:
    """A warning when the choice looks at the test split, which then no longer measures unseen data."""
    used = sorted({name for name in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", expression) if "test_" in name})
    if not used:
        return None
    return (
        f"--pick uses the test split ({', '.join(used)}): a design chosen by its test score has an optimistic test "
        "score. Select with val_* metrics or the objectives, and read test_* only to report the chosen design."
    )


def trial_metrics(trial: optuna.trial.FrozenTrial, names: list[str]) -> dict[str, float]:
    """Objective values by name, then every estimate and measured metric of the trial."""
    metrics: dict[str, float] = {}
    for key, value in trial.user_attrs.get("estimate", {}).items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            metrics[key] = float(value)
    metrics.update({key: float(value) for key, value in trial.user_attrs.get("metrics", {}).items()})
    metrics.update(zip(names, trial.values or [], strict=False))
    return metrics


def exportable(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    return [
        t
        for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
        if t.user_attrs.get("trained", False)
    ]


def by_number(study: optuna.Study, number: int) -> optuna.trial.FrozenTrial:
    for trial in exportable(study):
        if trial.number == number:
            return trial
    numbers = [t.number for t in exportable(study)]
    raise ValueError(f"--trial {number}: not a completed, trained trial of this study; exportable trials: {numbers}")


def knee(study: optuna.Study) -> optuna.trial.FrozenTrial:
    """The Pareto point closest to the ideal point after scaling every objective to [0, 1]."""
    front = pareto_trials(study)
    if not front:
        raise ValueError("--pick knee: the study has no feasible trained Pareto point yet")
    signs = np.array([1.0 if d == optuna.study.StudyDirection.MINIMIZE else -1.0 for d in study.directions])
    values = np.array([t.values for t in front]) * signs
    span = values.max(axis=0) - values.min(axis=0)
    scaled = (values - values.min(axis=0)) / np.where(span > 0, span, 1.0)
    return front[int(np.argmin(np.linalg.norm(scaled, axis=1)))]


def pick_by_expression(study: optuna.Study, expression: str, names: list[str]) -> optuna.trial.FrozenTrial:
    if expression.strip().lower() == "knee":
        return knee(study)
    goal = _GOAL.match(expression)
    if not goal:
        raise ValueError(f"--pick {expression!r}: {PICK_HELP}")
    direction, target, where = goal.group(1).lower(), goal.group(2), goal.group(3)
    conditions = []
    for part in re.split(r"\s+and\s+", where, flags=re.IGNORECASE) if where else []:
        match = _CONDITION.match(part)
        if not match:
            raise ValueError(f"--pick: cannot read condition {part!r}; {PICK_HELP}")
        try:
            bound = float(match.group(3))
        except ValueError:
            raise ValueError(
                f"--pick: {match.group(3)!r} in condition {part.strip()!r} is not a number; {PICK_HELP}"
            ) from None
        conditions.append((match.group(1), _OPERATORS[match.group(2)], bound))
    candidates = exportable(study)
    if not candidates:
        raise ValueError("--pick: the study has no completed, trained trial")
    known = set(trial_metrics(candidates[0], names))
    for name in [target, *(c[0] for c in conditions)]:
        if name not in known:
            raise ValueError(f"--pick: unknown metric {name!r}; allowed: {', '.join(sorted(known))}")
    feasible = [t for t in candidates if all(v <= 0 for v in t.constraints.values())]
    matching = [
        t for t in feasible if all(check(trial_metrics(t, names)[name], bound) for name, check, bound in conditions)
    ]
    if not matching:
        raise ValueError(f"--pick {expression!r}: no feasible trained trial satisfies the condition")
    sign = -1.0 if direction == "max" else 1.0  # equal values: the lowest trial number, for max and min alike
    return min(matching, key=lambda t: (sign * trial_metrics(t, names)[target], t.number))
