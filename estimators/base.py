"""The estimation interface every layer type answers (FINN-style): cycles, LUT, FF, DSP, BRAM."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from estimators.calibration import Calibration


@dataclass(slots=True)
class LayerEstimate:
    cycles: int
    bound_cycles: float
    lut: float
    ff: float
    dsp: int
    bram: float
    macs: int
    params: int


class LayerEstimator(Protocol):
    def __call__(self, layer: object, calibration: Calibration) -> LayerEstimate: ...
