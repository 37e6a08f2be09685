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
from estimators.calibration import FEATURES, Calibration
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


# Dense features of the products (fitted on dense layers; the conv fit rescales them as one part).
_MULTIPLIER_FEATURES = frozenset(
    ("soft_mult_bits", "shift_add_bits", "shift_add_sq_bits", "const_mult_bits", "few_input_bits", "soft_prod_bits")
)
_IS_MULTIPLIER = tuple(name in _MULTIPLIER_FEATURES for name in FEATURES)


def conv_parts(layer: Conv1dLayer, calibration: Calibration) -> dict[str, float]:
    """The parts the conv1d fit scales: the dense engine's products and the rest of it (both from the fitted dense
    model) and the window buffer with its read-address table (rules)."""
    view = engine_view(layer)
    dsps = dsps_per_product(view, calibration)  # type: ignore[arg-type]
    family = calibration.bram_kind
    features = dense_features(view, dsps, ROM_WORDS_PER_LUT[family])  # type: ignore[arg-type]
    buffer_lut, buffer_ff, _ = window_buffer(layer, family)
    parts = {}
    for what, coefficients, buffer in (("lut", calibration.lut, buffer_lut), ("ff", calibration.ff, buffer_ff)):
        terms = list(map(mul, coefficients, features))
        parts[f"multipliers_{what}"] = sum(t for t, m in zip(terms, _IS_MULTIPLIER, strict=True) if m)
        parts[f"engine_{what}"] = sum(t for t, m in zip(terms, _IS_MULTIPLIER, strict=True) if not m)
        parts[f"buffer_{what}"] = buffer
    return parts


_PARTS = ("multipliers", "engine", "buffer", "const")


@cache
def conv_coefficients(family: str) -> dict[str, tuple[float, ...]]:
    """(multipliers, engine, buffer, const) for LUT and FF from estimators/calibration/conv1d.json (`dse calibrate
    fit --kind conv1d`); the unfitted prior (1, 1, 1, 0) for a family without a fit."""
    resource = resources.files("estimators").joinpath("calibration", "conv1d.json")
    data = json.loads(resource.read_text()) if resource.is_file() else {}
    fitted = data.get(family, {})
    prior = (1.0, 1.0, 1.0, 0.0)
    return {
        what: tuple(float(fitted[what][part]) for part in _PARTS) if what in fitted else prior for what in ("lut", "ff")
    }


def conv_numbers(layer: Conv1dLayer, calibration: Calibration) -> LayerNumbers:
    """(cycles, bound_cycles, lut, ff, dsp, bram)."""
    parts = conv_parts(layer, calibration)
    family = calibration.bram_kind
    coefficients = conv_coefficients(family)
    lut, ff = (
        sum(c * parts[f"{p}_{what}"] for c, p in zip(coefficients[what], _PARTS[:-1], strict=False))
        + coefficients[what][-1]
        for what in ("lut", "ff")
    )
    _, _, buffer_bram = window_buffer(layer, family)
    bram = block_ram_count(layer.rom_depth, layer.rom_width, family) if layer.rom_storage == "bram" else 0.0
    dsps = dsps_per_product(engine_view(layer), calibration)  # type: ignore[arg-type]
    return (
        layer.latency_cycles,
        layer.bound_cycles,
        lut,
        ff,
        dsps * layer.folding.pe * layer.folding.simd,
        bram + buffer_bram,
    )
