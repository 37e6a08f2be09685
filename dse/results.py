"""results/<study>/: trials.csv and pareto.csv (the plots: dse.plots)."""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import optuna
import pandas as pd

from dse.config import SearchConfig

# set_metric_names and the matplotlib plots are "experimental" in Optuna 5; they work as documented.
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


def is_feasible(trial: optuna.trial.FrozenTrial) -> bool:
    return all(value <= 0 for value in trial.constraints.values())


def infeasibility_note(study: optuna.Study) -> str | None:
    """When no complete trial is feasible: which constraints ruled the trials out, most frequent first."""
    done = [t for t in study.get_trials(deepcopy=False) if t.state == optuna.trial.TrialState.COMPLETE]
    if not done or any(is_feasible(t) for t in done):
        return None
    broken: dict[str, int] = {}
    for trial in done:
        for name, value in trial.constraints.items():
            if value > 0:
                broken[name] = broken.get(name, 0) + 1
    ranked = sorted(broken.items(), key=lambda item: -item[1])
    parts = ", ".join(f"{name} in {count} of {len(done)}" for name, count in ranked)
    return f"no feasible design: the constraints ruled out every trial ({parts}); relax the first one"


PRE_TRAINING_COLUMNS = ("lut", "ff", "logic_cells", "dynamic_mw", "energy_uj", "fits")


def trials_frame(study: optuna.Study, config: SearchConfig) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    names = [o.name for o in config.objectives]
    pareto = {t.number for t in pareto_trials(study)}
    for trial in study.get_trials(deepcopy=False):
        attrs = trial.user_attrs
        row: dict[str, Any] = {
            "number": trial.number,
            "state": trial.state.name,
            "feasible": is_feasible(trial),
            "trained": attrs.get("trained", False),
            "pareto": trial.number in pareto,
        }
        for name, value in zip(names, trial.values or [math.nan] * len(names), strict=True):
            row[name] = value
        row.update({f"param_{key}": value for key, value in trial.params.items()})
        row.update({f"est_{key}": value for key, value in attrs.get("estimate", {}).items() if key != "violations"})
        row["violations"] = "; ".join(attrs.get("estimate", {}).get("violations", []))
        # The estimate before training (what pruned the trial); est_* is the one with the trained ROM contents.
        before = attrs.get("estimate_pre_training", {})
        row.update({f"pre_{key}": before.get(key, math.nan) for key in PRE_TRAINING_COLUMNS})
        row["trained_by"] = attrs.get("trained_by", trial.number if attrs.get("trained") else None)
        row["variant_of"] = attrs.get("variant_of")  # two-level search: the network whose accelerator this is
        row.update({f"constraint_{key}": value for key, value in trial.constraints.items()})
        row.update(attrs.get("metrics", {}))
        row["duration_s"] = trial.duration.total_seconds() if trial.duration else math.nan
        row["train_seconds"] = attrs.get("train_seconds", math.nan)
        row["fail_reason"] = attrs.get("fail_reason", "")
        row["datetime_start"] = trial.datetime_start
        rows.append(row)
    return pd.DataFrame(rows)


def pareto_trials(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    """Optuna's non-dominated COMPLETE trials; with constraints set, only feasible ones count."""
    return [t for t in study.best_trials if t.user_attrs.get("trained", False) and is_feasible(t)]


def reference_point(study: optuna.Study, trials: list[optuna.trial.FrozenTrial]) -> list[float]:
    """10 % beyond the worst feasible value of each objective (the hypervolume's reference)."""
    point = []
    for index, direction in enumerate(study.directions):
        values = [t.values[index] for t in trials]
        worst = max(values) if direction == optuna.study.StudyDirection.MINIMIZE else min(values)
        margin = 0.1 * abs(worst) or 1.0
        point.append(worst + margin if direction == optuna.study.StudyDirection.MINIMIZE else worst - margin)
    return point


def write_results(study: optuna.Study, config: SearchConfig, results_dir: Path, notes: list[str] | None = None) -> int:
    """Write trials.csv, pareto.csv and the plots; return the number of Pareto points. `notes`: plots left out."""
    frame = trials_frame(study, config)
    frame.to_csv(results_dir / "trials.csv", index=False)
    pareto = frame[frame["pareto"]] if len(frame) else frame
    pareto.to_csv(results_dir / "pareto.csv", index=False)
    from dse.plots import write_plots  # matplotlib and plotly load only when plots are written

    write_plots(study, config, results_dir, notes)
    return len(pareto)
