"""Analytical estimators: every layer answers cycles, LUT, FF, DSP, BRAM; the system adds power and energy."""

from contract.devices import Device, get_device, load_devices
from estimators.base import LayerEstimate
from estimators.calibration import Calibration, default_calibration, load_calibration
from estimators.dense import estimate_dense
from estimators.system import DesignEstimate, estimate_design

__all__ = [
    "Calibration",
    "DesignEstimate",
    "Device",
    "LayerEstimate",
    "default_calibration",
    "estimate_dense",
    "estimate_design",
    "get_device",
    "load_calibration",
    "load_devices",
]
