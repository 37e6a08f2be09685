"""Run the generated cocotb testbench on the generated VHDL (GHDL) and report what was measured."""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from cocotb_tools.runner import get_runner

from contract.design import AcceleratorDesign
from contract.reference import LayerWeights
from generator.testbench import (
    RESULTS_ENV,
    RESULTS_FILE,
    VECTORS_ENV,
    VECTORS_FILE,
    emit_testbench,
    testbench_module_name,
)
from generator.vhdl import compile_order, emit_vhdl
from generator.writer import write_files


@dataclass
class VerifyResult:
    verified: bool  # every output bit-exact AND latency / II equal to the design's numbers
    passed: bool  # the testbench's own verdict (same criteria; False if it did not finish)
    n_vectors: int
    mismatches: int | None
    mismatch_details: list[dict[str, Any]]
    latency_cycles: int | None
    ii_cycles: int | None
    expected_latency_cycles: int
    expected_ii_cycles: int
    simulator: str
    runtime_s: float
    log_file: Path
    error: str | None = None
    results: dict[str, Any] = field(default_factory=dict)


def _log_tail(log_file: Path, lines: int = 30) -> str:
    if not log_file.exists():
        return ""
    return "\n".join(log_file.read_text(errors="replace").splitlines()[-lines:])


def run_cocotb(
    simulator: str,
    sources: Sequence[Path],
    toplevel: str,
    tb_dir: Path,
    sim_dir: Path,
    design: AcceleratorDesign,
    defines: dict[str, object] | None = None,
) -> VerifyResult:
    """Build and run the testbench in ``tb_dir`` (module + vectors) with ``simulator`` ("ghdl" or "icarus")."""
    started = time.perf_counter()
    tb_dir, sim_dir = tb_dir.resolve(), sim_dir.resolve()
    if sim_dir.exists():
        shutil.rmtree(sim_dir)
    sim_dir.mkdir(parents=True)
    results_path = sim_dir / RESULTS_FILE
    log_file = sim_dir / "sim.log"
    runner = get_runner(simulator)
    if simulator == "ghdl":
        build_options: dict[str, Any] = {"sources": list(sources), "build_args": ["--std=08"]}
        test_options: dict[str, Any] = {"test_args": ["--std=08"]}
    else:
        build_options = {"sources": list(sources), "timescale": ("1ns", "1ps"), "defines": defines or {}}
        test_options = {"timescale": ("1ns", "1ps")}

    error = None
    # The runner hands the caller's sys.path to the simulator as PYTHONPATH: that is how it finds the module.
    sys.path.insert(0, str(tb_dir))
    try:
        runner.build(hdl_toplevel=toplevel, build_dir=sim_dir, always=True, log_file=log_file, **build_options)
        runner.test(
            test_module=testbench_module_name(design),
            hdl_toplevel=toplevel,
            build_dir=sim_dir,
            extra_env={VECTORS_ENV: str(tb_dir / VECTORS_FILE), RESULTS_ENV: str(results_path)},
            log_file=sim_dir / "test.log",
            **test_options,
        )
    except (SystemExit, Exception) as exc:  # under pytest the runner exits on a failing test; report, not raise
        error = f"{type(exc).__name__}: {exc}"
    finally:
        sys.path.remove(str(tb_dir))

    results: dict[str, Any] = {}
    if results_path.exists():
        results = json.loads(results_path.read_text())
    else:
        tail = _log_tail(sim_dir / "test.log") or _log_tail(log_file)
        error = f"{error or 'simulation'}: no results file written\n{tail}"
    expected_latency, expected_ii = design.latency_cycles, design.initiation_interval
    latency, ii = results.get("latency_cycles"), results.get("ii_cycles")
    passed = bool(results.get("passed", False))
    verified = (
        passed
        and results.get("mismatches") == 0
        and results.get("n_vectors", 0) > 1
        and results.get("latency_cycles_seen") == [expected_latency]
        and ii == expected_ii
        and results.get("ii_steady_cycles") == expected_ii
    )
    return VerifyResult(
        verified=verified,
        passed=passed,
        n_vectors=int(results.get("n_vectors", 0)),
        mismatches=results.get("mismatches"),
        mismatch_details=list(results.get("mismatch_details", [])),
        latency_cycles=latency,
        ii_cycles=ii,
        expected_latency_cycles=expected_latency,
        expected_ii_cycles=expected_ii,
        simulator=simulator,
        runtime_s=time.perf_counter() - started,
        log_file=sim_dir / "test.log",
        error=error if not verified else None,
        results=results,
    )


def write_verification_files(
    design: AcceleratorDesign, weights: list[LayerWeights], vectors: np.ndarray, out_dir: Path, seed: int = 1
) -> dict[str, str]:
    """VHDL + testbench into ``out_dir`` (cleared first); returns the in-memory file system."""
    files = emit_vhdl(design, weights) | emit_testbench(design, weights, vectors, seed)
    write_files(files, out_dir, force=True)
    return files


def verify(
    design: AcceleratorDesign,
    weights: list[LayerWeights],
    vectors: np.ndarray,
    build_dir: Path,
    seed: int = 1,
) -> VerifyResult:
    """Generate VHDL + testbench in ``build_dir/hdl``, simulate with GHDL in ``build_dir/sim_ghdl``.

    ``weights`` are for all layers of ``design`` (as for dse.reference.run_reference); ``vectors`` are input
    codes (N >= 2, IN) of the first FPGA layer. Needs at least 2 vectors for the initiation interval.
    """
    if len(vectors) < 2:
        raise ValueError("verify needs at least 2 vectors (the initiation interval is measured between inputs)")
    build_dir = Path(build_dir).resolve()
    hdl_dir = build_dir / "hdl"
    files = write_verification_files(design, weights, vectors, hdl_dir, seed)
    sources = [hdl_dir / name for name in compile_order(files)]
    return run_cocotb("ghdl", sources, design.name, hdl_dir, build_dir / "sim_ghdl", design)
