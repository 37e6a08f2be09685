"""The RP2040 side: generated C99 is bit-exact with the integer reference on the host (FPGA segment emulated), for
MCU layers before, after and instead of the FPGA; head/tail placement; an export that verifies both sides."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from trial_support import DefaultsTrial

from contract.design import AcceleratorDesign
from contract.fixedpoint import ACTIVATIONS, FixedFormat
from contract.layers import DenseLayer
from contract.layers.conv import Conv1dLayer
from contract.reference import random_weights, run_reference
from dse.cli import main
from dse.config import IntRange, parse_config
from dse.search import run_search
from dse.space import place_on_mcu
from generator.mcu_c import emit_mcu_c
from generator.mcu_verify import verify_mcu
from generator.writer import write_files

PLACEMENTS = [("mcu", "fpga", "fpga", "mcu"), ("fpga",) * 4, ("mcu",) * 4, ("mcu", "mcu", "fpga", "fpga")]


@pytest.mark.parametrize("seed", range(8))
def test_generated_c_is_bit_exact_with_the_reference(seed: int, tmp_path: Path) -> None:
    rng = np.random.default_rng(seed)
    q = FixedFormat(int(rng.integers(4, 13)), int(rng.integers(0, 4)))
    w = FixedFormat(int(rng.integers(2, 9)), int(rng.integers(0, 6)))
    sizes = [int(rng.integers(1, 10)) for _ in range(5)]
    placements = PLACEMENTS[seed % len(PLACEMENTS)]
    layers = tuple(
        DenseLayer(sizes[i], sizes[i + 1], ACTIVATIONS[(seed + i) % 4], q, w, q, placement=placements[i])
        for i in range(4)
    )
    design = AcceleratorDesign(layers, "xc7s15", 100.0)
    weights = random_weights(design, rng)
    raw = rng.normal(0.3, 4.0, size=(50, sizes[0]))
    scaler = {"kind": "standard", "offset": [0.25, -1.0], "scale": [1.5, 0.75]} if sizes[0] % 2 == 0 else None
    scaled = (
        raw
        if scaler is None
        else (raw - np.tile(scaler["offset"], sizes[0] // 2)) / np.tile(scaler["scale"], sizes[0] // 2)
    )
    expected = run_reference(design, weights, q.quantize(scaled))
    write_files(emit_mcu_c(design, weights, scaler, raw, expected), tmp_path / "mcu")
    result = verify_mcu(tmp_path / "mcu")
    assert result["verified"], result
    assert (result["vectors"], result["mismatches"]) == (50, 0)


def test_a_wrong_expectation_is_caught(tmp_path: Path) -> None:
    q = FixedFormat(8, 4)
    design = AcceleratorDesign((DenseLayer(3, 2, "relu", q, q, q),), "xc7s15", 100.0)
    weights = random_weights(design, np.random.default_rng(0))
    raw = np.random.default_rng(1).normal(size=(5, 3))
    expected = run_reference(design, weights, q.quantize(raw))
    expected[2, 1] += 1
    write_files(emit_mcu_c(design, weights, None, raw, expected), tmp_path / "mcu")
    result = verify_mcu(tmp_path / "mcu")
    assert not result["verified"] and result["mismatches"] >= 1


def test_a_relative_folder_verifies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`dse export --out build/x` passes a relative folder; the programs run inside it."""
    q = FixedFormat(8, 4)
    design = AcceleratorDesign((DenseLayer(3, 2, "relu", q, q, q),), "xc7s15", 100.0)
    weights = random_weights(design, np.random.default_rng(0))
    raw = np.random.default_rng(1).normal(size=(5, 3))
    write_files(
        emit_mcu_c(design, weights, None, raw, run_reference(design, weights, q.quantize(raw))), tmp_path / "mcu"
    )
    monkeypatch.chdir(tmp_path)
    result = verify_mcu(Path("mcu"))
    assert result["verified"] and result["mismatches"] == 0, result


def test_kinds_without_c_code_are_named() -> None:
    q = FixedFormat(8, 4)
    conv = Conv1dLayer(1, 8, 2, 3, "relu", q, q, q)
    design = AcceleratorDesign((conv, DenseLayer(conv.out_size, 2, "identity", q, q, q)), "xc7s15", 100.0)
    with pytest.raises(ValueError, match="layer 0 is 'conv1d'; the C generator supports dense layers only"):
        emit_mcu_c(design, random_weights(design, np.random.default_rng(0)), None, np.zeros((1, 8)), np.zeros((1, 2)))


@pytest.mark.parametrize(("head", "tail", "want"), [(1, 1, "MFFM"), (0, 0, "FFFF"), (3, 3, "MMMM"), (2, 0, "MMFF")])
def test_head_and_tail_layers_leave_one_fpga_segment(head: int, tail: int, want: str) -> None:
    q = FixedFormat(8, 4)
    layers = [DenseLayer(2, 2, "relu", q, q, q) for _ in range(4)]
    hw = SimpleNamespace(mcu_head_layers=IntRange(low=0, high=4), mcu_tail_layers=IntRange(low=0, high=4))
    placed = place_on_mcu(DefaultsTrial({"mcu_head_layers": head, "mcu_tail_layers": tail}), hw, layers)  # type: ignore[arg-type]
    assert "".join("M" if layer.placement == "mcu" else "F" for layer in placed) == want
    AcceleratorDesign(tuple(placed), "xc7s15", 100.0)  # one contiguous FPGA segment, or none


@pytest.mark.sim
@pytest.mark.e2e
def test_export_with_mcu_layers_before_and_after_the_fpga_verifies_both_sides(tmp_path: Path) -> None:
    config = parse_config(
        {
            "study": {"name": "headtail", "seed": 0, "results_dir": str(tmp_path / "res")},
            "dataset": {"kind": "sensor_activity", "max_samples": 300},
            "model": {"hidden_layers": 2, "width": 8},
            "hardware": {"mcu_head_layers": 1, "mcu_tail_layers": 1, "pe": 2, "simd": 2},
            "training": {"epochs": 2},
            "objectives": [{"name": "accuracy"}, {"name": "latency_us"}],
            "search": {"n_trials": 1, "sampler": "random"},
        }
    )
    run_search(config)
    assert main(["export", str(tmp_path / "res"), "--trial", "0", "--out", str(tmp_path / "out"), "--verify"]) == 0
    record = json.loads((tmp_path / "out" / "design.json").read_text())
    assert [layer["placement"] for layer in record["design"]["layers"]] == ["mcu", "fpga", "mcu"]
    assert record["verified"] is True and record["mcu_verification"]["verified"] is True
    assert record["board_verification"]["verified"] is True  # the SPI top, end to end
    assert record["mcu_verification"]["vectors"] == 44  # the whole test split (15 % of 300 rows), up to 48
    assert record["mcu_verification"]["mismatches"] == 0
