"""Dense-layer estimator for the PE x SIMD engine of docs/architecture.md: exact cycles, fitted LUT/FF, DSP and
BRAM by rule. The layer description (contract.layers.dense) owns every derived number; this file only costs it."""

from __future__ import annotations

from functools import cache
from operator import mul

from contract.fixedpoint import ceil_log2
from contract.layers.dense import DenseLayer
from contract.requant import requant_plan
from estimators.base import LayerEstimate, LayerNumbers
from estimators.calibration import Calibration

# (depth, width) aspect ratios of one block: RAMB18E1 on 7-series, SB_RAM40_4K on iCE40.
_BLOCK_SHAPES = {
    "xc7": ((512, 36), (1024, 18), (2048, 9), (4096, 4), (8192, 2), (16384, 1)),
    "ice40": ((256, 16), (512, 8), (1024, 4), (2048, 2)),
}
# Native units reported as "bram": a RAMB18 is half a BRAM36; an EBR is one block.
_BLOCK_UNIT = {"xc7": 0.5, "ice40": 1.0}
# Words of a 1-bit-wide ROM that one LUT holds: LUT6 on 7-series, LUT4 on iCE40.
ROM_WORDS_PER_LUT = {"xc7": 64, "ice40": 16}


@cache
def block_ram_count(depth: int, width: int, kind: str) -> float:
    """Fewest blocks that hold a depth x width memory, in the family's native BRAM unit."""
    blocks = min(-(-depth // d) * -(-width // w) for d, w in _BLOCK_SHAPES[kind])
    return blocks * _BLOCK_UNIT[kind]


@cache
def _requant_costs(layer_key: tuple, acc: int, lut_inputs: int) -> tuple[int, int, int, int, int, int]:
    """Per lane: (clamp_chunks, clamp_wide_bits, mux_diff, mux_same, mux_one, sign_select) of contract.requant."""
    activation, frac, out_fmt = layer_key
    plan = requant_plan(activation, frac, out_fmt)
    out_bits = plan.out_bits
    acc_min, acc_max = -(1 << (acc - 1)), (1 << (acc - 1)) - 1
    # A comparison with a threshold outside the accumulator range is a constant (generator.vhdl).
    active = (acc_min < plan.below <= acc_max) + (acc_min < plan.above <= acc_max)
    if acc <= 32:
        # yosys cmp2lcu: a comparison with a constant becomes one LUT-wide chunk per LUT input count + a carry chain.
        chunks, wide = active * -(-acc // lut_inputs), 0
    else:
        chunks, wide = 0, active * acc
    if plan.below == plan.above == 0:
        return chunks, wide, 0, 0, 0, out_bits
    if active == 2:
        diff = ((plan.low ^ plan.high) & ((1 << out_bits) - 1)).bit_count()
        return chunks, wide, diff, out_bits - diff, 0, 0
    return chunks, wide, 0, 0, out_bits if active else 0, 0


def dsps_per_product(layer: DenseLayer, calibration: Calibration) -> int:
    """DSP blocks per product: 0 for LUT multipliers, else the family's rule (0 when the product is too small)."""
    if layer.folding.multiplier == "lut":
        return 0
    return calibration.dsp_rule.table[layer.in_fmt.total_bits][layer.weight_fmt.total_bits]


def dense_features(layer: DenseLayer, dsps: int, rom_words_per_lut: int = 64) -> tuple[float, ...]:
    """Structural features in the order of estimators.calibration.FEATURES (hardware: generator.vhdl)."""
    folding = layer.folding
    pe, simd = folding.pe, folding.simd
    bx, bw, by = layer.in_fmt.total_bits, layer.weight_fmt.total_bits, layer.out_fmt.total_bits
    groups, chunks = layer.groups, layer.chunks
    depth = max(2, groups * chunks)
    width = pe * simd * bw
    acc = layer.acc_bits
    chunk_cost = _requant_costs(
        (layer.activation, layer.acc_frac_bits, layer.out_fmt), acc, rom_words_per_lut.bit_length() - 1
    )
    lanes = pe * simd
    if dsps:
        soft_mult = soft_prod = 0
        dsp_mults = lanes
    else:
        soft_mult, soft_prod, dsp_mults = lanes * bx * bw, lanes * (bx + bw), 0
    if layer.rom_storage == "lutrom":
        rom_bits, rom_cols, rom_reg = depth * width, width * -(-depth // rom_words_per_lut), width
    else:
        rom_bits = rom_cols = rom_reg = 0
    tree_width = bx + bw + ceil_log2(simd)
    counters = (
        ceil_log2(depth) + 2 * max(1, ceil_log2(chunks)) + ceil_log2(groups) + ceil_log2(simd) + pe.bit_length()
    )
    return (
        1.0,
        rom_bits,
        rom_cols,
        rom_reg,
        pe * acc * -(-groups // rom_words_per_lut) if groups > 1 else 0,
        pe * acc,
        pe * chunk_cost[0],
        pe * chunk_cost[1],
        pe * chunk_cost[2],
        pe * chunk_cost[3],
        pe * chunk_cost[4],
        pe * chunk_cost[5],
        soft_mult,
        soft_prod,
        dsp_mults,
        pe * (simd - 1) * tree_width,
        pe * tree_width if simd > 1 else 0,
        simd * bx,
        pe * by,
        (pe - 1) * by,
        counters,
    )


def layer_bram(layer: DenseLayer, kind: str) -> float:
    """Block RAM of the weight ROM (when in BRAM) and of the input buffer banks (when deep)."""
    bram = 0.0
    if layer.rom_storage == "bram":
        bram += block_ram_count(layer.rom_depth, layer.rom_width, kind)
    if layer.buffer_storage == "bram":
        bram += layer.folding.simd * block_ram_count(layer.chunks, layer.in_fmt.total_bits, kind)
    return bram


def dense_numbers(layer: DenseLayer, calibration: Calibration) -> LayerNumbers:
    """(cycles, bound_cycles, lut, ff, dsp, bram): the hot path of every search trial."""
    dsps = dsps_per_product(layer, calibration)
    kind = calibration.bram_kind
    features = dense_features(layer, dsps, ROM_WORDS_PER_LUT[kind])
    lut = sum(map(mul, calibration.lut, features))
    ff = sum(map(mul, calibration.ff, features))
    folding = layer.folding
    return (
        layer.latency_cycles,
        layer.bound_cycles,
        lut,
        ff,
        dsps * folding.pe * folding.simd,
        layer_bram(layer, kind),
    )


def estimate_dense(layer: DenseLayer, calibration: Calibration) -> LayerEstimate:
    cycles, bound, lut, ff, dsp, bram = dense_numbers(layer, calibration)
    return LayerEstimate(cycles, bound, lut, ff, dsp, bram, layer.macs, layer.params)
