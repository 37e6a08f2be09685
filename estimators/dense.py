"""Dense-layer estimator for the architecture in docs/architecture.md (exact cycles, fitted LUT/FF)."""

from __future__ import annotations

from functools import cache
from operator import mul

from dse.design import LAYER_OVERHEAD_CYCLES, DenseLayer
from estimators.base import LayerEstimate
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


def dense_features(layer: DenseLayer, dsps_per_lane: int, rom_words_per_lut: int = 64) -> tuple[float, ...]:
    """Structural features in the order of estimators.calibration.FEATURES (hardware: generator.vhdl)."""
    bx = layer.in_fmt.total_bits
    bw = layer.weight_fmt.total_bits
    by = layer.out_fmt.total_bits
    lanes = layer.parallelism
    groups = -(-layer.out_features // lanes)
    depth = max(2, groups * layer.in_features)
    soft = dsps_per_lane == 0
    lutrom = layer.weight_storage == "lutrom"
    # dse.fixedpoint.accumulator_bits, inlined: this function is the hot path of every search trial.
    acc = ((1 << (bx + bw - 2)) * (layer.in_features + 2)).bit_length() + 1
    activation = layer.activation
    # Requantization = two compares of acc with constants + a (shift + By)-bit rounding adder + a 3-way select.
    shift = layer.in_fmt.frac_bits + layer.weight_fmt.frac_bits - layer.out_fmt.frac_bits
    if activation == "hardsigmoid":
        shift += 2
    saturates = acc - shift >= by  # the saturation thresholds lie inside the accumulator range (generator.vhdl)
    compares = 2 * saturates if activation == "identity" else 1 + saturates if activation == "relu" else 2
    return (
        1.0,
        lanes * acc,
        lanes * (shift + by),
        lanes * acc * compares,
        lanes * by if compares else 0.0,
        lanes * bx * bw if soft else 0.0,
        lanes * (bx + bw) if soft else 0.0,
        depth * lanes * bw if lutrom else 0.0,
        lanes * bw * -(-depth // rom_words_per_lut) if lutrom else 0.0,
        lanes * bw if lutrom else 0.0,
        max(2, groups) * lanes * (bx + bw),
        layer.in_features * bx,
        groups * lanes * by,
        (depth - 1).bit_length(),
        0.0 if soft else float(lanes),
    )


def dense_numbers(layer: DenseLayer, calibration: Calibration) -> tuple[int, float, float, float, int, float]:
    """(cycles, bound_cycles, lut, ff, dsp, bram): the hot path of every search trial."""
    lanes = layer.parallelism
    weight_bits = layer.weight_fmt.total_bits
    dsps_per_lane = calibration.dsp_rule.dsps_per_multiplier(layer.in_fmt.total_bits, weight_bits)
    features = dense_features(layer, dsps_per_lane, ROM_WORDS_PER_LUT[calibration.bram_kind])
    lut = sum(map(mul, calibration.lut, features))
    ff = sum(map(mul, calibration.ff, features))
    in_features = layer.in_features
    words = -(-layer.out_features // lanes) * in_features
    bram = 0.0
    if layer.weight_storage == "bram":
        bram = block_ram_count(words if words > 2 else 2, lanes * weight_bits, calibration.bram_kind)
    return words + LAYER_OVERHEAD_CYCLES, in_features * layer.out_features / lanes, lut, ff, dsps_per_lane * lanes, bram


def estimate_dense(layer: DenseLayer, calibration: Calibration) -> LayerEstimate:
    cycles, bound, lut, ff, dsp, bram = dense_numbers(layer, calibration)
    macs = layer.in_features * layer.out_features
    return LayerEstimate(cycles, bound, lut, ff, dsp, bram, macs, macs + layer.out_features)
