"""The estimation interface every layer type answers (FINN-style): cycles, LUT, FF, DSP, BRAM.

A layer estimator returns ``LayerNumbers`` = (cycles, bound_cycles, lut, ff, dsp, bram): a plain tuple because
the system estimator calls it for every layer of every candidate. ``LayerEstimate`` names the same numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from estimators.calibration import Calibration

LayerNumbers = tuple[int, float, float, float, int, float]
LayerEstimator = Callable[[Any, Calibration], LayerNumbers]
# The same with the ROM content of trained weights (estimators.content.RomContent) as the third argument.
ContentEstimator = Callable[[Any, Calibration, Any], LayerNumbers]


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
