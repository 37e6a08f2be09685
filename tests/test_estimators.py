"""Estimator properties: exact cycles, units, monotonic in size and parallelism, bound <= estimate."""

from __future__ import annotations

import dataclasses

import pytest

from contract.design import AcceleratorDesign, DenseLayer
from contract.fixedpoint import FixedFormat
from estimators import default_calibration, estimate_design, get_device
from estimators.dense import block_ram_count, estimate_dense

A8 = FixedFormat(8, 4)
W8 = FixedFormat(8, 6)
XC7 = default_calibration("xc7")


def layer(fan_in: int = 16, fan_out: int = 10, lanes: int = 1, **kw: object) -> DenseLayer:
    fields = {"activation": "relu", "in_fmt": A8, "weight_fmt": W8, "out_fmt": A8} | kw
    return DenseLayer(fan_in, fan_out, parallelism=lanes, **fields)  # type: ignore[arg-type]


def design(*layers: DenseLayer, device: str = "xc7s15", clock: float = 100.0) -> AcceleratorDesign:
    return AcceleratorDesign(tuple(layers), device, clock)


def test_cycles_follow_the_architecture() -> None:
    # G = ceil(10/3) = 4 groups of 16 inputs, plus the 4-stage overhead of docs/architecture.md.
    assert estimate_dense(layer(16, 10, 3), XC7).cycles == 4 * 16 + 4
    net = design(layer(16, 10, 3), layer(10, 4, 4, activation="identity"))
    estimate = estimate_design(net)
    assert estimate.cycles == (4 * 16 + 4) + (1 * 10 + 4) == net.latency_cycles
    assert estimate.ii_cycles == 4 * 16 + 4 + 1 == net.initiation_interval
    assert estimate.fpga_latency_us == pytest.approx(estimate.cycles / 100.0)


def test_units_and_energy_is_power_times_time() -> None:
    estimate = estimate_design(design(layer(64, 32, 4), layer(32, 10, 2, activation="identity")))
    assert estimate.latency_us == pytest.approx(
        estimate.fpga_latency_us + estimate.mcu_latency_us + estimate.transfer_us
    )
    assert estimate.energy_uj == pytest.approx(estimate.power_mw * estimate.latency_us / 1000.0)
    assert estimate.static_mw == get_device("xc7s15").static_mw
    assert estimate.macs == 64 * 32 + 32 * 10
    assert estimate.params == estimate.macs + 32 + 10


@pytest.mark.parametrize("storage", ["lutrom", "bram"])
def test_monotonic_in_size(storage: str) -> None:
    previous = None
    for width in (4, 8, 16, 32, 64):
        estimate = estimate_design(design(layer(64, width, 1, weight_storage=storage)))
        if previous is not None:
            assert estimate.cycles > previous.cycles
            assert estimate.lut >= previous.lut
            assert estimate.ff > previous.ff
            assert estimate.bram >= previous.bram
            assert estimate.energy_uj > previous.energy_uj
        previous = estimate


def test_parallelism_trades_cycles_for_resources() -> None:
    previous = None
    for lanes in (1, 2, 4, 8, 16):
        estimate = estimate_design(design(layer(32, 16, lanes)))
        if previous is not None:
            assert estimate.cycles < previous.cycles
            assert estimate.dsp > previous.dsp
            assert estimate.lut > previous.lut
        previous = estimate


@pytest.mark.parametrize("lanes", [1, 3, 7, 10])
def test_bound_is_a_lower_bound(lanes: int) -> None:
    estimate = estimate_design(design(layer(16, 10, lanes), layer(10, 5, min(lanes, 5), activation="identity")))
    assert estimate.bound_cycles == pytest.approx(16 * 10 / lanes + 10 * 5 / min(lanes, 5))
    assert estimate.bound_cycles <= estimate.cycles


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


def test_block_ram_counts() -> None:
    assert block_ram_count(512, 36, "xc7") == 0.5  # one RAMB18 in 512x36
    assert block_ram_count(1024, 32, "xc7") == 1.0  # two RAMB18 in 1024x18
    assert block_ram_count(4096, 8, "xc7") == 1.0  # two RAMB18 in 4096x4
    assert block_ram_count(640, 8, "ice40") == 2.0  # two EBR in 512x8
    assert estimate_design(design(layer(16, 10, 1))).bram == 0


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
    a, b = estimate_design(fpga_only), estimate_design(split)
    assert b.cycles == fpga_only.layers[0].latency_cycles
    assert b.mcu_latency_us > 0 and a.mcu_latency_us == 0
    assert b.lut < a.lut


def test_activity_scales_dynamic_power_only() -> None:
    net = design(layer(32, 16, 4))
    low, high = estimate_design(net, activity=0.1), estimate_design(net, activity=0.4)
    assert high.dynamic_mw > low.dynamic_mw
    assert high.static_mw == low.static_mw


def test_tiny_roms_stay_in_luts_even_when_bram_is_asked() -> None:
    from contract.design import MIN_BRAM_DEPTH

    tiny = layer(2, 4, 2, weight_storage="bram")  # 2 groups x 2 inputs = 4 words
    assert tiny.rom_depth < MIN_BRAM_DEPTH and tiny.rom_storage == "lutrom"
    assert estimate_dense(tiny, XC7).bram == 0
    assert estimate_dense(tiny, XC7).lut == estimate_dense(layer(2, 4, 2, weight_storage="lutrom"), XC7).lut
    deep = layer(4, 4, 2, weight_storage="bram")  # 8 words
    assert deep.rom_storage == "bram" and estimate_dense(deep, XC7).bram == 0.5
    from generator.synth import rom_styles_for

    styles = rom_styles_for(design(tiny, layer(4, 4, 2, weight_storage="bram", activation="identity")))
    assert [next(iter(s.values())) for s in styles.values()] == ["logic", "block"]
