"""estimators.strategy: idle-waiting wins for short request periods, power-off for long ones (exact numbers)."""

from __future__ import annotations

import dataclasses

import pytest

from estimators import default_calibration, get_device
from estimators.strategy import IDLE, POWER_OFF, between_requests
from estimators.system import DesignEstimate

DEVICE = get_device("xc7s15")  # config 4310752 bit / (50 MHz x 4) = 21.55376 ms at 120 mW -> 2586.4512 µJ
# Fixed power numbers (not the shipped file): static from the device (20 mW), clock tree 20 µW/MHz.
CALIBRATION = dataclasses.replace(
    default_calibration("xc7"), static_mw=None, power={**default_calibration("xc7").power, "clock_uw_per_mhz": 20.0}
)
CONFIG_UJ = 120.0 * 4310752 / (50e3 * 4)


def estimate(latency_us: float = 100.0, energy_uj: float = 2.0) -> DesignEstimate:
    # 1000 cycles in 10 µs on the FPGA: a 100 MHz clock -> idle = 20 mW static + 2 mW clock tree = 22 mW.
    return DesignEstimate(
        cycles=1000,
        ii_cycles=1001,
        bound_cycles=900.0,
        fpga_latency_us=10.0,
        mcu_latency_us=85.0,
        transfer_us=5.0,
        latency_us=latency_us,
        throughput_per_s=1e4,
        lut=500.0,
        ff=400.0,
        dsp=2,
        bram=0.0,
        static_mw=20.0,
        dynamic_mw=3.0,
        power_mw=20.0,
        energy_uj=energy_uj,
        macs=100,
        params=110,
        fits=True,
    )


def test_device_configuration_cost() -> None:
    assert DEVICE.config_time_ms == pytest.approx(21.55376)
    assert DEVICE.config_energy_uj == pytest.approx(CONFIG_UJ) == pytest.approx(2586.4512)


def test_short_period_idles_because_reconfiguration_does_not_fit() -> None:
    result = between_requests(estimate(), DEVICE, CALIBRATION, 10.0)
    assert result.choice == IDLE
    assert result.idle_power_mw == pytest.approx(22.0)
    assert result.idle_energy_uj == pytest.approx(2.0 + 22.0 * 9.9)  # 219.8 µJ
    assert result.off_energy_uj is None and result.energy_uj == result.idle_energy_uj
    assert result.average_power_mw == pytest.approx(21.98)


def test_long_period_powers_off() -> None:
    result = between_requests(estimate(), DEVICE, CALIBRATION, 1000.0)
    assert result.choice == POWER_OFF
    assert result.off_energy_uj == pytest.approx(2588.4512)
    assert result.idle_energy_uj == pytest.approx(2.0 + 22.0 * 999.9)  # 21999.8 µJ
    assert result.energy_uj == result.off_energy_uj
    assert result.break_even_ms == pytest.approx(0.1 + 2586.4512 / 22.0)  # 117.666 ms


@pytest.mark.parametrize(("period_ms", "choice"), [(117.0, IDLE), (118.0, POWER_OFF)])
def test_choice_flips_at_the_break_even_period(period_ms: float, choice: str) -> None:
    assert between_requests(estimate(), DEVICE, CALIBRATION, period_ms).choice == choice


def test_measured_configuration_and_gated_clock_override_the_database() -> None:
    # A 40x cheaper configuration (anchors: tuning cut it about 40x) and a stopped clock: 20 mW idle.
    result = between_requests(
        estimate(), DEVICE, CALIBRATION, 10.0, config_energy_uj=50.0, config_time_ms=2.0, clock_gated=True
    )
    assert result.idle_power_mw == pytest.approx(20.0)
    assert result.choice == POWER_OFF and result.off_energy_uj == pytest.approx(52.0)
    assert result.break_even_ms == pytest.approx(0.1 + 50.0 / 20.0)


def test_calibrated_static_power_is_used() -> None:
    calibration = dataclasses.replace(CALIBRATION, static_mw=28.0)
    assert between_requests(estimate(), DEVICE, calibration, 10.0).idle_power_mw == pytest.approx(30.0)


@pytest.mark.parametrize("period_ms", [0.0, -1.0, 0.05])
def test_period_must_hold_one_inference(period_ms: float) -> None:
    with pytest.raises(ValueError, match="period_ms"):
        between_requests(estimate(), DEVICE, CALIBRATION, period_ms)
