"""The feedback loop end to end: Vivado reports + a board measurement -> `dse calibrate fit` -> the next search."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from test_calibrate_power import REFERENCE, measurement_file
from test_search import tiny_config

from dse.cli import main
from dse.search import run_search
from estimators import load_calibration

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.e2e  # a whole search: in `make test`, not in `make test-fast`
def test_recalibration_changes_the_next_search(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    shutil.copytree(REFERENCE, reports)
    extra = {"clock_mhz": "100", "lut": "589", "ff": "1174", "dsp": "0", "bram": "0"}
    measurement_file(reports / "board_run.csv", idle_mw=31.0, active_mw=47.0, extra=extra)
    calibration_file = tmp_path / "xc7-board.json"
    assert (
        main(
            [
                "calibrate",
                "fit",
                str(reports),
                "--family",
                "xc7",
                "--out",
                str(calibration_file),
                "--base",
                str(REPO / "estimators" / "calibration" / "xc7.json"),
            ]
        )
        == 0
    )
    calibration = load_calibration(calibration_file)
    base = load_calibration(REPO / "estimators" / "calibration" / "xc7.json")
    # Measured idle power beats Vivado's 20 mW estimate: 31 mW minus the base model's clock tree at 100 MHz.
    clock_tree_mw = 100 * base.power["clock_uw_per_mhz"] / 1000
    assert calibration.static_mw == pytest.approx(31.0 - clock_tree_mw, rel=1e-3)

    before = run_search(tiny_config(3), results_dir=tmp_path / "default").results_dir
    changed = tiny_config(3).model_copy(update={"calibration": calibration_file})
    after = run_search(changed, results_dir=tmp_path / "calibrated").results_dir
    old, new = pd.read_csv(before / "trials.csv"), pd.read_csv(after / "trials.csv")
    # Same seed, same candidates: only the estimates moved.
    assert (old["param_width_0"] == new["param_width_0"]).all()
    assert (old["est_cycles"] == new["est_cycles"]).all()
    assert (old["est_static_mw"] == 20.0).all()
    assert new["est_static_mw"].to_numpy() == pytest.approx(calibration.static_mw)
    assert (new["est_energy_uj"] > old["est_energy_uj"]).all()
