"""Conv1d estimator (generator/templates/conv/): exact cycles; LUT/FF from the dense engine's fitted features
(the same lanes, ROM, tree and requantization) plus rules for what only the conv engine has: the read-address
table (a LUT ROM) and the window-buffer copies. The layer description (contract.layers.conv) owns every number.
"""

from __future__ import annotations

from dataclasses import dataclass
from operator import mul

from contract.fixedpoint import FixedFormat
from contract.layers.conv import Conv1dLayer
from contract.layers.dense import DenseFolding
from estimators.base import LayerNumbers
from estimators.calibration import Calibration
from estimators.dense import ROM_WORDS_PER_LUT, block_ram_count, dense_features, dsps_per_product

# LUT inputs per family: a LUT6 muxes 4 data inputs (2 select), a LUT4 two data inputs per level.
_MUX_INPUTS_PER_LUT = {"xc7": 4, "ice40": 2}


@dataclass(frozen=True, slots=True)
class _EngineView:
    """The conv layer seen as the dense engine it contains (what estimators.dense.dense_features reads)."""

    folding: DenseFolding
    in_fmt: FixedFormat
    weight_fmt: FixedFormat
    out_fmt: FixedFormat
    groups: int
    chunks: int
    acc_bits: int
    select_structure: tuple[int, int, int, int, int]
    rom_storage: str

    def buffer_storage_on(self, family: str) -> str:
        return "lutram"  # the window buffer is costed below, not as dense input banks


def engine_view(layer: Conv1dLayer) -> _EngineView:
    f = layer.folding
    return _EngineView(
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


def window_buffer(layer: Conv1dLayer, family: str) -> tuple[float, float, float]:
    """(LUT, FF, BRAM) of the window-buffer copies and the read-address table."""
    words = ROM_WORDS_PER_LUT[family]
    bx, depth, ports = layer.in_fmt.total_bits, layer.in_size, layer.read_ports
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
        lut += ports * bx * max(1, depth - 1) / (_MUX_INPUTS_PER_LUT[family] - 1)
    return lut, ff, bram


def conv_numbers(layer: Conv1dLayer, calibration: Calibration) -> LayerNumbers:
    """(cycles, bound_cycles, lut, ff, dsp, bram)."""
    view = engine_view(layer)
    dsps = dsps_per_product(view, calibration)  # type: ignore[arg-type]
    family = calibration.bram_kind
    features = dense_features(view, dsps, ROM_WORDS_PER_LUT[family])  # type: ignore[arg-type]
    buffer_lut, buffer_ff, buffer_bram = window_buffer(layer, family)
    bram = block_ram_count(layer.rom_depth, layer.rom_width, family) if layer.rom_storage == "bram" else 0.0
    return (
        layer.latency_cycles,
        layer.bound_cycles,
        sum(map(mul, calibration.lut, features)) + buffer_lut,
        sum(map(mul, calibration.ff, features)) + buffer_ff,
        dsps * layer.folding.pe * layer.folding.simd,
        bram + buffer_bram,
    )
