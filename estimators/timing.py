"""Clock and placement limits of a design: fmax from the logic depth of the engine's paths, and iCE40 logic cells.

fmax: every layer's engine has the same register-to-register paths (docs/architecture.md), and the slowest sets
the clock: the weight read into the product register (ROM mux levels or a block RAM, then a LUT multiplier or a
DSP), the accumulation (the SIMD adder tree, a DSP cascade when yosys chains the products, the accumulator's
carry chain) and the control (the stall signal that enables every register). Each path's delay is linear in
what sets its depth, the clock period is the maximum over the paths, and the coefficients are fitted per family
(`dse calibrate fit`, the "timing" entry of the calibration): on iCE40 to nextpnr place and route, on xc7 to the
open flow's timing (generator.synth.XC7_TIMING_SOURCE). A design runs at the minimum over its layers.

Logic cells: an iCE40 logic cell holds one LUT4, one flip-flop and a carry. nextpnr pairs a flip-flop with the LUT
that drives it only, so cells = a x LUT + b x FF, fitted to nextpnr's packing.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from itertools import repeat
from operator import mul
from typing import Any

from estimators.calibration import TIMING_PATHS, Calibration
from estimators.conv import engine_view as conv_view
from estimators.dense import dsps_per_product
from estimators.recurrent import engine_view as recurrent_view

LUT_INPUTS = {"xc7": 6, "ice40": 4}
# Address bits one more mux level takes: a LUT6 is a 4:1 mux (and MUXF7/F8 give two free ones); a LUT4 a 2:1 mux.
_BITS_PER_MUX_LEVEL = {"xc7": 2, "ice40": 1}
_FREE_MUX_BITS = {"xc7": 2, "ice40": 0}

__all__ = ["TIMING_PATHS", "engine_paths", "layer_fmax_mhz", "layer_paths", "logic_cells", "period_ns"]


def engine_paths(engine: Any, dsps: int, family: str) -> tuple[tuple[float, ...], ...]:
    """Features of each TIMING_PATHS entry for a PE x SIMD engine (a DenseLayer or a kind's EngineView)."""
    folding = engine.folding
    pe, simd = folding.pe, folding.simd
    address_bits = (engine.groups * engine.chunks - 1).bit_length()
    bx, bw = engine.in_fmt.total_bits, engine.weight_fmt.total_bits
    lut_inputs = LUT_INPUTS[family]
    in_bram = engine.rom_storage == "bram"
    acc_bits = engine.acc_bits
    rom_levels = 0.0
    if not in_bram and address_bits > 0:
        above = max(0, address_bits - lut_inputs - _FREE_MUX_BITS[family])
        rom_levels = 1.0 + -(-above // _BITS_PER_MUX_LEVEL[family])
    few_input = not dsps and address_bits > 0 and address_bits + bx <= lut_inputs
    soft = not dsps and address_bits > 0 and not few_input
    tree_levels = (simd - 1).bit_length()
    read_multiply = (
        1.0,
        rom_levels,
        1.0 if in_bram else 0.0,
        float(min(bx, bw)) if soft else 0.0,
        float(bx + bw) if soft else 0.0,
        1.0 if few_input else 0.0,
        1.0 if dsps else 0.0,
    )
    accumulate = (
        1.0,
        float(acc_bits),
        0.0 if dsps else float(tree_levels),
        0.0 if dsps else float(tree_levels * (bx + bw)),
        float(simd) if dsps and simd > 1 else 0.0,  # yosys chains DSP products through the cascade ports
        1.0 if dsps and simd == 1 else 0.0,  # one DSP product into the accumulator: yosys builds a DSP MAC
    )
    registers = pe * simd * (bx + bw) + pe * acc_bits
    control = (1.0, math.log2(registers))
    return read_multiply, accumulate, control


# The engine each kind runs on (a kind's EngineView); pooling has none (its merge is the accumulator).
_ENGINES: dict[str, Callable[[Any], Any]] = {
    "dense": lambda layer: layer,
    "conv1d": conv_view,
    "lstm": recurrent_view,
    "gru": recurrent_view,
}


def layer_paths(layer: Any, calibration: Calibration) -> tuple[tuple[float, ...], ...]:
    """The paths of the engine a layer of any kind runs on."""
    view = _ENGINES.get(layer.kind)
    if view is None:
        width = float(getattr(layer, "sum_bits", layer.in_fmt.total_bits))
        control = (1.0, math.log2(width * layer.channels))
        return (1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0), (1.0, width, 0.0, 0.0, 0.0, 0.0), control
    engine = view(layer)
    return engine_paths(engine, dsps_per_product(engine, calibration), calibration.bram_kind)


def period_ns(paths: tuple[tuple[float, ...], ...], coefficients: tuple[tuple[float, ...], ...]) -> float:
    """The slowest path: max over paths of coefficients . features."""
    return max(map(sum, map(map, repeat(mul), coefficients, paths)))


def layer_fmax_mhz(layer: Any, calibration: Calibration) -> float:
    period = period_ns(layer_paths(layer, calibration), calibration.timing)
    return 1000.0 / period if period > 0 else math.inf


def logic_cells(lut: float, flip_flop_cells: float, calibration: Calibration) -> float:
    """Packed iCE40 logic cells of a design with ``lut`` LUT4s whose flip-flops add ``flip_flop_cells`` (0 on
    families without a packing fit: their slices are not the limit)."""
    packing = calibration.packing
    return packing[0] * lut + flip_flop_cells if packing else 0.0
