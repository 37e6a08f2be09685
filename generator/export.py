"""One call that assembles everything for an exported design: VHDL, testbench, project files."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from contract.design import AcceleratorDesign
from contract.reference import LayerWeights
from generator.project_files import emit_project_files
from generator.testbench import emit_testbench
from generator.vhdl import compile_order, emit_vhdl
from generator.writer import write_files


def emit_all(
    design: AcceleratorDesign, weights: list[LayerWeights], vectors: np.ndarray | None = None
) -> dict[str, str]:
    """VHDL + project files, plus the cocotb testbench when ``vectors`` (input codes) are given."""
    files = emit_vhdl(design, weights)
    files |= emit_project_files(design, compile_order(files))
    if vectors is not None:
        files |= emit_testbench(design, weights, vectors)
    return files


def export(
    design: AcceleratorDesign,
    weights: list[LayerWeights],
    out_dir: Path,
    vectors: np.ndarray | None = None,
    force: bool = False,
) -> list[Path]:
    """Write :func:`emit_all` to ``out_dir`` (refuses a non-empty folder unless ``force``)."""
    return write_files(emit_all(design, weights, vectors), out_dir, force=force)
