"""Energy per request period of a deployed design: the inference plus what the FPGA costs until the next request.

Per period T with inference energy E_inf (FPGA + MCU work + SPI transfers, ``DesignEstimate.energy_uj``):
- ``idle``: the configured FPGA idles between requests (estimators.strategy: static + clock tree power);
- ``off``: the FPGA is powered off and reconfigured for every request (configuration energy and time);
- ``auto``: whichever is cheaper for this design;
- a design with every layer on the MCU never configures the FPGA: E = E_inf.
The MCU's own sleep power between requests is the same for every design and is left out.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from contract.devices import Device
from estimators.calibration import Calibration
from estimators.strategy import IDLE, POWER_OFF, between_requests
from estimators.system import DesignEstimate

STRATEGIES = ("auto", "idle", "off")
FPGA_UNUSED = "fpga-unused"


@dataclass(frozen=True, slots=True)
class PeriodEnergy:
    energy_per_period_uj: float  # inf when the chosen strategy cannot serve the period
    period_power_mw: float  # average over the period
    strategy: str  # idle, power-off or fpga-unused
    idle_energy_uj: float | None
    off_energy_uj: float | None
    strategy_reason: str

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def period_energy(
    estimate: DesignEstimate, device: Device, calibration: Calibration, period_ms: float, strategy: str
) -> PeriodEnergy:
    if strategy not in STRATEGIES:
        raise ValueError(f"application.strategy: must be one of {', '.join(STRATEGIES)}, got {strategy!r}")
    if estimate.cycles == 0:
        energy = estimate.energy_uj
        return PeriodEnergy(energy, energy / period_ms, FPGA_UNUSED, None, None, "every layer runs on the MCU")
    latency_ms = estimate.latency_us / 1000.0
    if latency_ms > period_ms:
        reason = f"one inference ({latency_ms:.4g} ms) is longer than the period ({period_ms:g} ms)"
        return PeriodEnergy(float("inf"), float("inf"), IDLE, None, None, reason)
    result = between_requests(estimate, device, calibration, period_ms)
    if strategy == "idle":
        choice, energy, reason = IDLE, result.idle_energy_uj, "application.strategy: idle"
    elif strategy == "off":
        if result.off_energy_uj is None:
            reason = f"power-off: reconfiguration ({result.config_time_ms:.4g} ms) does not fit in the period"
            return PeriodEnergy(float("inf"), float("inf"), POWER_OFF, result.idle_energy_uj, None, reason)
        choice, energy, reason = POWER_OFF, result.off_energy_uj, "application.strategy: off"
    else:
        choice, energy, reason = result.choice, result.energy_uj, result.reason
    return PeriodEnergy(energy, energy / period_ms, choice, result.idle_energy_uj, result.off_energy_uj, reason)
