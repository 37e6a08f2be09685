"""What the estimators of the non-dense kinds share: the layout a kind calibration scales (dse.calibrate.kinds),
the dense engine seen inside another kind, and the scaled sum of the parts.

A kind's estimate is split into parts (multipliers, engine, buffer) for LUT and FF; `dse calibrate fit --kind`
fits one coefficient per part plus a constant (estimators/calibration/<kind>.json, one entry per family).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from operator import mul

from contract.fixedpoint import FixedFormat
from contract.layers.dense import DenseFolding
from estimators.calibration import FEATURES, Calibration
from estimators.content import RomContent
from estimators.dense import dense_features, dsps_per_product

PARTS = ("multipliers", "engine", "buffer", "const")
MUX_INPUTS_PER_LUT = {"xc7": 4, "ice40": 2}  # a LUT6 is a 4:1 mux; a LUT4 a 2:1 mux
_MULTIPLIER_FEATURES = frozenset(
    (
        "soft_mult_bits",
        "shift_add_bits",
        "shift_add_sq_bits",
        "shift_add_copy_bits",
        "const_mult_bits",
        "small_rom_mult_bits",
        "few_input_bits",
        "soft_prod_bits",
    )
)
_IS_MULTIPLIER = tuple(name in _MULTIPLIER_FEATURES for name in FEATURES)


@dataclass(frozen=True, slots=True)
class EngineView:
    """A kind's PE x SIMD engine as the dense layer it is (what estimators.dense.dense_features reads); the kind
    costs its own input storage, so the view's buffer is LUTRAM, which adds no dense buffer feature."""

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
        return "lutram"


def engine_parts(view: EngineView, calibration: Calibration, content: RomContent | None = None) -> dict[str, float]:
    """The fitted dense model of the engine, split into its products and the rest, for LUT and FF; ``content``:
    what trained weights keep of its ROM (estimators.content), None before training."""
    dsps = dsps_per_product(view, calibration)  # type: ignore[arg-type]
    features = dense_features(view, dsps, calibration, content)  # type: ignore[arg-type]
    parts = {}
    for what, coefficients in (("lut", calibration.lut), ("ff", calibration.ff)):
        terms = list(map(mul, coefficients, features))
        parts[f"multipliers_{what}"] = sum(t for t, m in zip(terms, _IS_MULTIPLIER, strict=True) if m)
        parts[f"engine_{what}"] = sum(t for t, m in zip(terms, _IS_MULTIPLIER, strict=True) if not m)
    return parts


@cache
def kind_coefficients(kind: str, family: str, prior: tuple[float, ...]) -> dict[str, tuple[float, ...]]:
    """(multipliers, engine, buffer, const) for LUT and FF from estimators/calibration/<kind>.json; ``prior`` for
    a family without a fit."""
    resource = resources.files("estimators").joinpath("calibration", f"{kind}.json")
    fitted = (json.loads(resource.read_text()) if resource.is_file() else {}).get(family, {})
    return {what: tuple(float(fitted[what][p]) for p in PARTS) if what in fitted else prior for what in ("lut", "ff")}


def scaled(parts: dict[str, float], coefficients: dict[str, tuple[float, ...]]) -> tuple[float, float]:
    """(LUT, FF): the parts times their fitted coefficients, plus the constant."""
    lut, ff = (
        sum(c * parts[f"{p}_{what}"] for c, p in zip(coefficients[what], PARTS[:-1], strict=False))
        + coefficients[what][-1]
        for what in ("lut", "ff")
    )
    return lut, ff
