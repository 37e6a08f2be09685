"""Static and dynamic power coefficients from Vivado power reports and Elastic Node measurements.

Model (estimators/system.py): P = static_mw + f_MHz * (clock_uw_per_mhz + Σ_k coef_k * resource_k) / 1000.
- A Vivado report_power gives static (Device Static) and dynamic power; its I/O share is dropped because the
  estimator has no I/O term (the accelerator talks to the MCU through a few SPI pins).
- A measurement gives the idle power of the configured FPGA (= static + clock tree when the clock runs) and the
  power above idle while inferring (= logic dynamic power, clock already counted in idle).
Measurements beat tool estimates: when both give a static power, only the measured ones are used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.optimize import nnls

from dse.reports.measurements import FPGA_RAILS, Measurement, energy_per_inference
from dse.reports.vivado import VivadoPower, VivadoTiming, VivadoUtilization

RESOURCE_COEFFICIENTS = {
    "lut": "lut_uw_per_mhz",
    "ff": "ff_uw_per_mhz",
    "dsp": "dsp_uw_per_mhz",
    "bram": "bram_uw_per_mhz",
}
DYNAMIC_KEYS = ("clock_uw_per_mhz", *RESOURCE_COEFFICIENTS.values())


@dataclass(frozen=True)
class StaticPoint:
    static_mw: float
    measured: bool  # board measurement (True) or tool estimate (False)
    source: str


@dataclass(frozen=True)
class DynamicPoint:
    clock_mhz: float
    resources: dict[str, float]  # lut, ff, dsp, bram
    dynamic_mw: float
    includes_clock: bool  # Vivado dynamic includes the clock tree; measured above-idle power does not
    source: str

    def row(self) -> np.ndarray:
        """Coefficient multipliers in DYNAMIC_KEYS order: P_dyn = row @ coefficients."""
        values = [self.clock_mhz / 1000.0 if self.includes_clock else 0.0]
        values += [self.clock_mhz * self.resources.get(key, 0.0) / 1000.0 for key in RESOURCE_COEFFICIENTS]
        return np.array(values)


@dataclass
class PowerPoints:
    static: list[StaticPoint] = field(default_factory=list)
    dynamic: list[DynamicPoint] = field(default_factory=list)


def _component_w(power: VivadoPower, name: str) -> float:
    component = power.components.get(name)
    return 0.0 if component is None or component.is_upper_bound else component.power_w


def points_from_vivado(
    power: VivadoPower, utilization: VivadoUtilization | None, timing: VivadoTiming | None
) -> PowerPoints:
    """Static from one report_power; dynamic too when utilization and clock (timing summary) are known."""
    points = PowerPoints(static=[StaticPoint(power.device_static_w * 1000.0, False, power.source)])
    if utilization is not None and timing is not None:
        clock = timing.main_clock.frequency_mhz
        dynamic = (power.dynamic_w - _component_w(power, "I/O")) * 1000.0
        resources = {key: float(value) for key, value in utilization.as_resources().items()}
        points.dynamic.append(DynamicPoint(clock, resources, dynamic, True, power.source))
    return points


def points_from_measurement(
    measurement: Measurement, utilization: VivadoUtilization | None, clock_uw_per_mhz: float
) -> PowerPoints:
    """Idle power -> static (minus the clock tree at '# clock_mhz:' when given); above-idle power -> dynamic.

    Resources for the dynamic point come from '# lut:/ff:/dsp:/bram:' metadata or a utilization report next to it.
    """
    result = energy_per_inference(measurement, FPGA_RAILS)
    idle = [result.idle_power_mw[rail] for rail in FPGA_RAILS]
    if any(value is None for value in idle):
        raise ValueError(f"{measurement.source}: no samples outside the inference windows, so no idle power")
    idle_mw = float(sum(v for v in idle if v is not None))
    extra = measurement.metadata.extra
    clock = float(extra["clock_mhz"]) if "clock_mhz" in extra else None
    clock_mw = clock * clock_uw_per_mhz / 1000.0 if clock else 0.0
    points = PowerPoints(static=[StaticPoint(max(idle_mw - clock_mw, 0.0), True, measurement.source)])
    resources: dict[str, float] | None = None
    if all(key in extra for key in RESOURCE_COEFFICIENTS):
        resources = {key: float(extra[key]) for key in RESOURCE_COEFFICIENTS}
    elif utilization is not None:
        resources = {key: float(value) for key, value in utilization.as_resources().items()}
    if clock and resources is not None:
        active_mw = sum(result.active_power_mw[rail] for rail in FPGA_RAILS)
        points.dynamic.append(DynamicPoint(clock, resources, active_mw - idle_mw, False, measurement.source))
    return points


@dataclass(frozen=True)
class PowerFit:
    static_mw: float | None
    coefficients: dict[str, float]  # DYNAMIC_KEYS -> value
    method: str
    n_static: int
    n_dynamic: int
    sources: tuple[str, ...]


def fit_power(points: PowerPoints, prior: dict[str, float]) -> PowerFit:
    """Static: median of the (measured, else estimated) points. Dynamic: see the method string."""
    measured = [p.static_mw for p in points.static if p.measured]
    static_values = measured or [p.static_mw for p in points.static]
    static = float(np.median(static_values)) if static_values else None
    coefficients = {key: float(prior[key]) for key in DYNAMIC_KEYS}
    dynamic = points.dynamic
    method = "static only; dynamic coefficients kept from the base calibration"
    if dynamic:
        A = np.array([p.row() for p in dynamic])
        y = np.array([p.dynamic_mw for p in dynamic])
        base = np.array([coefficients[key] for key in DYNAMIC_KEYS])
        if len(dynamic) >= len(DYNAMIC_KEYS) and np.linalg.matrix_rank(A) == len(DYNAMIC_KEYS):
            fitted, _ = nnls(A, y)
            method = f"non-negative least squares on {len(dynamic)} dynamic points"
        else:
            # Too few points for free coefficients: keep the prior's proportions, fit one common scale.
            predicted = A @ base
            scale = float(predicted @ y / (predicted @ predicted)) if predicted @ predicted > 0 else 1.0
            fitted = base * max(scale, 0.0)
            method = f"prior dynamic coefficients scaled by {scale:.4g} to match {len(dynamic)} dynamic point(s)"
        coefficients = {key: float(value) for key, value in zip(DYNAMIC_KEYS, fitted, strict=True)}
    sources = tuple(sorted({str(Path(p.source)) for p in (*points.static, *dynamic)}))
    return PowerFit(static, coefficients, method, len(points.static), len(dynamic), sources)


def merge(parts: Sequence[PowerPoints]) -> PowerPoints:
    merged = PowerPoints()
    for part in parts:
        merged.static += part.static
        merged.dynamic += part.dynamic
    return merged
