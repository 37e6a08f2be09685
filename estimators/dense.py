"""Dense-layer estimator for the PE x SIMD engine of docs/architecture.md: exact cycles, fitted LUT/FF, DSP and
BRAM by rule. The layer description (contract.layers.dense) owns every derived number; this file only costs it."""

from __future__ import annotations

from functools import cache
from operator import mul

from contract.layers.dense import DenseLayer
from estimators.base import LayerEstimate, LayerNumbers
from estimators.calibration import Calibration, ff_cells
from estimators.content import RomContent, max_distinct_columns

# (depth, width) aspect ratios of one block: RAMB18E1 on 7-series, SB_RAM40_4K on iCE40.
_BLOCK_SHAPES = {
    "xc7": ((512, 36), (1024, 18), (2048, 9), (4096, 4), (8192, 2), (16384, 1)),
    "ice40": ((256, 16), (512, 8), (1024, 4), (2048, 2)),
}
# Native units reported as "bram": a RAMB18 is half a BRAM36; an EBR is one block.
_BLOCK_UNIT = {"xc7": 0.5, "ice40": 1.0}
# Words of a 1-bit-wide ROM that one LUT holds: LUT6 on 7-series, LUT4 on iCE40.
ROM_WORDS_PER_LUT = {"xc7": 64, "ice40": 16}
_LUT_INPUTS = {64: 6, 16: 4}
MEASURED_BIAS_MUX_LUT_INPUTS = 6
SMALL_ROM_ADDRESS_BITS = 2  # ROMs of up to 4 words: their products are priced as choices among constant products


@cache
def block_ram_count(depth: int, width: int, kind: str) -> float:
    """Fewest blocks that hold a depth x width memory, in the family's native BRAM unit.

    yosys slices the depth by one aspect ratio (d, w) and places the ceil(depth / d) slices side by side in the
    width, selecting a slice by the upper address bits after the read: ceil(slices x width / w) blocks. 1100 x 12
    on xc7 is one RAMB18 (512 x 36: three 12-bit slices side by side), not two.
    """
    blocks = min(-(-(-(-depth // d) * width) // w) for d, w in _BLOCK_SHAPES[kind])
    return blocks * _BLOCK_UNIT[kind]


def bias_mux_luts(groups: int, lut_inputs: int) -> int:
    """LUTs beyond one per accumulator bit for the bias read of a table of ``groups`` words, which synthesis
    merges with the accumulate's first-word select: a function of the group address, the select and the
    accumulator bit, ``extra`` inputs more than a LUT has. One more input takes 2 LUTs (+ MUXF7), two more 4
    (+ MUXF8); beyond that ABC reads the table on its own (2^(extra - 2) LUTs per bit, the select stays in the
    adder). Measured on xc7 for 1..128 groups (docs/calibration.md): 0, 1, 3 and 2 LUTs more per bit for
    <= 16, 17..32, 33..64 and 65..128 groups. LUT4 (iCE40) is not measured: 0, its bias read stays in bias_cols."""
    if lut_inputs != MEASURED_BIAS_MUX_LUT_INPUTS:
        return 0
    extra = (groups - 1).bit_length() + 2 - lut_inputs if groups > 1 else 0
    if extra <= 0:
        return 0
    return (1 << extra) - 1 if extra <= 2 else 1 << (extra - 2)


def dsps_per_product(layer: DenseLayer, calibration: Calibration) -> int:
    """DSP blocks per product: 0 for LUT multipliers, else the family's rule (0 when the product is too small)."""
    if layer.folding.multiplier == "lut":
        return 0
    return calibration.dsp_rule.table[layer.in_fmt.total_bits][layer.weight_fmt.total_bits]


def dense_features(
    layer: DenseLayer, dsps: int, calibration: Calibration | None = None, content: RomContent | None = None
) -> tuple[float, ...]:
    """Structural features in the order of estimators.calibration.FEATURES (hardware: generator.vhdl).

    ``calibration``: what the features read of the family, its LUT size (words per LUT-ROM column) and its
    measured shift-and-add products; None: LUT6 and no table. ``content``: what synthesis keeps of the real
    weights (estimators.content); None before training, when every product bit counts and every ROM column the
    depth allows. The hot path of every search: plain local arithmetic on numbers the layer derived once.
    """
    if calibration is None:
        rom_words_per_lut, shift_add = 64, None
    else:
        rom_words_per_lut, shift_add = ROM_WORDS_PER_LUT[calibration.bram_kind], calibration.shift_add
    folding, storage = layer.folding, layer.rom_storage
    pe, simd = folding.pe, folding.simd
    bx, bw = layer.in_fmt.total_bits, layer.weight_fmt.total_bits
    by = layer.out_fmt.total_bits
    groups, chunks = layer.groups, layer.chunks
    depth = groups * chunks
    if depth < 2:
        depth = 2
    width = pe * simd * bw
    acc = layer.acc_bits
    active, mux_diff, mux_same, mux_one, sign_select = layer.select_structure
    lut_inputs = _LUT_INPUTS[rom_words_per_lut]
    if acc <= 32:
        # yosys cmp2lcu: a comparison with a constant becomes one LUT-wide chunk per LUT input count + a carry chain.
        clamp_chunks, clamp_wide = active * -(-acc // lut_inputs), 0
    else:  # wider comparisons are not chunked: one carry-chain subtractor bit per accumulator bit
        clamp_chunks, clamp_wide = 0, active * acc
    lanes = pe * simd
    if content is None:
        words = groups * chunks  # a shallow ROM holds fewer distinct columns than bits (inline: the hot path)
        kept = width if (1 << min(words, 62)) - 2 >= width else max_distinct_columns(words, width)
        live_share = signed_share = 1.0
    else:
        kept = content.kept_columns
        live_share, signed_share = content.live_weight_bits / (lanes * bw), content.signed_slots / lanes
    soft_mult = shift_add_bits = shift_add_sq = shift_add_copy = const_mult = small_rom_mult = few_input = 0
    soft_prod = dsp_mults = 0
    if dsps:
        dsp_mults = lanes
    else:
        soft_prod = lanes * (bx + bw)
        address_bits = (groups * chunks - 1).bit_length()
        if address_bits == 0:
            const_mult = lanes * bx * bw  # a one-word ROM: the weights are constants that synthesis folds in
        elif address_bits <= SMALL_ROM_ADDRESS_BITS and address_bits + bx > lut_inputs and folding.multiplier != "lut":
            # A tool-built product over a ROM of 2..4 words: a choice among that many constant products (a 'lut'
            # multiplier stays the generator's shift-and-add, below).
            small_rom_mult = lanes * bx * bw * (groups * chunks) * live_share
        elif address_bits + bx <= lut_inputs:
            # Each product bit is a function of the ROM address and x alone: one LUT, whatever the multiplier.
            few_input = lanes * (bx + bw)
        elif folding.multiplier == "lut":
            # Bx - 1 adders: the partial product of x(0) only enters the first (generator.vhdl._multiplier).
            rows = lanes * (bx - 1)
            shift_add_sq = rows * bx * signed_share
            if shift_add is None:
                shift_add_bits = lanes * bw * (bx - 1) * live_share
            else:
                # A LUT ROM's sign copies share one flip-flop: the product is priced at the narrower width, and
                # what the full width would add is a feature of its own (how much ABC exploits it is fitted).
                copies = content.sign_copy_bits if content is not None and storage == "lutrom" else 0
                narrow = max(2, bw - round(copies / lanes))
                full, kept_width = shift_add.table[bx][bw], shift_add.table[bx][narrow]
                shift_add_bits = lanes * kept_width * live_share
                shift_add_copy = lanes * max(0.0, full - kept_width) * live_share
        else:
            soft_mult = lanes * bx * bw * live_share
    if storage == "bram":
        rom_bits = rom_cols = rom_reg = 0
    else:
        rom_bits, rom_cols, rom_reg = depth * kept, kept * -(-depth // rom_words_per_lut), kept
    tree_width = bx + bw + (simd - 1).bit_length()
    counters = (
        (depth - 1).bit_length()
        + 2 * ((chunks - 1).bit_length() or 1)
        + (groups - 1).bit_length()
        + (simd - 1).bit_length()
        + pe.bit_length()
    )
    return (
        1.0,
        rom_bits,
        rom_cols,
        rom_reg,
        pe * acc * -(-groups // rom_words_per_lut) if groups > 1 else 0,
        pe * acc * bias_mux_luts(groups, lut_inputs),
        0 if dsps and simd == 1 else pe * acc,
        pe * acc if dsps and simd == 1 else 0,
        pe * clamp_chunks,
        pe * clamp_wide,
        pe * mux_diff,
        pe * mux_same,
        pe * mux_one,
        pe * sign_select,
        soft_mult,
        shift_add_bits,
        shift_add_sq,
        shift_add_copy,
        const_mult,
        small_rom_mult,
        few_input,
        soft_prod,
        dsp_mults,
        pe * (simd - 1) * tree_width,
        pe * tree_width if simd > 1 else 0,
        simd * bx,
        simd * chunks * bx if rom_words_per_lut == 16 and layer.buffer_storage_on("ice40") == "registers" else 0,
        pe * by,
        (pe - 1) * by,
        counters,
    )


def rom_block_ram(storage: str, depth: int, width: int, kind: str, constant_columns: int = 0) -> float:
    """Block RAM of a weight ROM: none in LUTs; in BRAM, its constant columns dropped."""
    return block_ram_count(depth, max(1, width - constant_columns), kind) if storage == "bram" else 0.0


def layer_bram(layer: DenseLayer, kind: str, constant_columns: int = 0) -> float:
    """Block RAM of the weight ROM (when in BRAM; its constant columns dropped) and of the input buffer banks."""
    bram = rom_block_ram(layer.rom_storage, layer.rom_depth, layer.rom_width, kind, constant_columns)
    if layer.buffer_storage_on(kind) == "bram":
        bram += layer.folding.simd * block_ram_count(layer.chunks, layer.in_fmt.total_bits, kind)
    return bram


def content_dsps(layer: DenseLayer, calibration: Calibration, content: RomContent) -> int:
    """DSP blocks of the dense engine's products once the weights are known (yosys 0.23 synth_xilinx; measured
    cases in tests/test_rom_content.py; the other kinds' templates keep to the rule).

    A one-word ROM makes the products constant: the weight register's 0 bits become constants, its 1 bits stay
    flip-flops. A product by 0 vanishes. A positive code loses its constant-zero upper bits, so the product is as
    narrow as the code (plus a sign bit) and the DSP rule is applied to that width; a negative code's upper bits
    are flip-flops and keep the full width. In a two-word ROM, the top lane slots that are 0 in both words are
    trimmed with the word's upper bits and need no DSP (a zero slot below a live one keeps its DSP, and deeper
    ROMs keep them all)."""
    per_product = dsps_per_product(layer, calibration)
    lanes = layer.folding.pe * layer.folding.simd
    if layer.folding.multiplier == "lut":
        return 0
    if content.constant_weights:
        bx, bw = layer.in_fmt.total_bits, layer.weight_fmt.total_bits
        table = calibration.dsp_rule.table
        return sum(
            table[bx][bw if code < 0 else min(bw, code.bit_length() + 1)] for code in content.constant_weights if code
        )
    if layer.groups * layer.chunks == 2:
        return per_product * (lanes - content.leading_zero_slots)
    return per_product * lanes


def dense_numbers(layer: DenseLayer, calibration: Calibration, content: RomContent | None = None) -> LayerNumbers:
    """(cycles, bound_cycles, lut, ff, dsp, bram): the hot path of every search trial. ``content``: what the
    trained weights keep (estimators.content); None before training (full-range weights)."""
    dsps = dsps_per_product(layer, calibration)
    kind = calibration.bram_kind
    if content is None:
        features = dense_features(layer, dsps, calibration)
        dsp_blocks, bram = dsps * layer.folding.pe * layer.folding.simd, layer_bram(layer, kind)
    else:
        features = dense_features(layer, dsps, calibration, content)
        dsp_blocks = content_dsps(layer, calibration, content)
        bram = layer_bram(layer, kind, content.constant_columns)
    ff = sum(map(mul, calibration.ff, features))
    packing_ff = calibration.packing_ff
    return (
        layer.latency_cycles,
        layer.bound_cycles,
        sum(map(mul, calibration.lut, features)),
        ff,
        dsp_blocks,
        bram,
        sum(map(mul, packing_ff, features)) if packing_ff else ff_cells(ff, calibration),
    )


def estimate_dense(layer: DenseLayer, calibration: Calibration) -> LayerEstimate:
    cycles, bound, lut, ff, dsp, bram, _ = dense_numbers(layer, calibration)
    return LayerEstimate(cycles, bound, lut, ff, dsp, bram, layer.macs, layer.params)
