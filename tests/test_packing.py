"""iCE40 logic-cell packing: a LUT and a flip-flop share a cell only when the LUT drives that flip-flop alone, so
the dense engine's flip-flops are packed by what they hold (estimators.calibration.PACKING_GROUPS)."""

from __future__ import annotations

import json
from importlib import resources

import numpy as np
import pytest

from contract.design import AcceleratorDesign
from contract.fixedpoint import FixedFormat
from contract.layers.conv import Conv1dLayer, ConvFolding
from contract.layers.dense import DenseFolding, DenseLayer
from estimators import default_calibration, estimate_design
from estimators.calibration import PACKING_GROUP_NAMES, Calibration
from estimators.fit import PackingModel, packing_matrix, read_tables


def test_a_flip_flop_adds_between_zero_and_one_cell() -> None:
    rng = np.random.default_rng(0)
    X = rng.uniform(10, 1000, size=(60, 3))
    y = X @ np.array([1.0, 0.3, 1.0]) + X[:, 2] * 0.8  # the third column "wants" 1.8 cells per flip-flop
    coef = PackingModel().fit(X, y).coef_
    assert coef[0] >= 0 and (coef[1:] >= 0).all() and (coef[1:] <= 1).all()
    assert coef[2] == pytest.approx(1.0)
    exact = X @ np.array([0.97, 0.2, 0.6])
    assert PackingModel().fit(X, exact).coef_ == pytest.approx([0.97, 0.2, 0.6], rel=1e-6)


def test_the_measured_flip_flops_are_split_over_the_groups() -> None:
    data = resources.files("estimators").joinpath("calibration", "data", "ice40_sweep_timed.csv")
    rows = [row for row in read_tables([data]) if row["logic_cells"]][:10]  # type: ignore[list-item]
    calibration = default_calibration("ice40")
    X = packing_matrix(rows, calibration, calibration.ff)
    assert X.shape == (10, 1 + len(PACKING_GROUP_NAMES))
    assert X[:, 0].tolist() == [float(row["lut"]) for row in rows]
    assert X[:, 1:].sum(axis=1) == pytest.approx([float(row["ff"]) for row in rows])


def _ice40(without_groups: bool = False) -> Calibration:
    path = resources.files("estimators").joinpath("calibration", "ice40.json")
    data = json.loads(path.read_text())
    if without_groups:
        del data["packing"]["ff_groups"]
    return Calibration.from_dict(data)


def test_a_calibration_without_groups_packs_every_flip_flop_at_the_average() -> None:
    fmt = FixedFormat(8, 4)
    layer = DenseLayer(24, 16, "relu", fmt, fmt, fmt, folding=DenseFolding(2, 2, "lut"))
    design = AcceleratorDesign((layer,), "ice40up5k", 12.0)
    old = _ice40(without_groups=True)
    assert old.packing_ff is None and old.packing is not None
    estimate = estimate_design(design, old)
    assert estimate.logic_cells == pytest.approx(old.packing[0] * estimate.lut + old.packing[1] * estimate.ff)
    assert estimate_design(design, _ice40()).logic_cells != pytest.approx(estimate.logic_cells)


def test_bad_packing_groups_name_the_field() -> None:
    path = resources.files("estimators").joinpath("calibration", "ice40.json")
    data = json.loads(path.read_text())
    data["packing"]["ff_groups"] = {"accumulator": 1.0}
    with pytest.raises(ValueError, match=r"packing\.ff_groups needs a number for every group"):
        Calibration.from_dict(data, "my.json")


def test_other_kinds_pack_their_flip_flops_at_the_average() -> None:
    fmt = FixedFormat(8, 4)
    layer = Conv1dLayer(4, 16, 8, 3, "relu", fmt, fmt, fmt, folding=ConvFolding(pe=2, simd=2))
    calibration = _ice40()
    estimate = estimate_design(AcceleratorDesign((layer,), "ice40up5k", 12.0), calibration)
    a, b = calibration.packing  # type: ignore[misc]
    assert estimate.logic_cells == pytest.approx(a * estimate.lut + b * estimate.ff)
