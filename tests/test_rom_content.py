"""What trained weights keep: the content record of a ROM, the pre-training bound, and the tables' columns."""

from __future__ import annotations

import csv
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from contract.design import AcceleratorDesign
from contract.fixedpoint import FixedFormat
from contract.layers.conv import Conv1dLayer, ConvFolding
from contract.layers.dense import DenseFolding, DenseLayer
from contract.layers.recurrent import LstmLayer, RecurrentFolding
from dse.calibrate.space import sample_points
from dse.calibrate.sweep import SweepSettings, point_inputs
from estimators import default_calibration, estimate_design
from estimators.calibration import FEATURES
from estimators.content import (
    CONTENT_COLUMNS,
    CONTENT_KINDS,
    RomContent,
    max_distinct_columns,
    rom_content,
    rom_contents,
)
from estimators.dense import content_dsps, dense_features, dsps_per_product
from estimators.fit import layer_config, row_content
from estimators.system import CONTENT_ESTIMATORS

ROOT = Path(__file__).resolve().parents[1]


def lut_layer(n_in: int, n_out: int, bits: int = 4) -> DenseLayer:
    fmt = FixedFormat(bits, 0)
    return DenseLayer(n_in, n_out, "relu", fmt, fmt, fmt, folding=DenseFolding(1, 1, "lut", "lutrom"))


def test_live_bits_and_signed_slots_count_what_a_lut_multiplier_keeps() -> None:
    layer = lut_layer(3, 2)  # one lane: 6 words of one 4-bit slot
    content = rom_content(layer, np.array([[1, 2, 0], [0, 1, 2]]))
    # Codes 0..2: bits 0 and 1 are 1 in some word; bit 2 and the sign bit are 0 in every word.
    assert (content.live_weight_bits, content.signed_slots) == (2, 0)
    negative = rom_content(layer, np.array([[1, -2, 0], [0, 1, 2]]))
    assert (negative.live_weight_bits, negative.signed_slots) == (4, 1)  # -2 = 1110: every bit is 1 somewhere


@pytest.mark.parametrize(("depth", "width", "bound"), [(1, 8, 1), (2, 8, 2), (3, 8, 6), (4, 8, 8), (64, 5, 5)])
def test_a_rom_depth_bounds_its_distinct_columns(depth: int, width: int, bound: int) -> None:
    assert max_distinct_columns(depth, width) == bound


def test_full_range_weights_never_keep_more_columns_than_the_bound() -> None:
    rng = np.random.default_rng(3)
    for n_in in (1, 2, 3, 4):
        layer = DenseLayer(
            n_in, 8, "relu", FixedFormat(4, 0), FixedFormat(8, 0), FixedFormat(4, 0), folding=DenseFolding(8, 1)
        )
        for _ in range(20):
            kept = rom_content(layer, layer.random_weights(rng).weight).kept_columns
            assert kept <= max_distinct_columns(layer.rom_depth, layer.rom_width)


def features(layer: DenseLayer, content: RomContent | None = None) -> dict[str, float]:
    calibration = default_calibration("xc7")
    found = dense_features(layer, dsps_per_product(layer, calibration), calibration, content)
    return dict(zip(FEATURES, found, strict=True))


def test_pre_training_features_of_a_two_word_rom_count_two_columns() -> None:
    layer = lut_layer(2, 1, bits=8)  # 2 words of 8 bits
    assert features(layer)["rom_lut_bits"] == 2 * 2  # 2 distinct columns at most, not 8
    assert features(layer) == features(layer, RomContent(2, 0, (), 8, 1))


def test_weight_bits_that_are_zero_in_every_word_drop_their_adder_rows() -> None:
    layer = lut_layer(8, 1, bits=8)  # 8 words: a shift-and-add multiplier
    before = features(layer)
    assert before == features(layer, RomContent(8, 0, (), 8, 1))  # full-range codes keep every bit
    half = features(layer, RomContent(4, 4, (), 4, 0))
    assert before["shift_add_bits"] > 0 and half["shift_add_bits"] == before["shift_add_bits"] / 2
    assert before["shift_add_sq_bits"] > 0 and half["shift_add_sq_bits"] == 0.0  # no negative code, no sign rows


def test_a_row_without_content_columns_is_full_range() -> None:
    config = {key: str(value) for key, value in layer_config(lut_layer(3, 2)).items()}
    assert row_content(config) is None
    # Only the ROM columns (a table made before the multiplier columns): every product bit stays live.
    assert row_content({**config, "rom_columns": "3"}) == RomContent(3, 0, (), 4, 1)
    row = dict(zip(CONTENT_COLUMNS, ("3", "1", "7", "2", "5"), strict=True))
    assert row_content(row) == RomContent(3, 1, (), 7, 2, (), 5)
    # A table made before the sign-copy column: no copies.
    assert row_content({key: row[key] for key in CONTENT_COLUMNS[:4]}) == RomContent(3, 1, (), 7, 2)


def test_sign_copies_count_the_top_bits_equal_to_the_bit_below_in_every_word() -> None:
    layer = lut_layer(3, 2)  # one lane: 6 words of one 4-bit slot
    # 1 = 0001, 2 = 0010, -2 = 1110: bit 3 equals bit 2 in every word, bit 2 differs from bit 1 in 2.
    assert rom_content(layer, np.array([[1, 2, 0], [0, -2, 1]])).sign_copy_bits == 1
    assert rom_content(layer, np.array([[1, -1, 0], [0, -2, 1]])).sign_copy_bits == 2  # -1..1: 2 copies
    assert rom_content(layer, np.array([[7, -8, 0], [0, 1, 2]])).sign_copy_bits == 0  # full range
    wide = DenseLayer(2, 2, "relu", *(FixedFormat(4, 0),) * 3, folding=DenseFolding(1, 2, "lut", "lutrom"))
    assert rom_content(wide, np.array([[1, -7], [0, 3]])).sign_copy_bits == 2 + 0  # per slot, summed


def test_a_lut_rom_prices_its_shift_and_add_products_at_the_width_without_sign_copies() -> None:
    table = default_calibration("xc7").shift_add
    assert table is not None
    fmt = FixedFormat(8, 0)
    lutrom = DenseLayer(24, 4, "relu", fmt, fmt, fmt, folding=DenseFolding(2, 2, "lut", "lutrom"))
    live = RomContent(16, 0, (), 4 * 8, 4)  # every weight bit live, 4 slots
    copied = replace(live, sign_copy_bits=4 * 3)  # 3 sign copies per slot: a 5-bit weight in 8 bits
    before, after = features(lutrom, live), features(lutrom, copied)
    assert before["shift_add_copy_bits"] == 0 and before["shift_add_bits"] == 4 * table.table[8][8]
    assert after["shift_add_bits"] == 4 * table.table[8][5]
    assert after["shift_add_copy_bits"] == pytest.approx(4 * (table.table[8][8] - table.table[8][5]))
    # A block RAM keeps one output per column, copies or not: priced at the full width.
    bram = replace(lutrom, folding=DenseFolding(2, 2, "lut", "bram"))
    assert features(bram, copied)["shift_add_bits"] == 4 * table.table[8][8]
    assert features(bram, copied)["shift_add_copy_bits"] == 0


def _table(path: Path, seed: int, samples: int) -> None:
    """A sweep table's configuration columns as `dse calibrate sweep` draws them (no synthesis needed)."""
    rows = [{"sample": p.index, "family": "xc7", **layer_config(p.layer)} for p in sample_points(samples, seed)]
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=[*rows[0], "device"], lineterminator="\n")
        writer.writeheader()
        writer.writerows({**row, "device": "xc7s15"} for row in rows)


def _backfill(table: Path, seed: int) -> subprocess.CompletedProcess[str]:
    script = ROOT / "scripts" / "backfill_content.py"
    command = [sys.executable, str(script), str(table), "--seed", str(seed)]
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)


def test_backfill_writes_the_content_of_regenerated_weights(tmp_path: Path) -> None:
    table = tmp_path / "sweep.csv"
    _table(table, seed=5, samples=6)
    done = _backfill(table, 5)
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(table.open()))
    settings = SweepSettings("xc7", 5, "dense", "uniform", False, {}, "")
    for row, point in zip(rows, sample_points(6, 5), strict=True):
        weight = point_inputs(point, settings)[1][0].weight
        found = rom_content(point.layer, weight)
        assert row_content(row) == replace(found, constant_weights=(), zero_slots=())  # the table keeps no codes


def test_backfill_refuses_a_seed_that_did_not_draw_the_table(tmp_path: Path) -> None:
    table = tmp_path / "sweep.csv"
    _table(table, seed=5, samples=4)
    before = table.read_text()
    done = _backfill(table, 6)
    assert done.returncode != 0 and "differs from the row" in done.stderr
    assert table.read_text() == before


def test_every_content_kind_has_a_content_estimator() -> None:
    assert set(CONTENT_ESTIMATORS) == set(CONTENT_KINDS)


def test_trained_conv_weights_shrink_the_conv_estimate() -> None:
    fmt = FixedFormat(8, 4)
    layer = Conv1dLayer(
        16, 4, 8, 3, "relu", fmt, fmt, fmt, folding=ConvFolding(pe=2, simd=3, multiplier="lut", weight_storage="lutrom")
    )
    design = AcceleratorDesign((layer,), "xc7s15", 100.0)
    rng = np.random.default_rng(4)
    full = [layer.random_weights(rng)]
    small = [replace(full[0], weight=rng.integers(0, 3, size=layer.weight_shape))]
    before = estimate_design(design)
    assert estimate_design(design, contents=rom_contents(design, full)).lut == pytest.approx(before.lut, rel=0.02)
    after = estimate_design(design, contents=rom_contents(design, small))
    assert after.lut < 0.8 * before.lut  # codes 0..2: six of eight weight bits and the sign rows are gone
    assert (after.cycles, after.dsp, after.bram) == (before.cycles, before.dsp, before.bram)


def test_conv_rom_words_hold_kernel_major_fan_in() -> None:
    fmt = FixedFormat(4, 0)
    layer = Conv1dLayer(2, 5, 3, 2, "relu", fmt, fmt, fmt, folding=ConvFolding(pe=2, simd=2))
    weight = np.arange(3 * 2 * 2).reshape(3, 2, 2)  # (out, in, kernel)
    words = layer.rom_words(weight)
    assert words.shape == (layer.rom_depth, 4)
    # Fan-in index f = k * in_channels + c; word g*C + j, slot p*SIMD + s holds output g*PE + p, f = j*SIMD + s.
    assert words[0].tolist() == [weight[0, 0, 0], weight[0, 1, 0], weight[1, 0, 0], weight[1, 1, 0]]
    assert words[1].tolist() == [weight[0, 0, 1], weight[0, 1, 1], weight[1, 0, 1], weight[1, 1, 1]]
    assert words[2].tolist() == [weight[2, 0, 0], weight[2, 1, 0], 0, 0]  # output 3 is a padding lane


# (input bits, code, DSP blocks): yosys 0.23 synth_xilinx on a 1 x 1 'dsp' layer with 8-bit weights (one word).
CONSTANT_PRODUCTS = [
    (2, 1, 0), (2, 7, 0), (2, 100, 1), (2, 127, 1), (2, -1, 1), (2, -4, 1),
    (4, 3, 0), (4, 7, 0), (4, 100, 1), (4, -1, 1), (4, -100, 1),
    (8, 1, 1), (8, 3, 1), (8, -3, 1), (12, 1, 1), (12, -100, 1),
]  # fmt: skip


@pytest.mark.parametrize(("in_bits", "code", "dsps"), CONSTANT_PRODUCTS)
def test_a_constant_product_uses_a_dsp_like_yosys(in_bits: int, code: int, dsps: int) -> None:
    layer = DenseLayer(
        1, 1, "relu", FixedFormat(in_bits, 0), FixedFormat(8, 0), FixedFormat(8, 0), folding=DenseFolding(1, 1, "dsp")
    )
    content = rom_content(layer, np.array([[code]]))
    assert content_dsps(layer, default_calibration("xc7"), content) == dsps
    assert content_dsps(layer, default_calibration("xc7"), rom_content(layer, np.array([[0]]))) == 0


def test_trained_recurrent_weights_shrink_the_lstm_estimate_and_the_layout_follows_the_gate_lanes() -> None:
    fmt = FixedFormat(8, 4)
    shared = LstmLayer(3, 4, 5, fmt, fmt, fmt, folding=RecurrentFolding(pe=2, simd=2, multiplier="lut"))
    separate = replace(shared, folding=replace(shared.folding, gate_lanes="separate"))
    rng = np.random.default_rng(5)
    full = shared.random_weights(rng)
    small = replace(full, weight=rng.integers(0, 3, size=full.weight.shape))
    for layer in (shared, separate):
        design = AcceleratorDesign((layer,), "xc7s15", 100.0)
        before = estimate_design(design)
        after = estimate_design(design, contents=rom_contents(design, [small]))
        assert after.lut < before.lut and (after.cycles, after.dsp, after.bram) == (
            before.cycles,
            before.dsp,
            before.bram,
        )
    # One set of weights, two foldings: the content is read per folding, not reused across layouts.
    memo: dict[tuple[object, ...], RomContent] = {}
    weights = [small]
    one = rom_contents(AcceleratorDesign((shared,), "xc7s15", 100.0), weights, memo)[0]
    two = rom_contents(AcceleratorDesign((separate,), "xc7s15", 100.0), weights, memo)[0]
    assert one == rom_content(shared, small.weight) and two == rom_content(separate, small.weight)
    assert shared.rom_words(small.weight).shape != separate.rom_words(small.weight).shape


# (in_features, SIMD, weight row, DSP blocks): yosys 0.23 synth_xilinx, one output, Q8.3 inputs, Q4.1 weights.
ZERO_SLOTS = [
    (5, 4, [0, 0, -1, 0, 0], 3),  # two words; slot 3 is 0 in both and trimmed, slots 0 and 1 sit below slot 2
    (5, 4, [1, 0, 0, 0, 4], 1),  # two words; slots 1-3 are 0 in both
    (5, 4, [0, 2, -1, 3, 4], 4),
    (8, 4, [0, 2, -1, 3, 0, 1, 1, 1], 4),  # two words; slot 0 is 0 in both, below live slots
    (12, 4, [1, 2, -1, 0, 1, -1, 2, 0, 3, 1, 1, 0], 4),  # three words: slot 3 is 0 in all, kept
    (16, 4, [1, 2, -1, 0, 1, -1, 2, 0, 3, 1, 1, 0, 2, 2, 2, 0], 4),  # four words: kept
]


@pytest.mark.parametrize(("n_in", "simd", "row", "dsps"), ZERO_SLOTS)
def test_top_zero_slots_of_a_two_word_rom_need_no_dsp(n_in: int, simd: int, row: list[int], dsps: int) -> None:
    fmt = FixedFormat(8, 3)
    layer = DenseLayer(n_in, 1, "relu", fmt, FixedFormat(4, 1), fmt, folding=DenseFolding(1, simd, "dsp"))
    assert content_dsps(layer, default_calibration("xc7"), rom_content(layer, np.array([row]))) == dsps
