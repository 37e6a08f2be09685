"""Conv1d estimator (generator/templates/conv/): exact cycles; LUT/FF from the dense engine's fitted features
(the same lanes, ROM, tree and requantization) plus rules for what only the conv engine has: the read-address
table (a LUT ROM) and the window-buffer copies. The layer description (contract.layers.conv) owns every number.
"""

from __future__ import annotations

from contract.layers.conv import Conv1dLayer
from contract.layers.dense import DenseFolding
from estimators.base import LayerNumbers
from estimators.calibration import Calibration, ff_cells
from estimators.content import RomContent
from estimators.dense import ROM_WORDS_PER_LUT, block_ram_count, dsps_per_product, rom_block_ram
from estimators.kind_fit import MUX_INPUTS_PER_LUT, EngineView, engine_parts, kind_coefficients, scaled


def engine_view(layer: Conv1dLayer) -> EngineView:
    """The conv layer seen as the dense engine it contains; its window buffer is costed by window_buffer."""
    f = layer.folding
    return EngineView(
        DenseFolding(f.pe, f.simd, f.multiplier, f.weight_storage),
        layer.in_fmt,
        layer.weight_fmt,
        layer.out_fmt,
        layer.channel_groups,
        layer.chunks,
        layer.acc_bits,
        layer.select_structure,
        layer.rom_storage,
    )


def live_copies(layer: Conv1dLayer, calibration: Calibration, content: RomContent | None = None) -> int:
    """Window-buffer copies that synthesis keeps: a copy whose every weight slot is 0 in every word feeds only
    products by 0, and yosys removes it when the zero reaches the product's gating operand.

    Measured with yosys 0.23 on iCE40 and xc7 (120 single layers over ROM depth, multiplier, widths and the zero
    slot's place; 8 trained layers in benchmarks/trained_conv.py, all matching): every such copy vanishes behind
    the generator's shift-and-add ('lut') multiplier, and behind a tool-built '*' too small for a DSP block when
    the weight is the narrower operand (Bw < Bx); otherwise only the top slots of a ROM of at most two words
    vanish (the word's upper bits are trimmed). DSP products keep their input.
    """
    ports = layer.read_ports
    if content is None or not content.zero_slots or dsps_per_product(engine_view(layer), calibration):  # type: ignore[arg-type]
        return ports
    pe, simd = layer.folding.pe, layer.folding.simd
    lanes = pe * simd
    if layer.folding.multiplier == "lut" or layer.weight_fmt.total_bits < layer.in_fmt.total_bits:
        dead = {slot for slot, zero in enumerate(content.zero_slots) if zero}
    elif layer.rom_depth <= 2:
        dead = set(range(lanes - content.leading_zero_slots, lanes))
    else:
        return ports
    if layer.depthwise:  # every lane reads its own channel: one copy per lane slot
        copies = [{p * simd + s} for p in range(pe) for s in range(simd)]
    else:  # the lanes share the inputs: copy s feeds slot s of every lane
        copies = [{p * simd + s for p in range(pe)} for s in range(simd)]
    return sum(1 for slots in copies if not slots <= dead)


def window_buffer(layer: Conv1dLayer, family: str, ports: int | None = None) -> tuple[float, float, float]:
    """(LUT, FF, BRAM) of the window-buffer copies and the read-address table; ``ports``: the copies kept
    (live_copies), default every read port."""
    words = ROM_WORDS_PER_LUT[family]
    bx, depth = layer.in_fmt.total_bits, layer.in_size
    ports = layer.read_ports if ports is None else ports
    address_bits = max(1, (max(2, depth) - 1).bit_length()) + 1
    address_width = address_bits * ports
    lut = address_width * -(-layer.address_depth // words)  # the table as a LUT ROM
    lut += ports * bx  # zero-padding gate of every read element
    ff = ports * (bx + 1) + (layer.address_depth - 1).bit_length() + (depth - 1).bit_length()
    bram = 0.0
    storage = layer.buffer_storage_on(family)
    if storage == "bram":
        bram = ports * block_ram_count(depth, bx, family)
    elif storage == "lutram":  # RAM64X1D-style: one LUT per bit per 64 words, plus the read mux above that
        lut += ports * bx * (-(-depth // 64)) * 1.5
    else:  # registers with a read mux (iCE40)
        ff += ports * depth * bx
        lut += ports * bx * max(1, depth - 1) / (MUX_INPUTS_PER_LUT[family] - 1)
    return lut, ff, bram


def conv_parts(
    layer: Conv1dLayer,
    calibration: Calibration,
    content: RomContent | None = None,
    buffer: tuple[float, float, float] | None = None,
) -> dict[str, float]:
    """The parts the conv1d fit scales: the dense engine's products and the rest of it (both from the fitted dense
    model, with the ROM's content after training) and the window buffer with its read-address table (rules).
    ``buffer``: window_buffer's numbers when the caller has them already."""
    if buffer is None:
        buffer = window_buffer(layer, calibration.bram_kind, live_copies(layer, calibration, content))
    buffer_lut, buffer_ff, _ = buffer
    parts = engine_parts(engine_view(layer), calibration, content)
    return parts | {"buffer_lut": buffer_lut, "buffer_ff": buffer_ff}


def conv_numbers(layer: Conv1dLayer, calibration: Calibration, content: RomContent | None = None) -> LayerNumbers:
    """(cycles, bound_cycles, lut, ff, dsp, bram); LUT and FF scaled by estimators/calibration/conv1d.json (`dse
    calibrate fit --kind conv1d`), the unfitted prior (1, 1, 1, 0) for a family without a fit. ``content``: what
    the trained weights keep (estimators.content), None before training."""
    family = calibration.bram_kind
    buffer = window_buffer(layer, family, live_copies(layer, calibration, content))  # once: the search's hot path
    parts = conv_parts(layer, calibration, content, buffer)
    lut, ff = scaled(parts, kind_coefficients("conv1d", family, (1.0, 1.0, 1.0, 0.0)))
    buffer_bram = buffer[2]
    view = engine_view(layer)
    # The DSP count keeps to the rule: the dense engine's content rules (estimators.dense.content_dsps) do not hold
    # for this template (a two-word ROM's zero top slot keeps its DSP here: benchmarks/trained_conv.py).
    dsps = dsps_per_product(view, calibration) * layer.folding.pe * layer.folding.simd  # type: ignore[arg-type]
    constant_columns = 0 if content is None else content.constant_columns
    rom_bram = rom_block_ram(layer.rom_storage, layer.rom_depth, layer.rom_width, family, constant_columns)
    return (layer.latency_cycles, layer.bound_cycles, lut, ff, dsps, rom_bram + buffer_bram, ff_cells(ff, calibration))
