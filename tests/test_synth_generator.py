"""Open-source synthesis of generated designs (ghdl synth + yosys + nextpnr-ice40) and gate-level simulation.

Few and slow on purpose (about 5-10 s each): resource numbers must be plausible for the configuration, block RAM
must follow the storage choice, and the synthesized netlists must compute the same outputs as the reference.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from contract.design import AcceleratorDesign, DenseLayer
from contract.fixedpoint import FixedFormat
from contract.reference import random_weights
from generator.gatesim import simulate_netlist
from generator.synth import synthesize
from generator.testbench import stimulus_vectors

pytestmark = pytest.mark.synth

F8 = FixedFormat(8, 4)
W8 = FixedFormat(8, 7)


def xc7_design(first_storage: str) -> AcceleratorDesign:
    layers = (
        # 16 x 10 with P = 5: 32 words of 40 bits, one RAMB18E1 when asked for
        DenseLayer(16, 10, "relu", F8, W8, F8, parallelism=5, weight_storage=first_storage),
        DenseLayer(10, 3, "hardtanh", F8, W8, F8, parallelism=3, weight_storage="lutrom"),
    )
    return AcceleratorDesign(layers, device="xc7s15", clock_mhz=100.0, name="syn_xc7")


def ice40_design() -> AcceleratorDesign:
    """Every activation, both storages, a non-dividing P: the gate-level check covers all datapath variants."""
    layers = (
        DenseLayer(6, 5, "hardsigmoid", F8, W8, F8, parallelism=2, weight_storage="bram"),
        DenseLayer(5, 4, "relu", F8, W8, F8, parallelism=2),  # 7 lanes: the UP5K has 8 DSPs
        DenseLayer(4, 3, "hardtanh", F8, W8, FixedFormat(6, 3), parallelism=1, weight_storage="bram"),
        DenseLayer(3, 2, "identity", FixedFormat(6, 3), FixedFormat(6, 5), FixedFormat(10, 6), parallelism=2),
    )
    return AcceleratorDesign(layers, device="ice40up5k", clock_mhz=24.0, name="syn_ice40")


def test_xc7s15_resources_follow_lanes_and_storage(tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    lutrom_design = xc7_design("lutrom")
    weights = random_weights(lutrom_design, rng)
    in_lut = synthesize(lutrom_design, weights, tmp_path / "lutrom")
    in_bram = synthesize(xc7_design("bram"), weights, tmp_path / "bram")

    lanes = sum(layer.parallelism for layer in lutrom_design.layers)
    for result in (in_lut, in_bram):
        assert result.part == "xc7s15ftgb196-2"
        assert result.lut > 50 and result.ff > 50 and result.carry > 0
        assert result.dsp == lanes  # one 8x8 signed multiplier per lane, each in a DSP48E1
        assert result.fmax_mhz is None  # no open place and route for xc7
        assert result.tool_versions["yosys"].startswith("Yosys")
        assert result.tool_versions["ghdl"].startswith("GHDL")
    assert in_lut.bram == 0
    # 40-bit words exceed a RAMB18E1's 36-bit port: yosys 0.23 takes one RAMB36E1 (two RAMB18E1 count the same)
    assert in_bram.bram == 1.0

    # The LUT-ROM netlist can be simulated at gate level (xc7 block RAM models are stubs). Icarus runs the
    # xc7 DSP48E1 model slowly (about 100 cycles/s), so only the extremes and a few random vectors.
    vectors = stimulus_vectors(lutrom_design, 2, rng)
    gates = simulate_netlist(lutrom_design, weights, vectors, in_lut, tmp_path / "gates")
    assert gates.error is None, gates.error
    assert gates.mismatches == 0 and gates.n_vectors == len(vectors)
    assert gates.verified
    with pytest.raises(ValueError, match="stubs"):
        simulate_netlist(lutrom_design, weights, vectors, in_bram, tmp_path / "no_gates")


def test_ice40up5k_synthesis_fmax_and_gate_level_simulation(tmp_path: Path) -> None:
    design = ice40_design()
    rng = np.random.default_rng(12)
    weights = random_weights(design, rng)
    result = synthesize(design, weights, tmp_path / "synth")

    assert result.part == "up5k-sg48"
    assert result.dsp == sum(layer.parallelism for layer in design.layers)  # one SB_MAC16 per lane
    assert result.bram >= 2  # the two "bram" layers each in an SB_RAM40_4K
    assert result.lut > 100 and result.ff > 100 and result.lutram == 0
    assert result.fmax_mhz is not None and 5.0 < result.fmax_mhz < 200.0
    assert "nextpnr-ice40" in result.tool_versions["nextpnr-ice40"]

    vectors = stimulus_vectors(design, 6, rng)
    gates = simulate_netlist(design, weights, vectors, result, tmp_path / "gates")
    assert gates.error is None, gates.error
    assert gates.simulator == "icarus"
    assert gates.mismatches == 0 and gates.n_vectors == len(vectors)
    assert gates.latency_cycles == design.latency_cycles and gates.ii_cycles == design.initiation_interval
    assert gates.verified


def test_full_case_from_ghdl_synthesizes_and_simulates_at_gate_level(tmp_path: Path) -> None:
    # A 2x2 layer makes GHDL print a 2-bit 'case' with all four labels and no default (it used to be refused).
    layer = DenseLayer(2, 2, "hardtanh", FixedFormat(8, 2), FixedFormat(2, 1), FixedFormat(6, 2), 1, "lutrom")
    design = AcceleratorDesign((layer,), "xc7s15", 100.0)
    weights = random_weights(design, np.random.default_rng(0))
    synth = synthesize(design, weights, tmp_path / "synth", place_and_route=False)
    assert "default:" in (tmp_path / "synth" / "rtl.v").read_text()
    vectors = stimulus_vectors(design, 16, np.random.default_rng(1))
    result = simulate_netlist(design, weights, vectors, synth, tmp_path)
    assert result.verified, result.error
    assert result.mismatches == 0 and result.n_vectors == len(vectors)
    assert result.latency_cycles == design.latency_cycles == 2 * 2 + 4  # G=2 groups of IN=2, plus 4
