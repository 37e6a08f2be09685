"""GHDL/cocotb simulation of generated accelerators: bit-exact outputs and exact cycle counts.

Cases combine shapes (1x1 .. 16x10), total bits (2 .. 16), lanes (1, a non-divisor of OUT, OUT), every
activation, both weight storages and 2-3 layer networks, with full-range random weights. Each case feeds
extremes, test-set-like and full-range random vectors (about 0.5-1 s per case).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from contract.design import AcceleratorDesign, DenseLayer
from contract.fixedpoint import FixedFormat
from contract.reference import random_weights
from generator.testbench import VECTORS_FILE, stimulus_vectors
from generator.verify import VerifyResult, run_cocotb, verify, write_verification_files
from generator.vhdl import compile_order

pytestmark = pytest.mark.sim

RANDOM_VECTORS = 6  # plus 4 extremes per case


@dataclass(frozen=True)
class LayerCase:
    in_features: int
    out_features: int
    bits: int
    lanes: int
    activation: str
    storage: str = "lutrom"
    in_frac: int | None = None  # defaults: half the bits
    weight_frac: int | None = None  # defaults: bits - 1 (weights in [-1, 1))
    out_bits: int | None = None
    out_frac: int | None = None


def dense(case: LayerCase, in_fmt: FixedFormat | None = None) -> DenseLayer:
    bits = case.bits
    in_fmt = in_fmt or FixedFormat(bits, bits // 2 if case.in_frac is None else case.in_frac)
    weight_fmt = FixedFormat(bits, bits - 1 if case.weight_frac is None else case.weight_frac)
    out_bits = case.out_bits or bits
    out_fmt = FixedFormat(out_bits, out_bits // 2 if case.out_frac is None else case.out_frac)
    return DenseLayer(
        case.in_features,
        case.out_features,
        case.activation,
        in_fmt,
        weight_fmt,
        out_fmt,
        parallelism=case.lanes,
        weight_storage=case.storage,
    )


def network(cases: list[LayerCase], name: str) -> AcceleratorDesign:
    layers: list[DenseLayer] = []
    for case in cases:
        layers.append(dense(case, layers[-1].out_fmt if layers else None))
    return AcceleratorDesign(tuple(layers), device="xc7s15", clock_mhz=100.0, name=name)


def simulate(design: AcceleratorDesign, build_dir: Path, seed: int) -> VerifyResult:
    rng = np.random.default_rng(seed)
    weights = random_weights(design, rng)
    vectors = stimulus_vectors(design, RANDOM_VECTORS, rng)
    return verify(design, weights, vectors, build_dir)


def assert_verified(result: VerifyResult, design: AcceleratorDesign) -> None:
    assert result.error is None, result.error
    assert result.n_vectors == RANDOM_VECTORS + 4
    assert result.mismatches == 0, result.mismatch_details
    assert result.latency_cycles == design.latency_cycles
    assert result.ii_cycles == design.initiation_interval
    assert result.results["backpressure_outputs"] == result.n_vectors
    assert result.verified


SINGLE_LAYER_CASES = [
    # shape 1x1: tables padded to 2 entries, nothing to rotate, one group
    LayerCase(1, 1, 2, 1, "identity", in_frac=1, weight_frac=1, out_frac=0),
    LayerCase(1, 1, 16, 1, "hardsigmoid", "bram"),
    # shape 2x2
    LayerCase(2, 2, 3, 2, "relu"),
    LayerCase(2, 2, 8, 1, "hardtanh", "bram"),
    # shape 5x3: P=2 does not divide OUT=3 (a padding lane)
    LayerCase(5, 3, 4, 2, "hardsigmoid", "bram"),
    LayerCase(5, 3, 8, 3, "identity"),
    LayerCase(5, 3, 12, 1, "relu", "bram"),
    # shape 8x4
    LayerCase(8, 4, 2, 1, "relu", in_frac=0, weight_frac=1, out_frac=0),
    LayerCase(8, 4, 8, 3, "hardtanh"),
    LayerCase(8, 4, 16, 4, "identity", "bram"),
    # shape 16x10
    LayerCase(16, 10, 3, 10, "identity"),
    LayerCase(16, 10, 4, 3, "hardsigmoid"),
    LayerCase(16, 10, 8, 1, "relu", "bram"),
    LayerCase(16, 10, 12, 10, "hardtanh", "bram"),
    LayerCase(16, 10, 16, 7, "identity"),
    # formats: no rounding shift (out frac = in frac + weight frac), wider and narrower outputs,
    # integer outputs (coarse steps, strong saturation)
    LayerCase(4, 3, 4, 1, "identity", in_frac=2, weight_frac=2, out_bits=8, out_frac=4),
    LayerCase(6, 5, 6, 2, "hardsigmoid", out_bits=3, out_frac=2),
    LayerCase(6, 5, 8, 5, "relu", out_bits=4, out_frac=0),
    LayerCase(5, 4, 10, 3, "hardtanh", in_frac=9, weight_frac=9, out_bits=2, out_frac=1),
]


@pytest.mark.parametrize(
    "case",
    SINGLE_LAYER_CASES,
    ids=lambda c: f"{c.in_features}x{c.out_features}-b{c.bits}-p{c.lanes}-{c.activation}-{c.storage}",
)
def test_single_layer_is_bit_exact_with_contract_timing(case: LayerCase, tmp_path: Path) -> None:
    design = network([case], "dut")
    result = simulate(design, tmp_path, seed=case.in_features * 100 + case.bits)
    assert_verified(result, design)


NETWORK_CASES = {
    "3layers-mixed": [
        LayerCase(8, 5, 8, 1, "relu", "bram"),
        LayerCase(5, 3, 8, 2, "hardtanh"),
        LayerCase(3, 2, 8, 2, "identity", "bram"),
    ],
    # second layer slower than the first: the II comes from it and the first inputs arrive early
    "2layers-slow-second": [
        LayerCase(4, 6, 6, 6, "hardsigmoid"),
        LayerCase(6, 5, 6, 1, "relu", "bram", in_frac=3),
    ],
    "3layers-16x10-wide": [
        LayerCase(16, 10, 12, 4, "hardtanh", "bram", out_bits=8, out_frac=4),
        LayerCase(10, 8, 8, 3, "hardsigmoid", in_frac=4, out_bits=5, out_frac=3),
        LayerCase(8, 4, 5, 4, "identity", in_frac=3, out_bits=16, out_frac=7),  # no rounding shift
    ],
}


@pytest.mark.parametrize("name", list(NETWORK_CASES))
def test_network_is_bit_exact_with_summed_latency(name: str, tmp_path: Path) -> None:
    design = network(NETWORK_CASES[name], "net")
    result = simulate(design, tmp_path, seed=7)
    assert_verified(result, design)
    assert design.latency_cycles == sum(layer.latency_cycles for layer in design.layers)


def test_mcu_layers_around_the_fpga_segment_are_left_out(tmp_path: Path) -> None:
    f8 = FixedFormat(8, 4)
    layers = (
        DenseLayer(6, 5, "relu", f8, FixedFormat(8, 7), f8, placement="mcu"),
        DenseLayer(5, 4, "hardtanh", f8, FixedFormat(8, 7), f8, parallelism=3, weight_storage="bram"),
        DenseLayer(4, 3, "relu", f8, FixedFormat(8, 7), f8, parallelism=1),
        DenseLayer(3, 2, "identity", f8, FixedFormat(8, 7), f8, placement="mcu"),
    )
    design = AcceleratorDesign(layers, device="xc7s15", clock_mhz=100.0, name="split")
    result = simulate(design, tmp_path, seed=3)
    assert_verified(result, design)
    assert design.latency_cycles == layers[1].latency_cycles + layers[2].latency_cycles


# --- the testbench must be able to fail -------------------------------------------------------------------


def _prepared(tmp_path: Path) -> tuple[AcceleratorDesign, Path, list[str]]:
    design = network([LayerCase(3, 2, 6, 1, "relu")], "neg")
    rng = np.random.default_rng(5)
    weights = random_weights(design, rng)
    files = write_verification_files(design, weights, stimulus_vectors(design, 4, rng), tmp_path / "hdl")
    return design, tmp_path / "hdl", compile_order(files)


def _run_with_vectors(tmp_path: Path, edit: object) -> VerifyResult:
    design, hdl, order = _prepared(tmp_path)
    vectors_path = hdl / VECTORS_FILE
    config = json.loads(vectors_path.read_text())
    edit(config)  # type: ignore[operator]
    vectors_path.write_text(json.dumps(config))
    return run_cocotb("ghdl", [hdl / name for name in order], design.name, hdl, tmp_path / "sim", design)


def test_testbench_fails_on_a_wrong_expected_code(tmp_path: Path) -> None:
    def corrupt(config: dict) -> None:
        config["expected"][2][1] ^= 1

    result = _run_with_vectors(tmp_path, corrupt)
    assert not result.verified and not result.passed
    assert result.mismatches == 3  # vector 2 is wrong in each of the three phases
    assert result.mismatch_details[0]["vector"] == 2


def test_testbench_fails_on_wrong_cycle_counts(tmp_path: Path) -> None:
    def expect_faster(config: dict) -> None:
        config["expected_latency_cycles"] -= 1

    result = _run_with_vectors(tmp_path, expect_faster)
    assert result.mismatches == 0
    assert not result.passed and result.results["cycles_ok"] is False


def test_testbench_fails_without_vectors(tmp_path: Path) -> None:
    def empty(config: dict) -> None:
        config["inputs"], config["expected"] = [], []

    result = _run_with_vectors(tmp_path, empty)
    assert not result.verified and not result.passed
    assert result.n_vectors == 0


def test_verify_refuses_fewer_than_two_vectors(tmp_path: Path) -> None:
    design = network([LayerCase(2, 2, 4, 1, "relu")], "few")
    weights = random_weights(design, np.random.default_rng(0))
    with pytest.raises(ValueError, match="at least 2 vectors"):
        verify(design, weights, np.zeros((1, 2), dtype=np.int64), tmp_path)
