"""Conv1d estimator (generator/templates/conv/): exact cycles; LUT/FF from the dense engine's fitted features
(the same lanes, ROM, tree and requantization) plus rules for what only the conv engine has: the read-address
table (a LUT ROM) and the window-buffer copies. The layer description (contract.layers.conv) owns every number.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
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


def conv_parts(layer: Conv1dLayer, calibration: Calibration) -> dict[str, float]:
    """The two parts the conv1d fit scales: the dense engine (fitted dense model) and the window buffer (rules)."""
    view = engine_view(layer)
    dsps = dsps_per_product(view, calibration)  # type: ignore[arg-type]
    family = calibration.bram_kind
    features = dense_features(view, dsps, ROM_WORDS_PER_LUT[family])  # type: ignore[arg-type]
    buffer_lut, buffer_ff, _ = window_buffer(layer, family)
    return {
        "engine_lut": sum(map(mul, calibration.lut, features)),
        "buffer_lut": buffer_lut,
        "engine_ff": sum(map(mul, calibration.ff, features)),
        "buffer_ff": buffer_ff,
    }


@cache
def conv_coefficients(family: str) -> dict[str, tuple[float, float, float]]:
    """(engine, buffer, const) for LUT and FF from estimators/calibration/conv1d.json (`dse calibrate fit --kind
    conv1d`); the unfitted prior (1, 1, 0) for a family without a fit."""
    resource = resources.files("estimators").joinpath("calibration", "conv1d.json")
    data = json.loads(resource.read_text()) if resource.is_file() else {}
    fitted = data.get(family, {})
    prior = (1.0, 1.0, 0.0)
    return {
        what: tuple(float(fitted[what][part]) for part in ("engine", "buffer", "const")) if what in fitted else prior
        for what in ("lut", "ff")
    }


def conv_numbers(layer: Conv1dLayer, calibration: Calibration) -> LayerNumbers:
    """(cycles, bound_cycles, lut, ff, dsp, bram)."""
    parts = conv_parts(layer, calibration)
    family = calibration.bram_kind
    lut_coef, ff_coef = conv_coefficients(family)["lut"], conv_coefficients(family)["ff"]
    _, _, buffer_bram = window_buffer(layer, family)
    bram = block_ram_count(layer.rom_depth, layer.rom_width, family) if layer.rom_storage == "bram" else 0.0
    dsps = dsps_per_product(engine_view(layer), calibration)  # type: ignore[arg-type]
    return (
        layer.latency_cycles,
        layer.bound_cycles,
        lut_coef[0] * parts["engine_lut"] + lut_coef[1] * parts["buffer_lut"] + lut_coef[2],
        ff_coef[0] * parts["engine_ff"] + ff_coef[1] * parts["buffer_ff"] + ff_coef[2],
        dsps * layer.folding.pe * layer.folding.simd,
        bram + buffer_bram,
    )
