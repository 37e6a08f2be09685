"""Yosys cell counts -> device resources: the one counting rule for synthesis results and parsed yosys reports.

It lives in ``generator`` (not ``dse``) so that both ``generator.synth`` and ``dse.reports.yosys`` can use it:
``dse`` may import ``generator``, the reverse is kept out of this module.
"""

from __future__ import annotations

from collections.abc import Mapping

FAMILIES = ("xc7", "ice40")

# LUT-equivalents of the 7-series distributed-RAM and shift-register primitives ('LUT as Memory').
_XC7_LUTRAM_LUTS = {
    "RAM32X1S": 1,
    "RAM32X1D": 2,
    "RAM32M": 4,
    "RAM64X1S": 1,
    "RAM64X1D": 2,
    "RAM64M": 4,
    "RAM128X1S": 2,
    "RAM128X1D": 4,
    "RAM256X1S": 4,
    "SRL16E": 1,
    "SRLC16E": 1,
    "SRLC32E": 1,
}
_XC7_BRAM36 = {"RAMB36E1": 1.0, "FIFO36E1": 1.0, "RAMB18E1": 0.5, "FIFO18E1": 0.5}
_XC7_LUTS = {"LUT1", "LUT2", "LUT3", "LUT4", "LUT5", "LUT6", "LUT6_2", "INV"}


def _xc7_resource(cell: str) -> tuple[str, float] | None:
    if cell in _XC7_LUTS:
        return "lut", 1.0  # INV is implemented as a LUT1 by Vivado
    if cell.startswith(("FD", "LD")):
        return "ff", 1.0  # Vivado's 'Slice Registers' counts flip-flops and latches
    if cell == "DSP48E1":
        return "dsp", 1.0
    if cell in _XC7_BRAM36:
        return "bram", _XC7_BRAM36[cell]
    if cell == "CARRY4":
        return "carry", 1.0
    if cell in _XC7_LUTRAM_LUTS:
        return "lutram", float(_XC7_LUTRAM_LUTS[cell])
    return None


def _ice40_resource(cell: str) -> tuple[str, float] | None:
    if cell == "SB_LUT4":
        return "lut", 1.0
    if cell.startswith("SB_DFF"):
        return "ff", 1.0
    if cell == "SB_MAC16":
        return "dsp", 1.0
    if cell.startswith("SB_RAM40_4K"):
        return "bram", 1.0  # one 4-kbit EBR; yosys also emits the NR/NW/NRNW clock-polarity variants
    if cell == "SB_CARRY":
        return "carry", 1.0
    return None


def resources_from_cells(cells: Mapping[str, int], family: str) -> dict[str, float]:
    """Device resources from yosys cell counts: keys lut, ff, dsp, bram, carry, lutram.

    xc7: ``lut`` are logic LUTs only (Vivado 'LUT as Logic'); ``lutram`` is in LUTs ('LUT as Memory'), so
    Vivado's 'Slice LUTs' is lut + lutram. ``bram`` is in RAMB36 units (a RAMB18E1 counts 0.5).
    ice40: ``bram`` counts SB_RAM40_4K blocks; ``lutram`` is always 0. Other cells (I/O buffers, MUXF7/8,
    SB_GB, SPRAM, ...) are not counted.
    """
    if family not in FAMILIES:
        raise ValueError(f"resources_from_cells: family must be one of {FAMILIES}, got {family!r}")
    classify = _xc7_resource if family == "xc7" else _ice40_resource
    resources = {"lut": 0.0, "ff": 0.0, "dsp": 0.0, "bram": 0.0, "carry": 0.0, "lutram": 0.0}
    for cell, count in cells.items():
        kind = classify(cell)
        if kind is not None:
            resources[kind[0]] += kind[1] * count
    return resources
