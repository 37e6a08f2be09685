"""Estimate vs synthesis: the numbers drawn for exported designs and for sweep tables, and the commands."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from contract.fixedpoint import FixedFormat
from contract.layers import DenseFolding, DenseLayer
from dse.cli import main
from dse.plots_synthesis import (
    RESOURCES,
    calibration_comparisons,
    export_comparisons,
    relative_errors,
    write_export_plot,
)
from estimators import default_calibration
from estimators.calibration import FEATURES
from estimators.fit import design_matrix, layer_config, rule_predictions

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def export_folder(tmp_path: Path, trial: int, synthesis: dict[str, float] | None) -> Path:
    folder = tmp_path / f"export{trial}"
    folder.mkdir()
    record = {"trial": trial, "estimate": {"lut": 510.5, "ff": 300.0, "dsp": 2, "bram": 0.5}, "synthesis": synthesis}
    (folder / "design.json").write_text(json.dumps(record))
    return folder


def test_export_points_come_from_design_json(tmp_path: Path) -> None:
    folder = export_folder(tmp_path, 7, {"lut": 500, "ff": 310, "dsp": 2, "bram": 1.0})
    (point,) = export_comparisons([folder])
    assert point.label == "trial 7"
    assert point.estimate == {"lut": 510.5, "ff": 300.0, "dsp": 2.0, "bram": 0.5}
    assert point.measured["bram"] == 1.0
    with pytest.raises(ValueError, match="without --synth"):
        export_comparisons([export_folder(tmp_path, 8, None)])


def test_export_plot_is_written(tmp_path: Path) -> None:
    folder = export_folder(tmp_path, 7, {"lut": 500, "ff": 310, "dsp": 2, "bram": 1.0})
    path = write_export_plot([folder], tmp_path / "estimate_vs_synthesis.png")
    assert path.read_bytes()[:8] == PNG_MAGIC


def sweep_table(path: Path, n: int = 40) -> dict[str, np.ndarray]:
    """Layers whose 'synthesized' LUT/FF are exactly linear in the features; DSP/BRAM follow the rules."""
    rng = np.random.default_rng(0)
    calibration = default_calibration("xc7")
    layers = []
    for _ in range(n):
        fmt = FixedFormat(int(rng.integers(4, 9)), 2)
        size = int(rng.integers(4, 40)), int(rng.integers(4, 20))
        folding = DenseFolding(
            pe=int(rng.integers(1, 5)),  # at most the 4 outputs and inputs every layer has
            simd=int(rng.integers(1, 5)),
            multiplier=str(rng.choice(["dsp", "lut"])),
            weight_storage=str(rng.choice(["lutrom", "bram"])),
        )
        layers.append(DenseLayer(*size, "relu", fmt, FixedFormat(4, 2), fmt, folding))
    features = design_matrix(layers, calibration)
    truth = {"lut": features @ rng.uniform(0.1, 2.0, len(FEATURES))}
    truth["ff"] = features @ rng.uniform(0.1, 1.0, len(FEATURES))
    truth |= rule_predictions(layers, calibration)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["sample", *layer_config(layers[0]), *RESOURCES, "error"])
        writer.writeheader()
        for index, layer in enumerate(layers):
            writer.writerow({"sample": index, **layer_config(layer), **{k: truth[k][index] for k in RESOURCES}})
    return truth


def test_calibration_points_are_out_of_fold_predictions(tmp_path: Path) -> None:
    table = tmp_path / "sweep.csv"
    truth = sweep_table(table)
    points = calibration_comparisons([table], "xc7")
    assert len(points) == 40
    for key in RESOURCES:
        measured = np.array([p.measured[key] for p in points])
        estimate = np.array([p.estimate[key] for p in points])
        assert measured == pytest.approx(truth[key])
        if key in ("dsp", "bram"):
            assert (estimate == measured).all()  # the counting rules, exactly as the estimator applies them
        else:
            assert np.median(relative_errors(estimate, measured)) < 1.0  # a linear truth is learnt from 4/5


def test_calibrate_plot_command(tmp_path: Path) -> None:
    table = tmp_path / "sweep.csv"
    sweep_table(table)
    out = tmp_path / "cal.png"
    assert main(["calibrate", "plot", str(table), "--family", "xc7", "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == PNG_MAGIC
    assert main(["calibrate", "plot", str(tmp_path / "missing.csv"), "--family", "xc7", "--out", str(out)]) == 2
