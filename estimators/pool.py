"""Estimates of the pooling kinds: exact cycles, and LUT/FF from the engine's structure (rules, not a fit).

A pooling layer holds one running register per channel (FF), selects the current channel's register (a mux),
merges the new element (a comparator and a mux for max, an adder for average), and for average multiplies the
window sum by the constant reciprocal as a sum of shifts (LUT adders, never a DSP) and saturates. The rules are
scaled per family by a calibration sweep (`dse calibrate sweep --kind maxpool1d|avgpool1d`, then `fit --kind`).
"""

from __future__ import annotations

from typing import Any

from contract.layers.pool import AvgPool1dLayer
from estimators.base import LayerNumbers
from estimators.calibration import Calibration, ff_cells
from estimators.kind_fit import MUX_INPUTS_PER_LUT, PARTS, kind_coefficients, scaled

_PRIOR = (0.0, 1.0, 0.0, 0.0)  # without a fit: the rules, unscaled


def pool_parts(layer: Any, calibration: Calibration) -> dict[str, float]:
    """The rule estimate as the kind fit's "engine" part (pooling has no multipliers and no input buffer)."""
    _, _, lut, ff, _, _, _ = rule_numbers(layer, calibration)
    return {f"{part}_{what}": 0.0 for part in PARTS[:-1] for what in ("lut", "ff")} | {
        "engine_lut": lut,
        "engine_ff": ff,
    }


def pool_numbers(layer: Any, calibration: Calibration) -> LayerNumbers:
    """The rules, scaled by the kind's calibration sweep (`dse calibrate fit --kind maxpool1d|avgpool1d`); the rules
    unscaled (0, 1, 0, 0) for a family without a fit."""
    cycles, bound, _, _, dsp, bram, _ = rule_numbers(layer, calibration)
    lut, ff = scaled(pool_parts(layer, calibration), kind_coefficients(layer.kind, calibration.bram_kind, _PRIOR))
    return cycles, bound, lut, ff, dsp, bram, ff_cells(ff, calibration)


def rule_numbers(layer: Any, calibration: Calibration) -> LayerNumbers:
    family = calibration.bram_kind
    acc_bits = layer.sum_bits if isinstance(layer, AvgPool1dLayer) else layer.in_fmt.total_bits
    out_bits = layer.out_fmt.total_bits
    counters = sum(max(1, (n - 1).bit_length()) for n in (layer.channels, layer.in_length, layer.window))
    ff = layer.channels * acc_bits + out_bits + 1 + 2 * counters + 2  # registers, output, counters, flags
    select = acc_bits * (layer.channels - 1) / (MUX_INPUTS_PER_LUT[family] - 1)  # acc(chan) and acc(flush_idx)
    lut = 2 * select + counters * 2 + 6  # two read muxes, counter increments and compares, control
    if isinstance(layer, AvgPool1dLayer):
        adders = bin(layer.reciprocal).count("1") - 1
        lut += acc_bits + adders * layer.product_bits + 2 * layer.product_bits / 2 + out_bits  # merge, scale, clamp
    else:
        lut += 2 * acc_bits + out_bits  # compare, merge mux, output select
    return layer.latency_cycles, 0.0, lut, ff, 0, 0.0, ff_cells(ff, calibration)
