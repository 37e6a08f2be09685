"""Between two requests: keep the configured FPGA idling, or power it off and reconfigure on the next request?

Per request of period T (ms), with the inference itself costing E_inf (µJ) over t_inf:
- idle:      E = E_inf + P_idle · (T − t_inf),  P_idle = static + clock tree (the clock keeps running);
- power-off: E = E_cfg + E_inf, possible only when t_cfg + t_inf <= T (the FPGA draws nothing while off).
Break-even: T* = t_inf + E_cfg / P_idle; idling wins below it ("Idle is the New Sleep", ARCS 2024).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from contract.devices import Device
from estimators.calibration import Calibration
from estimators.system import DesignEstimate

IDLE, POWER_OFF = "idle", "power-off"


@dataclass(frozen=True, slots=True)
class StrategyResult:
    period_ms: float
    choice: str  # IDLE or POWER_OFF
    energy_uj: float  # per request, of the chosen strategy
    idle_energy_uj: float
    off_energy_uj: float | None  # None: reconfiguration + inference do not fit in one period
    idle_power_mw: float
    config_energy_uj: float
    config_time_ms: float
    break_even_ms: float
    reason: str

    @property
    def average_power_mw(self) -> float:
        return self.energy_uj / self.period_ms  # µJ / ms = mW


def idle_power_mw(
    estimate: DesignEstimate, device: Device, calibration: Calibration, clock_mhz: float | None, clock_gated: bool
) -> float:
    static = calibration.static_mw if calibration.static_mw is not None else device.static_mw
    if clock_mhz is None:
        # The estimate holds cycles and their duration, hence the accelerator clock.
        clock_mhz = estimate.cycles / estimate.fpga_latency_us if estimate.fpga_latency_us > 0 else 0.0
    clock_mw = 0.0 if clock_gated else calibration.power["clock_uw_per_mhz"] * clock_mhz / 1000.0
    return static + clock_mw


def between_requests(
    estimate: DesignEstimate,
    device: Device,
    calibration: Calibration,
    period_ms: float,
    *,
    clock_mhz: float | None = None,
    clock_gated: bool = False,
    config_energy_uj: float | None = None,
    config_time_ms: float | None = None,
) -> StrategyResult:
    """Energy per request of idling vs powering off, and the cheaper one.

    ``config_energy_uj``/``config_time_ms`` override the device database (e.g. with a measured configuration).
    """
    if not 0 < period_ms < math.inf:
        raise ValueError(f"period_ms must be a finite number > 0, got {period_ms}")
    latency_ms = estimate.latency_us / 1000.0
    if latency_ms > period_ms:
        raise ValueError(f"period_ms {period_ms} is shorter than one inference ({latency_ms:.4g} ms)")
    e_cfg = device.config_energy_uj if config_energy_uj is None else config_energy_uj
    t_cfg = device.config_time_ms if config_time_ms is None else config_time_ms
    p_idle = idle_power_mw(estimate, device, calibration, clock_mhz, clock_gated)
    idle = estimate.energy_uj + p_idle * (period_ms - latency_ms)  # mW · ms = µJ
    fits = t_cfg + latency_ms <= period_ms
    off = e_cfg + estimate.energy_uj if fits else None
    break_even = latency_ms + (e_cfg / p_idle if p_idle > 0 else float("inf"))
    gap, idling = period_ms - latency_ms, f"idling {period_ms - latency_ms:.4g} ms at {p_idle:.4g} mW"
    if off is not None and off < idle:
        choice, energy = POWER_OFF, off
        reason = f"reconfiguring ({e_cfg:.4g} µJ) costs less than {idling}"
    else:
        choice, energy = IDLE, idle
        reason = (
            f"reconfiguration takes {t_cfg:.4g} ms, longer than the {gap:.4g} ms between requests"
            if off is None
            else f"{idling} costs less than reconfiguring ({e_cfg:.4g} µJ)"
        )
    return StrategyResult(period_ms, choice, energy, idle, off, p_idle, e_cfg, t_cfg, break_even, reason)
