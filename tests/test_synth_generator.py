"""Open-source synthesis of generated designs (ghdl synth + yosys + nextpnr-ice40) and gate-level simulation.

Few and slow on purpose: DSP and block-RAM counts must be the estimators' rules (estimators.dense), LUT
multipliers must use no DSP, and the synthesized netlists must compute the reference's outputs at the contract's
cycles.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from contract.design import AcceleratorDesign
from contract.fixedpoint import FixedFormat
from contract.layers import DenseFolding, DenseLayer
from contract.reference import random_weights
from estimators import default_calibration, estimate_design
from estimators.content import rom_contents
from estimators.dense import dsps_per_product, layer_bram
from generator.gatesim import simulate_netlist
from generator.synth import XC7_TIMING_SOURCE, SynthResult, synthesize
from generator.testbench import stimulus_vectors

pytestmark = pytest.mark.synth

F8 = FixedFormat(8, 4)
W8 = FixedFormat(8, 7)


def rule_dsp(design: AcceleratorDesign, family: str) -> int:
    calibration = default_calibration(family)
    return sum(
        dsps_per_product(layer, calibration) * layer.folding.pe * layer.folding.simd for layer in design.fpga_layers
    )


def rule_bram(design: AcceleratorDesign, family: str) -> float:
    return sum(layer_bram(layer, family) for layer in design.fpga_layers)


def xc7_design(first_storage: str) -> AcceleratorDesign:
    layers = (
        # 16 x 10, PE = 5, SIMD = 2: 2 groups x 8 chunks = 16 ROM words of 80 bits
        DenseLayer(16, 10, "relu", F8, W8, F8, DenseFolding(5, 2, "dsp", first_storage)),
        DenseLayer(10, 3, "hardtanh", F8, W8, F8, DenseFolding(3, 2, "lut", "lutrom")),
    )
    return AcceleratorDesign(layers, device="xc7s15", clock_mhz=100.0, name="syn_xc7")


def ice40_design() -> AcceleratorDesign:
    """Every activation, both storages, both multipliers, SIMD > 1, non-dividing PE and an input buffer in block
    RAM: the gate-level check covers the datapath variants."""
    q63 = FixedFormat(6, 3)
    layers = (
        # 16 chunks: the input buffer is an SB_RAM40_4K (the iCE40 has no LUTRAM); 48-word ROM in block RAM
        DenseLayer(16, 5, "hardsigmoid", F8, W8, F8, DenseFolding(pe=2, weight_storage="bram")),
        DenseLayer(5, 4, "relu", F8, W8, F8, DenseFolding(pe=2, simd=2)),
        DenseLayer(4, 3, "hardtanh", F8, W8, q63, DenseFolding(weight_storage="bram")),  # 12 words
        DenseLayer(3, 2, "identity", q63, FixedFormat(6, 5), FixedFormat(10, 6), DenseFolding(2, 3, "lut")),
    )
    return AcceleratorDesign(layers, device="ice40up5k", clock_mhz=24.0, name="syn_ice40")


def assert_rules(result: SynthResult, design: AcceleratorDesign, family: str) -> None:
    assert result.dsp == rule_dsp(design, family), result.cells
    assert result.bram == rule_bram(design, family), result.cells


def test_xc7s15_resources_follow_the_rules_and_lut_rom_netlist_simulates(tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    lutrom_design = xc7_design("lutrom")
    weights = random_weights(lutrom_design, rng)
    in_lut = synthesize(lutrom_design, weights, tmp_path / "lutrom")
    bram_design = xc7_design("bram")
    in_bram = synthesize(bram_design, weights, tmp_path / "bram")

    assert rule_dsp(lutrom_design, "xc7") == 10  # 5 x 2 8x8 products in DSP48E1s; the LUT-multiplier layer: none
    for result, design in ((in_lut, lutrom_design), (in_bram, bram_design)):
        assert result.part == "xc7s15ftgb196-2"
        assert result.lut > 50 and result.ff > 50 and result.carry > 0
        # No open place and route for xc7: its fmax is the open flow's timing (yosys sta + routing per net).
        assert result.fmax_source == XC7_TIMING_SOURCE and result.fmax_mhz is not None
        assert 20.0 < result.fmax_mhz < 500.0
        assert result.logic_cells is None and result.placed is None
        assert result.tool_versions["yosys"].startswith("Yosys")
        assert result.tool_versions["ghdl"].startswith("GHDL")
        assert_rules(result, design, "xc7")
    assert in_lut.bram == 0 and in_bram.bram > 0

    # The LUT-ROM netlist can be simulated at gate level (xc7 block RAM models are stubs). Icarus runs the
    # xc7 DSP48E1 model slowly (about 100 cycles/s), so only the extremes and two random vectors.
    vectors = stimulus_vectors(lutrom_design, 2, rng)
    gates = simulate_netlist(lutrom_design, weights, vectors, in_lut, tmp_path / "gates")
    assert gates.error is None, gates.error
    assert gates.mismatches == 0 and gates.n_vectors == len(vectors)
    assert gates.latency_cycles == lutrom_design.latency_cycles and gates.ii_cycles == lutrom_design.initiation_interval
    assert gates.verified
    with pytest.raises(ValueError, match="stubs"):
        simulate_netlist(bram_design, weights, vectors, in_bram, tmp_path / "no_gates")


def test_xc7s15_lut_multipliers_use_no_dsp(tmp_path: Path) -> None:
    layer = DenseLayer(6, 4, "relu", F8, W8, F8, DenseFolding(pe=2, simd=2, multiplier="lut"))
    design = AcceleratorDesign((layer,), device="xc7s15", clock_mhz=100.0, name="syn_lut")
    result = synthesize(design, random_weights(design, np.random.default_rng(3)), tmp_path)
    assert dsps_per_product(layer, default_calibration("xc7")) == 0 and rule_dsp(design, "xc7") == 0
    assert result.dsp == 0 and "DSP48E1" not in result.cells
    assert result.bram == 0 and result.lut > 4 * 8 * 4  # four 8x8 products in LUTs


def test_ice40up5k_synthesis_fmax_and_gate_level_simulation(tmp_path: Path) -> None:
    design = ice40_design()
    rng = np.random.default_rng(12)
    weights = random_weights(design, rng)
    result = synthesize(design, weights, tmp_path / "synth")

    assert result.part == "up5k-sg48"
    assert rule_dsp(design, "ice40") == 7  # 2 + 4 + 1 SB_MAC16 (the UP5K has 8); the LUT layer: none
    assert design.layers[0].buffer_storage_on("ice40") == "bram"
    assert rule_bram(design, "ice40") >= 3  # the two "bram" layers' ROMs and the first layer's input buffer
    assert_rules(result, design, "ice40")
    assert result.lut > 100 and result.ff > 100 and result.lutram == 0
    assert result.fmax_mhz is not None and 5.0 < result.fmax_mhz < 200.0
    assert "nextpnr-ice40" in result.tool_versions["nextpnr-ice40"]
    # nextpnr packs LUT4s and FFs into logic cells; the estimate's packing is within its held-out error.
    assert result.placed and result.logic_cells is not None
    assert max(result.lut, result.ff) <= result.logic_cells <= result.lut + result.ff + result.carry
    estimate = estimate_design(design, contents=rom_contents(design, weights))
    assert estimate.logic_cells == pytest.approx(result.logic_cells, rel=0.25)
    assert estimate.fmax_mhz == pytest.approx(result.fmax_mhz, rel=0.35)

    vectors = stimulus_vectors(design, 6, rng)
    gates = simulate_netlist(design, weights, vectors, result, tmp_path / "gates")
    assert gates.error is None, gates.error
    assert gates.simulator == "icarus"
    assert gates.mismatches == 0 and gates.n_vectors == len(vectors)
    assert gates.latency_cycles == design.latency_cycles and gates.ii_cycles == design.initiation_interval
    assert gates.verified


def test_full_case_from_ghdl_synthesizes_and_simulates_at_gate_level(tmp_path: Path) -> None:
    # A 2x2 layer's 4-word ROM makes GHDL print a 2-bit 'case' with all four labels and no default.
    layer = DenseLayer(2, 2, "hardtanh", FixedFormat(8, 2), FixedFormat(2, 1), FixedFormat(6, 2))
    design = AcceleratorDesign((layer,), "xc7s15", 100.0)
    weights = random_weights(design, np.random.default_rng(0))
    synth = synthesize(design, weights, tmp_path / "synth", place_and_route=False)
    assert "default:" in (tmp_path / "synth" / "rtl.v").read_text()
    vectors = stimulus_vectors(design, 16, np.random.default_rng(1))
    result = simulate_netlist(design, weights, vectors, synth, tmp_path)
    assert result.verified, result.error
    assert result.mismatches == 0 and result.n_vectors == len(vectors)
    # IN - 1 streaming + 4 pipeline + (G - 1) x max(C, PE) + last group's outputs = 1 + 4 + 2 + 1
    assert result.latency_cycles == design.latency_cycles == 8


def test_bram_rom_with_a_bias_table_of_the_same_shape(tmp_path: Path) -> None:
    """SIMD == IN and SIMD x Bw == acc_bits: the bias table would have the weight ROM's shape (and so its BRAM style,
    which yosys cannot map for an asynchronous read); the generator pads it by one word."""
    layer = DenseLayer(
        2, 8, "relu", FixedFormat(4, 2), FixedFormat(6, 4), F8, DenseFolding(simd=2, weight_storage="bram")
    )
    assert (layer.rom_width, layer.rom_depth) == (layer.folding.pe * layer.acc_bits, layer.groups) == (12, 8)
    design = AcceleratorDesign((layer,), "xc7s15", 100.0, name="same_shape")
    result = synthesize(design, random_weights(design, np.random.default_rng(0)), tmp_path, place_and_route=False)
    assert_rules(result, design, "xc7")


@pytest.mark.parametrize("words", [10, 11])
def test_a_block_ram_rom_of_at_most_32_bits_is_logic(tmp_path: Path, words: int) -> None:
    """GHDL turns a 10 x 3 bit ROM into multiplexers whatever its style; an 11 x 3 bit one stays a memory and
    goes to block RAM: the contract's rom_storage and the estimate say the same."""
    layer = DenseLayer(
        1, words, "identity", FixedFormat(4, 2), FixedFormat(3, 2), F8, DenseFolding(weight_storage="bram")
    )
    design = AcceleratorDesign((layer,), "xc7s15", 100.0, name=f"rom{words}")
    result = synthesize(design, random_weights(design, np.random.default_rng(0)), tmp_path, place_and_route=False)
    assert result.bram == (0.0 if words == 10 else 0.5) == estimate_design(design, default_calibration("xc7")).bram
    assert_rules(result, design, "xc7")


@pytest.mark.parametrize(
    ("multiplier", "bx", "bw", "taps", "copies"),
    [
        ("lut", 4, 4, [1, 0, 2], 2),  # shift-and-add: every zero copy goes
        ("dsp", 6, 3, [1, 0, 2], 2),  # a tool-built product gated by the narrower weight
        ("dsp", 4, 4, [0, 1, 2], 3),  # ... gated by x: the zero slot stays
        ("dsp", 4, 4, [1, 2, 0], 2),  # ... except the trimmed top slot of a one-word ROM
    ],
)
def test_a_window_buffer_copy_of_zero_weights_is_removed_as_estimated(
    tmp_path: Path, multiplier: str, bx: int, bw: int, taps: list[int], copies: int
) -> None:
    from contract.layers.conv import Conv1dLayer, ConvFolding, ConvWeights
    from estimators.content import rom_contents

    layer = Conv1dLayer(
        1, 40, 1, 3, "relu", FixedFormat(bx, 2), FixedFormat(bw, 1), FixedFormat(bx, 2),
        folding=ConvFolding(pe=1, simd=3, multiplier=multiplier),
    )  # fmt: skip
    design = AcceleratorDesign((layer,), "ice40up5k", 20.0, name="zero_copy")
    weights = [ConvWeights(np.array([[taps]], dtype=np.int64), np.zeros(1, dtype=np.int64))]
    result = synthesize(design, weights, tmp_path, place_and_route=False)
    estimate = estimate_design(design, default_calibration("ice40"), contents=rom_contents(design, weights))
    assert result.bram == copies == estimate.bram  # one EBR per 40-element copy
