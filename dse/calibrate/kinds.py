"""Calibration of the kinds other than dense (`dse calibrate sweep --kind conv1d`, `dse calibrate fit --kind ...`).

A kind's estimator is the dense engine's fitted model plus rules for its own parts (estimators.conv: the window
buffer and read-address table). The sweep synthesizes single layers of the kind (its SWEEP_SAMPLERS entry); the fit
scales the two parts and adds a constant, LUT and FF separately, by non-negative least squares, and reports
k-fold held-out errors. The result is one file per kind (estimators/calibration/<kind>.json, per family).
"""

from __future__ import annotations

import csv
import hashlib
import json
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import nnls

from contract.layers import layer_from_dict
from contract.reference import random_weights
from dse.calibrate.cache import ResultCache, point_key
from dse.calibrate.space import SWEEP_SAMPLERS, single_layer_design, weights_seed
from dse.calibrate.sweep import MEASURED, generator_version
from dse.errors import not_a_file
from estimators.calibration import default_calibration
from estimators.conv import conv_parts
from estimators.fit import read_sweep_rows, require_numbers
from estimators.kind_fit import PARTS
from estimators.pool import pool_parts
from estimators.recurrent import recurrent_parts
from estimators.system import LAYER_ESTIMATORS

KIND_PARTS = {
    "conv1d": conv_parts,
    "maxpool1d": pool_parts,
    "avgpool1d": pool_parts,
    "lstm": recurrent_parts,
    "gru": recurrent_parts,
}  # each kind's unscaled parts
KIND_EMITTERS = (
    ("conv_vhdl.py", "conv"),
    ("pool_vhdl.py", "pool"),
    ("recurrent_vhdl.py", "recurrent"),
)  # modules and template folders outside vhdl.py
COLUMNS = ("sample", "family", "kind", "layer", *(f"{p}_{w}" for w in ("lut", "ff") for p in PARTS[:-1]), *MEASURED)
COLUMNS += ("est_lut", "est_ff", "runtime_s", "error")


@dataclass
class KindSweep:
    rows: list[dict[str, Any]]
    synthesized: int
    failed: int
    wall_s: float


def _synthesize(layer_json: str, family: str, seed: int, index: int) -> dict[str, Any]:
    from generator.synth import synthesize  # in the worker

    design = single_layer_design(layer_from_dict(json.loads(layer_json)), family)
    weights = random_weights(design, np.random.default_rng(weights_seed(seed, index)))
    row: dict[str, Any] = dict.fromkeys(MEASURED, None) | {"error": ""}
    started = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory(prefix="dse-cal-") as scratch:
            result = synthesize(design, weights, Path(scratch), device=design.device, place_and_route=False)
        row.update({key: getattr(result, key) for key in MEASURED})
    except Exception as error:  # noqa: BLE001 - a failing point is data
        row["error"] = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"[:300]
    row["runtime_s"] = round(time.perf_counter() - started, 3)
    return row


def kind_generator_version() -> str:
    """generator_version plus the kind emitters outside generator.vhdl (conv_vhdl.py, templates/conv/)."""
    digest = hashlib.sha256(generator_version().encode())
    root = resources.files("generator")
    for module, folder in KIND_EMITTERS:
        for entry in [root.joinpath(module), *sorted(root.joinpath("templates", folder).iterdir(), key=str)]:
            digest.update(entry.name.encode() + entry.read_bytes())
    return digest.hexdigest()[:12]


def run_kind_sweep(
    kind: str, family: str, samples: int, seed: int = 0, jobs: int = 2, cache_dir: Path = Path(".cache/dse-calibrate")
) -> KindSweep:
    """Synthesize ``samples`` single layers of ``kind`` (cached by design, weights, tools and generator)."""
    from generator.synth import tool_versions

    if kind not in KIND_PARTS:
        raise ValueError(f"--kind must be one of {', '.join(KIND_PARTS)} here")
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    layers = [SWEEP_SAMPLERS[kind](rng) for _ in range(samples)]
    tools, generator = tool_versions(), kind_generator_version()
    cache = ResultCache(Path(cache_dir) / f"{kind}-{family}")
    calibration = default_calibration(family)
    measured: dict[int, dict[str, Any]] = {}
    todo = []
    for index, layer in enumerate(layers):
        design = single_layer_design(layer, family)
        weights = random_weights(design, np.random.default_rng(weights_seed(seed, index)))
        key = point_key(design, weights, tools, {"generator": generator, "place_and_route": False})
        hit = cache.get(key)
        if hit is None:
            todo.append((index, key))
        else:
            measured[index] = hit
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = {
            pool.submit(_synthesize, json.dumps(layers[i].to_dict()), family, seed, i): (i, key) for i, key in todo
        }
        for future in as_completed(futures):
            index, key = futures[future]
            measured[index] = future.result()
            cache.put(key, measured[index])
    rows = []
    for index, layer in enumerate(layers):
        parts = KIND_PARTS[kind](layer, calibration)
        numbers = LAYER_ESTIMATORS[kind](layer, calibration)
        rows.append(
            {
                "sample": index,
                "family": family,
                "kind": kind,
                "layer": json.dumps(layer.to_dict()),
                **parts,
                **{k: measured[index].get(k) for k in (*MEASURED, "runtime_s", "error")},
                "est_lut": round(numbers[2], 1),
                "est_ff": round(numbers[3], 1),
            }
        )
    failed = sum(1 for r in rows if r["error"])
    return KindSweep(rows, len(todo), failed, time.perf_counter() - started)


def write_rows(rows: list[dict[str, Any]], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def _design_matrix(rows: list[dict[str, Any]], what: str) -> tuple[np.ndarray, np.ndarray]:
    """The parts under the current dense calibration, recomputed from each row's layer (the table's part columns
    are what the calibration of sweep time said: a dense refit would leave them stale)."""
    calibration = default_calibration(rows[0]["family"])
    parts = [KIND_PARTS[r["kind"]](layer_from_dict(json.loads(r["layer"])), calibration) for r in rows]
    x = np.array([[*(float(p[f"{part}_{what}"]) for part in PARTS[:-1]), 1.0] for p in parts])
    y = np.array([float(r[what]) for r in rows])
    return x, y


def _errors(predicted: np.ndarray, measured: np.ndarray) -> dict[str, float]:
    relative = np.abs(predicted - measured) / np.maximum(measured, 1.0)
    return {"mape": round(float(relative.mean()), 4), "max_rel": round(float(relative.max()), 4)}


_FIT_COLUMNS = ("sample", "family", "kind", "layer", "lut", "ff")  # what fit_kind reads


def _kind_rows(table: Path, kind: str, family: str) -> list[dict[str, Any]]:
    """The rows of one `dse calibrate sweep --kind` table that synthesized a ``kind`` layer for ``family``."""
    if not table.is_file():
        raise ValueError(f"fit input: {not_a_file(table)}")
    hint = f" for a table of `dse calibrate sweep --kind {kind}`; a dense table is fitted without --kind"
    kept = [
        (line, row)
        for line, row in read_sweep_rows(table, _FIT_COLUMNS, hint)
        if row["kind"] == kind and row["family"] == family
    ]
    for line, row in kept:
        require_numbers(table, line, row, ("lut", "ff"))
    return [row for _, row in kept]


def fit_kind(tables: list[Path], kind: str, family: str, folds: int = 5) -> dict[str, Any]:
    """Coefficients (engine, buffer, const) for LUT and FF, with k-fold held-out and prior (unfitted) errors."""
    if kind not in KIND_PARTS:
        raise ValueError(f"--kind: unknown layer kind {kind!r}; allowed: dense, {', '.join(KIND_PARTS)}")
    rows = [row for table in tables for row in _kind_rows(Path(table), kind, family)]
    if len(rows) < max(folds, 4):
        raise ValueError(f"{len(rows)} usable {kind} rows for {family}; need at least {max(folds, 4)}")
    result: dict[str, Any] = {
        "kind": kind,
        "family": family,
        "n_samples": len(rows),
        "source": [str(t) for t in tables],
    }
    order = np.random.default_rng(0).permutation(len(rows))
    for what in ("lut", "ff"):
        x, y = _design_matrix(rows, what)
        # Relative least squares (each row divided by its measurement): the errors that matter, and are reported,
        # are relative; plain least squares lets the largest layers decide and misfits the small ones.
        weight = 1.0 / np.maximum(y, 1.0)
        wx, wy = x * weight[:, None], y * weight
        coef, _ = nnls(wx, wy)
        held = np.zeros(len(rows))
        for fold in range(folds):
            test = order[fold::folds]
            train = np.setdiff1d(order, test)
            fold_coef, _ = nnls(wx[train], wy[train])
            held[test] = x[test] @ fold_coef
        result[what] = dict(zip(PARTS, (round(float(c), 4) for c in coef), strict=True))
        result[f"{what}_errors"] = {
            "heldout": _errors(held, y),
            "prior": _errors(x @ np.array([1.0, 1.0, 1.0, 0.0]), y),
            "folds": folds,
        }
    return result


def existing_kind_calibration(path: Path) -> dict[str, Any]:
    """The kind file a fit merges into (empty when ``path`` does not exist); refused when it is something else."""
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError):
        data = None
    if not isinstance(data, dict) or any(not isinstance(entry, dict) for entry in data.values()):
        raise ValueError(
            f"--out {path}: exists and is not a kind calibration (JSON with one entry per family), so it is not "
            "merged into; choose a new file"
        )
    return data


def write_kind_calibration(fitted: dict[str, Any], path: Path) -> None:
    """Merge one family's fit into the kind's file (the other family's entry stays)."""
    data = existing_kind_calibration(path)
    data[fitted["family"]] = fitted
    path.write_text(json.dumps(data, indent=2) + "\n")
