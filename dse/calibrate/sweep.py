"""`dse calibrate sweep`: synthesize single dense layers across the space and write a tidy CSV table."""

from __future__ import annotations

import csv
import hashlib
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import dse
from contract.design import AcceleratorDesign
from dse.calibrate.cache import ResultCache, point_key
from dse.calibrate.space import (
    FAMILY_DEVICES,
    SPACES,
    WEIGHTS,
    SweepPoint,
    sample_points,
    single_layer_design,
    sweep_weights,
)
from estimators.calibration import FEATURES, default_calibration
from estimators.content import CONTENT_COLUMNS, content_columns, rom_content
from estimators.dense import dense_features, dense_numbers, dsps_per_product
from estimators.fit import CONFIG_COLUMNS

MEASURED = ("lut", "ff", "dsp", "bram", "carry", "lutram", "fmax_mhz", "logic_cells", "placed")
DERIVED = (
    "groups",
    "chunks",
    "rom_depth",
    "rom_width",
    "acc_bits",
    "requant_bits",
    "dsps_per_product_rule",
    "bram_rule",
)
# How the point was drawn, and what its weights keep (estimators.content): the fit's content features.
CONTENT = ("space", "weights", *CONTENT_COLUMNS)
META = ("device", "ghdl", "yosys", "nextpnr", "generator", "runtime_s", "cache_key", "error")
COLUMNS = (
    "sample",
    "family",
    *CONFIG_COLUMNS,
    *DERIVED,
    *(f"f_{name}" for name in FEATURES),
    *MEASURED,
    *CONTENT,
    *META,
)


# The generator files that decide the synthesized hardware and how it is counted (cells.py); testbench, export and
# verification code do not.
_HARDWARE_SOURCES = ("vhdl.py", "verilog_fixes.py", "synth.py", "cells.py", "parts.py", "writer.py")


def generator_version() -> str:
    """dse version plus a hash of the hardware-emitting generator sources and VHDL templates."""
    digest = hashlib.sha256()
    root = resources.files("generator")
    files = [root.joinpath(name) for name in _HARDWARE_SOURCES]
    files += sorted((e for e in root.joinpath("templates").iterdir() if e.name.endswith(".vhd")), key=lambda e: e.name)
    for entry in files:
        if entry.is_file():
            digest.update(entry.name.encode() + entry.read_bytes())
    return f"{dse.__version__}+{digest.hexdigest()[:10]}"


@dataclass(frozen=True)
class SweepSettings:
    family: str
    seed: int
    space: str  # dse.calibrate.space.SPACES
    weights: str  # dse.calibrate.space.WEIGHTS
    fmax: bool  # iCE40: nextpnr-ice40 for fmax and logic cells (slow); xc7: yosys sta (generator.synth)
    tools: dict[str, str]
    generator: str


def _structural(point: SweepPoint, family: str) -> dict[str, Any]:
    """Derived columns and features under the *default* calibration's rules (fit recomputes its own)."""
    layer = point.layer
    calibration = default_calibration(family)
    dsps = dsps_per_product(layer, calibration)
    row: dict[str, Any] = {
        "groups": layer.groups,
        "chunks": layer.chunks,
        "rom_depth": layer.rom_depth,
        "rom_width": layer.rom_width,
        "acc_bits": layer.acc_bits,
        "requant_bits": layer.requant_bits,
        "dsps_per_product_rule": dsps,
        "bram_rule": dense_numbers(layer, calibration)[5],
    }
    features = dense_features(layer, dsps, calibration)
    row.update({f"f_{name}": value for name, value in zip(FEATURES, features, strict=True)})
    return row


def point_inputs(point: SweepPoint, settings: SweepSettings) -> tuple[AcceleratorDesign, list[Any]]:
    """The single-layer design of a point and the weights it is synthesized with."""
    design = single_layer_design(point.layer, settings.family)
    return design, sweep_weights(design, settings.seed, point.index, settings.weights)


def synthesize_point(point: SweepPoint, settings: SweepSettings) -> dict[str, Any]:
    """Worker: synthesize one point in a scratch directory; tool failures become an 'error' row, not a crash."""
    from generator.synth import synthesize  # imported in the worker process

    design, weights = point_inputs(point, settings)
    started = time.perf_counter()
    row: dict[str, Any] = dict.fromkeys(MEASURED, None)
    # The generator may be edited while a long sweep runs: record the version this point really used.
    row["error"], row["generator"] = "", generator_version()
    try:
        with tempfile.TemporaryDirectory(prefix="dse-cal-") as scratch:
            result = synthesize(design, weights, Path(scratch), device=design.device, place_and_route=settings.fmax)
        row.update({key: getattr(result, key) for key in MEASURED})
    except Exception as error:  # noqa: BLE001 - a failing point is data (recorded), the sweep goes on
        row["error"] = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"[:300]
    row["runtime_s"] = round(time.perf_counter() - started, 3)
    return row


def point_cache_key(point: SweepPoint, settings: SweepSettings, generator: str | None = None) -> str:
    design, weights = point_inputs(point, settings)
    extra: dict[str, Any] = {"generator": generator or settings.generator, "fmax": settings.fmax}
    if settings.weights != "uniform":  # keys of uniform points stay what they were before weights could vary
        extra["weights"] = settings.weights
    return point_key(design, weights, settings.tools, extra)


def _full_row(point: SweepPoint, settings: SweepSettings, measured: dict[str, Any], key: str) -> dict[str, Any]:
    row: dict[str, Any] = {"sample": point.index, "family": settings.family, **point.config()}
    row.update(_structural(point, settings.family))
    weight = point_inputs(point, settings)[1][0].weight
    row.update(space=settings.space, weights=settings.weights, **content_columns(rom_content(point.layer, weight)))
    row.update({k: measured.get(k) for k in MEASURED})
    row.update(
        device=FAMILY_DEVICES[settings.family],
        ghdl=settings.tools.get("ghdl", ""),
        yosys=settings.tools.get("yosys", ""),
        nextpnr=settings.tools.get("nextpnr-ice40", "") if settings.fmax and settings.family == "ice40" else "",
        generator=measured.get("generator") or settings.generator,
        runtime_s=measured.get("runtime_s"),
        cache_key=key,
        error=measured.get("error", ""),
    )
    return row


@dataclass
class SweepSummary:
    rows: list[dict[str, Any]]
    synthesized: int
    cached: int
    failed: int
    wall_s: float
    synth_s: float  # summed tool runtime of all rows (cached ones included)


def run_sweep(
    family: str,
    samples: int,
    seed: int = 0,
    jobs: int = 2,
    cache_dir: Path = Path(".cache/dse-calibrate"),
    fmax: bool = False,
    space: str = "dense",
    weights: str = "uniform",
    progress: Callable[[int, int], None] | None = None,
) -> SweepSummary:
    """Synthesize ``samples`` points (cached ones are read back) with ``jobs`` worker processes."""
    from generator.synth import tool_versions

    if family not in FAMILY_DEVICES:
        raise ValueError(f"--family must be one of {', '.join(FAMILY_DEVICES)}, got {family!r}")
    if space not in SPACES:
        raise ValueError(f"--space must be one of {', '.join(SPACES)}, got {space!r}")
    if weights not in WEIGHTS:
        raise ValueError(f"--weights must be one of {', '.join(WEIGHTS)}, got {weights!r}")
    if samples < 1:
        raise ValueError(f"--samples must be >= 1, got {samples}")
    if jobs < 1:
        raise ValueError(f"--jobs must be >= 1, got {jobs}")
    started = time.perf_counter()
    settings = SweepSettings(family, seed, space, weights, fmax, tool_versions(), generator_version())
    cache = ResultCache(Path(cache_dir) / family)
    points = sample_points(samples, seed, space)
    rows: dict[int, dict[str, Any]] = {}
    todo: list[tuple[SweepPoint, str]] = []
    for point in points:
        key = point_cache_key(point, settings)
        hit = cache.get(key)
        if hit is None:
            todo.append((point, key))
        else:
            rows[point.index] = _full_row(point, settings, hit, key)
    cached = len(rows)
    if progress:
        progress(cached, samples)
    # Largest (slowest) points first so that the last minutes are not one long yosys run on one core.
    todo.sort(key=lambda item: -item[0].layer.rom_depth * item[0].layer.rom_width)
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(synthesize_point, point, settings): (point, key) for point, key in todo}
        for future in as_completed(futures):
            point, key = futures[future]
            measured = future.result()
            if measured["generator"] != settings.generator:  # file it under the version it was built with
                key = point_cache_key(point, settings, measured["generator"])
            cache.put(key, measured)
            rows[point.index] = _full_row(point, settings, measured, key)
            if progress:
                progress(len(rows), samples)
    ordered = [rows[i] for i in sorted(rows)]
    return SweepSummary(
        rows=ordered,
        synthesized=len(todo),
        cached=cached,
        failed=sum(1 for r in ordered if r["error"]),
        wall_s=time.perf_counter() - started,
        synth_s=sum(float(r["runtime_s"] or 0.0) for r in ordered),
    )


def write_table(rows: list[dict[str, Any]], path: Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in COLUMNS})
