"""Estimator properties: exact cycles, units, the PE x SIMD / multiplier / storage knobs, bound <= estimate.

Cycles, DSP and BRAM are exact rules and hold under any calibration. LUT/FF magnitudes come from the fitted
coefficients, which the shipped files may not hold yet: tests on LUT/FF use PRIOR, a calibration with known
non-zero coefficients (estimators/calibration/data/xc7_prior.json).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from contract.design import AcceleratorDesign, top_counter_bits
from contract.fixedpoint import FixedFormat
from contract.layers import DenseFolding, DenseLayer
from contract.layers.dense import MIN_BRAM_DEPTH, PIPELINE_CYCLES
from estimators import Calibration, default_calibration, estimate_design, get_device
from estimators.dense import block_ram_count, estimate_dense
from estimators.system import TOP_FF_PER_COUNTER_BIT

A8 = FixedFormat(8, 4)
W8 = FixedFormat(8, 6)
XC7 = default_calibration("xc7")
PRIOR_PATH = Path(__file__).resolve().parents[1] / "estimators" / "calibration" / "data" / "xc7_prior.json"
PRIOR = Calibration.from_dict(json.loads(PRIOR_PATH.read_text()), path=str(PRIOR_PATH))


def layer(
    fan_in: int = 16,
    fan_out: int = 10,
    pe: int = 1,
    simd: int = 1,
    multiplier: str = "dsp",
    weight_storage: str = "lutrom",
    **kw: object,
) -> DenseLayer:
    fields = {"activation": "relu", "in_fmt": A8, "weight_fmt": W8, "out_fmt": A8} | kw
    folding = DenseFolding(pe=pe, simd=simd, multiplier=multiplier, weight_storage=weight_storage)
    return DenseLayer(fan_in, fan_out, folding=folding, **fields)  # type: ignore[arg-type]


def design(*layers: DenseLayer, device: str = "xc7s15", clock: float = 100.0) -> AcceleratorDesign:
    return AcceleratorDesign(tuple(layers), device, clock)


def test_prior_has_non_zero_resource_coefficients() -> None:
    # The LUT/FF tests below would be vacuous under an all-zero calibration.
    assert sum(PRIOR.lut) > 0 and sum(PRIOR.ff) > 0


def test_cycles_follow_the_architecture() -> None:
    # G = ceil(10/3) = 4 groups, C = 16 chunks: L = 4 + (G - 1) * max(C, PE) + (10 - 3 * 3) (docs/architecture.md).
    first = layer(16, 10, pe=3)
    assert first.latency_cycles == PIPELINE_CYCLES + 3 * 16 + 1 == 53
    assert estimate_dense(first, XC7).cycles == first.latency_cycles
    # SIMD 4: C = 4 chunks, one adder-tree stage, groups every max(C, PE) = 4 cycles.
    folded = layer(16, 10, pe=3, simd=4)
    assert folded.latency_cycles == PIPELINE_CYCLES + 1 + 3 * 4 + 1 == 18
    assert estimate_dense(folded, XC7).cycles == folded.latency_cycles
    # The output register drains PE elements: with PE > C the group period is PE.
    drain = layer(4, 16, pe=8, simd=2)  # C = 2, G = 2
    assert drain.latency_cycles == PIPELINE_CYCLES + 1 + 1 * 8 + 8

    second = layer(10, 4, pe=4, activation="identity")  # one group: L = 4 + 4
    net = design(first, second)
    estimate = estimate_design(net)
    # Inputs stream in one element per cycle: the last of the 16 is taken 15 edges after the first.
    assert net.latency_cycles == 15 + 53 + 8
    assert estimate.cycles == net.latency_cycles
    assert estimate.ii_cycles == net.latency_cycles + 1 == net.initiation_interval
    assert estimate.fpga_latency_us == pytest.approx(estimate.cycles / 100.0)


@pytest.mark.parametrize(
    ("fan_in", "fan_out", "pe", "simd"),
    [(16, 10, 1, 1), (16, 10, 3, 1), (16, 10, 1, 5), (16, 10, 10, 16), (7, 9, 2, 3), (1, 1, 1, 1), (64, 32, 4, 8)],
)
def test_layer_latency_and_bound_come_from_the_layer(fan_in: int, fan_out: int, pe: int, simd: int) -> None:
    described = layer(fan_in, fan_out, pe=pe, simd=simd)
    estimate = estimate_dense(described, PRIOR)
    assert estimate.cycles == described.latency_cycles
    assert estimate.bound_cycles == pytest.approx(fan_in * fan_out / (pe * simd))
    assert estimate.bound_cycles == pytest.approx(described.macs / (pe * simd))
    assert (estimate.macs, estimate.params) == (fan_in * fan_out, fan_in * fan_out + fan_out)


def test_design_cycles_are_the_design_latency() -> None:
    nets = [
        design(layer(64, 32, pe=4, simd=8), layer(32, 10, pe=2, simd=3, activation="identity")),
        design(layer(13, 7, pe=7, simd=13), layer(7, 7, pe=3, simd=2), layer(7, 2, activation="identity")),
        design(layer(5, 3, pe=2, simd=1, multiplier="lut")),
    ]
    for net in nets:
        estimate = estimate_design(net, PRIOR)
        assert estimate.cycles == net.latency_cycles
        assert estimate.ii_cycles == net.initiation_interval
        assert estimate.bound_cycles == pytest.approx(net.bound_cycles)
        assert net.latency_cycles == net.layers[0].in_features - 1 + sum(x.latency_cycles for x in net.layers)
        # Each layer reads all its chunks, one per cycle, within the vector's window. (The sum over layers is not a
        # bound: layers overlap within a vector.)
        assert max(x.bound_cycles for x in net.layers) <= estimate.cycles


def test_units_and_energy_is_power_times_time() -> None:
    estimate = estimate_design(design(layer(64, 32, 4), layer(32, 10, 2, activation="identity")), PRIOR)
    assert estimate.latency_us == pytest.approx(
        estimate.fpga_latency_us + estimate.mcu_latency_us + estimate.transfer_us
    )
    assert estimate.energy_uj == pytest.approx(estimate.power_mw * estimate.latency_us / 1000.0)
    assert estimate.static_mw == get_device("xc7s15").static_mw  # the prior has no static_mw of its own
    assert estimate.macs == 64 * 32 + 32 * 10
    assert estimate.params == estimate.macs + 32 + 10


@pytest.mark.parametrize("storage", ["lutrom", "bram"])
def test_monotonic_in_size(storage: str) -> None:
    estimates = [
        estimate_design(design(layer(64, width, weight_storage=storage)), PRIOR) for width in (4, 8, 16, 32, 64)
    ]
    for previous, estimate in zip(estimates, estimates[1:], strict=False):
        assert estimate.cycles > previous.cycles
        assert estimate.ff > previous.ff
        assert estimate.energy_uj > previous.energy_uj
        if storage == "lutrom":
            assert estimate.lut > previous.lut  # the ROM is in LUTs and grows
            assert estimate.bram == 0
        else:
            assert estimate.lut >= previous.lut
            assert estimate.bram >= previous.bram
    if storage == "bram":
        # 64 x 4 words of 8 bits fit one RAMB18 (0.5); 64 x 64 words need two (4096 x 4 each).
        assert (estimates[0].bram, estimates[-1].bram) == (0.5, 1.0)


def test_pe_trades_cycles_for_resources() -> None:
    estimates = [estimate_design(design(layer(32, 16, pe=pe)), PRIOR) for pe in (1, 2, 4, 8, 16)]
    for pe, previous, estimate in zip((2, 4, 8, 16), estimates[:-1], estimates[1:], strict=True):
        assert estimate.cycles < previous.cycles
        assert estimate.dsp == pe  # one DSP48E1 per 8 x 8 product
        assert estimate.lut > previous.lut
        assert estimate.ff > previous.ff


def test_simd_trades_cycles_for_resources() -> None:
    estimates = [estimate_design(design(layer(32, 16, simd=simd)), PRIOR) for simd in (1, 2, 4, 8, 16, 32)]
    for simd, previous, estimate in zip((2, 4, 8, 16, 32), estimates[:-1], estimates[1:], strict=True):
        assert estimate.cycles < previous.cycles
        assert estimate.dsp == simd
        assert estimate.lut > previous.lut
    # SIMD that does not divide the input count still helps: ceil(32 / 5) = 7 chunks instead of 8 (SIMD 4).
    assert layer(32, 16, simd=5).latency_cycles < layer(32, 16, simd=4).latency_cycles


def test_lut_multipliers_use_no_dsp() -> None:
    for pe, simd in ((1, 1), (4, 2), (16, 32)):
        dsp = estimate_dense(layer(32, 16, pe=pe, simd=simd, multiplier="dsp"), PRIOR)
        soft = estimate_dense(layer(32, 16, pe=pe, simd=simd, multiplier="lut"), PRIOR)
        assert dsp.dsp == pe * simd
        assert soft.dsp == 0
        assert soft.lut > dsp.lut  # the products are built from LUTs instead
        assert soft.cycles == dsp.cycles  # same pipeline
    # A design over the DSP budget with DSP multipliers fits with LUT multipliers.
    wide = estimate_design(design(layer(32, 16, pe=16, simd=2)), PRIOR)
    soft = estimate_design(design(layer(32, 16, pe=16, simd=2, multiplier="lut")), PRIOR)
    assert not wide.fits and any(v.startswith("dsp 32 > 20") for v in wide.violations)
    assert soft.fits and soft.dsp == 0


def test_dsp_rule_matches_yosys() -> None:
    # Measured with yosys 0.23 on registered signed a*b: xc7 uses a DSP48E1 from 9 product bits, iCE40 from 11.
    assert XC7.dsp_rule.dsps_per_multiplier(4, 4) == 0
    assert XC7.dsp_rule.dsps_per_multiplier(4, 5) == 1
    assert XC7.dsp_rule.dsps_per_multiplier(16, 16) == 1
    assert XC7.dsp_rule.dsps_per_multiplier(26, 8) == 2
    ice40 = default_calibration("ice40")
    assert ice40.dsp_rule.dsps_per_multiplier(5, 5) == 0
    assert ice40.dsp_rule.dsps_per_multiplier(6, 6) == 1
    assert ice40.dsp_rule.dsps_per_multiplier(18, 16) == 2
    # Products too small for a DSP are LUT logic even with multiplier="dsp".
    assert (
        estimate_dense(
            layer(8, 4, pe=2, in_fmt=FixedFormat(4, 2), out_fmt=FixedFormat(4, 2), weight_fmt=FixedFormat(4, 2)), XC7
        ).dsp
        == 0
    )


def test_block_ram_counts() -> None:
    assert block_ram_count(512, 36, "xc7") == 0.5  # one RAMB18 in 512x36
    assert block_ram_count(1024, 32, "xc7") == 1.0  # two RAMB18 in 1024x18
    assert block_ram_count(4096, 8, "xc7") == 1.0  # two RAMB18 in 4096x4
    assert block_ram_count(640, 8, "ice40") == 2.0  # two EBR in 512x8
    assert estimate_design(design(layer(16, 10, 1))).bram == 0


def test_deep_input_buffers_go_to_block_ram() -> None:
    deep = layer(256, 2, pe=1, simd=2)  # C = 128 words per bank
    assert deep.buffer_storage == "bram"
    assert estimate_dense(deep, XC7).bram == 2 * block_ram_count(128, 8, "xc7")
    assert estimate_dense(layer(254, 2, pe=1, simd=2), XC7).bram == 0  # C = 127: LUTRAM


def test_device_fit_and_mcu_offload() -> None:
    big = design(
        layer(64, 64, 64, weight_fmt=FixedFormat(16, 8), in_fmt=FixedFormat(16, 8), out_fmt=FixedFormat(16, 8))
    )
    estimate = estimate_design(big)
    assert not estimate.fits
    assert any(v.startswith("dsp 64 > 20") for v in estimate.violations)
    fpga_only = design(layer(64, 16, 4), layer(16, 10, 1, activation="identity"))
    split = dataclasses.replace(
        fpga_only, layers=(fpga_only.layers[0], dataclasses.replace(fpga_only.layers[1], placement="mcu"))
    )
    a, b = estimate_design(fpga_only, PRIOR), estimate_design(split, PRIOR)
    assert b.cycles == split.latency_cycles == 63 + fpga_only.layers[0].latency_cycles
    assert b.mcu_latency_us > 0 and a.mcu_latency_us == 0
    assert b.lut < a.lut and b.dsp < a.dsp


def test_roms_of_at_most_32_bits_stay_in_luts_even_when_bram_is_asked() -> None:
    """ghdl synth builds such an array as logic (tests/test_synth_generator.py measures both sides)."""
    narrow = layer(1, 10, 1, weight_fmt=FixedFormat(3, 0), weight_storage="bram")  # 10 words x 3 bits
    wider = layer(1, 11, 1, weight_fmt=FixedFormat(3, 0), weight_storage="bram")  # 11 words x 3 bits
    assert narrow.rom_depth * narrow.rom_width == 30 and narrow.rom_storage == "lutrom"
    assert wider.rom_depth * wider.rom_width == 33 and wider.rom_storage == "bram"
    assert estimate_dense(narrow, PRIOR).bram == 0 and estimate_dense(wider, PRIOR).bram == 0.5


def test_activity_scales_dynamic_power_only() -> None:
    net = design(layer(32, 16, 4))
    low, high = estimate_design(net, PRIOR, activity=0.1), estimate_design(net, PRIOR, activity=0.4)
    assert high.dynamic_mw > low.dynamic_mw
    assert high.static_mw == low.static_mw


def test_tiny_roms_stay_in_luts_even_when_bram_is_asked() -> None:
    tiny = layer(2, 4, 2, weight_storage="bram")  # 2 groups x 2 chunks = 4 words
    assert tiny.rom_depth < MIN_BRAM_DEPTH and tiny.rom_storage == "lutrom"
    assert estimate_dense(tiny, PRIOR).bram == 0
    assert estimate_dense(tiny, PRIOR).lut == estimate_dense(layer(2, 4, 2, weight_storage="lutrom"), PRIOR).lut
    deep = layer(4, 4, 2, weight_storage="bram")  # 2 groups x 4 chunks = 8 words
    assert deep.rom_depth == MIN_BRAM_DEPTH and deep.rom_storage == "bram"
    assert estimate_dense(deep, PRIOR).bram == 0.5
    assert estimate_dense(deep, PRIOR).lut < estimate_dense(layer(4, 4, 2, weight_storage="lutrom"), PRIOR).lut
    from generator.synth import rom_styles_for

    second = layer(4, 4, 2, weight_storage="bram", activation="identity")
    styles = rom_styles_for(design(tiny, second))
    assert [
        style[(x.rom_width, max(2, x.rom_depth))] for style, x in zip(styles.values(), (tiny, second), strict=True)
    ] == [
        "logic",
        "block",
    ]


@pytest.mark.parametrize("family", ["xc7", "ice40"])
def test_a_chain_counts_the_flip_flops_of_one_top_level_however_many_layers_it_holds(family: str) -> None:
    device, clock = ("xc7s15", 100.0) if family == "xc7" else ("ice40up5k", 24.0)
    first, second = layer(100, 30), layer(30, 7)
    alone = [estimate_design(AcceleratorDesign((x,), device, clock)) for x in (first, second)]
    chain = estimate_design(AcceleratorDesign((first, second), device, clock))
    # Each layer alone carries a top with 7 + 5 and 5 + 3 counter bits; the chain's top has 7 + 3.
    assert top_counter_bits(100, 30) == (7, 5) and top_counter_bits(30, 7) == (5, 3)
    surplus = (7 + 5) + (5 + 3) - (7 + 3)
    assert chain.lut == pytest.approx(sum(e.lut for e in alone))
    assert chain.ff == pytest.approx(sum(e.ff for e in alone) - TOP_FF_PER_COUNTER_BIT * surplus)
    assert chain.ff < sum(e.ff for e in alone)
