"""Estimates at the edges: iCE40 logic cells, fmax, the ROM columns trained weights keep, iCE40 block RAM."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from contract.design import AcceleratorDesign
from contract.fixedpoint import FixedFormat
from contract.layers.dense import DenseFolding, DenseLayer
from estimators import default_calibration, estimate_design
from estimators.content import distinct_rom_columns, rom_contents
from estimators.dense import block_ram_count, dense_features, dsps_per_product
from estimators.fit import fit_limits
from estimators.timing import layer_paths, period_ns
from generator.parts import part_for
from generator.synth import (
    XC7_ROUTE_NS_PER_NET,
    XC7_SETUP_NS,
    Placement,
    ToolError,
    nextpnr_place,
    xc7_open_timing,
)

REPORTS = Path(__file__).parent / "data" / "reports"


def dense(n_in: int, n_out: int, pe: int = 1, simd: int = 1, bits: int = 8, **folding: str) -> DenseLayer:
    fmt = FixedFormat(bits, bits // 2)
    return DenseLayer(n_in, n_out, "relu", fmt, fmt, fmt, folding=DenseFolding(pe, simd, **folding))


def test_rom_words_follow_the_generator_layout() -> None:
    layer = dense(5, 3, pe=2, simd=2)
    weight = np.arange(15).reshape(3, 5)
    words = layer.rom_words(weight)
    assert words.shape == (layer.rom_depth, 4)
    for g in range(layer.groups):
        for j in range(layer.chunks):
            for p in range(2):
                for s in range(2):
                    row, col = g * 2 + p, j * 2 + s
                    expected = weight[row, col] if row < 3 and col < 5 else 0  # padding lanes and slots are zero
                    assert words[g * layer.chunks + j, p * 2 + s] == expected


def test_distinct_columns_drop_constant_and_repeated_bits() -> None:
    layer = dense(4, 4, bits=8)
    assert distinct_rom_columns(layer, np.zeros((4, 4), dtype=np.int64)) == 0
    # Codes in -2..1: bit 0, bit 1 and the sign bit vary; bits 2..7 repeat the sign bit, so they merge with it.
    small = np.array([[-2, -1, 0, 1]] * 4)
    assert distinct_rom_columns(layer, small) == 2  # bit 0, and bit 1 = sign for -2..1
    rng = np.random.default_rng(0)
    full = rng.integers(-128, 128, size=(64, 64))
    wide = dense(64, 64, bits=8)
    assert distinct_rom_columns(wide, full) == 8


def test_content_aware_estimate_is_smaller_for_small_weights() -> None:
    layer = dense(32, 16, pe=2, simd=2, multiplier="lut", weight_storage="lutrom")
    design = AcceleratorDesign((layer,), "ice40up5k", 24.0)
    rng = np.random.default_rng(1)
    small = [replace(layer.random_weights(rng), weight=rng.integers(-3, 4, size=(16, 32)))]
    before = estimate_design(design)
    after = estimate_design(design, contents=rom_contents(design, small))
    assert after.lut < before.lut
    assert (after.cycles, after.dsp, after.bram) == (before.cycles, before.dsp, before.bram)
    full = [layer.random_weights(np.random.default_rng(2))]
    assert estimate_design(design, contents=rom_contents(design, full)).lut == pytest.approx(before.lut)


@pytest.mark.parametrize(
    ("depth", "width", "blocks"),  # yosys 0.23 synth_ice40 on a registered ROM of random words
    [
        (1098, 12, 4),
        (1024, 12, 3),
        (1025, 12, 4),
        (1500, 12, 5),
        (2000, 12, 6),
        (1098, 8, 3),
        (1098, 16, 5),
        (600, 12, 3),
        (1098, 4, 2),
        (1500, 6, 3),
    ],
)
def test_ice40_block_ram_splits_the_depth_like_yosys(depth: int, width: int, blocks: int) -> None:
    assert block_ram_count(depth, width, "ice40") == blocks


def test_logic_cells_limit_an_ice40_design_that_lut_and_ff_alone_would_pass() -> None:
    calibration = default_calibration("ice40")
    assert calibration.packing is not None
    layer = dense(40, 40, pe=8, simd=2, multiplier="lut", weight_storage="lutrom")
    estimate = estimate_design(AcceleratorDesign((layer,), "ice40up5k", 12.0))
    a, _ = calibration.packing
    assert calibration.packing_ff is not None  # the dense engine's flip-flops are packed by group
    features = dense_features(layer, dsps_per_product(layer, calibration), calibration)
    flip_flop_cells = sum(w * f for w, f in zip(calibration.packing_ff, features, strict=True))
    assert estimate.logic_cells == pytest.approx(a * estimate.lut + flip_flop_cells)
    assert 0 < flip_flop_cells < estimate.ff  # some flip-flops share a cell with their LUT
    # LUT and FF each fit the UP5K's 5280, their packed logic cells do not: the one violation is the cells'.
    assert estimate.lut <= 5280 and estimate.ff <= 5280 < estimate.logic_cells
    assert estimate.violations == [f"logic cells {estimate.logic_cells:.0f} > 5280 on ice40up5k"]
    assert not estimate.fits
    xc7 = estimate_design(AcceleratorDesign((layer,), "xc7s15", 100.0))
    assert xc7.logic_cells == 0.0  # slices are not the limit on 7-series


def test_clock_above_the_estimated_fmax_is_a_violation() -> None:
    layer = dense(16, 8, pe=2, simd=2, multiplier="lut")
    fmax = estimate_design(AcceleratorDesign((layer,), "ice40up5k", 12.0)).fmax_mhz
    assert 10.0 < fmax < 48.0  # below the device's 48 MHz: held-out iCE40 designs placed at 31-40 MHz
    below = estimate_design(AcceleratorDesign((layer,), "ice40up5k", fmax - 0.5))
    above = estimate_design(AcceleratorDesign((layer,), "ice40up5k", fmax + 0.5))
    assert below.fits and below.fmax_mhz == above.fmax_mhz == fmax
    assert not above.fits and above.violations == [f"clock {fmax + 0.5} MHz > estimated fmax {fmax:.1f} MHz"]


def test_xc7_open_timing_adds_routing_to_the_sta_path() -> None:
    timing = xc7_open_timing((REPORTS / "yosys_sta_xc7.log").read_text())
    # FDRE.C->Q at 399 ps after a 96 ps clock tree, the capture FDRE.D at 3738 ps.
    assert timing.logic_ns == pytest.approx((3738 - 96) / 1000)
    # Routed: FDRE.D, CARRY4.S, LUT4.I0, LUT6.I1, LUT6.I0 (carry chain and MUXF7/F8 inputs are dedicated).
    assert timing.routed_nets == 5
    period = timing.logic_ns + 5 * XC7_ROUTE_NS_PER_NET + XC7_SETUP_NS
    assert timing.fmax_mhz == pytest.approx(1000 / period, abs=0.01)


def test_nextpnr_that_runs_out_of_cells_is_a_result(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = (REPORTS / "nextpnr_no_room.log").read_text()

    def failing(command: list[str], cwd: Path, log_name: str | None = None) -> str:
        (cwd / "nextpnr.log").write_text(log)
        raise ToolError("nextpnr-ice40 failed with exit code 255")

    monkeypatch.setattr("generator.synth.run_tool", failing)
    placement = nextpnr_place(part_for("ice40up5k"), tmp_path, 24.0)
    assert (placement.logic_cells, placement.placed, placement.fmax_mhz) == (1746, False, None)

    def broken(command: list[str], cwd: Path, log_name: str | None = None) -> str:
        (cwd / "nextpnr.log").write_text("ERROR: something else\n")
        raise ToolError("nextpnr-ice40 failed")

    def region(command: list[str], cwd: Path, log_name: str | None = None) -> str:
        (cwd / "nextpnr.log").write_text(
            "Info: \t         ICESTORM_LC:  5366/ 5280   101%\n"
            "ERROR: Failed to expand region (0, 0) |_> (25, 31) of 5366 ICESTORM_LCs\n"
        )
        raise ToolError("nextpnr-ice40 failed with exit code 255")

    monkeypatch.setattr("generator.synth.run_tool", region)  # too many logic cells: the analytic placer gives up
    assert nextpnr_place(part_for("ice40up5k"), tmp_path, 24.0) == Placement(5366, False, None)

    monkeypatch.setattr("generator.synth.run_tool", broken)
    with pytest.raises(ToolError):
        nextpnr_place(part_for("ice40up5k"), tmp_path, 24.0)


def test_fit_limits_recovers_a_known_period_and_packing() -> None:
    calibration = default_calibration("ice40")
    rng = np.random.default_rng(3)
    truth = ((6.0, 1.5, 3.0, 0.2, 0.1, 2.0, 4.0), (5.0, 0.3, 1.0, 0.05, 0.8, 2.0), (4.0, 0.3))
    rows = []
    for _ in range(60):
        n_in, n_out = int(rng.integers(4, 64)), int(rng.integers(4, 32))
        layer = dense(
            n_in,
            n_out,
            pe=int(rng.integers(1, 5)),
            simd=int(rng.integers(1, 5)),
            bits=int(rng.integers(3, 10)),
            multiplier=str(rng.choice(["lut", "dsp"])),
            weight_storage=str(rng.choice(["lutrom", "bram"])),
        )
        period = period_ns(layer_paths(layer, calibration), truth)
        lut, ff = float(rng.integers(100, 4000)), float(rng.integers(100, 3000))
        rows.append({**_row(layer), "fmax_mhz": 1000 / period, "lut": lut, "ff": ff, "logic_cells": lut + 0.7 * ff})
    fit = fit_limits(rows, calibration)
    assert fit.fmax_cv is not None and fit.fmax_cv.median_pct < 1.0  # a max of paths: recovered, not to the digit
    assert fit.packing == pytest.approx((1.0, 0.7), rel=1e-6)


def _row(layer: DenseLayer) -> dict[str, object]:
    from estimators.fit import layer_config

    return {key: str(value) for key, value in layer_config(layer).items()}


def test_block_ram_rom_drops_constant_columns_and_zero_products_need_no_dsp() -> None:
    deep = dense(64, 20, bits=8, weight_storage="bram")  # 1280 words x 8 bits
    design = AcceleratorDesign((deep,), "xc7s15", 100.0)
    rng = np.random.default_rng(5)
    small = [replace(deep.random_weights(rng), weight=rng.integers(0, 4, size=(20, 64)))]  # bits 2..7 constant 0
    content = rom_contents(design, small)[0]
    assert content is not None and content.constant_columns == 6 and content.kept_columns == 2
    assert estimate_design(design).bram == block_ram_count(1280, 8, "xc7")
    assert estimate_design(design, contents=(content,)).bram == block_ram_count(1280, 2, "xc7")
    one_word = dense(1, 2, pe=2, bits=8, multiplier="dsp")  # constants: a product by 0 vanishes
    design = AcceleratorDesign((one_word,), "xc7s15", 100.0)
    zero_and_five = [replace(one_word.random_weights(rng), weight=np.array([[0], [5]]))]
    assert estimate_design(design).dsp == 2
    assert estimate_design(design, contents=rom_contents(design, zero_and_five)).dsp == 1
