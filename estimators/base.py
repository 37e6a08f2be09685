"""The estimation interface every layer type answers (FINN-style): cycles, LUT, FF, DSP, BRAM.

A layer estimator returns ``LayerNumbers`` = (cycles, bound_cycles, lut, ff, dsp, bram, ff_cells): a plain tuple
because the system estimator calls it for every layer of every candidate. ``ff_cells`` is what the flip-flops add
to the packed iCE40 logic cells (estimators.timing.ff_cells; 0 where slices are not the limit). ``LayerEstimate``
names the first six.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from estimators.calibration import Calibration

LayerNumbers = tuple[int, float, float, float, int, float, float]
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
