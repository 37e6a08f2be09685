"""Device database: capacities, static power and configuration cost of every supported FPGA."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml

FAMILIES = ("xc7", "ice40")


@dataclass(frozen=True, slots=True)
class Device:
    name: str
    family: str
    part: str
    lut: int
    ff: int
    dsp: int
    bram: float
    lutram: int
    static_mw: float
    max_clock_mhz: float
    config_bits: int
    config_mhz: float
    config_width: int
    config_mw: float

    @property
    def config_time_ms(self) -> float:
        return self.config_bits / (self.config_mhz * 1e3 * self.config_width)

    @property
    def config_energy_uj(self) -> float:
        return self.config_mw * self.config_time_ms


@cache
def load_devices() -> dict[str, Device]:
    text = resources.files("contract").joinpath("devices.yaml").read_text()
    return {name: Device(name=name, **fields) for name, fields in yaml.safe_load(text).items()}


def get_device(name: str) -> Device:
    devices = load_devices()
    if name not in devices:
        raise KeyError(f"unknown device {name!r}; known devices: {', '.join(sorted(devices))}")
    return devices[name]
