"""Input scaling: fitted on the training split only, saved with the study and written into every export.

``x' = (x - offset) / scale``, per feature for tabular data and per channel for series (so a series keeps its
shape over time). The MCU code and the exported testbench apply the same formula to raw sensor values before
quantizing them to the first layer's input format (round half up, saturate).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

ScaleKind = Literal["standard", "minmax", "none"]
SCALE_KINDS: tuple[str, ...] = ("standard", "minmax", "none")
SCALER_FILE = "scaler.json"
# A warning is printed when more than this share of the scaled training values saturates the input format.
SATURATION_WARN_SHARE = 0.01


@dataclass(frozen=True)
class InputScaler:
    """One offset and one scale per feature (tabular) or per channel (series, repeated over time steps)."""

    kind: ScaleKind
    offset: tuple[float, ...]
    scale: tuple[float, ...]

    def apply(self, x: np.ndarray) -> np.ndarray:
        """Raw features (N, F) in stream order -> scaled features; per-channel values repeat over time."""
        x = np.asarray(x, dtype=np.float64)
        reps = x.shape[1] // len(self.offset)
        offset = np.tile(np.asarray(self.offset), reps)
        scale = np.tile(np.asarray(self.scale), reps)
        return (x - offset) / scale

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "formula": "x_scaled = (x - offset) / scale; offset/scale repeat every len(offset) features",
            "offset": list(self.offset),
            "scale": list(self.scale),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InputScaler:
        return cls(data["kind"], tuple(float(v) for v in data["offset"]), tuple(float(v) for v in data["scale"]))


def fit_scaler(kind: str, x_train: np.ndarray, input_shape: tuple[int, ...]) -> InputScaler | None:
    """``standard``: mean 0, standard deviation 1; ``minmax``: [min, max] -> [-1, 1]; ``none``: no scaler.

    Statistics come from the training split only. Constant features keep scale 1 (nothing to stretch).
    """
    if kind not in SCALE_KINDS:
        raise ValueError(f"dataset.scale: must be one of {', '.join(SCALE_KINDS)}, got {kind!r}")
    if kind == "none":
        return None
    from sklearn.preprocessing import MinMaxScaler, StandardScaler

    channels = input_shape[0] if len(input_shape) == 2 else x_train.shape[1]
    columns = np.asarray(x_train, dtype=np.float64).reshape(-1, channels)  # stream order: channel is fastest
    if kind == "standard":
        fitted = StandardScaler().fit(columns)
        offset, scale = fitted.mean_, fitted.scale_
    else:
        fitted = MinMaxScaler(feature_range=(-1.0, 1.0)).fit(columns)
        # sklearn computes x * scale_ + min_; as (x - offset) / scale that is offset = -min_/scale_, scale = 1/scale_
        offset, scale = -fitted.min_ / fitted.scale_, 1.0 / fitted.scale_
    return InputScaler(kind, tuple(float(v) for v in offset), tuple(float(v) for v in scale))  # type: ignore[arg-type]


def saturated_share(x_scaled: np.ndarray, int_bits: int) -> float:
    """Share of values outside a Q(B, F) input format with ``int_bits`` integer bits (sign included)."""
    if x_scaled.size == 0:
        return 0.0
    limit = 2.0 ** (int_bits - 1)
    return float(np.mean((x_scaled < -limit) | (x_scaled >= limit)))


def write_scaler(folder: Path, scaler: InputScaler | None) -> Path | None:
    """``scaler.json`` beside the study (and in each export); no file when the inputs are not scaled."""
    if scaler is None:
        return None
    path = Path(folder) / SCALER_FILE
    path.write_text(json.dumps(scaler.to_dict(), indent=2) + "\n")
    return path


def saturation_warning(x_train_scaled: np.ndarray, int_bits: int, scale: str) -> str | None:
    """A warning when the (scaled) training features overflow the narrowest input format of the space."""
    share = saturated_share(x_train_scaled, int_bits)
    if share <= SATURATION_WARN_SHARE:
        return None
    limit = 2 ** (int_bits - 1)
    return (
        f"dataset: {100 * share:.1f} % of the training features (dataset.scale: {scale}) lie outside "
        f"[-{limit}, {limit}), the range of an input format with quantization.activation_int_bits = {int_bits}; "
        "they saturate. Use dataset.scale: standard or minmax, or more activation_int_bits."
    )
