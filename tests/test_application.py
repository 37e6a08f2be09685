"""The application section: energy per request period (idle, power-off, auto, FPGA unused), deadline and power
budget as constraints with their violations named, a study that says which constraint ruled everything out, and
`dse calibrate strategy --design` on an export's design.json."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import pytest

from contract.design import AcceleratorDesign
from contract.fixedpoint import FixedFormat
from contract.layers import DenseLayer
from dse.cli import main
from dse.config import ConfigError, parse_config
from dse.search import limit_violations, run_search
from estimators import default_calibration, estimate_design, get_device
from estimators.application import period_energy
from estimators.strategy import between_requests

Q = FixedFormat(8, 4)


def _design(placement: str = "fpga") -> AcceleratorDesign:
    layers = (DenseLayer(16, 8, "relu", Q, FixedFormat(8, 6), Q), DenseLayer(8, 4, "identity", Q, FixedFormat(8, 6), Q))
    return AcceleratorDesign(tuple(replace(layer, placement=placement) for layer in layers), "xc7s15", 50.0)


def _estimate(placement: str = "fpga"):  # type: ignore[no-untyped-def]
    device = get_device("xc7s15")
    calibration = default_calibration(device.family)
    return estimate_design(_design(placement), calibration, device), device, calibration


@pytest.mark.parametrize("period_ms", [5.0, 100.0, 1000.0])
def test_idle_off_and_auto_follow_the_strategy_model(period_ms: float) -> None:
    estimate, device, calibration = _estimate()
    reference = between_requests(estimate, device, calibration, period_ms)
    idle = period_energy(estimate, device, calibration, period_ms, "idle")
    assert idle.energy_per_period_uj == pytest.approx(reference.idle_energy_uj)
    assert idle.period_power_mw == pytest.approx(reference.idle_energy_uj / period_ms)
    off = period_energy(estimate, device, calibration, period_ms, "off")
    if reference.off_energy_uj is None:
        assert math.isinf(off.energy_per_period_uj) and "does not fit" in off.strategy_reason
    else:
        assert off.energy_per_period_uj == pytest.approx(reference.off_energy_uj)
    auto = period_energy(estimate, device, calibration, period_ms, "auto")
    assert auto.energy_per_period_uj == pytest.approx(min(idle.energy_per_period_uj, off.energy_per_period_uj))
    assert auto.strategy == reference.choice


def test_long_periods_power_off_and_short_ones_idle() -> None:
    estimate, device, calibration = _estimate()
    assert period_energy(estimate, device, calibration, 10.0, "auto").strategy == "idle"
    assert period_energy(estimate, device, calibration, 5000.0, "auto").strategy == "power-off"


def test_an_all_mcu_design_never_configures_the_fpga() -> None:
    estimate, device, calibration = _estimate("mcu")
    result = period_energy(estimate, device, calibration, 100.0, "auto")
    assert result.strategy == "fpga-unused" and result.energy_per_period_uj == pytest.approx(estimate.energy_uj)


def test_an_inference_longer_than_the_period_cannot_be_served() -> None:
    estimate, device, calibration = _estimate()
    result = period_energy(estimate, device, calibration, estimate.latency_us / 2000.0, "auto")
    assert math.isinf(result.energy_per_period_uj) and "longer than the period" in result.strategy_reason


def _search(tmp_path: Path, **changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "study": {"name": "app", "seed": 0, "results_dir": str(tmp_path / "res")},
        "dataset": {"kind": "digits", "max_samples": 300},
        "model": {"hidden_layers": 1, "width": 8},
        "application": {"period_ms": 100, "deadline_ms": 5},
        "training": {"epochs": 1},
        "objectives": [{"name": "accuracy"}, {"name": "energy_per_period_uj"}],
        "search": {"n_trials": 3, "sampler": "random"},
    }
    return base | changes


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"application": {"period_ms": 10, "deadline_ms": 20}}, "deadline_ms 20 is longer than period_ms 10"),
        ({"application": {"period_ms": 0}}, "application.period_ms"),
        ({"application": {"period_ms": 10, "strategy": "sleep"}}, "application.strategy"),
        ({"application": None}, "energy_per_period_uj needs an application section"),
    ],
)
def test_bad_application_sections_name_the_field(tmp_path: Path, changes: dict[str, object], message: str) -> None:
    data = _search(tmp_path, **changes)
    if data["application"] is None:
        del data["application"]
    with pytest.raises(ConfigError, match=message):
        parse_config(data)


def test_limit_violations_are_named() -> None:
    estimate, _, _ = _estimate()
    config = parse_config(
        {
            "study": {"name": "x"},
            "dataset": {"kind": "digits"},
            "constraints": {"max_latency_us": 0.001, "max_power_mw": 0.001},
            "application": {"period_ms": 100, "deadline_ms": 0.0001, "power_budget_mw": 0.5},
            "objectives": [{"name": "accuracy"}],
        }
    )
    found = limit_violations(config, estimate, {"period_power_mw": 20.0, "strategy_reason": ""})
    assert any(text.startswith("constraints.max_latency_us: ") for text in found)
    assert any(text.startswith("constraints.max_power_mw: ") for text in found)
    assert any(text.startswith("application.deadline_ms: latency ") for text in found)
    assert "application.power_budget_mw: 20 mW > 0.5 mW" in found


def test_a_study_with_no_feasible_point_says_which_constraint_ruled_it_out(tmp_path: Path) -> None:
    config = parse_config(_search(tmp_path, application={"period_ms": 100, "deadline_ms": 0.0001}))
    summary = run_search(config)
    assert summary.pareto_size == 0
    assert any("no feasible design" in note and "deadline_ms in 3 of 3" in note for note in summary.notes)


def test_calibrate_strategy_reads_an_exports_design_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    record = {"study": "s", "trial": 3, "design": _design().to_dict(), "verified": True}
    path = tmp_path / "design.json"
    path.write_text(json.dumps(record))
    assert main(["calibrate", "strategy", "--design", str(path), "--period-ms", "10", "1000"]) == 0
    assert "power-off" in capsys.readouterr().err  # the console writes to stderr
