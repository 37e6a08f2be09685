"""detect_and_parse: every file in ../shared/reference-reports and tests/data/reports is recognised."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from reference_reports import REFERENCE_REPORTS

from dse.reports import detect_and_parse, detect_kind
from dse.reports.measurements import Measurement
from dse.reports.nextpnr import IcetimeReport, NextpnrLog
from dse.reports.simulation import SimulationResult
from dse.reports.vivado import VivadoClockUtilization, VivadoPower, VivadoTiming, VivadoUtilization
from dse.reports.yosys import YosysStat

REFERENCE_DIR = REFERENCE_REPORTS
DATA_DIR = Path(__file__).resolve().parent / "data" / "reports"

# Every report file of the shared folder, with its kind; README and LICENSE are not reports.
REFERENCE_KINDS = {
    "vivado-xc7s15-env5/TOP_MODULE_utilization_placed.rpt": ("vivado_utilization", VivadoUtilization),
    "vivado-xc7s15-env5/TOP_MODULE_power_routed.rpt": ("vivado_power", VivadoPower),
    "vivado-xc7s15-env5/TOP_MODULE_timing_summary_routed.rpt": ("vivado_timing", VivadoTiming),
    "vivado-xc7s15-env5/TOP_MODULE_clock_utilization_routed.rpt": (
        "vivado_clock_utilization",
        VivadoClockUtilization,
    ),
    "nextpnr-ice40up5k-env6mini/TOP_MODULE_util_impl.rpt": ("nextpnr_log", NextpnrLog),
    "nextpnr-ice40up5k-env6mini/TOP_MODULE_util_sync.rpt": ("yosys_stat", YosysStat),
    "nextpnr-ice40up5k-env6mini/TOP_MODULE_timing.rpt": ("icetime_report", IcetimeReport),
}
DATA_KINDS = {
    "yosys023_xc7_stat.txt": ("yosys_stat", YosysStat),
    "yosys023_xc7_stat.json": ("yosys_stat_json", YosysStat),
    "yosys023_ice40_stat.txt": ("yosys_stat", YosysStat),
    "elastic_node_measurement.csv": ("measurement", Measurement),
}


def test_reference_folder_is_present_and_fully_covered() -> None:
    if not REFERENCE_DIR.is_dir():
        pytest.fail(f"{REFERENCE_DIR} is missing: the shared folder must be checked out beside the repo")
    files = {
        path.relative_to(REFERENCE_DIR).as_posix()
        for path in REFERENCE_DIR.rglob("*")
        if path.is_file() and not path.name.startswith(("README", "LICENSE"))
    }
    assert files == set(REFERENCE_KINDS), "a reference report was added or removed: map it in REFERENCE_KINDS"


@pytest.mark.parametrize("relative", sorted(REFERENCE_KINDS))
def test_reference_reports(relative: str) -> None:
    path = REFERENCE_DIR / relative
    if not path.is_file():
        pytest.fail(f"reference report {path} is missing: the shared folder must be checked out beside the repo")
    kind, result_type = REFERENCE_KINDS[relative]
    assert detect_kind(path.read_text(encoding="utf-8")) == kind
    result = detect_and_parse(path)
    assert isinstance(result, result_type)
    assert getattr(result, "source", str(path)) == str(path)


@pytest.mark.parametrize("name", sorted(DATA_KINDS))
def test_data_reports(name: str) -> None:
    kind, result_type = DATA_KINDS[name]
    assert detect_kind((DATA_DIR / name).read_text(encoding="utf-8")) == kind
    assert isinstance(detect_and_parse(DATA_DIR / name), result_type)


def test_simulation_json(tmp_path: Path) -> None:
    path = tmp_path / "sim.json"
    path.write_text(json.dumps({"passed": True, "n_vectors": 5, "mismatches": 0, "latency_cycles": 9, "ii_cycles": 10}))
    result = detect_and_parse(path)
    assert isinstance(result, SimulationResult)
    assert result.latency_cycles == 9


def test_unknown_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("nothing to see\n")
    with pytest.raises(ValueError, match=r"notes\.txt: unrecognised report: expected a Vivado report_utilization"):
        detect_and_parse(path)
    (tmp_path / "other.json").write_text('{"hello": 1}')
    with pytest.raises(ValueError, match=r"other\.json: unrecognised report"):
        detect_and_parse(tmp_path / "other.json")
