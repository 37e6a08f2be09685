"""`dse calibrate fit` end to end on a synthetic sweep table: file round trip and effect on estimate_design."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from test_calibrate_fit import TRUE_FF, TRUE_LUT, synthetic_rows, write_rows

from contract.design import AcceleratorDesign
from contract.fixedpoint import FixedFormat
from contract.layers import DenseFolding, DenseLayer
from dse.calibrate.cli import add_calibrate_arguments, run_calibrate
from estimators import default_calibration, estimate_design, load_calibration
from estimators.calibration import FEATURES

PRIOR_XC7 = Path(__file__).resolve().parents[1] / "estimators" / "calibration" / "data" / "xc7_prior.json"


def prior_file(tmp_path: Path, power: dict[str, float], static_mw: float | None = None) -> Path:
    """The xc7 prior (non-zero LUT/FF coefficients) with fixed power numbers: tests must not depend on the shipped
    calibration, whose coefficients change with every refit."""
    data = json.loads(PRIOR_XC7.read_text())
    data = copy.deepcopy(data)
    data["power"].update(power)
    data["power"]["static_mw"] = static_mw
    path = tmp_path / "prior_xc7.json"
    path.write_text(json.dumps(data))
    return path


def small_design() -> AcceleratorDesign:
    q = FixedFormat(8, 4)
    folding = DenseFolding(pe=5, simd=3, weight_storage="lutrom")
    layer = DenseLayer(24, 12, "relu", q, FixedFormat(6, 4), q, folding=folding)
    return AcceleratorDesign((layer,), "xc7s15", 100.0)


def parse(argv: list[str]) -> object:
    import argparse

    parser = argparse.ArgumentParser()
    add_calibrate_arguments(parser)
    return parser.parse_args(argv)


def test_fit_cli_writes_a_loadable_calibration_that_changes_estimates(tmp_path: Path) -> None:
    from rich.console import Console

    table = write_rows(synthetic_rows(80, default_calibration("xc7")), tmp_path / "sweep.csv")
    out = tmp_path / "fitted.json"
    args = parse(["fit", str(table), "--family", "xc7", "--out", str(out), "--version", "test-1"])
    assert run_calibrate(args, Console(file=open(tmp_path / "log.txt", "w"))) == 0  # noqa: SIM115

    calibration = load_calibration(out)
    assert calibration.version == "test-1" and calibration.provenance["n_samples"] == 80
    assert calibration.lut == pytest.approx(TRUE_LUT, abs=1e-4) or _same_predictions(calibration.lut, TRUE_LUT)
    data = json.loads(out.read_text())
    assert set(data["lut"]) == set(FEATURES)
    assert data["errors"]["lut"]["median_abs_pct"] == pytest.approx(0.0, abs=1e-3)
    assert data["errors"]["dsp"]["exact_match"] == 1.0 and data["errors"]["bram"]["exact_match"] == 1.0
    assert data["tools"] == {"ghdl": "GHDL test", "yosys": "Yosys test", "generator": "test"}
    assert data["command"].startswith("dse calibrate fit ") and "--family xc7" in data["command"]

    default = estimate_design(small_design(), default_calibration("xc7"))
    fitted = estimate_design(small_design(), calibration)
    expected_lut = sum(c * f for c, f in zip(TRUE_LUT, _features(), strict=True))
    expected_ff = sum(c * f for c, f in zip(TRUE_FF, _features(), strict=True))
    assert fitted.lut == pytest.approx(expected_lut, rel=1e-4) and fitted.ff == pytest.approx(expected_ff, rel=1e-4)
    assert fitted.lut != pytest.approx(default.lut) and fitted.ff != pytest.approx(default.ff)
    assert fitted.cycles == default.cycles  # cycles are exact, never calibrated


def _features() -> tuple[float, ...]:
    from estimators.dense import dense_features

    layer = small_design().layers[0]
    calibration = default_calibration("xc7")
    dsps = calibration.dsp_rule.dsps_per_multiplier(layer.in_fmt.total_bits, layer.weight_fmt.total_bits)
    return dense_features(layer, dsps, calibration)


def _same_predictions(fitted: tuple[float, ...], true: tuple[float, ...]) -> bool:
    features = _features()
    return sum(map(float.__mul__, fitted, features)) == pytest.approx(sum(map(float.__mul__, true, features)))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["fit", "missing.csv", "--family", "xc7", "--out", "x.json"], "missing.csv"),
        (["fit", "{table}", "--family", "ice40", "--out", "x.json"], "another family"),
        (["fit", "{table}", "--family", "xc7", "--out", "x.json", "--base", "nope.json"], "--base"),
        (["fit", "{table}", "--family", "xc7", "--out", "x.json", "--folds", "1"], "--folds"),
        (["strategy", "--period-ms", "10", "--device", "xc9"], "--device"),
        (["strategy", "--period-ms", "0"], "--period-ms"),
        (["strategy", "--period-ms", "inf"], "--period-ms: period_ms must be a finite number > 0, got inf"),
        (
            ["strategy", "--period-ms", "10", "--device", "ice40up5k", "--calibration", "{xc7}"],
            "is for the xc7 family, but --device ice40up5k is ice40",
        ),
    ],
)
def test_bad_input_raises_value_error_naming_the_argument(tmp_path: Path, argv: list[str], message: str) -> None:
    from rich.console import Console

    table = write_rows(synthetic_rows(40, default_calibration("xc7")), tmp_path / "sweep.csv")
    xc7 = Path(__file__).resolve().parents[1] / "estimators" / "calibration" / "xc7.json"
    args = parse([a.replace("{table}", str(table)).replace("{xc7}", str(xc7)) for a in argv])
    with pytest.raises(ValueError, match=message):
        run_calibrate(args, Console(file=open(tmp_path / "log.txt", "w")))  # noqa: SIM115


def test_fit_walks_a_directory_and_skips_other_families(tmp_path: Path) -> None:
    from dse.calibrate.fitting import calibrate

    data = tmp_path / "data"
    data.mkdir()
    write_rows(synthetic_rows(40, default_calibration("xc7")), data / "xc7.csv")
    write_rows(synthetic_rows(30, default_calibration("ice40"), seed=8), data / "ice40.csv")
    (data / "notes.txt").write_text("not a report")
    outcome = calibrate([data], "ice40")
    assert outcome.resources is not None and outcome.resources.n_samples == 30
    assert sorted(outcome.inputs.skipped) == [
        f"{data / 'notes.txt'} (not a sweep table or known report)",
        f"{data / 'xc7.csv'} (a sweep table of the xc7 family)",
    ]


def test_fit_with_timing_columns_writes_an_fmax_model_and_a_packing(tmp_path: Path) -> None:
    """Rows with fmax_mhz and logic_cells (a sweep with --fmax) give the calibration its timing paths and packing;
    the written file loads and the estimator uses them."""
    from dse.calibrate.fitting import calibrate, write_calibration
    from estimators.fit import row_layer
    from estimators.timing import layer_paths, period_ns

    calibration = default_calibration("ice40")
    truth = ((9.0, 3.0, 5.0, 0.05, 0.2, 1.0, 3.0), (12.0, 0.6, 0.5, 0.0, 0.0, 1.0), (11.0, 0.2))
    rows = synthetic_rows(60, calibration, seed=9)
    for row in rows:
        row["fmax_mhz"] = 1000.0 / period_ns(layer_paths(row_layer(row), calibration), truth)
        row["logic_cells"] = 0.9 * float(row["lut"]) + 0.6 * float(row["ff"])
    outcome = calibrate([write_rows(rows, tmp_path / "timed.csv")], "ice40")
    assert outcome.limits is not None and outcome.limits.fmax_cv is not None
    assert outcome.limits.fmax_cv.median_pct < 1.0
    assert outcome.data["packing"]["lut"] == pytest.approx(0.9) and outcome.data["packing"]["ff"] == pytest.approx(0.6)
    write_calibration(outcome.data, tmp_path / "ice40.json")
    loaded = load_calibration(tmp_path / "ice40.json")
    layer = DenseLayer(16, 8, "relu", FixedFormat(8, 4), FixedFormat(8, 4), FixedFormat(8, 4), DenseFolding(2, 2))
    estimate = estimate_design(AcceleratorDesign((layer,), "ice40up5k", 12.0), loaded)
    assert estimate.fmax_mhz == pytest.approx(1000.0 / period_ns(layer_paths(layer, loaded), truth), rel=0.02)
    assert estimate.logic_cells == pytest.approx(0.9 * estimate.lut + 0.6 * estimate.ff)
