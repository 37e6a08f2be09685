"""The calibration sweep: configuration space coverage, reproducibility, and (synth) an end-to-end run with cache."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from dse.calibrate.space import (
    MAX_BITS,
    MAX_DEEP_GROUPS,
    MAX_DEEP_LUTROM_BITS,
    MAX_IN,
    MAX_LUT_PRODUCT_BITS,
    MAX_MULTIPLIERS,
    MAX_OUT,
    MIN_BITS,
    MIN_DEEP_GROUPS,
    sample_points,
)
from dse.calibrate.sweep import COLUMNS, SweepSettings, point_inputs, run_sweep, write_table
from estimators.calibration import FEATURES
from estimators.content import CONTENT_COLUMNS, content_columns, rom_content
from estimators.fit import row_layer


def test_samples_cover_the_space_and_are_prefix_stable() -> None:
    points = sample_points(400, seed=3)
    layers = [p.layer for p in points]
    assert [p.layer for p in sample_points(50, seed=3)] == layers[:50]  # a larger --samples extends a sweep
    assert [p.layer for p in sample_points(50, seed=4)] != layers[:50]
    assert min(x.in_features for x in layers) == 1 and max(x.in_features for x in layers) == MAX_IN
    assert max(x.out_features for x in layers) == MAX_OUT
    for fmt in ("in_fmt", "weight_fmt", "out_fmt"):
        assert {getattr(x, fmt).total_bits for x in layers} == set(range(MIN_BITS, MAX_BITS + 1))
    assert {x.folding.weight_storage for x in layers} == {"lutrom", "bram"}
    assert {x.folding.multiplier for x in layers} == {"dsp", "lut"}
    assert {x.activation for x in layers} == {"identity", "relu", "hardtanh", "hardsigmoid"}
    assert any(x.out_features % x.folding.pe for x in layers)  # non-divisor lane counts
    assert any(x.folding.pe == x.out_features > 1 for x in layers)
    assert any(x.in_features % x.folding.simd for x in layers)  # non-divisor SIMD widths
    assert any(x.folding.simd == x.in_features > 1 for x in layers)
    # SIMD is capped so that PE x SIMD <= MAX_MULTIPLIERS (PE alone is not: see dse.calibrate.space.sample_layer).
    assert all(x.folding.simd == 1 or x.folding.pe * x.folding.simd <= MAX_MULTIPLIERS for x in layers)
    for x in layers:
        if x.folding.multiplier == "lut" and x.folding.pe * x.folding.simd > 1:
            lut_bits = x.folding.pe * x.folding.simd * x.in_fmt.total_bits * x.weight_fmt.total_bits
            assert lut_bits <= MAX_LUT_PRODUCT_BITS
    assert all(row_layer(p.config()) == p.layer for p in points)


def test_the_wide_space_holds_the_engines_the_dense_space_leaves_out() -> None:
    layers = [p.layer for p in sample_points(200, seed=13, space="wide")]
    assert all(MAX_MULTIPLIERS < x.folding.pe * x.folding.simd <= 64 for x in layers)
    assert {x.folding.multiplier for x in layers} == {"dsp", "lut"}
    assert {x.folding.weight_storage for x in layers} == {"lutrom", "bram"}
    for x in layers:
        assert x.folding.pe <= x.out_features and x.folding.simd <= x.in_features
        if x.folding.multiplier == "lut":
            lut_bits = x.folding.pe * x.folding.simd * x.in_fmt.total_bits * x.weight_fmt.total_bits
            assert lut_bits <= MAX_LUT_PRODUCT_BITS


def test_the_deep_space_holds_the_group_counts_the_other_spaces_leave_out() -> None:
    layers = [p.layer for p in sample_points(200, seed=21, space="deep")]
    assert all(MIN_DEEP_GROUPS <= x.groups <= MAX_DEEP_GROUPS for x in layers)
    assert max(x.groups for x in layers) > 128  # 8 address bits
    assert {x.folding.multiplier for x in layers} == {"dsp", "lut"}
    assert {x.folding.weight_storage for x in layers} == {"lutrom", "bram"}
    assert any(x.out_features % x.folding.pe for x in layers)  # a partial last group
    for x in layers:
        assert x.folding.simd <= x.in_features
        if x.folding.weight_storage == "lutrom":
            assert x.rom_depth * x.rom_width <= MAX_DEEP_LUTROM_BITS or x.in_features == x.folding.simd
        if x.folding.multiplier == "lut":
            assert x.folding.pe * x.folding.simd * x.in_fmt.total_bits * x.weight_fmt.total_bits <= MAX_LUT_PRODUCT_BITS


# Every shipped dense table with the seed, space and weights of its command (docs/calibration.md).
SHIPPED_TABLES = (
    ("xc7_sweep.csv", 1, "dense", "uniform"),
    ("xc7_sweep_timed.csv", 0, "dense", "uniform"),
    ("xc7_sweep_edge.csv", 11, "edge", "uniform"),
    ("xc7_sweep_trained.csv", 12, "dense", "trained"),
    ("xc7_sweep_wide.csv", 13, "wide", "trained"),
    ("xc7_sweep_deep.csv", 21, "deep", "trained"),
    ("ice40_sweep.csv", 2, "dense", "uniform"),
    ("ice40_sweep_timed.csv", 0, "dense", "uniform"),
    ("ice40_sweep_edge.csv", 11, "edge", "uniform"),
    ("ice40_sweep_trained.csv", 12, "dense", "trained"),
)


@pytest.mark.parametrize(("table", "seed", "space", "weights"), SHIPPED_TABLES)
def test_the_seeds_still_draw_the_shipped_tables(table: str, seed: int, space: str, weights: str) -> None:
    """The shipped sweep tables stay reproducible: their seeds draw the same layers and the same weights, whose
    content gives the row's content columns (what scripts/backfill_content.py relies on)."""
    data = Path(__file__).resolve().parents[1] / "estimators" / "calibration" / "data"
    with (data / table).open(newline="") as handle:
        rows = [row for row, _ in zip(csv.DictReader(handle), range(20), strict=False)]
    points = sample_points(max(int(row["sample"]) for row in rows) + 1, seed=seed, space=space)
    settings = SweepSettings(rows[0]["family"], seed, space, weights, False, {}, "")
    for row in rows:
        point = points[int(row["sample"])]
        assert row_layer(row) == point.layer and row["weights"] == weights
        content = content_columns(rom_content(point.layer, point_inputs(point, settings)[1][0].weight))
        assert {key: int(float(row[key])) for key in CONTENT_COLUMNS} == content


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="--family"):
        run_sweep("xc9", 3)
    with pytest.raises(ValueError, match="--samples"):
        run_sweep("xc7", 0)


@pytest.mark.synth
def test_three_point_sweep_end_to_end_with_cache(tmp_path: Path) -> None:
    first = run_sweep("ice40", 3, seed=11, jobs=2, cache_dir=tmp_path / "cache")
    assert (first.synthesized, first.cached, first.failed) == (3, 0, 0)
    out = tmp_path / "sweep.csv"
    write_table(first.rows, out)
    with out.open() as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0]) == COLUMNS and len(rows) == 3
    for row in rows:
        assert int(row["lut"]) > 0 and int(row["ff"]) > 0 and row["yosys"].startswith("Yosys")
        assert all(f"f_{name}" in row for name in FEATURES)
        # Resource rules hold on every point (they are exact, not fitted).
        assert float(row["bram"]) == float(row["bram_rule"])
        assert int(row["dsp"]) == int(row["dsps_per_product_rule"]) * int(row["pe"]) * int(row["simd"])

    again = run_sweep("ice40", 3, seed=11, jobs=2, cache_dir=tmp_path / "cache")
    assert (again.synthesized, again.cached) == (0, 3)
    assert [r["lut"] for r in again.rows] == [r["lut"] for r in first.rows]
