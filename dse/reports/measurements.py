"""Elastic Node V5 power measurements: the file format of docs/measurement-format.md, its reader and writer,
and the energy-per-inference analysis."""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

FORMAT_ID = "elastic-node-power/1"


@dataclass(frozen=True, slots=True)
class RailInfo:
    monitor: int  # PAC1934 I2C address
    default_channel: int  # channel the writer fills in; the reader accepts any 1..4 used consistently
    nominal_v: float | None
    description: str


RAILS: dict[str, RailInfo] = {
    "fpga_vcco": RailInfo(0x12, 1, 3.3, "FPGA I/O banks (VCCO)"),
    "fpga_vccaux": RailInfo(0x12, 2, 1.8, "FPGA auxiliary 1V8 (VCCAUX)"),
    "fpga_vccint": RailInfo(0x12, 3, 1.0, "FPGA core 1V (VCCINT)"),
    "fpga_sram": RailInfo(0x12, 4, None, "FPGA SRAM"),
    "sensors": RailInfo(0x11, 1, None, "sensors"),
    "raw_input": RailInfo(0x11, 2, None, "raw board input"),
    "mcu": RailInfo(0x11, 3, None, "RP2040 MCU"),
    "wifi": RailInfo(0x11, 4, None, "Wi-Fi module"),
}
# The FPGA die supplies, the same rails Vivado's power report estimates.
FPGA_RAILS: tuple[str, ...] = ("fpga_vccint", "fpga_vccaux", "fpga_vcco")
MARKER_RAIL = "marker"
START, STOP = "inference_start", "inference_stop"
EVENTS = (START, STOP)
REQUIRED_COLUMNS = ("timestamp_s", "monitor", "channel", "rail", "voltage_v", "current_a", "power_w")
OPTIONAL_COLUMNS = ("event", "count", "energy_j")
REQUIRED_METADATA = ("format", "board", "fpga_part", "design_id", "sample_rate_hz", "sense_resistor_ohm")


class MeasurementFormatError(ValueError):
    """A measurement file breaks the format; the message names the file, line and column."""

    def __init__(self, source: str, line: int | None, problem: str) -> None:
        where = f"{source}, line {line}" if line is not None else source
        super().__init__(f"{where}: {problem}")
        self.source = source
        self.line = line


# --------------------------------------------------------------------------------------- data model


@dataclass(frozen=True, slots=True)
class MeasurementMetadata:
    board: str
    fpga_part: str
    design_id: str
    sample_rate_hz: float
    sense_resistor_ohm: float = 0.82
    firmware_version: str | None = None
    bitstream_sha256: str | None = None
    monitor_addresses: tuple[int, ...] = (0x11, 0x12)
    extra: dict[str, str] = field(default_factory=dict)  # any further '# key: value' lines

    def as_header(self) -> dict[str, str]:
        header = {
            "format": FORMAT_ID,
            "board": self.board,
            "fpga_part": self.fpga_part,
            "design_id": self.design_id,
            "sample_rate_hz": _format_number(self.sample_rate_hz),
            "sense_resistor_ohm": _format_number(self.sense_resistor_ohm),
            "monitor_addresses": ",".join(f"0x{address:02x}" for address in self.monitor_addresses),
        }
        if self.firmware_version is not None:
            header["firmware_version"] = self.firmware_version
        if self.bitstream_sha256 is not None:
            header["bitstream_sha256"] = self.bitstream_sha256
        return {**header, **self.extra}


@dataclass(frozen=True, slots=True)
class Sample:
    """One PAC1934 reading of one rail. power_w None means voltage_v * current_a."""

    timestamp_s: float
    rail: str
    voltage_v: float
    current_a: float
    power_w: float | None = None


@dataclass(frozen=True, slots=True)
class Marker:
    """inference_start / inference_stop; count = inferences looped inside the window."""

    timestamp_s: float
    event: str
    count: int | None = None


@dataclass(frozen=True, slots=True)
class AccumulatedEnergy:
    """PAC1934 accumulator reading: energy of one rail over the whole enclosing inference window."""

    timestamp_s: float
    rail: str
    energy_j: float
    count: int | None = None


@dataclass(frozen=True, slots=True)
class RailSamples:
    time_s: np.ndarray
    voltage_v: np.ndarray
    current_a: np.ndarray
    power_w: np.ndarray


@dataclass(frozen=True, slots=True)
class InferenceWindow:
    start_s: float
    stop_s: float
    count: int
    line: int  # line of its inference_start, for error messages

    @property
    def duration_s(self) -> float:
        return self.stop_s - self.start_s


@dataclass(frozen=True, slots=True)
class Measurement:
    source: str
    metadata: MeasurementMetadata
    samples: dict[str, RailSamples]
    windows: list[InferenceWindow]
    accumulated: dict[tuple[int, str], float]  # (window index, rail) -> energy in J


# ------------------------------------------------------------------------------------------- reader


def _format_number(value: float) -> str:
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


def _read_metadata(source: str, header: dict[str, tuple[int, str]]) -> MeasurementMetadata:
    missing = [key for key in REQUIRED_METADATA if key not in header]
    if missing:
        raise MeasurementFormatError(
            source,
            None,
            f"missing metadata {missing}: the file must start with '# key: value' lines for "
            f"{', '.join(REQUIRED_METADATA)}",
        )
    line, format_id = header["format"]
    if format_id != FORMAT_ID:
        raise MeasurementFormatError(source, line, f"format must be {FORMAT_ID!r}, got {format_id!r}")

    def number(key: str) -> float:
        key_line, text = header[key]
        value = _to_float(text)
        if value is None or not value > 0:
            raise MeasurementFormatError(source, key_line, f"{key} must be a positive number, got {text!r}")
        return value

    addresses: tuple[int, ...] = (0x11, 0x12)
    if "monitor_addresses" in header:
        key_line, text = header["monitor_addresses"]
        parsed = [_to_address(part) for part in text.split(",")]
        if any(address is None for address in parsed):
            raise MeasurementFormatError(source, key_line, f"monitor_addresses must be like '0x11,0x12': {text!r}")
        addresses = tuple(address for address in parsed if address is not None)
    known = {*REQUIRED_METADATA, "firmware_version", "bitstream_sha256", "monitor_addresses"}
    return MeasurementMetadata(
        board=header["board"][1],
        fpga_part=header["fpga_part"][1],
        design_id=header["design_id"][1],
        sample_rate_hz=number("sample_rate_hz"),
        sense_resistor_ohm=number("sense_resistor_ohm"),
        firmware_version=header["firmware_version"][1] if "firmware_version" in header else None,
        bitstream_sha256=header["bitstream_sha256"][1] if "bitstream_sha256" in header else None,
        monitor_addresses=addresses,
        extra={key: value for key, (_, value) in header.items() if key not in known},
    )


def _to_float(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _to_address(text: str) -> int | None:
    try:
        return int(text.strip(), 0)
    except ValueError:
        return None


class _RowReader:
    """Typed access to one CSV row with errors that name file, line and column."""

    def __init__(self, source: str, line: int, row: dict[str, str]) -> None:
        self.source, self.line, self.row = source, line, row

    def error(self, problem: str) -> MeasurementFormatError:
        return MeasurementFormatError(self.source, self.line, problem)

    def text(self, column: str) -> str:
        return self.row.get(column, "").strip()

    def number(self, column: str) -> float:
        value = self.optional_number(column)
        if value is None:
            raise self.error(f"column {column!r} must hold a number on {self.text('rail') or 'this'} rows")
        return value

    def optional_number(self, column: str) -> float | None:
        text = self.text(column)
        if not text:
            return None
        value = _to_float(text)
        if value is None:
            raise self.error(f"column {column!r}: expected a finite number, got {text!r}")
        return value

    def count(self) -> int | None:
        text = self.text("count")
        if not text:
            return None
        if not text.isdigit() or int(text) < 1:
            raise self.error(f"column 'count': expected a whole number >= 1, got {text!r}")
        return int(text)

    def must_be_empty(self, columns: Sequence[str], kind: str) -> None:
        filled = [column for column in columns if self.text(column)]
        if filled:
            raise self.error(f"{kind} rows leave {filled} empty")


@dataclass(slots=True)
class _Collected:
    samples: dict[str, list[tuple[float, float, float, float]]] = field(default_factory=dict)
    # rail -> (monitor, channel, line of first use); a rail keeps its channel for the whole file
    channels: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    windows: list[InferenceWindow] = field(default_factory=list)
    accumulated: list[tuple[int, AccumulatedEnergy]] = field(default_factory=list)  # (line, reading)
    open_start: tuple[float, int, int] | None = None  # (time, count, line)


def _read_sample_or_accumulator(reader: _RowReader, rail: str, time: float, data: _Collected) -> None:
    info = RAILS[rail]
    monitor = _to_address(reader.text("monitor"))
    if monitor != info.monitor:
        raise reader.error(
            f"column 'monitor': rail {rail!r} is on monitor 0x{info.monitor:02x}, got {reader.text('monitor')!r}"
        )
    channel_text = reader.text("channel")
    if channel_text not in ("1", "2", "3", "4"):
        raise reader.error(f"column 'channel': expected a PAC1934 channel 1..4, got {channel_text!r}")
    channel = int(channel_text)
    if rail not in data.channels:
        for other, (other_monitor, other_channel, other_line) in data.channels.items():
            if (other_monitor, other_channel) == (monitor, channel):
                raise reader.error(
                    f"monitor 0x{monitor:02x} channel {channel} already carries {other!r} (line {other_line})"
                )
        data.channels[rail] = (monitor, channel, reader.line)
    known_channel, known_line = data.channels[rail][1:]
    if known_channel != channel:
        raise reader.error(f"rail {rail!r} was on channel {known_channel} at line {known_line}, now on {channel}")
    reader.must_be_empty(["event"], "sample and accumulated-energy")

    energy = reader.optional_number("energy_j")
    if energy is not None:
        reader.must_be_empty(["voltage_v", "current_a", "power_w"], "accumulated-energy (energy_j)")
        if energy < 0:
            raise reader.error(f"column 'energy_j' must be >= 0, got {energy}")
        data.accumulated.append((reader.line, AccumulatedEnergy(time, rail, energy, reader.count())))
        return
    if reader.text("count"):
        raise reader.error("column 'count' belongs on marker or accumulated-energy rows, not on samples")
    voltage = reader.number("voltage_v")
    current = reader.number("current_a")
    power = reader.optional_number("power_w")
    # A supply rail only draws power; a negative reading is a wiring or sign error and would move the static fit.
    for column, value in (("voltage_v", voltage), ("current_a", current), ("power_w", power)):
        if value is not None and value < 0:
            raise reader.error(f"column {column!r} must be >= 0 (a rail draws power), got {value}")
    rows = data.samples.setdefault(rail, [])
    if rows and time <= rows[-1][0]:
        raise reader.error(f"two samples of rail {rail!r} at t = {time} s (timestamps must increase per rail)")
    rows.append((time, voltage, current, voltage * current if power is None else power))


def _read_marker(reader: _RowReader, time: float, data: _Collected) -> None:
    reader.must_be_empty(["monitor", "channel", "voltage_v", "current_a", "power_w", "energy_j"], "marker")
    event = reader.text("event")
    if event not in EVENTS:
        raise reader.error(f"column 'event': marker rows need one of {EVENTS}, got {event!r}")
    count = reader.count()
    if event == START:
        if data.open_start is not None:
            raise reader.error(f"{START} while the window opened at line {data.open_start[2]} is still open")
        if count is None:
            raise reader.error(f"{START} needs 'count' (number of looped inferences, >= 1)")
        data.open_start = (time, count, reader.line)
        return
    if data.open_start is None:
        raise reader.error(f"{STOP} without a preceding {START}")
    start_time, start_count, start_line = data.open_start
    if count is not None and count != start_count:
        raise reader.error(f"{STOP} count {count} differs from count {start_count} of its start (line {start_line})")
    if time <= start_time:
        raise reader.error(f"window of line {start_line} has zero length")
    data.windows.append(InferenceWindow(start_time, time, start_count, start_line))
    data.open_start = None


def _assign_accumulated(source: str, data: _Collected) -> dict[tuple[int, str], float]:
    # A reading belongs to the window with start < t <= stop (firmware reads the accumulators at the stop).
    assigned: dict[tuple[int, str], float] = {}
    for line, reading in data.accumulated:
        matches = [i for i, w in enumerate(data.windows) if w.start_s < reading.timestamp_s <= w.stop_s]
        if not matches:
            raise MeasurementFormatError(source, line, "accumulated-energy row outside every inference window")
        window = data.windows[matches[0]]
        if reading.count is not None and reading.count != window.count:
            raise MeasurementFormatError(
                source,
                line,
                f"count {reading.count} differs from count {window.count} of its window (line {window.line})",
            )
        key = (matches[0], reading.rail)
        if key in assigned:
            raise MeasurementFormatError(source, line, f"second accumulated reading of {reading.rail!r} in one window")
        assigned[key] = reading.energy_j
    return assigned


def load_measurement(path: str | Path) -> Measurement:
    """Read a measurement file (format elastic-node-power/1, see docs/measurement-format.md)."""
    source = str(path)
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    header: dict[str, tuple[int, str]] = {}
    index = 0
    while index < len(lines) and (lines[index].startswith("#") or not lines[index].strip()):
        body = lines[index].lstrip("#").strip()
        if body:
            key, separator, value = body.partition(":")
            if not separator:
                raise MeasurementFormatError(source, index + 1, f"header lines are '# key: value', got {body!r}")
            header[key.strip()] = (index + 1, value.strip())
        index += 1
    metadata = _read_metadata(source, header)
    if index >= len(lines):
        raise MeasurementFormatError(source, None, f"no column header line; expected {REQUIRED_COLUMNS}")

    columns = [column.strip() for column in next(csv.reader([lines[index]]))]
    header_line = index + 1
    missing = [column for column in REQUIRED_COLUMNS if column not in columns]
    unknown = [column for column in columns if column not in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)]
    if missing or unknown:
        raise MeasurementFormatError(
            source,
            header_line,
            f"missing columns {missing}, unknown columns {unknown}; allowed are "
            f"{REQUIRED_COLUMNS} plus optional {OPTIONAL_COLUMNS}",
        )

    data = _Collected()
    last_time = -math.inf
    for line_number, values in enumerate(csv.reader(lines[index + 1 :]), start=header_line + 1):
        if not values or (values[0].startswith("#")) or not "".join(values).strip():
            continue
        if len(values) != len(columns):
            raise MeasurementFormatError(source, line_number, f"{len(values)} fields, header has {len(columns)}")
        reader = _RowReader(source, line_number, dict(zip(columns, values, strict=True)))
        time = reader.number("timestamp_s")
        if time < last_time:
            raise reader.error(
                f"timestamp_s {time} is earlier than the previous row ({last_time}); rows must be in time order"
            )
        last_time = time
        rail = reader.text("rail")
        if rail == MARKER_RAIL:
            _read_marker(reader, time, data)
        elif rail in RAILS:
            _read_sample_or_accumulator(reader, rail, time, data)
        else:
            raise reader.error(f"column 'rail': unknown rail {rail!r}; allowed are {[*RAILS, MARKER_RAIL]}")
    if data.open_start is not None:
        raise MeasurementFormatError(source, data.open_start[2], f"{START} never followed by {STOP}")

    samples = {
        rail: RailSamples(*(np.array(column, dtype=float) for column in zip(*rows, strict=True)))
        for rail, rows in data.samples.items()
    }
    return Measurement(source, metadata, samples, data.windows, _assign_accumulated(source, data))


# ------------------------------------------------------------------------------------------- writer


def write_measurement(
    path: str | Path, metadata: MeasurementMetadata, rows: Iterable[Sample | Marker | AccumulatedEnergy]
) -> Path:
    """Write rows (sorted by time, stable) in the measurement format; monitor/channel come from RAILS."""
    path = Path(path)
    ordered = sorted(rows, key=lambda row: row.timestamp_s)
    with path.open("w", encoding="utf-8", newline="") as handle:
        for key, value in metadata.as_header().items():
            handle.write(f"# {key}: {value}\n")
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow([*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS])
        for row in ordered:
            time = repr(float(row.timestamp_s))
            if isinstance(row, Marker):
                count = "" if row.count is None else str(row.count)
                writer.writerow([time, "", "", MARKER_RAIL, "", "", "", row.event, count, ""])
                continue
            info = RAILS[row.rail]
            monitor, channel = f"0x{info.monitor:02x}", str(info.default_channel)
            if isinstance(row, Sample):
                power = "" if row.power_w is None else repr(float(row.power_w))
                writer.writerow(
                    [
                        time,
                        monitor,
                        channel,
                        row.rail,
                        repr(float(row.voltage_v)),
                        repr(float(row.current_a)),
                        power,
                        "",
                        "",
                        "",
                    ]
                )
            else:
                count = "" if row.count is None else str(row.count)
                writer.writerow([time, monitor, channel, row.rail, "", "", "", "", count, repr(float(row.energy_j))])
    return path


# ----------------------------------------------------------------------------------------- analysis


@dataclass(frozen=True, slots=True)
class EnergyResult:
    source: str
    rails: tuple[str, ...]
    n_windows: int
    n_inferences: int
    active_time_s: float  # summed window durations
    time_per_inference_s: float
    energy_per_inference_uj: dict[str, float]
    total_energy_per_inference_uj: float
    # Energy above the idle power level; None where no samples lie outside the windows.
    above_idle_energy_per_inference_uj: dict[str, float | None]
    total_above_idle_energy_per_inference_uj: float | None
    active_power_mw: dict[str, float]  # mean power inside the windows
    idle_power_mw: dict[str, float | None]  # mean of the samples outside every window
    method: dict[str, str]  # 'samples', 'accumulator' or 'mixed' per rail


def _integrate(samples: RailSamples, start: float, stop: float) -> float:
    """Trapezoidal energy over [start, stop], with the power at the edges interpolated linearly."""
    inside = (samples.time_s > start) & (samples.time_s < stop)
    times = np.concatenate(([start], samples.time_s[inside], [stop]))
    powers = np.interp(times, samples.time_s, samples.power_w)
    return float(np.trapezoid(powers, times))


def _window_energy(measurement: Measurement, index: int, window: InferenceWindow, rail: str) -> tuple[float, str]:
    if (index, rail) in measurement.accumulated:
        return measurement.accumulated[(index, rail)], "accumulator"
    samples = measurement.samples.get(rail)
    if samples is None:
        raise MeasurementFormatError(
            measurement.source, window.line, f"rail {rail!r} has neither samples nor an accumulated reading"
        )
    if samples.time_s[0] > window.start_s or samples.time_s[-1] < window.stop_s:
        raise MeasurementFormatError(
            measurement.source,
            window.line,
            f"window {window.start_s}..{window.stop_s} s is not covered by the samples of {rail!r} "
            f"({samples.time_s[0]}..{samples.time_s[-1]} s)",
        )
    return _integrate(samples, window.start_s, window.stop_s), "samples"


def _idle_power(measurement: Measurement, rail: str) -> float | None:
    samples = measurement.samples.get(rail)
    if samples is None:
        return None
    outside = np.ones(samples.time_s.shape, dtype=bool)
    for window in measurement.windows:
        outside &= (samples.time_s < window.start_s) | (samples.time_s > window.stop_s)
    return float(samples.power_w[outside].mean()) if outside.any() else None


def energy_per_inference(measurement: Measurement, rails: Sequence[str] = FPGA_RAILS) -> EnergyResult:
    """Energy per inference over the marked windows, per rail and in total (nothing subtracted implicitly)."""
    unknown = [rail for rail in rails if rail not in RAILS]
    if unknown or not rails:
        raise ValueError(f"energy_per_inference: unknown rails {unknown}; allowed are {list(RAILS)}")
    if not measurement.windows:
        raise MeasurementFormatError(measurement.source, None, f"no {START}/{STOP} windows to analyse")
    n_inferences = sum(window.count for window in measurement.windows)
    active_time = sum(window.duration_s for window in measurement.windows)

    energy_uj: dict[str, float] = {}
    above_idle_uj: dict[str, float | None] = {}
    active_mw: dict[str, float] = {}
    idle_mw: dict[str, float | None] = {}
    method: dict[str, str] = {}
    for rail in rails:
        parts = [_window_energy(measurement, i, w, rail) for i, w in enumerate(measurement.windows)]
        energy = sum(joules for joules, _ in parts)
        methods = {how for _, how in parts}
        method[rail] = methods.pop() if len(methods) == 1 else "mixed"
        idle = _idle_power(measurement, rail)
        energy_uj[rail] = energy / n_inferences * 1e6
        active_mw[rail] = energy / active_time * 1e3
        idle_mw[rail] = None if idle is None else idle * 1e3
        above_idle_uj[rail] = None if idle is None else (energy - idle * active_time) / n_inferences * 1e6

    above_values = list(above_idle_uj.values())
    return EnergyResult(
        source=measurement.source,
        rails=tuple(rails),
        n_windows=len(measurement.windows),
        n_inferences=n_inferences,
        active_time_s=active_time,
        time_per_inference_s=active_time / n_inferences,
        energy_per_inference_uj=energy_uj,
        total_energy_per_inference_uj=sum(energy_uj.values()),
        above_idle_energy_per_inference_uj=above_idle_uj,
        total_above_idle_energy_per_inference_uj=(
            None if any(value is None for value in above_values) else sum(v for v in above_values if v is not None)
        ),
        active_power_mw=active_mw,
        idle_power_mw=idle_mw,
        method=method,
    )
