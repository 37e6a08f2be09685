"""Power recalibration from the real Vivado reports of the Elastic Node V5 and a synthetic board measurement."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from test_calibrate_roundtrip import prior_file, small_design

from dse.calibrate.fitting import calibrate
from dse.calibrate.power import DYNAMIC_KEYS
from dse.reports.measurements import Marker, MeasurementMetadata, Sample, write_measurement
from estimators import default_calibration, estimate_design, load_calibration

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference-reports" / "vivado-xc7s15-env5"
PRIOR = {
    "clock_uw_per_mhz": 20.0,
    "lut_uw_per_mhz": 0.05,
    "ff_uw_per_mhz": 0.02,
    "dsp_uw_per_mhz": 2.0,
    "bram_uw_per_mhz": 10.0,
}
# Reference design: 589 LUT, 1174 FF at 100 MHz; Vivado dynamic 13 mW of which 3 mW I/O -> 10 mW modelled.
PRIOR_DYNAMIC_MW = 100 * (20.0 + 0.05 * 589 + 0.02 * 1174) / 1000
RATE = 1024


def measurement_file(path: Path, idle_mw: float, active_mw: float, extra: dict[str, str]) -> Path:
    """1 s of FPGA-rail samples, split 60/30/10 % over vccint/vccaux/vcco, one window 0.25..0.75 s."""
    meta = MeasurementMetadata("elastic-node-v5", "xc7s15ftgb196-2", "cal-test", RATE, extra=extra)
    rows: list[Sample | Marker] = [Marker(0.25, "inference_start", 1000), Marker(0.75, "inference_stop", 1000)]
    for rail, share in (("fpga_vccint", 0.6), ("fpga_vccaux", 0.3), ("fpga_vcco", 0.1)):
        for t in np.arange(RATE + 1) / RATE:
            watts = (active_mw if 0.25 <= t <= 0.75 else idle_mw) * share / 1000
            rows.append(Sample(float(t), rail, 1.0, watts))
    return write_measurement(path, meta, rows)


def test_vivado_reports_set_static_and_scale_dynamic(tmp_path: Path) -> None:
    assert REFERENCE.is_dir(), f"reference reports missing at {REFERENCE}"
    outcome = calibrate([REFERENCE], "xc7", base=prior_file(tmp_path, PRIOR, static_mw=None))
    power = outcome.data["power"]
    assert power["static_mw"] == pytest.approx(20.0)  # 'Device Static (W) | 0.020'
    scale = 10.0 / PRIOR_DYNAMIC_MW  # one dynamic point: the prior's proportions, scaled to match
    for key in DYNAMIC_KEYS:
        assert power[key] == pytest.approx(PRIOR[key] * scale, rel=1e-5)
    assert outcome.resources is None  # no sweep table: LUT/FF coefficients stay those of the base
    assert outcome.data["lut"] == json.loads(prior_file(tmp_path, PRIOR).read_text())["lut"]
    # The clock-utilization report is parsed but not used; nothing in that folder is skipped as unknown.
    assert outcome.inputs.skipped == []


def test_measurement_overrides_the_tool_static_power(tmp_path: Path) -> None:
    board = tmp_path / "board"
    board.mkdir()
    extra = {"clock_mhz": "100", "lut": "589", "ff": "1174", "dsp": "0", "bram": "0"}
    measurement_file(board / "run1.csv", idle_mw=30.0, active_mw=45.0, extra=extra)
    base = prior_file(tmp_path, PRIOR, static_mw=None)
    outcome = calibrate([REFERENCE, board], "xc7", base=base)
    power = outcome.data["power"]
    # Measured idle 30 mW minus the prior clock tree (20 µW/MHz at 100 MHz = 2 mW): 28 mW, not Vivado's 20 mW.
    assert power["static_mw"] == pytest.approx(28.0, rel=1e-6)
    # Two dynamic points (Vivado 10 mW incl. clock, board 15 mW above idle excl. clock): one least-squares scale.
    p_vivado, p_board = PRIOR_DYNAMIC_MW, PRIOR_DYNAMIC_MW - 2.0
    scale = (10.0 * p_vivado + 15.0 * p_board) / (p_vivado**2 + p_board**2)
    assert power["lut_uw_per_mhz"] == pytest.approx(0.05 * scale, rel=1e-5)

    out = tmp_path / "xc7.json"
    out.write_text(json.dumps(outcome.data))
    calibration = load_calibration(out)
    assert calibration.static_mw == pytest.approx(28.0)
    default = estimate_design(small_design(), default_calibration("xc7"))
    changed = estimate_design(small_design(), calibration)
    assert changed.static_mw == pytest.approx(28.0) and changed.static_mw != default.static_mw
    assert changed.energy_uj != default.energy_uj


def test_measurement_without_idle_samples_is_rejected(tmp_path: Path) -> None:
    meta = MeasurementMetadata("elastic-node-v5", "xc7s15ftgb196-2", "x", RATE)
    rows: list[Sample | Marker] = [Marker(0.0, "inference_start", 1), Marker(1.0, "inference_stop", 1)]
    rows += [
        Sample(float(t), rail, 1.0, 0.01)
        for rail in ("fpga_vccint", "fpga_vccaux", "fpga_vcco")
        for t in (0.0, 0.5, 1.0)
    ]
    path = write_measurement(tmp_path / "m.csv", meta, rows)
    with pytest.raises(ValueError, match="idle power"):
        calibrate([path], "xc7", base=prior_file(tmp_path, PRIOR))


def test_static_only_keeps_dynamic_coefficients(tmp_path: Path) -> None:
    power_only = tmp_path / "p"
    power_only.mkdir()
    (power_only / "power.rpt").write_text((REFERENCE / "TOP_MODULE_power_routed.rpt").read_text())
    outcome = calibrate([power_only / "power.rpt"], "xc7", base=prior_file(tmp_path, PRIOR))
    assert outcome.data["power"]["static_mw"] == pytest.approx(20.0)
    assert {key: outcome.data["power"][key] for key in DYNAMIC_KEYS} == PRIOR
    assert dataclasses.asdict(outcome.power)["n_dynamic"] == 0


def test_reports_of_another_family_are_not_fitted(tmp_path: Path) -> None:
    """A Vivado (xc7) power report once gave an iCE40 calibration its static power; nextpnr reports hold nothing
    a fit uses, and a calibration that only copied its base was written anyway."""
    with pytest.raises(ValueError, match="nothing to fit for --family ice40 in .*vivado-xc7s15-env5"):
        calibrate([REFERENCE], "ice40")
    with pytest.raises(ValueError, match="power_routed.rpt': a report of the xc7 family, not --family ice40"):
        calibrate([REFERENCE / "TOP_MODULE_power_routed.rpt"], "ice40")
    nextpnr = REFERENCE.parent / "nextpnr-ice40up5k-env6mini"
    for family in ("xc7", "ice40"):
        with pytest.raises(ValueError, match=f"nothing to fit for --family {family}"):
            calibrate([nextpnr], family)
    assert calibrate([REFERENCE], "xc7").power is not None  # the right family still fits
