"""results/<study>/: trials.csv, pareto.csv and the Pareto / hypervolume plots."""

from __future__ import annotations

import itertools
import math
import warnings
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # plots are files; no display on build machines
import matplotlib.pyplot as plt  # noqa: E402
import optuna  # noqa: E402
import pandas as pd  # noqa: E402

from dse.config import SearchConfig  # noqa: E402

# set_metric_names and the matplotlib plots are "experimental" in Optuna 5; they work as documented.
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


def is_feasible(trial: optuna.trial.FrozenTrial) -> bool:
    return all(value <= 0 for value in trial.constraints.values())


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


def write_plots(study: optuna.Study, config: SearchConfig, results_dir: Path) -> list[Path]:
    names = [o.name for o in config.objectives]
    feasible = [
        t
        for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
        if is_feasible(t) and t.user_attrs.get("trained", False)
    ]
    written: list[Path] = []
    if len(names) < 2 or not feasible:
        return written
    for i, j in itertools.combinations(range(len(names)), 2):
        axes = optuna.visualization.matplotlib.plot_pareto_front(
            study, targets=lambda t, i=i, j=j: (t.values[i], t.values[j]), target_names=[names[i], names[j]]
        )
        axes.set_title(f"{config.study.name}: {names[i]} vs {names[j]}")
        path = results_dir / f"pareto_{names[i]}_vs_{names[j]}.png"
        axes.figure.savefig(path, dpi=120, bbox_inches="tight")
        plt.close(axes.figure)
        written.append(path)
    shown = names[:3]
    figure = optuna.visualization.plot_pareto_front(
        study, targets=lambda t: tuple(t.values[: len(shown)]), target_names=shown
    )
    html = results_dir / "pareto.html"
    figure.write_html(html, include_plotlyjs=True)  # self-contained: no network needed to view it
    written.append(html)
    axes = optuna.visualization.matplotlib.plot_hypervolume_history(study, reference_point(study, feasible))
    axes.set_title(f"{config.study.name}: hypervolume of feasible trials")
    path = results_dir / "hypervolume.png"
    axes.figure.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(axes.figure)
    written.append(path)
    return written


def write_results(study: optuna.Study, config: SearchConfig, results_dir: Path) -> int:
    """Write trials.csv, pareto.csv and the plots; return the number of Pareto points."""
    frame = trials_frame(study, config)
    frame.to_csv(results_dir / "trials.csv", index=False)
    pareto = frame[frame["pareto"]] if len(frame) else frame
    pareto.to_csv(results_dir / "pareto.csv", index=False)
    write_plots(study, config, results_dir)
    return len(pareto)
