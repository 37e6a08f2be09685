"""Estimate against synthesis for LUT/FF/DSP/BRAM: of exported designs (design.json after `dse export --synth`)
and of the calibration sweep tables (each layer predicted by a fit that never saw it)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

RESOURCES = ("lut", "ff", "dsp", "bram")
FITTED = ("lut", "ff")  # linear models; DSP and BRAM are counting rules, right or wrong
ANNOTATE_AT_MOST = 8


@dataclass(frozen=True)
class Comparison:
    label: str
    estimate: dict[str, float]
    measured: dict[str, float]


def relative_errors(estimate: np.ndarray, measured: np.ndarray) -> np.ndarray:
    """|error| in % of the synthesized value (of 1 when that is 0), as `dse calibrate fit` reports it."""
    return np.abs(estimate - measured) / np.maximum(np.abs(measured), 1.0) * 100.0


def _summary(key: str, estimate: np.ndarray, measured: np.ndarray) -> str:
    if len(estimate) == 1:
        signed = 100.0 * (estimate[0] - measured[0]) / max(abs(measured[0]), 1.0)
        error = "exact" if estimate[0] == measured[0] else f"{signed:+.1f} %"
        return f"estimate {estimate[0]:g}, synthesis {measured[0]:g}: {error}"
    if key in FITTED:
        errors = relative_errors(estimate, measured)
        return f"median |error| {np.median(errors):.1f} %, {np.mean(errors <= 10.0):.0%} within ±10 %"
    return f"estimate = synthesis for {np.mean(estimate == measured):.0%}"


def comparison_figure(points: Sequence[Comparison], title: str) -> Figure:
    figure, axes = plt.subplots(2, 2, figsize=(9, 8.2), layout="constrained")
    for ax, key in zip(axes.flat, RESOURCES, strict=True):
        measured = np.array([p.measured[key] for p in points], dtype=float)
        estimate = np.array([p.estimate[key] for p in points], dtype=float)
        top = max(float(measured.max()), float(estimate.max()), 1.0) * 1.08
        if key in FITTED:
            ax.fill_between([0, top], [0, 0.9 * top], [0, 1.1 * top], color="0.88", label="±10 %")
        ax.plot([0, top], [0, top], color="0.35", linewidth=1, label="estimate = synthesis")
        ax.scatter(measured, estimate, s=28 if len(points) <= ANNOTATE_AT_MOST else 12, alpha=0.7, zorder=3)
        if len(points) <= ANNOTATE_AT_MOST:
            for point, x, y in zip(points, measured, estimate, strict=True):
                right = x > top / 2  # keep the label inside the axes
                ax.annotate(point.label, (x, y), textcoords="offset points", xytext=(-6 if right else 6, 6),
                            ha="right" if right else "left", fontsize=7)  # fmt: skip
        ax.set_xlim(-0.03 * top, top)  # points at 0 stay visible
        ax.set_ylim(-0.03 * top, top)
        ax.set_xlabel(f"{key.upper()} from synthesis (yosys)")
        ax.set_ylabel(f"{key.upper()} estimated")
        ax.set_title(f"{key.upper()}: {_summary(key, estimate, measured)}", fontsize=9)
        ax.legend(fontsize=7, loc="upper left")
        ax.grid(alpha=0.3)
    figure.suptitle(title, fontsize=10)
    return figure


def export_comparisons(folders: Sequence[Path]) -> list[Comparison]:
    """One point per exported design; each folder must come from `dse export --synth`."""
    points = []
    for folder in folders:
        record_path = Path(folder) / "design.json"
        if not record_path.is_file():
            raise ValueError(f"--exports: {folder} has no design.json; give folders written by `dse export`")
        record = json.loads(record_path.read_text())
        if not record.get("synthesis"):
            raise ValueError(f"--exports: {folder} was exported without --synth; no synthesis numbers")
        estimate = {key: float(record["estimate"][key]) for key in RESOURCES}
        measured = {key: float(record["synthesis"][key]) for key in RESOURCES}
        points.append(Comparison(f"trial {record['trial']}", estimate, measured))
    return points


def calibration_comparisons(tables: Sequence[Path], family: str, folds: int = 5) -> list[Comparison]:
    """Sweep-table layers: LUT/FF out-of-fold (as `dse calibrate fit` scores them), DSP/BRAM by the rules."""
    from sklearn.model_selection import KFold, cross_val_predict

    from estimators.calibration import default_calibration
    from estimators.fit import ResourceModel, design_matrix, read_tables, row_layer, rule_predictions

    rows = read_tables(tables)
    if len(rows) < folds:
        raise ValueError(f"sweep tables: {len(rows)} usable rows, need at least {folds}")
    calibration = default_calibration(family)  # for the DSP rule and the BRAM kind; LUT/FF are refitted
    layers = [row_layer(row) for row in rows]
    features = design_matrix(layers, calibration)
    predicted = rule_predictions(layers, calibration)
    for key in FITTED:
        measured = np.array([float(row[key]) for row in rows])
        folding = KFold(folds, shuffle=True, random_state=0)  # estimators.fit.cross_validated_stats, shuffle 0
        predicted[key] = cross_val_predict(ResourceModel(), features, measured, cv=folding)
    return [
        Comparison(
            str(row.get("sample", index)),
            {key: float(predicted[key][index]) for key in RESOURCES},
            {key: float(row[key]) for key in RESOURCES},
        )
        for index, row in enumerate(rows)
    ]


def save(figure: Figure, path: Path) -> Path:
    figure.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(figure)
    return path


def write_export_plot(folders: Sequence[Path], path: Path) -> Path:
    points = export_comparisons(folders)
    title = (
        f"Estimate vs open-source synthesis of {len(points)} exported design(s)\n"
        "points on the diagonal: the estimator was right; BRAM in 36-kbit blocks (RAMB18 = 0.5) on 7-series"
    )
    return save(comparison_figure(points, title), path)


def write_calibration_plot(tables: Sequence[Path], family: str, path: Path, folds: int = 5) -> Path:
    points = calibration_comparisons(tables, family, folds)
    names = ", ".join(Path(t).name for t in tables)
    title = (
        f"{family}: estimate vs synthesis of {len(points)} single dense layers ({names})\n"
        f"LUT/FF: {folds}-fold cross-validated (each layer predicted by a fit that never saw it); "
        "DSP/BRAM: the counting rules"
    )
    return save(comparison_figure(points, title), path)


def shipped_table(family: str) -> Path:
    """The sweep table the shipped calibration of `family` was fitted to."""
    from importlib import resources

    return Path(str(resources.files("estimators").joinpath("calibration", "data", f"{family}_sweep.csv")))


def write_shipped_calibration_plots(families: Sequence[str], folder: Path, notes: list[str]) -> list[Path]:
    """calibration_<family>.png from the shipped sweep tables; a table that cannot be used is a note, not an error."""
    written = []
    for family in sorted(set(families)):
        table = shipped_table(family)
        try:
            written.append(write_calibration_plot([table], family, Path(folder) / f"calibration_{family}.png"))
        except ValueError as error:
            notes.append(f"no calibration_{family}.png: {error}")
    return written
