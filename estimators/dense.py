"""Dense-layer estimator for the architecture in docs/architecture.md (exact cycles, fitted LUT/FF)."""

from __future__ import annotations

from functools import cache
from operator import mul

from dse.design import LAYER_OVERHEAD_CYCLES, MIN_BRAM_DEPTH, DenseLayer
from estimators.base import LayerEstimate, LayerNumbers
from estimators.calibration import Calibration

# (depth, width) aspect ratios of one block: RAMB18E1 on 7-series, SB_RAM40_4K on iCE40.
_BLOCK_SHAPES = {
    "xc7": ((512, 36), (1024, 18), (2048, 9), (4096, 4), (8192, 2), (16384, 1)),
    "ice40": ((256, 16), (512, 8), (1024, 4), (2048, 2)),
}
# Native units reported as "bram": a RAMB18 is half a BRAM36; an EBR is one block.
_BLOCK_UNIT = {"xc7": 0.5, "ice40": 1.0}


@cache
def block_ram_count(depth: int, width: int, kind: str) -> float:
    """Fewest blocks that hold a depth x width ROM, in the family's native BRAM unit."""
    blocks = min(-(-depth // d) * -(-width // w) for d, w in _BLOCK_SHAPES[kind])
    return blocks * _BLOCK_UNIT[kind]


# Words of a 1-bit-wide ROM that one LUT holds: LUT6 on 7-series, LUT4 on iCE40.
ROM_WORDS_PER_LUT = {"xc7": 64, "ice40": 16}


@cache
def _requant_costs(
    activation: str, acc: int, frac: int, out_bits: int, out_frac: int, lut_inputs: int
) -> tuple[int, int, int, int, int, int, int]:
    """Per lane: (round_bits, clamp_chunks, clamp_wide_bits, mux_diff, mux_same, mux_one, sign_select) bits.

    Mirrors generator.vhdl.RequantPlan: thresholds ``below``/``above`` on the accumulator, the rounding adder
    ``acc + round_constant`` over the low ``shift + out_bits`` bits, and the select low / high / rounded.
    Cached: a search asks for the same few (activation, widths) combinations over and over.
    """
    offset, bound_low, bound_high = 0, None, None
    if activation == "relu":
        bound_low = 0
    elif activation == "hardtanh":
        bound_low, bound_high = -(1 << frac), 1 << frac
    elif activation == "hardsigmoid":
        offset, bound_low, bound_high = 1 << (frac + 1), 0, 1 << (frac + 2)
        frac += 2
    shift = frac - out_frac
    half = (1 << (shift - 1)) if shift > 0 else 0
    out_min, out_max = -(1 << (out_bits - 1)), (1 << (out_bits - 1)) - 1
    low = out_min if bound_low is None else min(max((bound_low + half) >> shift, out_min), out_max)
    high = out_max if bound_high is None else min(max((bound_high + half) >> shift, out_min), out_max)
    below = ((low + 1) << shift) - half - offset
    above = (high << shift) - half - offset
    acc_min, acc_max = -(1 << (acc - 1)), (1 << (acc - 1)) - 1
    # A comparison with a threshold outside the accumulator range is a constant (generator.vhdl).
    active = (acc_min < below <= acc_max) + (acc_min < above <= acc_max)
    sum_bits = shift + out_bits
    constant = (offset + half) & ((1 << sum_bits) - 1)
    # Adding a constant: the bits below its lowest set bit pass through; no adder at all for 0.
    round_bits = sum_bits - ((constant & -constant).bit_length() - 1) if constant else 0
    if acc <= 32:
        # yosys cmp2lcu: a comparison with a constant becomes one LUT-wide chunk per LUT input count + a carry chain.
        chunks, wide = active * -(-acc // lut_inputs), 0
    else:
        # Wider comparisons are not chunked: one carry-chain subtractor bit per accumulator bit.
        chunks, wide = 0, active * acc
    if below == above == 0:
        # Both thresholds are 0 (hard sigmoid onto 0/1): the output is high or 0 by the sign bit alone, so the
        # select is a function of one bit instead of a three-way choice (on xc7 it folds into the register).
        return round_bits, chunks, wide, 0, 0, 0, out_bits
    if active == 2:
        diff = ((low ^ high) & ((1 << out_bits) - 1)).bit_count()
        return round_bits, chunks, wide, diff, out_bits - diff, 0, 0
    return round_bits, chunks, wide, 0, 0, out_bits if active else 0, 0


def dense_features(layer: DenseLayer, dsps_per_lane: int, rom_words_per_lut: int = 64) -> tuple[float, ...]:
    """Structural features in the order of estimators.calibration.FEATURES (hardware: generator.vhdl)."""
    in_fmt = layer.in_fmt
    weight_fmt = layer.weight_fmt
    out_fmt = layer.out_fmt
    bx = in_fmt.total_bits
    bw = weight_fmt.total_bits
    by = out_fmt.total_bits
    lanes = layer.parallelism
    fan_in = layer.in_features
    groups = -(-layer.out_features // lanes)
    depth = groups * fan_in
    if depth < 2:
        depth = 2
    # dse.fixedpoint.accumulator_bits, inlined: this function is the hot path of every search trial.
    acc = ((1 << (bx + bw - 2)) * (fan_in + 2)).bit_length() + 1
    round_bits, chunks, wide, mux_diff, mux_same, mux_one, sign_select = _requant_costs(
        layer.activation,
        acc,
        in_fmt.frac_bits + weight_fmt.frac_bits,
        by,
        out_fmt.frac_bits,
        rom_words_per_lut.bit_length() - 1,
    )
    lane_w = lanes * bw
    if dsps_per_lane:
        soft_mult = soft_prod = 0
        dsp_lanes = lanes
    else:
        soft_mult, soft_prod, dsp_lanes = lane_w * bx, lanes * (bx + bw), 0
    in_bram = layer.weight_storage == "bram" and groups * fan_in >= MIN_BRAM_DEPTH  # DenseLayer.rom_storage
    if not in_bram:
        rom_bits, rom_cols, rom_reg = depth * lane_w, lane_w * -(-depth // rom_words_per_lut), lane_w
    else:
        rom_bits = rom_cols = rom_reg = 0
    return (
        1.0,
        lanes * acc,
        lanes * round_bits,
        lanes * chunks,
        lanes * wide,
        lanes * mux_diff,
        lanes * mux_same,
        lanes * mux_one,
        lanes * sign_select,
        soft_mult,
        soft_prod,
        rom_bits,
        rom_cols,
        rom_reg,
        (groups if groups > 1 else 2) * lanes * (bx + bw),
        fan_in * bx if fan_in > 1 else 0,
        groups * lanes * by,
        (depth - 1).bit_length(),
        dsp_lanes,
    )


def dense_numbers(layer: DenseLayer, calibration: Calibration) -> LayerNumbers:
    """(cycles, bound_cycles, lut, ff, dsp, bram): the hot path of every search trial."""
    lanes = layer.parallelism
    weight_bits = layer.weight_fmt.total_bits
    dsps_per_lane = calibration.dsp_rule.table[layer.in_fmt.total_bits][weight_bits]  # FixedFormat: <= 32 bits
    features = dense_features(layer, dsps_per_lane, ROM_WORDS_PER_LUT[calibration.bram_kind])
    lut = sum(map(mul, calibration.lut, features))
    ff = sum(map(mul, calibration.ff, features))
    in_features = layer.in_features
    words = -(-layer.out_features // lanes) * in_features
    bram = 0.0
    if layer.weight_storage == "bram" and words >= MIN_BRAM_DEPTH:  # DenseLayer.rom_storage, inlined
        bram = block_ram_count(words, lanes * weight_bits, calibration.bram_kind)
    return words + LAYER_OVERHEAD_CYCLES, in_features * layer.out_features / lanes, lut, ff, dsps_per_lane * lanes, bram


def estimate_dense(layer: DenseLayer, calibration: Calibration) -> LayerEstimate:
    cycles, bound, lut, ff, dsp, bram = dense_numbers(layer, calibration)
    macs = layer.in_features * layer.out_features
    return LayerEstimate(cycles, bound, lut, ff, dsp, bram, macs, macs + layer.out_features)
