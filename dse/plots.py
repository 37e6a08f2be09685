"""The study's pictures: objective pairs with the full Pareto front marked, infeasible and failed trials apart,
every objective against every other, hypervolume, and one self-contained interactive HTML file."""

from __future__ import annotations

import warnings
from collections import Counter
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # plots are files; no display on build machines
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import optuna  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from dse.config import SearchConfig  # noqa: E402
from dse.plot_data import (  # noqa: E402
    REDUNDANT_RHO,
    TrialGroups,
    is_quality,
    non_dominated_2d,
    objective_pairs,
    rank_correlation,
    split_trials,
)
from dse.results import reference_point  # noqa: E402

warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)

LABELS = {
    "accuracy": "accuracy (integer model, validation split)",
    "error": "error rate (integer model, validation split)",
    "mse": "MSE (integer model, validation split)",
    "latency_us": "latency per inference, µs (estimate)",
    "energy_uj": "energy per inference, µJ (estimate)",
    "power_mw": "average power, mW (estimate)",
    "lut": "LUTs (estimate)",
    "ff": "flip-flops (estimate)",
    "dsp": "DSP blocks (estimate)",
    "bram": "block RAMs (estimate)",
    "params": "parameters",
}
FEASIBLE, FRONT, BOUNDARY = "tab:blue", "tab:red", "0.45"
ANNOTATE_AT_MOST = 15  # trial numbers next to front points, unless they would pile up


def axis_label(name: str, minimize: bool, axis: str) -> str:
    better = ("← better" if minimize else "better →") if axis == "x" else ("↓ better" if minimize else "↑ better")
    return f"{LABELS.get(name, name)}   {better}"


def _values(trials: list[optuna.trial.FrozenTrial], index: int) -> np.ndarray:
    return np.array([t.values[index] for t in trials], dtype=float)


def _failed_note(groups: TrialGroups) -> str:
    if not groups.failed:
        return ""
    reasons = Counter(str(t.user_attrs.get("fail_reason", "unknown")).split(":")[0][:40] for t in groups.failed)
    listed = "; ".join(f"{reason} ×{count}" for reason, count in reasons.most_common(3))
    return f"{len(groups.failed)} failed trial(s), no values (trials.csv fail_reason): {listed}"


def _infeasible_strip(strip: plt.Axes, groups: TrialGroups, x: int, x_name: str) -> None:
    """Infeasible trials along the cost axis, one row per broken constraint; never on a quality axis."""
    title = f"{len(groups.infeasible)} infeasible trial(s): estimated only, never trained, so no quality value"
    note = _failed_note(groups)
    strip.set_title(title + (f"\n{note}" if note else ""), fontsize=8, loc="left")
    rows = sorted({", ".join(groups.broken[t.number]) for t in groups.infeasible})
    if not rows or is_quality(x_name):
        strip.set_yticks([])
    else:
        for row, name in enumerate(rows):
            members = [t for t in groups.infeasible if ", ".join(groups.broken[t.number]) == name]
            strip.scatter(_values(members, x), np.full(len(members), row), marker="x", color="0.35", s=22)
        strip.set_yticks(range(len(rows)), [f"broke {name}" for name in rows], fontsize=8)
        strip.set_ylim(-0.7, len(rows) - 0.3)
    strip.grid(axis="x", alpha=0.3)


def pair_figure(groups: TrialGroups, names: list[str], minimize: list[bool], x: int, y: int, study: str) -> Figure:
    figure, (ax, strip) = plt.subplots(
        2, 1, figsize=(8, 6.4), height_ratios=[4, 1.2], sharex=not is_quality(names[x]), layout="constrained"
    )
    front = groups.front_numbers
    others = [t for t in groups.feasible if t.number not in front]
    on_front = [t for t in groups.feasible if t.number in front]
    ax.scatter(_values(others, x), _values(others, y), color=FEASIBLE, alpha=0.6, s=24,
               label=f"feasible, trained ({len(others)})")  # fmt: skip
    if groups.feasible:
        points = np.column_stack([_values(groups.feasible, x), _values(groups.feasible, y)])
        best = points[non_dominated_2d(points, (minimize[x], minimize[y]))]
        ax.step(best[:, 0], best[:, 1], where="post" if minimize[x] else "pre", color=BOUNDARY,
                linestyle="--", linewidth=1, label="best in these two objectives only")  # fmt: skip
    ax.scatter(_values(on_front, x), _values(on_front, y), color=FRONT, edgecolor="black", s=48, zorder=3,
               label=f"Pareto front in all {len(names)} objectives ({len(on_front)})")  # fmt: skip
    if len(on_front) <= ANNOTATE_AT_MOST:
        labels: dict[tuple[float, float], list[str]] = {}
        for trial in on_front:  # trials with the same values share one label
            labels.setdefault((trial.values[x], trial.values[y]), []).append(f"#{trial.number}")
        for point, numbers in labels.items():
            ax.annotate(", ".join(numbers), point, textcoords="offset points", xytext=(4, 4), fontsize=7)
    ax.set_ylabel(axis_label(names[y], minimize[y], "y"))
    ax.legend(fontsize=8, loc="best")
    ax.grid(alpha=0.3)
    hidden = [n for k, n in enumerate(names) if k not in (x, y)]
    subtitle = (
        f"\nred points off the dashed line win on {', '.join(hidden)} (not shown), so they are not dominated"
        if hidden
        else ""
    )
    ax.set_title(f"{study}: {names[y]} vs {names[x]}{subtitle}", fontsize=10)
    _infeasible_strip(strip, groups, x, names[x])
    strip.set_xlabel(axis_label(names[x], minimize[x], "x"))
    if is_quality(names[x]):
        ax.set_xlabel(axis_label(names[x], minimize[x], "x"))
    return figure


def matrix_figure(groups: TrialGroups, names: list[str], minimize: list[bool], study: str) -> Figure:
    """Every objective against every other (feasible trials): scatter below the diagonal, Spearman ρ above."""
    n = len(names)
    figure, axes = plt.subplots(n, n, figsize=(2.9 * n, 2.6 * n), layout="constrained", squeeze=False)
    values = np.array([t.values for t in groups.feasible], dtype=float).reshape(len(groups.feasible), n)
    on_front = np.array([t.number in groups.front_numbers for t in groups.feasible], dtype=bool)
    rho = rank_correlation(values)
    for i in range(n):
        for j in range(n):
            ax = axes[i, j]
            if i == j:
                ax.hist(values[:, i], bins=15, color=FEASIBLE, alpha=0.7)
                ax.set_title(f"{names[i]} ({'min' if minimize[i] else 'max'})", fontsize=9)
            elif i > j:
                ax.scatter(values[~on_front, j], values[~on_front, i], s=10, color=FEASIBLE, alpha=0.6)
                ax.scatter(values[on_front, j], values[on_front, i], s=22, color=FRONT, edgecolor="black")
            else:
                text = "ρ n/a" if np.isnan(rho[i, j]) else f"ρ = {rho[i, j]:+.2f}"
                redundant = abs(rho[i, j]) >= REDUNDANT_RHO
                if redundant:
                    text += "\nmove together:\nno pair plot"
                ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=11, transform=ax.transAxes,
                        color="tab:red" if redundant else "black")  # fmt: skip
                ax.set_xticks([])
                ax.set_yticks([])
            if i == n - 1 and i != j:
                ax.set_xlabel(names[j], fontsize=8)
            if j == 0 and i != j:
                ax.set_ylabel(names[i], fontsize=8)
            ax.tick_params(labelsize=7)
    figure.suptitle(
        f"{study}: every objective against every other, {len(groups.feasible)} feasible trials\n"
        f"red: Pareto front in all {n} objectives; ρ: Spearman rank correlation (|ρ| ≥ {REDUNDANT_RHO}: redundant)",
        fontsize=10,
    )
    return figure


def _save(figure: Figure, path: Path) -> Path:
    figure.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(figure)
    return path


def write_plots(
    study: optuna.Study, config: SearchConfig, results_dir: Path, notes: list[str] | None = None
) -> list[Path]:
    """Every picture of the study; `notes` collects what was left out and why."""
    from dse.plots_html import write_html

    notes = notes if notes is not None else []
    results_dir = Path(results_dir)
    names = [o.name for o in config.objectives]
    minimize = [d == optuna.study.StudyDirection.MINIMIZE for d in study.directions]
    groups = split_trials(study)
    for stale in results_dir.glob("pareto_*_vs_*.png"):  # a pair may have become redundant since the last run
        stale.unlink()
    written: list[Path] = []
    if len(names) < 2 or not groups.feasible:
        notes.append("no Pareto plots: the study needs two objectives and at least one feasible trained trial")
        return written
    pairs = objective_pairs(names, groups.feasible)
    for i, j, rho in pairs.redundant:
        notes.append(f"no plot of {names[i]} vs {names[j]}: their ranks move together (Spearman ρ = {rho:+.3f})")
    for x, y in pairs.shown:
        figure = pair_figure(groups, names, minimize, x, y, config.study.name)
        written.append(_save(figure, results_dir / f"pareto_{names[y]}_vs_{names[x]}.png"))
    written.append(_save(matrix_figure(groups, names, minimize, config.study.name), results_dir / "objectives.png"))
    written.append(write_html(groups, names, minimize, config.study.name, results_dir / "pareto.html"))
    if config.calibration is None:  # a custom calibration was fitted to tables this folder does not know
        from dse.plots_synthesis import write_shipped_calibration_plots
        from estimators import get_device

        designs = [t.user_attrs["candidate"]["design"] for t in groups.feasible if "candidate" in t.user_attrs]
        families = [get_device(design["device"]).family for design in designs]
        written += write_shipped_calibration_plots(families, results_dir, notes)
    reference = reference_point(study, groups.feasible)
    axes = optuna.visualization.matplotlib.plot_hypervolume_history(study, reference)
    where = ", ".join(f"{name} {value:.4g}" for name, value in zip(names, reference, strict=True))
    axes.set_title(
        f"{config.study.name}: hypervolume of the feasible trials (higher is better)\n"
        f"reference point, 10 % beyond the worst feasible value: {where}",
        fontsize=9,
    )
    written.append(_save(axes.figure, results_dir / "hypervolume.png"))
    return written
