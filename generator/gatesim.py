"""Gate-level check: simulate the yosys netlist with iverilog + yosys' cells_sim.v under the same cocotb test.

This catches GHDL-printer and yosys mapping bugs that RTL simulation cannot see. xc7 netlists with block
RAM cannot be simulated (yosys' RAMB18E1/RAMB36E1 models are stubs); LUT-ROM xc7 netlists can.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np

from contract.design import AcceleratorDesign
from contract.reference import LayerWeights
from generator.parts import part_for
from generator.synth import SynthResult, synthesize
from generator.testbench import emit_testbench
from generator.verify import VerifyResult, run_cocotb
from generator.writer import write_files

CELL_MODELS = {"ice40": ("ice40/cells_sim.v",), "xc7": ("xilinx/cells_sim.v",)}
# Icarus 11 does not parse the default port values that ice40/cells_sim.v uses unless told not to.
CELL_DEFINES: dict[str, dict[str, object]] = {"ice40": {"NO_ICE40_DEFAULT_ASSIGNMENTS": 1}, "xc7": {}}


def yosys_datdir() -> Path:
    """yosys' data directory (``yosys-config --datdir``; Debian ships yosys without yosys-config)."""
    if shutil.which("yosys-config"):
        out = subprocess.run(["yosys-config", "--datdir"], capture_output=True, text=True, check=True).stdout
        return Path(out.strip())
    yosys = shutil.which("yosys")
    if yosys is None:
        raise FileNotFoundError("yosys not found on PATH")
    datdir = Path(yosys).resolve().parent.parent / "share" / "yosys"
    if not datdir.is_dir():
        raise FileNotFoundError(f"yosys data directory not found at {datdir}")
    return datdir


def simulate_netlist(
    design: AcceleratorDesign,
    weights: list[LayerWeights],
    vectors: np.ndarray,
    synth: SynthResult,
    build_dir: Path,
    seed: int = 1,
) -> VerifyResult:
    """Run the cocotb testbench on ``synth.netlist`` with Icarus Verilog."""
    part = part_for(synth.device)
    if part.family == "xc7" and any(c.startswith("RAMB") for c in synth.cells):
        raise ValueError("xc7 block-RAM netlists cannot be simulated: yosys' RAMB18E1/RAMB36E1 models are stubs")
    if synth.netlist is None or not synth.netlist.exists():
        raise FileNotFoundError(f"no gate-level netlist in {synth}")
    if len(vectors) < 2:
        raise ValueError("gate-level simulation needs at least 2 vectors")
    build_dir = Path(build_dir).resolve()
    tb_dir = build_dir / "tb_gates"
    write_files(emit_testbench(design, weights, vectors, seed), tb_dir, force=True)
    models = [yosys_datdir() / relative for relative in CELL_MODELS[part.family]]
    return run_cocotb(
        "icarus",
        [synth.netlist, *models],
        design.name,
        tb_dir,
        build_dir / "sim_gates",
        design,
        CELL_DEFINES[part.family],
    )


def synthesize_and_simulate(
    design: AcceleratorDesign,
    weights: list[LayerWeights],
    vectors: np.ndarray,
    build_dir: Path,
    device: str | None = None,
) -> tuple[SynthResult, VerifyResult]:
    """Synthesize (no place and route) and simulate the netlist against the same vectors."""
    build_dir = Path(build_dir)
    synth = synthesize(design, weights, build_dir / "synth", device=device, place_and_route=False)
    return synth, simulate_netlist(design, weights, vectors, synth, build_dir)
