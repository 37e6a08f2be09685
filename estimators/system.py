"""Whole-design estimate: FPGA accelerator + RP2040 layers + SPI transfers -> latency, power, energy, fit."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from contract.design import RESTART_CYCLES, AcceleratorDesign, top_counter_bits
from contract.devices import Device, get_device
from contract.layers import Layer
from estimators.base import ContentEstimator, LayerEstimator
from estimators.breakdown import dynamic_mw as fpga_dynamic_mw
from estimators.calibration import Calibration, default_calibration
from estimators.content import RomContent
from estimators.conv import conv_numbers
from estimators.dense import dense_numbers
from estimators.pool import pool_numbers
from estimators.recurrent import recurrent_numbers
from estimators.timing import layer_fmax_mhz, logic_cells


@dataclass(slots=True)
class DesignEstimate:
    cycles: int  # accelerator latency, input hand-shake to output hand-shake
    ii_cycles: int
    bound_cycles: float  # Σ MACs / (PE·SIMD) over the FPGA layers (AcceleratorDesign.bound_cycles)
    fpga_latency_us: float
    mcu_latency_us: float
    transfer_us: float
    latency_us: float
    throughput_per_s: float
    lut: float
    ff: float
    dsp: int
    bram: float
    static_mw: float
    dynamic_mw: float
    power_mw: float  # average over one inference
    energy_uj: float
    macs: int
    params: int
    fits: bool
    violations: list[str] = field(default_factory=list)
    fmax_mhz: float = math.inf  # the slowest FPGA layer's (estimators.timing)
    logic_cells: float = 0.0  # packed iCE40 logic cells (0 where the family's slices are not the limit)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


# Every layer's FF model was fitted on single-layer designs, each with its own top level; a chain has one top. Its
# element counters take one flip-flop per bit: whole designs had 0.99 FF fewer per surplus counter bit than their
# layers synthesized alone (48 xc7 edge designs). Their LUTs are not taken off: the LUT fit gives such a feature no
# weight, and taking 1 LUT per bit off worsened the edge designs' LUT p90 (docs/calibration.md).
TOP_FF_PER_COUNTER_BIT = 1.0


# One estimator per layer kind (contract.layers.KINDS); tests/test_layer_kinds.py checks none is missing.
LAYER_ESTIMATORS: dict[str, LayerEstimator] = {
    "dense": dense_numbers,
    "conv1d": conv_numbers,
    "maxpool1d": pool_numbers,
    "avgpool1d": pool_numbers,
    "lstm": recurrent_numbers,
    "gru": recurrent_numbers,
}


# Kinds that take the ROM content of their trained weights (estimators.content.CONTENT_KINDS).
CONTENT_ESTIMATORS: dict[str, ContentEstimator] = {
    "dense": dense_numbers,
    "conv1d": conv_numbers,
    "lstm": recurrent_numbers,
    "gru": recurrent_numbers,
}


def _mcu_cycles(layer: Layer, board: dict[str, float]) -> float:
    return (
        layer.macs * board["mcu_cycles_per_mac"]
        + layer.out_size * board["mcu_cycles_per_output"]
        + board["mcu_cycles_per_layer"]
    )


def _transfer_us(bits: int, board: dict[str, float]) -> float:
    return bits / board["link_mhz"] + board["link_overhead_us"]


def estimate_design(
    design: AcceleratorDesign,
    calibration: Calibration | None = None,
    device: Device | None = None,
    activity: float | None = None,
    contents: Sequence[RomContent | None] | None = None,
) -> DesignEstimate:
    """``contents``: per layer, what its trained weights keep (estimators.content.rom_contents); None before
    training, when every layer is estimated with full-range weights."""
    device = device or get_device(design.device)
    calibration = calibration or default_calibration(device.family)
    board = calibration.board
    power = calibration.power

    cycles = 0
    bound = 0.0
    lut = ff = bram = flip_flop_cells = 0.0
    layer_counter_bits = 0  # of the single-layer tops the layer models include
    dsp = macs = params = 0
    mcu_cycles = 0.0
    fmax = math.inf
    first_fpga: Layer | None = None
    last_fpga: Layer | None = None
    for index, layer in enumerate(design.layers):
        macs += layer.macs
        params += layer.params
        if layer.placement == "mcu":
            mcu_cycles += _mcu_cycles(layer, board)
            continue
        first_fpga = first_fpga or layer
        last_fpga = layer
        layer_counter_bits += sum(top_counter_bits(layer.in_size, layer.out_size))
        if contents is not None and contents[index] is not None:
            numbers = CONTENT_ESTIMATORS[layer.kind](layer, calibration, contents[index])
        else:
            numbers = LAYER_ESTIMATORS[layer.kind](layer, calibration)
        layer_cycles, layer_bound, layer_lut, layer_ff, layer_dsp, layer_bram, layer_ff_cells = numbers
        fmax = min(fmax, layer_fmax_mhz(layer, calibration))
        cycles += layer_cycles
        bound += layer_bound
        lut += layer_lut
        ff += layer_ff
        flip_flop_cells += layer_ff_cells
        dsp += layer_dsp
        bram += layer_bram

    if first_fpga is not None and last_fpga is not None:
        cycles += first_fpga.in_size - 1  # the input elements stream in one per cycle (AcceleratorDesign)
        surplus = layer_counter_bits - sum(top_counter_bits(first_fpga.in_size, last_fpga.out_size))
        ff -= TOP_FF_PER_COUNTER_BIT * surplus  # iCE40 cells stay: each counter FF packs with its kept LUT
    clock = design.clock_mhz
    fpga_us = cycles / clock
    mcu_us = mcu_cycles / board["mcu_mhz"]
    has_fpga = first_fpga is not None
    transfer_us = 0.0
    if first_fpga is not None and last_fpga is not None:
        # Activations cross MCU<->FPGA into the first FPGA layer and out of the last one.
        link_bits = (
            first_fpga.in_size * first_fpga.in_fmt.total_bits + last_fpga.out_size * last_fpga.out_fmt.total_bits
        )
        transfer_us = _transfer_us(link_bits, board)
    latency_us = fpga_us + mcu_us + transfer_us

    static_mw = (calibration.static_mw if calibration.static_mw is not None else device.static_mw) if has_fpga else 0.0
    dynamic_mw = 0.0
    if has_fpga:
        toggle = power["activity"] if activity is None else activity
        dynamic_mw = fpga_dynamic_mw(power, clock, lut, ff, dsp, bram, toggle)
    # mW x µs = nJ; estimators.breakdown lists the terms. The configured FPGA idles (static power) while the MCU
    # computes or talks.
    energy_nj = (
        (static_mw + dynamic_mw) * fpga_us
        + (board["mcu_active_mw"] + static_mw) * (mcu_us + transfer_us)
        + board["link_mw"] * transfer_us
    )
    energy_uj = energy_nj / 1000.0
    power_mw = energy_nj / latency_us if latency_us > 0 else 0.0
    ii_cycles = cycles + RESTART_CYCLES if has_fpga else 0  # one vector at a time (AcceleratorDesign)
    ii_us = ii_cycles / clock
    period_us = max(ii_us, mcu_us + transfer_us) if has_fpga else mcu_us
    throughput = 1e6 / period_us if period_us > 0 else 0.0

    violations = []
    cells = logic_cells(lut, flip_flop_cells, calibration) if has_fpga else 0.0
    over_budget = lut > device.lut or ff > device.ff or dsp > device.dsp or bram > device.bram or cells > device.lut
    if has_fpga and (over_budget or clock > device.max_clock_mhz or clock > fmax):
        for name, used, available in (
            ("lut", lut, device.lut),
            ("ff", ff, device.ff),
            ("dsp", dsp, device.dsp),
            ("bram", bram, device.bram),
        ):
            if used > available:
                violations.append(f"{name} {used:.0f} > {available} on {device.name}")
        if cells > device.lut:  # an iCE40 logic cell is one LUT4 + one FF: the LUT count is the cell count
            violations.append(f"logic cells {cells:.0f} > {device.lut} on {device.name}")
        if clock > device.max_clock_mhz:
            violations.append(f"clock {clock} MHz > {device.max_clock_mhz} MHz on {device.name}")
        if clock > fmax:
            violations.append(f"clock {clock} MHz > estimated fmax {fmax:.1f} MHz")
    return DesignEstimate(
        cycles=cycles,
        ii_cycles=ii_cycles,
        bound_cycles=bound,
        fpga_latency_us=fpga_us,
        mcu_latency_us=mcu_us,
        transfer_us=transfer_us,
        latency_us=latency_us,
        throughput_per_s=throughput,
        lut=lut,
        ff=ff,
        dsp=dsp,
        bram=bram,
        static_mw=static_mw,
        dynamic_mw=dynamic_mw,
        power_mw=power_mw,
        energy_uj=energy_uj,
        macs=macs,
        params=params,
        fits=not violations,
        violations=violations,
        fmax_mhz=fmax if has_fpga else 0.0,
        logic_cells=cells,
    )
