"""The measured shift-and-add product table (estimators.calibration.ShiftAddTable): what the xc7 estimate prices a
'lut' product by, inside and outside the measured widths, and a broken table named."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from contract.fixedpoint import FixedFormat
from contract.layers.dense import DenseFolding, DenseLayer
from estimators import default_calibration
from estimators.calibration import FEATURES, Calibration, ShiftAddTable, adder_bits
from estimators.dense import dense_features

SHIPPED = Path(__file__).resolve().parents[1] / "estimators" / "calibration" / "xc7.json"


def lut_product_layer(bx: int, bw: int, pe: int = 2, simd: int = 3) -> DenseLayer:
    """A BRAM ROM (so no few-input shortcut) feeding shift-and-add products."""
    return DenseLayer(
        12,
        8,
        "relu",
        FixedFormat(bx, 0),
        FixedFormat(bw, 0),
        FixedFormat(8, 0),
        folding=DenseFolding(pe, simd, "lut", "bram"),
    )


def test_measured_widths_are_taken_as_measured_and_others_scaled_from_the_nearest_edge() -> None:
    table = ShiftAddTable(2, ((3.0, 5.0), (8.0, 10.0)))  # Bx, Bw in 2..3
    assert table.table[2][2] == 3.0 and table.table[3][2] == 8.0 and table.table[2][3] == 5.0
    assert table.table[6][3] == pytest.approx(10.0 * adder_bits(6, 3) / adder_bits(3, 3))
    assert table.table[1][2] == pytest.approx(3.0 * adder_bits(1, 2) / adder_bits(2, 2))
    assert table.table[32][32] > table.table[3][3]


@pytest.mark.parametrize("bad", [{"min_bits": 2, "luts": [[1, 2]]}, {"min_bits": 0, "luts": [[1]]}, {"luts": []}])
def test_a_broken_table_is_named(bad: dict[str, object]) -> None:
    data = copy.deepcopy(json.loads(SHIPPED.read_text()))
    data["shift_add_luts"] = bad
    with pytest.raises(ValueError, match="shift_add_luts"):
        Calibration.from_dict(data, "broken.json")


def test_the_xc7_estimate_prices_a_lut_product_by_the_shipped_table() -> None:
    calibration = default_calibration("xc7")
    assert calibration.shift_add is not None and calibration.shift_add.min_bits == 2
    for bx, bw in ((5, 7), (6, 7), (12, 3)):
        layer = lut_product_layer(bx, bw)
        features = dict(zip(FEATURES, dense_features(layer, 0, calibration), strict=True))
        assert features["shift_add_bits"] == pytest.approx(6 * calibration.shift_add.table[bx][bw])
    # The measured table is not monotone in Bx (ABC maps the rows differently): 6 x 7 takes fewer than 5 x 7.
    assert calibration.shift_add.table[6][7] < calibration.shift_add.table[5][7]


def test_without_a_table_the_product_counts_its_adder_rows() -> None:
    layer = lut_product_layer(5, 7)
    features = dict(zip(FEATURES, dense_features(layer, 0, default_calibration("ice40")), strict=True))
    assert features["shift_add_bits"] == 6 * (5 - 1) * 7
    assert default_calibration("ice40").shift_add is None


@pytest.mark.synth
@pytest.mark.parametrize("bx, bw", [(2, 2), (5, 7), (6, 7)])
def test_the_shipped_table_is_what_yosys_makes_of_the_engine_product(tmp_path: Path, bx: int, bw: int) -> None:
    from generator.synth import synthesize_product

    calibration = default_calibration("xc7")
    assert calibration.shift_add is not None
    assert synthesize_product(bx, bw, "xc7", tmp_path) == calibration.shift_add.table[bx][bw]


def test_calibration_json_puts_number_rows_on_one_line_and_leaves_strings_alone() -> None:
    from dse.calibrate.fitting import calibration_json

    data = {"command": "fit [1,  2]", "luts": [[4, 6], [8, 10.5]], "empty": []}
    text = calibration_json(data)
    assert json.loads(text) == data
    assert '"command": "fit [1,  2]"' in text and "[4, 6]," in text and "[8, 10.5]" in text
