"""The contract test of the dense kind: QAT == reference == GHDL simulation, bit for bit, at the contract's cycles.

Every case asserts, with full-range random weights:
- the fake-quantized torch model (dse.training.quant.QuantizedNet, parameters set from the integer codes) computes
  the codes of contract.reference.run_reference;
- the generated VHDL, simulated by GHDL under the cocotb testbench, outputs exactly those codes in all three
  phases (latency, throughput, back-pressure) on extremes, test-set-like and full-range random vectors;
- the simulated latency and initiation interval equal design.latency_cycles / design.initiation_interval, which
  are the estimator's numbers (estimators.estimate_design).

Cases cover 1x1 layers, SIMD not dividing IN, PE not dividing OUT, PE above the chunk count (the output register
stalls the accumulators), SIMD == IN, PE == OUT, both multipliers, both weight storages (BRAM ROMs >= 8 words), a
deep input buffer, every activation, 1- to 16-bit formats with and without rounding shift, multi-layer networks
and MCU layers on both sides of the FPGA segment. About 2-4 s per case.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from contract.design import AcceleratorDesign
from contract.fixedpoint import FixedFormat
from contract.layers import DenseFolding, DenseLayer
from contract.reference import random_weights, run_reference
from dse.training.quant import QuantizedNet
from estimators import estimate_design
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
    activation: str
    pe: int = 1
    simd: int = 1
    multiplier: str = "dsp"
    storage: str = "lutrom"
    in_frac: int | None = None  # defaults: half the bits
    weight_frac: int | None = None  # defaults: bits - 1 (weights in [-1, 1))
    out_bits: int | None = None
    out_frac: int | None = None
    placement: str = "fpga"

    @property
    def name(self) -> str:
        fmt = f"b{self.bits}" + (f"o{self.out_bits}" if self.out_bits else "")
        folding = f"pe{self.pe}-simd{self.simd}-{self.multiplier}-{self.storage}"
        return f"{self.in_features}x{self.out_features}-{fmt}-{self.activation}-{folding}"


def dense(case: LayerCase, in_fmt: FixedFormat | None = None) -> DenseLayer:
    bits = case.bits
    in_fmt = in_fmt or FixedFormat(bits, bits // 2 if case.in_frac is None else case.in_frac)
    weight_fmt = FixedFormat(bits, bits - 1 if case.weight_frac is None else case.weight_frac)
    out_bits = case.out_bits or bits
    out_fmt = FixedFormat(out_bits, out_bits // 2 if case.out_frac is None else case.out_frac)
    folding = DenseFolding(pe=case.pe, simd=case.simd, multiplier=case.multiplier, weight_storage=case.storage)
    return DenseLayer(
        case.in_features,
        case.out_features,
        case.activation,
        in_fmt,
        weight_fmt,
        out_fmt,
        folding=folding,
        placement=case.placement,
    )


def network(cases: list[LayerCase], name: str) -> AcceleratorDesign:
    layers: list[DenseLayer] = []
    for case in cases:
        layers.append(dense(case, layers[-1].out_fmt if layers else None))
    return AcceleratorDesign(tuple(layers), device="xc7s15", clock_mhz=100.0, name=name)


def qat_output_codes(design: AcceleratorDesign, weights: list, x_codes: np.ndarray) -> np.ndarray:
    """The fake-quantized torch model with its parameters set from integer codes, fed dequantized input codes."""
    model = QuantizedNet(design)
    model.load_integer_weights(weights)
    return model.output_codes(design.layers[0].in_fmt.to_float(x_codes))


def check_contract(design: AcceleratorDesign, build_dir: Path, seed: int) -> VerifyResult:
    """QAT == reference, simulation == reference, simulated cycles == contract == estimator (see module doc)."""
    rng = np.random.default_rng(seed)
    weights = random_weights(design, rng)
    for layer, layer_weights in zip(design.layers, weights, strict=True):
        layer.check_weights(layer_weights)

    # QAT == reference on the whole design (MCU layers included), on extremes and random codes.
    first = design.layers[0]
    x = np.concatenate(
        [
            np.full((1, first.in_size), first.in_fmt.min_int),
            np.full((1, first.in_size), first.in_fmt.max_int),
            rng.integers(first.in_fmt.min_int, first.in_fmt.max_int + 1, size=(64, first.in_size)),
        ]
    )
    np.testing.assert_array_equal(qat_output_codes(design, weights, x), run_reference(design, weights, x))

    # The estimator's cycles are the contract's.
    estimate = estimate_design(design)
    assert estimate.cycles == design.latency_cycles
    assert estimate.ii_cycles == design.initiation_interval == design.latency_cycles + 1

    # GHDL == reference (of the FPGA segment: the testbench's expected codes) at the contract's cycles.
    vectors = stimulus_vectors(design, RANDOM_VECTORS, rng)
    result = verify(design, weights, vectors, build_dir)
    assert result.error is None, result.error
    assert result.n_vectors == RANDOM_VECTORS + 4
    assert result.mismatches == 0, result.mismatch_details
    assert result.latency_cycles == result.expected_latency_cycles == design.latency_cycles
    assert result.ii_cycles == result.expected_ii_cycles == design.initiation_interval
    assert result.results["latency_cycles_seen"] == [design.latency_cycles]  # every vector, not just the slowest
    assert set(result.results["ii_intervals"]) == {design.initiation_interval}
    assert result.results["backpressure_outputs"] == result.n_vectors
    assert result.verified and result.passed
    return result


SINGLE_LAYER_CASES = [
    # 1x1: ROM, bias table and buffer padded to 2 entries. Identity into a format wider than the accumulator:
    # no rounding shift, constant comparisons, sign-extended slice.
    LayerCase(1, 1, 2, "identity", in_frac=1, weight_frac=1, out_bits=8, out_frac=2),
    LayerCase(1, 1, 16, "hardsigmoid", multiplier="lut"),
    # 1-bit inputs and weights (codes -1 and 0): the LUT multiplier has only the sign bit
    LayerCase(3, 2, 1, "identity", multiplier="lut", in_frac=0, weight_frac=0, out_bits=4, out_frac=0),
    # SIMD = 3 does not divide IN = 7 (a padding slot), PE = 2 does not divide OUT = 5 (a padding lane);
    # G x C = 3 x 3 = 9 words: a real block-RAM ROM
    LayerCase(7, 5, 8, "relu", pe=2, simd=3, storage="bram"),
    # PE = 4 > C = 1 (SIMD == IN): the output register drains 4 elements per group and stalls the accumulators
    LayerCase(4, 9, 6, "hardtanh", pe=4, simd=4, multiplier="lut"),
    # PE = 5 > C = 3 > 1; OUT = 11 leaves a last group of one output
    LayerCase(8, 11, 5, "hardsigmoid", pe=5, simd=3, storage="bram"),
    # PE == C = 3: the read loop and the output drain take equally long
    LayerCase(6, 7, 8, "identity", pe=3, simd=2, multiplier="lut", storage="bram"),
    # PE == OUT (one group), 9 ROM words in block RAM
    LayerCase(9, 6, 12, "hardsigmoid", pe=6, storage="bram"),
    # fully parallel: SIMD == IN and PE == OUT (one ROM word)
    LayerCase(4, 3, 4, "relu", pe=3, simd=4),
    # narrow: 2-bit codes everywhere, both multipliers
    LayerCase(8, 4, 2, "relu", pe=3, simd=2, multiplier="lut", in_frac=0, weight_frac=1, out_frac=0),
    LayerCase(5, 3, 2, "hardtanh", pe=2, simd=4, in_frac=1, weight_frac=1, out_frac=1),
    # wide: 16-bit codes, block-RAM ROMs of 16 words, both multipliers
    LayerCase(16, 10, 16, "identity", pe=3, simd=5, storage="bram"),
    LayerCase(16, 10, 16, "relu", pe=4, simd=3, multiplier="lut", storage="bram"),
    # a deep input buffer (130 chunks: block RAM) read twice (two groups)
    LayerCase(130, 2, 4, "relu", storage="bram"),
    # formats: no rounding shift (out frac = in frac + weight frac) into a wider output, a narrower output,
    # integer outputs (coarse steps, strong saturation), fine input fractions into 2 bits
    LayerCase(4, 3, 4, "identity", in_frac=2, weight_frac=2, out_bits=8, out_frac=4),
    LayerCase(6, 5, 6, "hardsigmoid", pe=2, simd=2, out_bits=3, out_frac=2),
    LayerCase(6, 5, 8, "relu", pe=5, simd=3, out_bits=4, out_frac=0),
    LayerCase(5, 4, 10, "hardtanh", pe=3, simd=2, multiplier="lut", in_frac=9, weight_frac=9, out_bits=2, out_frac=1),
]


@pytest.mark.parametrize("case", SINGLE_LAYER_CASES, ids=lambda c: c.name)
def test_single_layer_is_bit_exact_with_contract_timing(case: LayerCase, tmp_path: Path) -> None:
    design = network([case], "dut")
    if case.storage == "bram":
        assert design.layers[0].rom_storage == "bram", "the case must really put its ROM in block RAM"
    check_contract(design, tmp_path, seed=case.in_features * 100 + case.bits)


def test_cases_cover_the_odd_shapes_and_every_variant() -> None:
    """The table above really covers what its comments claim."""
    layers = [network([case], "dut").layers[0] for case in SINGLE_LAYER_CASES]
    folds = [layer.folding for layer in layers]
    assert any(layer.in_features == layer.out_features == 1 for layer in layers)
    assert any(f.simd > 1 and layer.in_features % f.simd for layer, f in zip(layers, folds, strict=True))
    assert any(layer.out_features % f.pe for layer, f in zip(layers, folds, strict=True))
    assert any(f.pe > layer.chunks > 1 for layer, f in zip(layers, folds, strict=True))
    assert any(f.pe == layer.chunks > 1 for layer, f in zip(layers, folds, strict=True))
    assert any(f.simd == layer.in_features > 1 for layer, f in zip(layers, folds, strict=True))
    assert any(f.pe == layer.out_features > 1 for layer, f in zip(layers, folds, strict=True))
    assert {f.multiplier for f in folds} == {"dsp", "lut"}
    assert {layer.rom_storage for layer in layers} == {"lutrom", "bram"}
    assert {layer.buffer_storage for layer in layers} == {"lutram", "bram"}
    assert {layer.activation for layer in layers} == {"relu", "identity", "hardtanh", "hardsigmoid"}
    assert {layer.in_fmt.total_bits for layer in layers} >= {1, 2, 16}
    assert any(layer.requant.shift == 0 for layer in layers)


NETWORK_CASES = {
    # bursts of PE outputs from one layer fill the next one's SIMD banks
    "3layers-mixed": [
        LayerCase(8, 5, 8, "relu", pe=1, simd=3, storage="bram"),
        LayerCase(5, 3, 8, "hardtanh", pe=2, simd=5, multiplier="lut"),
        LayerCase(3, 2, 8, "identity", pe=2, simd=2),
    ],
    # a fast first layer, a slow second one
    "2layers-slow-second": [
        LayerCase(4, 6, 6, "hardsigmoid", pe=6, simd=4),
        LayerCase(6, 5, 6, "relu", storage="bram", in_frac=3),
    ],
    "3layers-16x10-wide": [
        LayerCase(16, 10, 12, "hardtanh", pe=4, simd=2, storage="bram", out_bits=8, out_frac=4),
        LayerCase(10, 8, 8, "hardsigmoid", pe=3, simd=4, multiplier="lut", in_frac=4, out_bits=5, out_frac=3),
        LayerCase(8, 4, 5, "identity", pe=4, in_frac=3, out_bits=16, out_frac=7),  # no rounding shift
    ],
    # MCU layers before and after the FPGA segment: only the middle two are hardware
    "mcu-around-fpga": [
        LayerCase(6, 5, 8, "relu", placement="mcu"),
        LayerCase(5, 4, 8, "hardtanh", pe=3, storage="bram"),
        LayerCase(4, 3, 8, "relu", simd=4, multiplier="lut"),
        LayerCase(3, 2, 8, "identity", placement="mcu"),
    ],
}


@pytest.mark.parametrize("name", list(NETWORK_CASES))
def test_network_is_bit_exact_with_summed_latency(name: str, tmp_path: Path) -> None:
    design = network(NETWORK_CASES[name], "net")
    check_contract(design, tmp_path, seed=7)
    fpga = design.fpga_layers
    assert design.latency_cycles == fpga[0].in_size - 1 + sum(layer.latency_cycles for layer in fpga)
    if name == "mcu-around-fpga":
        assert design.fpga_slice == slice(1, 3) and len(design.mcu_layers) == 2


# --- the checks must be able to fail ----------------------------------------------------------------------


def _prepared(tmp_path: Path) -> tuple[AcceleratorDesign, Path, list[str]]:
    design = network([LayerCase(3, 2, 6, "relu", simd=2)], "neg")
    rng = np.random.default_rng(5)
    weights = random_weights(design, rng)
    files = write_verification_files(design, weights, stimulus_vectors(design, 4, rng), tmp_path / "hdl")
    return design, tmp_path / "hdl", compile_order(files)


def _run_with_vectors(tmp_path: Path, edit: Callable[[dict], None]) -> VerifyResult:
    design, hdl, order = _prepared(tmp_path)
    vectors_path = hdl / VECTORS_FILE
    config = json.loads(vectors_path.read_text())
    edit(config)
    vectors_path.write_text(json.dumps(config))
    return run_cocotb("ghdl", [hdl / name for name in order], design.name, hdl, tmp_path / "sim", design)


def test_testbench_fails_on_a_wrong_expected_code(tmp_path: Path) -> None:
    def corrupt(config: dict) -> None:
        config["expected"][2][1] ^= 1

    result = _run_with_vectors(tmp_path, corrupt)
    assert not result.verified and not result.passed
    assert result.mismatches == 3  # vector 2 is wrong in each of the three phases
    assert result.mismatch_details[0]["vector"] == 2


@pytest.mark.parametrize(
    "key, delta", [("expected_latency_cycles", -1), ("expected_ii_cycles", 1)], ids=["latency", "ii"]
)
def test_testbench_fails_on_wrong_cycle_counts(key: str, delta: int, tmp_path: Path) -> None:
    def expect_other(config: dict) -> None:
        config[key] += delta

    result = _run_with_vectors(tmp_path, expect_other)
    assert result.mismatches == 0
    assert not result.passed and result.results["cycles_ok"] is False
    assert not result.verified


def test_testbench_fails_without_vectors(tmp_path: Path) -> None:
    def empty(config: dict) -> None:
        config["inputs"], config["expected"] = [], []

    result = _run_with_vectors(tmp_path, empty)
    assert not result.verified and not result.passed
    assert result.n_vectors == 0


def test_verify_refuses_fewer_than_two_vectors(tmp_path: Path) -> None:
    design = network([LayerCase(2, 2, 4, "relu")], "few")
    weights = random_weights(design, np.random.default_rng(0))
    with pytest.raises(ValueError, match="at least 2 vectors"):
        verify(design, weights, np.zeros((1, 2), dtype=np.int64), tmp_path)
