"""LSTM/GRU estimator (generator/templates/recurrent/): exact cycles; the gate-row engine costed by the fitted dense
model (the same lanes, ROM, tree and requantization), plus rules for what only the recurrent engine has: the input
banks holding the whole sequence, the state registers and their read muxes, the gate registers and the element-wise
lanes (three multipliers each, DSP blocks by the family's DSP rule or LUT logic). A kind calibration
(`dse calibrate sweep/fit --kind lstm|gru`) rescales the parts; without one the rules stand unscaled.
"""

from __future__ import annotations

from contract.layers.dense import DenseFolding
from contract.layers.recurrent import ROW_ACTIVATIONS, RecurrentLayer
from estimators.base import LayerNumbers
from estimators.calibration import Calibration, ff_cells
from estimators.content import RomContent
from estimators.dense import block_ram_count, dsps_per_product, rom_block_ram
from estimators.kind_fit import MUX_INPUTS_PER_LUT, EngineView, engine_parts, kind_coefficients, scaled

_PRIOR = (1.0, 1.0, 1.0, 0.0)  # without a fit: the parts unscaled


def engine_view(layer: RecurrentLayer) -> EngineView:
    """The gate-row engine as the dense engine it is (lanes = PE x gate lanes, one bias word per job)."""
    f = layer.folding
    return EngineView(
        DenseFolding(layer.lanes, f.simd, f.multiplier, f.weight_storage),
        layer.in_fmt,
        layer.weight_fmt,
        layer.gate_fmt,
        layer.jobs,
        layer.chunks,
        layer.acc_bits,
        layer.select_structure,
        layer.rom_storage,
    )


def elementwise_products(layer: RecurrentLayer) -> list[tuple[int, int]]:
    """(a bits, b bits) of the three products of every element-wise lane."""
    bg, bs = layer.gate_bits, layer.in_fmt.total_bits
    if layer.cell == "lstm":
        bc = layer.cell_fmt.total_bits
        return [(bg, bc), (bg, bg), (bg, bc + 1)]
    # (1 - z)·n and z·h: the operands aligned by a left shift keep their own width (synthesis drops the zeros).
    return [(bg, layer.acc_bits), (bg + 1, bg), (bg + 1, bs)]


def elementwise_dsps(layer: RecurrentLayer, calibration: Calibration) -> int:
    if layer.folding.multiplier == "lut":
        return 0
    per_lane = sum(calibration.dsp_rule.dsps_per_multiplier(a, b) for a, b in elementwise_products(layer))
    return per_lane * layer.folding.pe


def sequence_parts(layer: RecurrentLayer, calibration: Calibration) -> tuple[float, float, float, float, float]:
    """(multiplier LUT, other LUT, FF, buffer LUT, BRAM) of what the dense engine does not have."""
    family = calibration.bram_kind
    mux = MUX_INPUTS_PER_LUT[family] - 1
    pe, simd, units = layer.folding.pe, layer.folding.simd, layer.unit_groups * layer.folding.pe
    bs, bg, h = layer.in_fmt.total_bits, layer.gate_bits, layer.hidden_size
    banks = min(simd, layer.in_features)
    depth = layer.buffer_depth + layer.chunks
    # Input banks: RAM (LUTRAM: one LUT per bit per 64 words, plus the read mux; iCE40 shallow: registers + mux).
    buffer_lut = ff = bram = 0.0
    storage = layer.buffer_storage_on(family)
    if storage == "bram":
        bram = banks * block_ram_count(depth, bs, family)
    elif storage == "lutram":
        buffer_lut = banks * bs * -(-depth // 64) * 1.5
    else:
        ff += banks * depth * bs
        buffer_lut = banks * bs * max(1, depth - 1) / mux
    # State: h_arr, h_mem, the output register; every slot that reads the state muxes the H units.
    state_slots = min(simd, layer.fan_in - layer.in_features + simd - 1, layer.hidden_size)
    other_lut = state_slots * bs * max(1, h - 1) / mux + 2 * simd * bs  # state mux, source select
    ff += 2 * units * bs + h * bs + simd * 2 * bs
    # Gate registers and their capture (sigmoid/tanh select per gate, raw for GRU's nx/nh).
    gate_bits = sum(bg if a else layer.acc_bits for a in ROW_ACTIVATIONS[layer.cell])
    ff += pe * gate_bits
    other_lut += pe * gate_bits * (1 if layer.gate_lanes > 1 else 1.5)
    # Element-wise lanes: rounding adders, saturation and the pipeline registers.
    products = elementwise_products(layer)
    widest = max(a + b for a, b in products)
    other_lut += pe * 3 * widest
    ff += pe * (sum(a + b for a, b in products) + 3 * bg)
    if layer.cell == "lstm":
        ff += units * layer.cell_fmt.total_bits
        other_lut += pe * layer.cell_fmt.total_bits * max(1, layer.unit_groups - 1) / mux
    mult_lut = 0.0
    if layer.folding.multiplier == "lut" or not elementwise_dsps(layer, calibration):
        mult_lut = pe * sum(a * b for a, b in products) * 0.6
    counters = sum(
        max(1, (n - 1).bit_length())
        for n in (layer.seq_len, layer.in_features, simd, layer.buffer_depth, layer.jobs, layer.unit_groups)
    )
    other_lut += 2 * counters + 12
    ff += 2 * counters + 12
    return mult_lut, other_lut, ff, buffer_lut, bram


def _parts(
    layer: RecurrentLayer, calibration: Calibration, content: RomContent | None = None
) -> tuple[dict[str, float], float]:
    """The kind-fit parts and the block RAM of the sequence buffer (one pass over the rules)."""
    mult_lut, other_lut, seq_ff, buffer_lut, buffer_bram = sequence_parts(layer, calibration)
    parts = engine_parts(engine_view(layer), calibration, content)
    parts["multipliers_lut"] += mult_lut
    # "buffer": everything only the recurrent engine has (input banks, state, gate registers, element-wise lanes).
    parts["buffer_lut"], parts["buffer_ff"] = buffer_lut + other_lut, seq_ff
    return parts, buffer_bram


def recurrent_parts(layer: RecurrentLayer, calibration: Calibration) -> dict[str, float]:
    """The parts a kind fit scales (the layout of dse.calibrate.kinds): multipliers, the dense engine's other
    logic, and the recurrent-only logic (reported as "buffer")."""
    return _parts(layer, calibration)[0]


def recurrent_numbers(
    layer: RecurrentLayer, calibration: Calibration, content: RomContent | None = None
) -> LayerNumbers:
    """(cycles, bound_cycles, lut, ff, dsp, bram); LUT/FF scaled by estimators/calibration/<kind>.json.
    ``content``: what the trained weights keep of the gate-row ROM (estimators.content), None before training."""
    family = calibration.bram_kind
    parts, buffer_bram = _parts(layer, calibration, content)
    lut, ff = scaled(parts, kind_coefficients(layer.kind, family, _PRIOR))
    view = engine_view(layer)
    # The DSP count keeps to the rule (the dense engine's content rules are measured on its template only).
    engine_dsps = dsps_per_product(view, calibration) * layer.lanes * layer.folding.simd  # type: ignore[arg-type]
    constant_columns = 0 if content is None else content.constant_columns
    bram = rom_block_ram(layer.rom_storage, layer.rom_depth, layer.rom_width, family, constant_columns)
    return (
        layer.latency_cycles,
        layer.bound_cycles,
        lut,
        ff,
        engine_dsps + elementwise_dsps(layer, calibration),
        bram + buffer_bram,
        ff_cells(ff, calibration),
    )
