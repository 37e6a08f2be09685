"""Parsers for tool reports (Vivado, yosys, nextpnr/icetime), simulation results and board power measurements.

`detect_and_parse(path)` recognises the kind of a file from its content and returns the typed result.
"""

from __future__ import annotations

import json
from pathlib import Path

from dse.reports import measurements, nextpnr, simulation, vivado, yosys
from dse.reports._text import ReportFormatError, header_fields
from dse.reports.measurements import FORMAT_ID, Measurement, load_measurement
from dse.reports.nextpnr import IcetimeReport, NextpnrLog
from dse.reports.simulation import SimulationResult
from dse.reports.vivado import VivadoClockUtilization, VivadoPower, VivadoTiming, VivadoUtilization
from dse.reports.yosys import YosysStat

Report = (
    VivadoUtilization
    | VivadoPower
    | VivadoTiming
    | VivadoClockUtilization
    | YosysStat
    | NextpnrLog
    | IcetimeReport
    | SimulationResult
    | Measurement
)

KINDS = (
    "vivado_utilization",
    "vivado_power",
    "vivado_timing",
    "vivado_clock_utilization",
    "yosys_stat",
    "yosys_stat_json",
    "nextpnr_log",
    "icetime_report",
    "simulation_json",
    "measurement",
)

_VIVADO_COMMANDS = {
    "report_utilization": "vivado_utilization",
    "report_power": "vivado_power",
    "report_timing_summary": "vivado_timing",
    "report_clock_utilization": "vivado_clock_utilization",
}


def detect_kind(text: str, source: str = "<text>") -> str:
    """One of KINDS, decided from the content alone (file names differ between flows)."""
    stripped = text.lstrip()
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except json.JSONDecodeError:
            data = None
        if isinstance(data, dict) and "modules" in data:
            return "yosys_stat_json"
        if isinstance(data, dict) and "passed" in data:
            return "simulation_json"
    if stripped.startswith("Copyright") and "Xilinx" in stripped[:200]:
        command = header_fields(text).get("Command", "").split(" ")[0]
        if command in _VIVADO_COMMANDS:
            return _VIVADO_COMMANDS[command]
    if stripped.startswith("#") and f"format: {FORMAT_ID}" in stripped[:2000]:
        return "measurement"
    if "Info: Device utilisation:" in text:
        return "nextpnr_log"
    if stripped.startswith("Report for critical path:"):
        return "icetime_report"
    if "=== " in text and ("Number of cells" in text or " cells\n" in text):
        return "yosys_stat"
    raise ReportFormatError(
        source,
        "unrecognised report: expected a Vivado report_utilization/report_power/report_timing_summary/"
        "report_clock_utilization file, yosys stat (text or -json), a nextpnr-ice40 log, an icetime report, "
        f"a simulation result JSON or a '{FORMAT_ID}' measurement CSV",
    )


def detect_and_parse(path: str | Path) -> Report:
    """Parse any supported report file into its typed result."""
    path = Path(path)
    text = path.read_text(encoding="utf-8", errors="replace")
    source = str(path)
    kind = detect_kind(text, source)
    if kind == "measurement":
        return load_measurement(path)
    parsers = {
        "vivado_utilization": vivado.parse_utilization,
        "vivado_power": vivado.parse_power,
        "vivado_timing": vivado.parse_timing_summary,
        "vivado_clock_utilization": vivado.parse_clock_utilization,
        "yosys_stat": yosys.parse_stat,
        "yosys_stat_json": yosys.parse_stat_json,
        "nextpnr_log": nextpnr.parse_log,
        "icetime_report": nextpnr.parse_icetime_report,
        "simulation_json": simulation.parse_simulation_result,
    }
    return parsers[kind](text, source)


__all__ = [
    "KINDS",
    "Report",
    "ReportFormatError",
    "detect_and_parse",
    "detect_kind",
    "measurements",
    "nextpnr",
    "simulation",
    "vivado",
    "yosys",
]
