"""`dse calibrate fit`: sweep tables + reports/measurements -> a versioned calibration JSON."""

from __future__ import annotations

import copy
import csv
import datetime as dt
import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from dse.calibrate.power import PowerFit, PowerPoints, fit_power, merge, points_from_measurement, points_from_vivado
from dse.reports import detect_and_parse
from dse.reports.measurements import Measurement
from dse.reports.nextpnr import IcetimeReport, NextpnrLog
from dse.reports.vivado import VivadoPower, VivadoTiming, VivadoUtilization
from estimators.calibration import FEATURES, TIMING_PATHS, Calibration, read_calibration_dict
from estimators.fit import LimitsFit, ResourceFit, cv_method, fit_limits, fit_resources, read_tables


def _significant(value: float, digits: int = 7) -> float:
    """Readable JSON without losing small coefficients (a fixed number of decimals would zero them)."""
    return float(f"{value:.{digits}g}")


def sweep_table_family(path: Path) -> str | None:
    """The family of a sweep CSV ("" when it has no family column), or None when it is not a sweep table."""
    if path.suffix.lower() != ".csv":
        return None
    with path.open(newline="", encoding="utf-8", errors="replace") as handle:
        rows = csv.reader(handle)
        header = next(rows, [])
        first = next(rows, [])
    if "in_features" not in header or "lut" not in header:
        return None
    column = header.index("family") if "family" in header else None
    return first[column] if column is not None and column < len(first) else ""


def is_sweep_table(path: Path) -> bool:
    return sweep_table_family(path) is not None


@dataclass
class Inputs:
    tables: list[Path] = field(default_factory=list)
    reports: dict[Path, list[object]] = field(default_factory=lambda: defaultdict(list))  # by directory
    skipped: list[str] = field(default_factory=list)


def report_family(report: object) -> str | None:
    """The device family a parsed report is of (None when the report does not say: yosys stat, simulation)."""
    if isinstance(report, NextpnrLog | IcetimeReport):
        return "ice40"
    part = report.metadata.fpga_part if isinstance(report, Measurement) else getattr(report, "part", None)
    if not isinstance(part, str):
        return None
    part = part.lower()
    return "xc7" if part.startswith("xc7") else "ice40" if part.startswith(("ice40", "ice5", "up5k")) else None


def collect_inputs(paths: list[Path], family: str | None = None) -> Inputs:
    """Sort inputs into sweep tables and parsed reports.

    In a directory, files that no parser knows and sweep tables of another family are skipped (and listed).
    """
    inputs = Inputs()
    for path in paths:
        if path.is_dir():
            for file in sorted(p for p in path.rglob("*") if p.is_file()):
                table_family = sweep_table_family(file)
                if table_family is not None:
                    if family and table_family not in ("", family):
                        inputs.skipped.append(f"{file} (a sweep table of the {table_family} family)")
                    else:
                        inputs.tables.append(file)
                    continue
                try:
                    report = detect_and_parse(file)
                except (ValueError, UnicodeDecodeError):
                    inputs.skipped.append(f"{file} (not a sweep table or known report)")
                    continue
                if family and (other := report_family(report)) not in (None, family):
                    inputs.skipped.append(f"{file} (a report of the {other} family)")
                else:
                    inputs.reports[file.parent].append(report)
        elif path.is_file():
            if is_sweep_table(path):
                inputs.tables.append(path)
            else:
                report = detect_and_parse(path)  # errors name the file
                if family and (other := report_family(report)) not in (None, family):
                    raise ValueError(f"fit input {str(path)!r}: a report of the {other} family, not --family {family}")
                inputs.reports[path.parent].append(report)
        else:
            raise ValueError(f"fit input {str(path)!r} does not exist")
    return inputs


def power_points(inputs: Inputs, clock_uw_per_mhz: float) -> PowerPoints:
    """Reports in one directory describe one design: pair each power report/measurement with its neighbours."""
    parts = []
    for reports in inputs.reports.values():
        utilization = next((r for r in reports if isinstance(r, VivadoUtilization)), None)
        timing = next((r for r in reports if isinstance(r, VivadoTiming)), None)
        for report in reports:
            if isinstance(report, VivadoPower):
                parts.append(points_from_vivado(report, utilization, timing))
            elif isinstance(report, Measurement):
                parts.append(points_from_measurement(report, utilization, clock_uw_per_mhz))
    return merge(parts)


def base_dict(family: str, base: Path | None) -> dict[str, Any]:
    if base is None:
        text = resources.files("estimators").joinpath("calibration", f"{family}.json").read_text()
        data = json.loads(text)
    else:
        data = read_calibration_dict(base, what="--base: calibration file")
    if data.get("family") != family:
        raise ValueError(f"--base: calibration family {data.get('family')!r} does not match --family {family!r}")
    Calibration.from_dict(data, path=str(base or family))  # validates the schema
    return data


def _table_provenance(tables: list[Path]) -> tuple[dict[str, str], list[str]]:
    """Tool and generator versions of the sweep rows, and warnings.

    Mixed ghdl/yosys versions are refused (LUT counts differ a lot between versions). Mixed generator versions
    (the generator edited during a sweep) are allowed with a warning and recorded with their row counts.
    """
    seen: dict[str, Counter[str]] = defaultdict(Counter)
    for path in tables:
        with path.open(newline="") as handle:
            for row in csv.DictReader(handle):
                if row.get("error"):
                    continue
                for key in ("ghdl", "yosys", "generator"):
                    if row.get(key):
                        seen[key][row[key]] += 1
    mixed_tools = {key: sorted(seen[key]) for key in ("ghdl", "yosys") if len(seen[key]) > 1}
    if mixed_tools:
        raise ValueError(f"sweep tables mix tool versions {mixed_tools}; re-run the sweep with one toolchain")
    warnings = []
    if len(seen["generator"]) > 1:
        warnings.append(f"sweep rows come from {len(seen['generator'])} generator versions: {dict(seen['generator'])}")
    versions = {
        key: ", ".join(f"{v} ({n})" if len(counts) > 1 else v for v, n in counts.most_common())
        for key, counts in seen.items()
    }
    return versions, warnings


def _timing_tools(rows: list[dict[str, str]]) -> str:
    from generator.synth import XC7_TIMING_SOURCE

    return "nextpnr-ice40 place and route" if any(row.get("nextpnr") for row in rows) else XC7_TIMING_SOURCE


@dataclass
class FitOutcome:
    data: dict[str, Any]
    resources: ResourceFit | None
    power: PowerFit | None
    inputs: Inputs
    warnings: list[str] = field(default_factory=list)
    limits: LimitsFit | None = None  # fmax and logic-cell fits, when the tables had timing columns


def calibrate(
    paths: list[Path],
    family: str,
    base: Path | None = None,
    folds: int = 5,
    version: str | None = None,
    command: str = "",
) -> FitOutcome:
    inputs = collect_inputs(paths, family)
    data = copy.deepcopy(base_dict(family, base))
    prior = Calibration.from_dict(data)
    base_version = data.get("version")
    today = dt.date.today().isoformat()
    sources = []
    resource_fit = limits = None
    warnings: list[str] = []
    if inputs.tables:
        rows = read_tables(inputs.tables)
        if any(row.get("family") and row["family"] != family for row in rows):
            raise ValueError(f"sweep tables hold rows of another family than --family {family}")
        resource_fit = fit_resources(rows, prior, folds)
        for key in ("lut", "ff"):
            data[key] = {
                name: _significant(value) for name, value in zip(FEATURES, resource_fit.coefficients[key], strict=True)
            }
        data["tools"], warnings = _table_provenance(inputs.tables)
        data["n_samples"] = resource_fit.n_samples
        data["errors"] = resource_fit.errors_dict(folds)
        sources.append(
            f"NNLS fit (relative error) of LUT/FF on {resource_fit.n_samples} synthesized single dense "
            f"layers from {', '.join(p.name for p in inputs.tables)}"
        )
        limits = fit_limits(rows, prior, folds, resource_fit.coefficients["ff"])
        if limits.paths is not None and limits.fmax_cv is not None:
            data["timing"] = {
                "source": f"fit of the clock period (max over paths) on {limits.n_timed} timed layers "
                f"({_timing_tools(rows)})",
                "paths": {
                    path: {n: _significant(v) for n, v in zip(names, values, strict=True)}
                    for (path, names), values in zip(TIMING_PATHS.items(), limits.paths, strict=True)
                },
                "errors": {"fmax": {**limits.fmax_cv.as_dict(), "method": cv_method(folds)}},
            }
            sources.append(f"fmax model from {limits.n_timed} timed layers")
        if limits.packing is not None and limits.packing_cv is not None:
            data["packing"] = {
                "lut": _significant(limits.packing[0]),
                "ff": _significant(limits.packing[1]),
                "ff_groups": {name: _significant(value) for name, value in (limits.packing_groups or {}).items()},
                "source": f"least-squares fit of nextpnr-ice40 logic cells (after packing) on {limits.n_packed} "
                "layers: cells = lut x LUT + the dense engine's flip-flops by group (ff_groups, 0 to 1 cell each; "
                "the FF model splits each layer's measured flip-flops) + other kinds' flip-flops x ff (average)",
                "errors": {"logic_cells": {**limits.packing_cv.as_dict(), "method": cv_method(folds)}},
            }
    power_fit = None
    points = power_points(inputs, prior.power["clock_uw_per_mhz"])
    if points.static or points.dynamic:
        power_fit = fit_power(points, prior.power)
        data["power"].update({key: _significant(value) for key, value in power_fit.coefficients.items()})
        data["power"]["static_mw"] = None if power_fit.static_mw is None else _significant(power_fit.static_mw)
        data["power"]["source"] = (
            f"static: median of {power_fit.n_static} point(s); dynamic: {power_fit.method}; "
            f"from {', '.join(power_fit.sources)}"
        )
        sources.append(f"power from {power_fit.n_static} static / {power_fit.n_dynamic} dynamic point(s)")
    if not sources:  # no usable input, or e.g. only utilization or timing reports: nothing the fit uses
        found_in = ", ".join(map(str, paths))
        raise ValueError(
            f"fit inputs: nothing to fit for --family {family} in {found_in}: no sweep table, power report or "
            "measurement of this family"
        )
    data["version"] = version or f"fit-{today}"
    data["created"] = today
    data["source"] = "; ".join(sources) + f" (base: {base_version if base is None else base})"
    data["command"] = command
    return FitOutcome(data, resource_fit, power_fit, inputs, warnings, limits)


def calibration_json(data: dict[str, Any]) -> str:
    """Indented JSON with every list of plain numbers on one line: a table row per line. Only lists match: a JSON
    string holds no raw line break, and json.dumps breaks the line after a non-empty list's '['."""
    text = json.dumps(data, indent=2) + "\n"
    return re.sub(r"\[(\n[\d\s,.eE+-]+)\]", lambda match: "[" + " ".join(match.group(1).split()) + "]", text)


def write_calibration(data: dict[str, Any], path: Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(calibration_json(data))
