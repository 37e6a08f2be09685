"""yosys `stat` parsers: captured yosys 0.23 output of tests/data/reports/tiny_mac.v and the newer-layout
post-synthesis report from ../shared/reference-reports."""

from __future__ import annotations

from pathlib import Path

import pytest
from reference_reports import read_reference

from dse.reports import yosys

DATA_DIR = Path(__file__).resolve().parent / "data" / "reports"
XC7_TOTAL_CELLS = {
    "BUFG": 1,
    "CARRY4": 3,
    "DSP48E1": 1,
    "FDRE": 12,
    "FDSE": 1,
    "IBUF": 49,
    "INV": 1,
    "LUT4": 7,
    "LUT6": 8,
    "MUXF7": 4,
    "MUXF8": 2,
    "OBUF": 49,
    "RAM32M": 1,
    "RAMB18E1": 1,
}


def data_text(name: str) -> str:
    return (DATA_DIR / name).read_text(encoding="utf-8")


def reference_text(relative: str) -> str:
    return read_reference(relative)


def test_hierarchy_totals_are_used_for_xc7() -> None:
    stat = yosys.parse_stat(data_text("yosys023_xc7_stat.txt"), "xc7.txt")
    assert stat.is_design_total
    assert stat.top == "tiny_mac"
    assert stat.num_cells == 140
    assert stat.cells == XC7_TOTAL_CELLS  # the mac_lane instance is replaced by its DSP48E1
    assert (stat.num_wires, stat.num_wire_bits) == (59, 504)
    assert (stat.num_public_wires, stat.num_public_wire_bits) == (18, 144)
    assert (stat.num_memories, stat.num_memory_bits, stat.num_processes) == (0, 0, 0)
    assert set(stat.modules) == {"mac_lane", "tiny_mac"}
    assert stat.modules["mac_lane"].cells == {"DSP48E1": 1}
    assert stat.modules["tiny_mac"].cells["mac_lane"] == 1
    assert stat.modules["tiny_mac"].num_wires == 53


def test_selecting_one_module_by_name() -> None:
    stat = yosys.parse_stat(data_text("yosys023_xc7_stat.txt"), top="mac_lane")
    assert not stat.is_design_total
    assert (stat.top, stat.num_cells, stat.num_wires) == ("mac_lane", 1, 6)


def test_flat_ice40_stat() -> None:
    stat = yosys.parse_stat(data_text("yosys023_ice40_stat.txt"))
    assert not stat.is_design_total
    assert stat.top == "tiny_mac"
    assert stat.num_cells == 366
    assert stat.cells == {
        "SB_CARRY": 10,
        "SB_DFF": 56,
        "SB_DFFE": 128,
        "SB_DFFSS": 1,
        "SB_LUT4": 166,
        "SB_MAC16": 1,
        "SB_RAM40_4K": 4,
    }
    assert (stat.num_wires, stat.num_wire_bits) == (128, 646)


def test_last_stat_of_a_log_wins() -> None:
    log = (
        "1. Executing Verilog-2005 frontend.\n"
        + data_text("yosys023_xc7_stat.txt")
        + "\n4. Executing SYNTH_ICE40 pass.\n"
        + data_text("yosys023_ice40_stat.txt").replace("3. Printing statistics.", "4.53. Printing statistics.")
        + "\n4.54. Executing CHECK pass (checking for obvious problems).\nFound and reported 0 problems.\n"
    )
    stat = yosys.parse_stat(log)
    assert stat.num_cells == 366
    assert stat.cells["SB_LUT4"] == 166


def test_stat_json_matches_text() -> None:
    from_json = yosys.parse_stat_json(data_text("yosys023_xc7_stat.json"), "xc7.json")
    assert from_json.is_design_total
    assert from_json.top == "tiny_mac"  # derived: the module nobody instantiates
    assert from_json.num_cells == 140
    assert from_json.cells == XC7_TOTAL_CELLS
    assert (from_json.num_wires, from_json.num_public_wire_bits) == (59, 144)
    assert from_json.modules["tiny_mac"].cells["mac_lane"] == 1


def test_newer_yosys_layout_post_synthesis_report() -> None:
    # nextpnr flow's post-synthesis utilisation: newer yosys layout ("235 wires", "110   SB_DFFESR").
    stat = yosys.parse_stat(reference_text("nextpnr-ice40up5k-env6mini/TOP_MODULE_util_sync.rpt"), "sync.rpt")
    assert stat.top == "TOP_MODULE"
    assert stat.num_cells == 233
    assert stat.cells == {
        "$_TBUF_": 1,
        "$scopeinfo": 6,
        "SB_DFF": 4,
        "SB_DFFE": 2,
        "SB_DFFESR": 110,
        "SB_DFFESS": 1,
        "SB_DFFSR": 3,
        "SB_DFFSS": 2,
        "SB_GB": 1,
        "SB_LUT4": 103,
    }
    assert (stat.num_wires, stat.num_wire_bits, stat.num_public_wires) == (235, 1821, 235)
    resources = yosys.resources_from_cells(stat.cells, "ice40")
    assert resources == {"lut": 103, "ff": 122, "dsp": 0, "bram": 0, "carry": 0, "lutram": 0}


def test_newer_layout_hierarchy_counts_primitives_listed_as_submodules() -> None:
    # Layout of yosys 0.5x: library cells of a module appear under 'submodules'; '-' means none.
    text = """
9.48. Printing statistics.

=== top ===

        +----------Local Count, excluding submodules.
        |
       46 wires
      198 wire bits
       11 ports
       62 submodules
       17   SB_DFFER
       45   SB_LUT4

=== design hierarchy ===

        +----------Count including submodules.
        |
        - top

        +----------Count including submodules.
        |
       46 wires
      198 wire bits
        - memories
        - cells
       62 submodules
       17   SB_DFFER
       45   SB_LUT4

9.49. Executing CHECK pass (checking for obvious problems).
"""
    stat = yosys.parse_stat(text)
    assert stat.is_design_total and stat.top == "top"
    assert stat.num_cells == 62
    assert stat.cells == {"SB_DFFER": 17, "SB_LUT4": 45}
    assert (stat.num_wires, stat.num_memories) == (46, 0)


def test_resources_xc7() -> None:
    resources = yosys.resources_from_cells(XC7_TOTAL_CELLS, "xc7")
    # 7 LUT4 + 8 LUT6 + INV; FDRE + FDSE; RAMB18E1 = half a BRAM36; RAM32M = 4 LUTs of LUTRAM.
    assert resources == {"lut": 16, "ff": 13, "dsp": 1, "bram": 0.5, "carry": 3, "lutram": 4}


def test_resources_xc7_memory_primitives() -> None:
    cells = {"RAMB36E1": 2, "RAMB18E1": 3, "RAM64X1D": 2, "SRLC32E": 5, "LUT6_2": 1, "LDCE": 2}
    assert yosys.resources_from_cells(cells, "xc7") == {
        "lut": 1,
        "ff": 2,
        "dsp": 0,
        "bram": 3.5,
        "carry": 0,
        "lutram": 9,
    }


def test_resources_ice40() -> None:
    stat = yosys.parse_stat(data_text("yosys023_ice40_stat.txt"))
    assert yosys.resources_from_cells(stat.cells, "ice40") == {
        "lut": 166,
        "ff": 185,
        "dsp": 1,
        "bram": 4,
        "carry": 10,
        "lutram": 0,
    }


# Every cell type synth_xilinx / synth_ice40 (yosys 0.23) emits that counts as a resource, plus ones that do not.
ALL_XC7_CELLS = {
    **{f"LUT{n}": n for n in range(1, 7)},
    "INV": 2,
    "FDRE": 10,
    "FDSE": 3,
    "FDCE": 1,
    "FDPE": 1,
    "LDCE": 1,
    "DSP48E1": 2,
    "RAMB36E1": 1,
    "RAMB18E1": 3,
    "CARRY4": 4,
    "RAM32M": 1,
    "RAM64M": 1,
    "RAM32X1D": 1,
    "RAM64X1D": 1,
    "RAM128X1D": 1,
    "RAM64X1S": 1,
    "RAM128X1S": 1,
    "RAM256X1S": 1,
    "SRL16E": 2,
    "SRLC32E": 3,
    "MUXF7": 5,
    "IBUF": 9,
}
ALL_ICE40_CELLS = {
    "SB_LUT4": 40,
    "SB_DFF": 3,
    "SB_DFFE": 4,
    "SB_DFFESR": 5,
    "SB_DFFNSR": 1,
    "SB_MAC16": 2,
    "SB_RAM40_4K": 3,
    "SB_RAM40_4KNR": 1,
    "SB_CARRY": 7,
    "SB_GB": 1,
    "SB_IO": 6,
}


@pytest.mark.parametrize(
    ("family", "cells", "expected"),
    [
        ("xc7", ALL_XC7_CELLS, {"lut": 23, "ff": 16, "dsp": 2, "bram": 2.5, "carry": 4, "lutram": 28}),
        ("ice40", ALL_ICE40_CELLS, {"lut": 40, "ff": 13, "dsp": 2, "bram": 4, "carry": 7, "lutram": 0}),
    ],
)
def test_synthesis_and_report_paths_count_cells_alike(
    family: str, cells: dict[str, int], expected: dict[str, float]
) -> None:
    # generator.synth (SynthResult numbers) and dse.reports.yosys (parsed reports) must agree on one cell dict.
    from generator import synth

    assert synth.resources_from_cells(cells, family) == yosys.resources_from_cells(cells, family) == expected


def test_unknown_family() -> None:
    with pytest.raises(ValueError, match=r"family must be one of \('xc7', 'ice40'\), got 'ecp5'"):
        yosys.resources_from_cells({}, "ecp5")


def test_garbage_text() -> None:
    with pytest.raises(ValueError, match=r"junk\.txt: not yosys `stat` output: expected '=== <module> ==='"):
        yosys.parse_stat("Info: nothing here\n", "junk.txt")


def test_several_modules_without_totals_need_top() -> None:
    text = data_text("yosys023_xc7_stat.txt").split("=== design hierarchy ===")[0]
    with pytest.raises(ValueError, match=r"x\.txt: yosys stat: several modules \['mac_lane', 'tiny_mac'\]"):
        yosys.parse_stat(text, "x.txt")
    with pytest.raises(ValueError, match=r"no module 'nope'"):
        yosys.parse_stat(text, "x.txt", top="nope")


def test_garbage_json() -> None:
    with pytest.raises(ValueError, match=r"j\.json: yosys stat -json: not JSON"):
        yosys.parse_stat_json("{not json", "j.json")
    with pytest.raises(ValueError, match=r"j\.json: not yosys `stat -json` output: expected an object with 'modules'"):
        yosys.parse_stat_json('{"passed": true}', "j.json")
