"""Parsers for the iCE40 open-source flow: the nextpnr-ice40 log (device utilisation, max frequency per clock,
critical paths) and the icetime critical-path report (`icetime -r`).

The post-synthesis utilisation report of that flow is yosys `stat` output: parse it with
:func:`dse.reports.yosys.parse_stat`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dse.reports._text import DEFAULT_SOURCE, ReportFormatError


@dataclass(frozen=True, slots=True)
class BelUsage:
    """One 'Device utilisation' row, e.g. ICESTORM_LC: 162/5280 3%."""

    used: int
    available: int
    percent: int  # as printed by nextpnr (truncated integer)


@dataclass(frozen=True, slots=True)
class ClockFmax:
    """'Max frequency for clock ...: X MHz (PASS at Y MHz)'."""

    clock: str
    fmax_mhz: float
    passed: bool
    target_mhz: float


@dataclass(frozen=True, slots=True)
class CriticalPath:
    """A 'Critical path report for ...' summary: the path name as printed and its logic/routing delay."""

    path: str
    logic_ns: float
    routing_ns: float

    @property
    def total_ns(self) -> float:
        return self.logic_ns + self.routing_ns


@dataclass(frozen=True, slots=True)
class NextpnrLog:
    source: str
    utilisation: dict[str, BelUsage]
    # nextpnr reports timing after placement and again after routing; these are the last (post-route) values.
    clocks: dict[str, ClockFmax]
    max_delays_ns: dict[str, float]  # '<async> -> posedge CLK_SYS' -> 15.17
    critical_paths: list[CriticalPath]

    @property
    def logic_cells(self) -> BelUsage:
        return self.utilisation["ICESTORM_LC"]

    @property
    def fmax_mhz(self) -> float | None:
        """Lowest post-route fmax over all clocks (None for a design without clocked paths)."""
        return min((clock.fmax_mhz for clock in self.clocks.values()), default=None)


_UTILISATION_ROW = re.compile(r"^Info:\s+(\w+):\s+(\d+)/\s*(\d+)\s+(\d+)%\s*$")
_FMAX = re.compile(r"Max frequency for clock\s+'([^']+)':\s+([\d.]+) MHz \((PASS|FAIL) at ([\d.]+) MHz\)")
_MAX_DELAY = re.compile(r"^Info: Max delay (.+?)\s+->\s+(.+?)\s*:\s+([\d.]+) ns\s*$")
_PATH_HEADER = re.compile(r"^Info: Critical path report for (.+?):?\s*$")
_PATH_SUMMARY = re.compile(r"^Info: ([\d.]+) ns logic, ([\d.]+) ns routing\s*$")


def parse_log(text: str, source: str = DEFAULT_SOURCE) -> NextpnrLog:
    """Parse a nextpnr-ice40 log (stdout/stderr or --log file)."""
    lines = text.splitlines()
    starts = [index for index, line in enumerate(lines) if line.startswith("Info: Device utilisation:")]
    if not starts:
        raise ReportFormatError(source, "not a nextpnr log: expected an 'Info: Device utilisation:' block")
    utilisation: dict[str, BelUsage] = {}
    for line in lines[starts[-1] + 1 :]:
        row = _UTILISATION_ROW.match(line)
        if not row:
            break
        utilisation[row.group(1)] = BelUsage(int(row.group(2)), int(row.group(3)), int(row.group(4)))
    if "ICESTORM_LC" not in utilisation:
        raise ReportFormatError(source, "nextpnr log: the 'Device utilisation' block has no ICESTORM_LC row")

    clocks: dict[str, ClockFmax] = {}
    max_delays: dict[str, float] = {}
    critical_paths: dict[str, CriticalPath] = {}
    pending_path: str | None = None
    for line in lines:
        if fmax := _FMAX.search(line):
            clock = fmax.group(1)
            clocks[clock] = ClockFmax(clock, float(fmax.group(2)), fmax.group(3) == "PASS", float(fmax.group(4)))
        elif delay := _MAX_DELAY.match(line):
            max_delays[f"{delay.group(1).strip()} -> {delay.group(2).strip()}"] = float(delay.group(3))
        elif header := _PATH_HEADER.match(line):
            pending_path = header.group(1)
        elif (summary := _PATH_SUMMARY.match(line)) and pending_path is not None:
            critical_paths[pending_path] = CriticalPath(pending_path, float(summary.group(1)), float(summary.group(2)))
            pending_path = None
    return NextpnrLog(
        source=source,
        utilisation=utilisation,
        clocks=clocks,
        max_delays_ns=max_delays,
        critical_paths=list(critical_paths.values()),
    )


@dataclass(frozen=True, slots=True)
class IcetimeReport:
    """`icetime -r` critical-path report: total delay, the frequency it allows and the logic depth."""

    source: str
    total_path_delay_ns: float
    fmax_mhz: float
    logic_levels: int
    net_names: list[str]  # 'Resolvable net names on path', in path order


_ICETIME_TOTAL = re.compile(r"^Total path delay: ([\d.]+) ns \(([\d.]+) MHz\)\s*$", re.MULTILINE)
_ICETIME_LEVELS = re.compile(r"^Total number of logic levels: (\d+)\s*$", re.MULTILINE)
_ICETIME_NET = re.compile(r"^\s*[\d.]+ ns \.\.\s*[\d.]+ ns (\S+)\s*$")


def parse_icetime_report(text: str, source: str = DEFAULT_SOURCE) -> IcetimeReport:
    """Parse the critical-path report written by `icetime -r <file>`."""
    total = _ICETIME_TOTAL.search(text)
    if not text.lstrip().startswith("Report for critical path:") or total is None:
        raise ReportFormatError(
            source,
            "not an icetime critical-path report: expected 'Report for critical path:' at the top and a "
            "'Total path delay: X ns (Y MHz)' line",
        )
    levels = _ICETIME_LEVELS.search(text)
    net_names: list[str] = []
    in_nets = False
    for line in text.splitlines():
        if line.startswith("Resolvable net names on path:"):
            in_nets = True
        elif in_nets:
            net = _ICETIME_NET.match(line)
            if not net:
                break
            net_names.append(net.group(1))
    return IcetimeReport(
        source=source,
        total_path_delay_ns=float(total.group(1)),
        fmax_mhz=float(total.group(2)),
        logic_levels=int(levels.group(1)) if levels else 0,
        net_names=net_names,
    )
