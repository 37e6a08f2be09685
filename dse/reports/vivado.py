"""Parsers for Vivado (7-series) text reports: utilization, power, timing summary and clock utilization."""

from __future__ import annotations

import re
from dataclasses import dataclass

from dse.reports._text import (
    DEFAULT_SOURCE,
    PipeTable,
    ReportFormatError,
    header_fields,
    parse_number,
    sectioned_pipe_tables,
)


@dataclass(frozen=True, slots=True)
class SiteUsage:
    """Used and available count of one site type. Block RAM tiles may be fractional (a RAMB18 is 0.5)."""

    used: float
    available: float | None

    @property
    def utilization(self) -> float | None:
        """Used / available as a fraction (not percent)."""
        if not self.available:
            return None
        return self.used / self.available


@dataclass(frozen=True, slots=True)
class VivadoUtilization:
    source: str
    part: str
    design: str
    design_state: str
    slice_luts: SiteUsage
    lut_as_logic: SiteUsage
    lut_as_memory: SiteUsage
    slice_registers: SiteUsage
    register_as_flip_flop: SiteUsage
    register_as_latch: SiteUsage
    f7_muxes: SiteUsage
    f8_muxes: SiteUsage
    block_ram_tiles: SiteUsage
    ramb36: SiteUsage
    ramb18: SiteUsage
    dsps: SiteUsage
    bonded_iob: SiteUsage
    primitives: dict[str, int]

    @property
    def bram36_equivalent(self) -> float:
        """Block RAM in RAMB36 units (two RAMB18 make one), computed from the primitive-site counts."""
        return self.ramb36.used + 0.5 * self.ramb18.used

    def as_resources(self) -> dict[str, float]:
        """Same keys as :func:`dse.reports.yosys.resources_from_cells` with family 'xc7'."""
        return {
            "lut": self.lut_as_logic.used,
            "ff": self.slice_registers.used,
            "dsp": self.dsps.used,
            "bram": self.block_ram_tiles.used,
            "carry": float(self.primitives.get("CARRY4", 0)),
            "lutram": self.lut_as_memory.used,
        }


def _site_rows(tables: dict[str, list[PipeTable]], section: str, source: str) -> dict[str, SiteUsage]:
    """Rows of the 'Site Type | Used | ... | Available' tables in one section, keyed by stripped site name."""
    rows: dict[str, SiteUsage] = {}
    for table in tables.get(section, []):
        used_col, avail_col = table.column("Used"), table.column("Available")
        if used_col is None or avail_col is None:
            continue
        for cells in table.rows:
            # Synthesis reports mark estimates with '*' ("Slice LUTs*"); the name stays the same otherwise.
            name = cells[0].strip().rstrip("*")
            available = cells[avail_col].strip()
            rows.setdefault(
                name,
                SiteUsage(
                    used=parse_number(cells[used_col], source, f"'{name}' Used"),
                    available=parse_number(available, source, f"'{name}' Available") if available else None,
                ),
            )
    return rows


def _require(rows: dict[str, SiteUsage], name: str, section: str, source: str) -> SiteUsage:
    if name not in rows:
        raise ReportFormatError(
            source,
            f"Vivado utilization report: no '{name}' row in section '{section}' (found {sorted(rows)})",
        )
    return rows[name]


def _require_header(text: str, source: str, command: str) -> dict[str, str]:
    """Header fields of a Vivado report written by `command`; ValueError when the text is anything else."""
    fields = header_fields(text)
    if not text.lstrip().startswith("Copyright") or "Device" not in fields or "Design" not in fields:
        raise ReportFormatError(
            source,
            f"not a Vivado {command} report: expected a 'Copyright ... Xilinx' banner and "
            "'| Device :' and '| Design :' header lines",
        )
    written_by = fields.get("Command", command).split(" ")[0]
    if written_by != command:
        raise ReportFormatError(source, f"expected {command} output, got a {written_by} report")
    return fields


def parse_utilization(text: str, source: str = DEFAULT_SOURCE) -> VivadoUtilization:
    """Parse `report_utilization` text output (synthesized or placed) for a 7-series device."""
    fields = _require_header(text, source, "report_utilization")
    tables = sectioned_pipe_tables(text)
    logic = _site_rows(tables, "Slice Logic", source)
    memory = _site_rows(tables, "Memory", source)
    dsp = _site_rows(tables, "DSP", source)
    io = _site_rows(tables, "IO and GT Specific", source)
    primitives: dict[str, int] = {}
    for table in tables.get("Primitives", []):
        for cells in table.rows:
            primitives[cells[0].strip()] = int(parse_number(cells[1], source, f"primitive {cells[0].strip()}"))
    return VivadoUtilization(
        source=source,
        part=fields["Device"],
        design=fields["Design"],
        design_state=fields.get("Design State", ""),
        slice_luts=_require(logic, "Slice LUTs", "Slice Logic", source),
        lut_as_logic=_require(logic, "LUT as Logic", "Slice Logic", source),
        lut_as_memory=_require(logic, "LUT as Memory", "Slice Logic", source),
        slice_registers=_require(logic, "Slice Registers", "Slice Logic", source),
        register_as_flip_flop=_require(logic, "Register as Flip Flop", "Slice Logic", source),
        register_as_latch=_require(logic, "Register as Latch", "Slice Logic", source),
        f7_muxes=_require(logic, "F7 Muxes", "Slice Logic", source),
        f8_muxes=_require(logic, "F8 Muxes", "Slice Logic", source),
        block_ram_tiles=_require(memory, "Block RAM Tile", "Memory", source),
        ramb36=_require(memory, "RAMB36/FIFO", "Memory", source),
        ramb18=_require(memory, "RAMB18", "Memory", source),
        dsps=_require(dsp, "DSPs", "DSP", source),
        bonded_iob=_require(io, "Bonded IOB", "IO and GT Specific", source),
        primitives=primitives,
    )


# --------------------------------------------------------------------------------------------- power


@dataclass(frozen=True, slots=True)
class PowerRail:
    """One row of the 'Power Supply Summary' table (currents in A)."""

    name: str
    voltage_v: float
    total_a: float
    dynamic_a: float
    static_a: float


@dataclass(frozen=True, slots=True)
class OnChipComponent:
    """One row of 'On-Chip Components'. Vivado prints '<0.001' for tiny values: then power_w is that bound
    (0.001) and is_upper_bound is True."""

    name: str
    power_w: float
    is_upper_bound: bool
    used: float | None
    available: float | None


@dataclass(frozen=True, slots=True)
class VivadoPower:
    source: str
    part: str
    design_state: str
    total_on_chip_w: float
    dynamic_w: float
    device_static_w: float
    junction_temperature_c: float
    confidence_level: str
    rails: dict[str, PowerRail]
    # Keys are the printed names; indented sub-rows are "Parent > Child" ("Slice Logic > LUT as Logic").
    components: dict[str, OnChipComponent]


def _optional_number(token: str, source: str, what: str) -> float | None:
    token = token.strip()
    if token in ("", "---", "NA", "-"):
        return None
    return parse_number(token, source, what)


def _power_value(token: str, source: str, what: str) -> tuple[float, bool]:
    token = token.strip()
    if token.startswith("<"):
        return parse_number(token[1:], source, what), True
    return parse_number(token, source, what), False


def parse_power(text: str, source: str = DEFAULT_SOURCE) -> VivadoPower:
    """Parse `report_power` text output."""
    fields = _require_header(text, source, "report_power")
    tables = sectioned_pipe_tables(text)
    summary: dict[str, str] = {}
    for table in tables.get("Summary", []):
        for cells in table.rows:
            if len(cells) >= 2:
                summary[cells[0].strip()] = cells[1].strip()
    for key in ("Total On-Chip Power (W)", "Dynamic (W)", "Device Static (W)", "Junction Temperature (C)"):
        if key not in summary:
            raise ReportFormatError(source, f"Vivado power report: no '{key}' row in section '1. Summary'")

    rails: dict[str, PowerRail] = {}
    for table in tables.get("Power Supply Summary", []):
        for cells in table.rows:
            name = cells[0].strip()
            rails[name] = PowerRail(
                name=name,
                voltage_v=parse_number(cells[1], source, f"rail {name} voltage"),
                total_a=parse_number(cells[2], source, f"rail {name} total current"),
                dynamic_a=parse_number(cells[3], source, f"rail {name} dynamic current"),
                static_a=parse_number(cells[4], source, f"rail {name} static current"),
            )
    if not rails:
        raise ReportFormatError(source, "Vivado power report: no rows in section '1.2 Power Supply Summary'")

    components: dict[str, OnChipComponent] = {}
    parent = ""
    for table in tables.get("On-Chip Components", []):
        for cells in table.rows:
            raw_name = cells[0].rstrip()
            name = raw_name.strip()
            indented = raw_name.startswith("   ")  # one space of padding + two of indentation
            key = f"{parent} > {name}" if indented and parent else name
            if not indented:
                parent = name
            power, is_bound = _power_value(cells[1], source, f"component {name} power")
            components[key] = OnChipComponent(
                name=name,
                power_w=power,
                is_upper_bound=is_bound,
                used=_optional_number(cells[2], source, f"component {name} used"),
                available=_optional_number(cells[3], source, f"component {name} available"),
            )

    confidence = summary.get("Confidence Level", "")
    return VivadoPower(
        source=source,
        part=fields["Device"],
        design_state=fields.get("Design State", ""),
        total_on_chip_w=parse_number(summary["Total On-Chip Power (W)"], source, "Total On-Chip Power"),
        dynamic_w=parse_number(summary["Dynamic (W)"], source, "Dynamic power"),
        device_static_w=parse_number(summary["Device Static (W)"], source, "Device Static power"),
        junction_temperature_c=parse_number(summary["Junction Temperature (C)"], source, "Junction Temperature"),
        confidence_level=confidence,
        rails=rails,
        components=components,
    )


# -------------------------------------------------------------------------------------------- timing


@dataclass(frozen=True, slots=True)
class ClockTiming:
    """One clock of the 'Clock Summary' plus its row in the 'Intra Clock Table' (None when unconstrained)."""

    name: str
    period_ns: float
    frequency_mhz: float
    wns_ns: float | None
    tns_ns: float | None
    setup_failing_endpoints: int | None
    setup_total_endpoints: int | None
    whs_ns: float | None

    @property
    def fmax_mhz(self) -> float | None:
        """The frequency at which the worst setup path would have zero slack: 1000 / (period - WNS)."""
        if self.wns_ns is None:
            return None
        return 1000.0 / (self.period_ns - self.wns_ns)


@dataclass(frozen=True, slots=True)
class VivadoTiming:
    source: str
    part: str
    design_state: str
    wns_ns: float
    tns_ns: float
    setup_failing_endpoints: int
    setup_total_endpoints: int
    whs_ns: float
    ths_ns: float
    hold_failing_endpoints: int
    wpws_ns: float
    pulse_width_failing_endpoints: int
    clocks: dict[str, ClockTiming]
    constraints_met: bool  # Vivado's own verdict line ("All user specified timing constraints are met.")

    @property
    def main_clock(self) -> ClockTiming:
        """The clock with the most setup endpoints (the one the logic runs on); ties: the first listed."""
        constrained = [c for c in self.clocks.values() if c.setup_total_endpoints is not None]
        candidates = constrained or list(self.clocks.values())
        return max(candidates, key=lambda clock: clock.setup_total_endpoints or 0)

    @property
    def fmax_mhz(self) -> float:
        """1000 / (period - WNS) of the main clock; its own intra-clock WNS, else the design-wide WNS."""
        main = self.main_clock
        wns = main.wns_ns if main.wns_ns is not None else self.wns_ns
        return 1000.0 / (main.period_ns - wns)

    @property
    def timing_met(self) -> bool:
        return self.constraints_met and self.wns_ns >= 0 and self.whs_ns >= 0 and self.wpws_ns >= 0


_DESIGN_SUMMARY_COLUMNS = 12
_INTRA_CLOCK_COLUMNS = 12  # WNS, TNS, failing, total, WHS, THS, failing, total, WPWS, TPWS, failing, total


def _block_after(lines: list[str], title: str) -> list[str]:
    """Data lines of a '| Title' block: after its column header and dashed underline, up to a blank line."""
    title_index = next((i for i, line in enumerate(lines) if line.strip() == f"| {title}"), None)
    if title_index is None:
        return []
    start = title_index + 1
    while start < len(lines) and not lines[start].lstrip().startswith("-------"):
        start += 1
    # Skip the closing rule of the title box, then the column header, then its dashed underline.
    start += 1
    while start < len(lines) and not lines[start].lstrip().startswith("-"):
        start += 1
    start += 1
    block = []
    while start < len(lines) and lines[start].strip():
        block.append(lines[start])
        start += 1
    return block


def _timing_number(token: str, source: str, what: str) -> float:
    return float("inf") if token == "inf" else parse_number(token, source, what)


def parse_timing_summary(text: str, source: str = DEFAULT_SOURCE) -> VivadoTiming:
    """Parse `report_timing_summary` text output."""
    fields = _require_header(text, source, "report_timing_summary")
    lines = text.splitlines()
    summary = _block_after(lines, "Design Timing Summary")
    tokens = summary[0].split() if summary else []
    if len(tokens) != _DESIGN_SUMMARY_COLUMNS:
        raise ReportFormatError(
            source,
            "Vivado timing summary: expected a '| Design Timing Summary' block with one row of "
            f"{_DESIGN_SUMMARY_COLUMNS} numbers (WNS ... TPWS Total Endpoints), got {tokens}",
        )
    values = [_timing_number(token, source, "Design Timing Summary") for token in tokens]

    intra: dict[str, list[str]] = {}
    for line in _block_after(lines, "Intra Clock Table"):
        parts = line.split()
        intra[parts[0]] = parts[1:]
    clocks: dict[str, ClockTiming] = {}
    for line in _block_after(lines, "Clock Summary"):
        # 'name  {rise fall}  period  frequency'; generated clocks are indented by two spaces.
        match = re.match(r"^\s*(\S+)\s+\{[^}]*\}\s+(\S+)\s+(\S+)", line)
        if not match:
            raise ReportFormatError(source, f"Vivado timing summary: unreadable Clock Summary line {line!r}")
        name = match.group(1)
        row = intra.get(name, [])
        has_row = len(row) == _INTRA_CLOCK_COLUMNS
        clocks[name] = ClockTiming(
            name=name,
            period_ns=parse_number(match.group(2), source, f"clock {name} period"),
            frequency_mhz=parse_number(match.group(3), source, f"clock {name} frequency"),
            wns_ns=_timing_number(row[0], source, f"clock {name} WNS") if has_row else None,
            tns_ns=_timing_number(row[1], source, f"clock {name} TNS") if has_row else None,
            setup_failing_endpoints=int(row[2]) if has_row else None,
            setup_total_endpoints=int(row[3]) if has_row else None,
            whs_ns=_timing_number(row[4], source, f"clock {name} WHS") if has_row else None,
        )
    if not clocks:
        raise ReportFormatError(source, "Vivado timing summary: no clocks in the '| Clock Summary' block")

    if "All user specified timing constraints are met." in text:
        constraints_met = True
    elif "Timing constraints are not met." in text:
        constraints_met = False
    else:
        raise ReportFormatError(source, "Vivado timing summary: no 'timing constraints are (not) met' verdict")
    return VivadoTiming(
        source=source,
        part=fields["Device"],
        design_state=fields.get("Design State", ""),
        wns_ns=values[0],
        tns_ns=values[1],
        setup_failing_endpoints=int(values[2]),
        setup_total_endpoints=int(values[3]),
        whs_ns=values[4],
        ths_ns=values[5],
        hold_failing_endpoints=int(values[6]),
        wpws_ns=values[8],
        pulse_width_failing_endpoints=int(values[10]),
        clocks=clocks,
        constraints_met=constraints_met,
    )


# -------------------------------------------------------------------------------- clock utilization


@dataclass(frozen=True, slots=True)
class GlobalClock:
    """One row of 'Global Clock Resources': a BUFG-driven clock net."""

    global_id: str
    clock: str
    period_ns: float | None
    clock_loads: int
    net: str


@dataclass(frozen=True, slots=True)
class VivadoClockUtilization:
    source: str
    part: str
    primitives: dict[str, SiteUsage]  # BUFGCTRL, BUFH, MMCM, PLL, ...
    global_clocks: list[GlobalClock]


def _column(table: PipeTable, name: str, source: str) -> int:
    index = table.column(name)
    if index is None:
        raise ReportFormatError(source, f"Vivado clock utilization: no column {name!r} in {table.header}")
    return index


def parse_clock_utilization(text: str, source: str = DEFAULT_SOURCE) -> VivadoClockUtilization:
    """Parse `report_clock_utilization` text output (primitive usage and the global clock nets)."""
    fields = _require_header(text, source, "report_clock_utilization")
    tables = sectioned_pipe_tables(text)
    primitives: dict[str, SiteUsage] = {}
    for table in tables.get("Clock Primitive Utilization", []):
        for cells in table.rows:
            name = cells[0].strip()
            primitives[name] = SiteUsage(
                used=parse_number(cells[1], source, f"{name} Used"),
                available=parse_number(cells[2], source, f"{name} Available"),
            )
    if not primitives:
        raise ReportFormatError(source, "Vivado clock utilization: no '1. Clock Primitive Utilization' table")
    global_clocks: list[GlobalClock] = []
    for table in tables.get("Global Clock Resources", []):
        id_col, clock_col, period_col, loads_col, net_col = (
            _column(table, name, source) for name in ("Global Id", "Clock", "Clock Period", "Clock Loads", "Net")
        )
        for cells in table.rows:
            period = cells[period_col].strip()
            global_clocks.append(
                GlobalClock(
                    global_id=cells[id_col].strip(),
                    clock=cells[clock_col].strip(),
                    period_ns=parse_number(period, source, "clock period") if period else None,
                    clock_loads=int(parse_number(cells[loads_col], source, "clock loads")),
                    net=cells[net_col].strip(),
                )
            )
    return VivadoClockUtilization(
        source=source, part=fields["Device"], primitives=primitives, global_clocks=global_clocks
    )
