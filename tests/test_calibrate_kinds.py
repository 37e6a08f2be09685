"""`dse calibrate fit --kind conv1d`: the part scales come back from a table built with known ones."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dse.calibrate.kinds import COLUMNS, PARTS, fit_kind, write_kind_calibration, write_rows
from dse.calibrate.space import SWEEP_SAMPLERS
from estimators.calibration import default_calibration
from estimators.conv import conv_numbers, conv_parts


def _table(path: Path, lut_scales: tuple[float, ...], ff_scales: tuple[float, ...], n: int = 20) -> None:
    rng = np.random.default_rng(0)
    calibration = default_calibration("xc7")
    rows = []
    for index in range(n):
        layer = SWEEP_SAMPLERS["conv1d"](rng)
        parts = conv_parts(layer, calibration)
        row = dict.fromkeys(COLUMNS, "")
        row.update(sample=index, family="xc7", kind="conv1d", layer=json.dumps(layer.to_dict()), **parts)
        for what, scales in (("lut", lut_scales), ("ff", ff_scales)):
            row[what] = sum(s * parts[f"{p}_{what}"] for s, p in zip(scales, PARTS[:-1], strict=False)) + scales[-1]
        rows.append(row)
    write_rows(rows, path)


def test_fit_recovers_the_part_scales_and_reports_held_out_errors(tmp_path: Path) -> None:
    table = tmp_path / "sweep.csv"
    _table(table, (0.5, 1.2, 0.8, 40.0), (1.0, 0.9, 1.1, 10.0))
    fitted = fit_kind([table], "conv1d", "xc7")
    assert fitted["lut"] == pytest.approx({"multipliers": 0.5, "engine": 1.2, "buffer": 0.8, "const": 40.0}, abs=1e-3)
    assert fitted["ff"]["const"] == pytest.approx(10.0, abs=1e-3)
    assert fitted["lut_errors"]["heldout"]["mape"] < 1e-3 < fitted["lut_errors"]["prior"]["mape"]
    out = tmp_path / "conv1d.json"
    write_kind_calibration(fitted, out)
    write_kind_calibration({**fitted, "family": "ice40"}, out)
    assert set(json.loads(out.read_text())) == {"xc7", "ice40"}


def test_too_few_rows_are_refused(tmp_path: Path) -> None:
    table = tmp_path / "sweep.csv"
    _table(table, (1.0, 1.0, 1.0, 0.0), (1.0, 1.0, 1.0, 0.0), n=3)
    with pytest.raises(ValueError, match="usable conv1d rows"):
        fit_kind([table], "conv1d", "xc7")


def test_the_estimate_is_the_scaled_sum_of_the_parts() -> None:
    calibration = default_calibration("ice40")
    layer = SWEEP_SAMPLERS["conv1d"](np.random.default_rng(4))
    cycles, _, lut, ff, _, _, _ = conv_numbers(layer, calibration)
    assert cycles == layer.latency_cycles and lut > 0 and ff > 0
