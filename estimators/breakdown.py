"""Energy per inference as a sum of terms, each with the source of its power figure (see estimators/system.py).

E = (P_static + P_dynamic) · t_FPGA + (P_MCU + P_static) · (t_MCU + t_SPI) + P_link · t_SPI
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from estimators.calibration import Calibration

CALIBRATED, MEASURED, ASSUMED = "calibrated", "measured", "assumed"


@dataclass(frozen=True, slots=True)
class EnergyTerm:
    phase: str  # when the power is drawn
    name: str
    power_mw: float
    time_us: float
    kind: str  # CALIBRATED, MEASURED or ASSUMED
    source: str  # where the power figure comes from

    @property
    def energy_nj(self) -> float:
        return self.power_mw * self.time_us  # mW x µs = nJ

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "energy_nj": self.energy_nj}


def dynamic_mw(
    power: Mapping[str, float], clock_mhz: float, lut: float, ff: float, dsp: float, bram: float, activity: float
) -> float:
    """FPGA dynamic power: clock tree plus per-resource coefficients scaled by the toggle rate."""
    scale = activity / power["activity"]
    logic = (
        power["lut_uw_per_mhz"] * lut
        + power["ff_uw_per_mhz"] * ff
        + power["dsp_uw_per_mhz"] * dsp
        + power["bram_uw_per_mhz"] * bram
    )
    return clock_mhz * (power["clock_uw_per_mhz"] + scale * logic) / 1000.0


def power_kind(calibration: Calibration) -> str:
    """Fitted to power reports or measurements, or still the prior the calibration file started from."""
    return ASSUMED if calibration.power_source.strip().lower().startswith("prior") else CALIBRATED


def energy_terms(estimate: Mapping[str, float], calibration: Calibration) -> list[EnergyTerm]:
    """The terms of the estimate's energy; they add up to estimate["energy_uj"] (same calibration)."""
    board = calibration.board
    name = Path(calibration.path).name or calibration.family
    fpga_us = float(estimate["fpga_latency_us"])
    link_us = float(estimate["transfer_us"])
    idle_us = float(estimate["mcu_latency_us"]) + link_us
    kind = power_kind(calibration)
    if calibration.static_mw is not None:
        static_kind, static_source = kind, f"{name} power.static_mw"
    else:
        static_kind, static_source = ASSUMED, "device table (contract/devices.yaml static_mw)"
    return [
        EnergyTerm("FPGA computes", "FPGA static", estimate["static_mw"], fpga_us, static_kind, static_source),
        EnergyTerm(
            "FPGA computes",
            "FPGA dynamic",
            estimate["dynamic_mw"],
            fpga_us,
            kind,
            f"{name} power coefficients × estimated LUT/FF/DSP/BRAM × clock",
        ),
        EnergyTerm(
            "MCU computes, SPI transfers",
            "MCU (RP2040) active",
            board["mcu_active_mw"],
            idle_us,
            ASSUMED,
            f"{name} board.mcu_active_mw",
        ),
        EnergyTerm(
            "MCU computes, SPI transfers",
            "FPGA static while it waits",
            estimate["static_mw"],
            idle_us,
            static_kind,
            static_source,
        ),
        EnergyTerm("SPI transfers", "SPI link", board["link_mw"], link_us, ASSUMED, f"{name} board.link_mw"),
    ]
