"""Fast checks of the writer, the GHDL Verilog repairs, resource counting and the project files."""

from __future__ import annotations

from pathlib import Path

import pytest

from contract.design import AcceleratorDesign
from contract.fixedpoint import FixedFormat
from contract.layers import DenseLayer
from generator.cells import resources_from_cells
from generator.project_files import emit_project_files
from generator.synth import fmax_wrapper_verilog
from generator.verilog_fixes import (
    UnsafeVerilogError,
    annotate_memories,
    complete_full_cases,
    fix_ghdl_verilog,
    fix_signed_multiplies,
    fix_signed_shifts,
)
from generator.writer import OutputExistsError, write_files

F8 = FixedFormat(8, 4)


def design_for(device: str) -> AcceleratorDesign:
    layer = DenseLayer(4, 2, "relu", F8, FixedFormat(8, 7), F8)
    return AcceleratorDesign((layer,), device=device, clock_mhz=50.0, name="acc_top")


# --- writer ---------------------------------------------------------------------------------------------------


def test_writer_creates_nested_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    written = write_files({"a.vhd": "x", "sub/b.txt": "y"}, out)
    assert sorted(p.relative_to(out).as_posix() for p in written) == ["a.vhd", "sub/b.txt"]
    assert (out / "sub" / "b.txt").read_text() == "y"


def test_writer_refuses_a_non_empty_folder_unless_forced(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_files({"old.vhd": "old"}, out)
    with pytest.raises(OutputExistsError, match=r"out exists and is not empty.*--force"):
        write_files({"new.vhd": "new"}, out)
    assert (out / "old.vhd").read_text() == "old"  # untouched after the refusal
    write_files({"new.vhd": "new"}, out, force=True)
    assert sorted(p.name for p in out.iterdir()) == ["new.vhd"]


def test_writer_accepts_an_empty_folder_and_rejects_escapes(tmp_path: Path) -> None:
    write_files({"a.vhd": "x"}, tmp_path)  # exists but empty
    with pytest.raises(ValueError, match="outside"):
        write_files({"../evil.vhd": "x"}, tmp_path / "other")


# --- GHDL 2.0 Verilog repairs --------------------------------------------------------------------------------

GHDL_SHIFT = "  assign n3_o = $signed(a) >> n2_o;\n  assign n4_o = b >> 2;\n"
GHDL_MUL = "  assign n181_o = n179_o * n180_o; // smul\n  assign n9_o = c * d; // umul\n"
GHDL_CASE = "  always @*\n    case (n15_o)\n      3'b100: n20_o <= 4'b0100;\n    endcase\n"
GHDL_MEMORIES = (  # as ghdl synth prints a layer with 2 buffer banks, a 10 x 32 weight ROM and a bias table
    "module net_layer0\n  (input clk);\n"
    "  reg [7:0] banks_n1_bank[4:0] ; // memory\n"
    "  reg [31:0] n522[9:0] ; // memory\n"
    "  reg [37:0] n524[1:0] ; // memory\n"
    "endmodule\n"
    "module net_layer1\n  (input clk);\n"
    "  reg [31:0] n600[9:0] ; // memory\n"
    "  reg [7:0] banks_n1_bank[4:0] ; // memory\n"
    "endmodule\n"
)


def test_signed_shift_becomes_arithmetic_only_for_signed_operands() -> None:
    fixed = fix_signed_shifts(GHDL_SHIFT)
    assert "$signed(a) >>> n2_o" in fixed
    assert "b >> 2" in fixed and fixed.count(">>>") == 1


def test_signed_multiply_gets_signed_operands() -> None:
    fixed = fix_signed_multiplies(GHDL_MUL)
    assert "assign n181_o = $signed(n179_o) * $signed(n180_o); // smul" in fixed
    assert "assign n9_o = c * d; // umul" in fixed


def test_partial_case_is_refused_and_full_case_completed() -> None:
    with pytest.raises(UnsafeVerilogError, match="line 2: GHDL printed 'case \\(n15_o\\)'"):
        complete_full_cases(GHDL_CASE)
    with_default = GHDL_CASE.replace("    endcase", "      default: n20_o <= 4'b0;\n    endcase")
    assert complete_full_cases(with_default) == with_default
    full = (
        "  always @*\n    case (n209_o)\n      2'b00: y <= a;\n      2'b01: y <= b;\n"
        "      2'b10: y <= c;\n      2'b11: y <= d;\n    endcase\n"
    )
    completed = complete_full_cases(full)
    assert completed == full.replace("      2'b11: y <= d;", "      default: y <= d;")
    # Three of four values listed: the fourth value's result is unknown, so it is refused.
    with pytest.raises(UnsafeVerilogError, match="do not cover every selector value"):
        complete_full_cases(full.replace("      2'b11: y <= d;\n", ""))


def test_memories_get_styles_by_module_width_and_depth() -> None:
    styles = {"net_layer0": {(32, 10): "block", "ram": "block"}, "net_layer1": {(32, 10): "logic"}}
    lines = annotate_memories(GHDL_MEMORIES, styles).splitlines()

    def attribute_before(memory: str, start: int = 0) -> str:
        return lines[lines.index(memory, start) - 1].strip()

    layer1 = lines.index("module net_layer1")
    assert attribute_before("  reg [31:0] n522[9:0] ; // memory") == '(* rom_style = "block" *)'
    assert attribute_before("  reg [37:0] n524[1:0] ; // memory") == '(* rom_style = "logic" *)'  # bias: LUTs
    assert attribute_before("  reg [7:0] banks_n1_bank[4:0] ; // memory") == '(* ram_style = "block" *)'
    assert attribute_before("  reg [31:0] n600[9:0] ; // memory", layer1) == '(* rom_style = "logic" *)'
    assert attribute_before("  reg [7:0] banks_n1_bank[4:0] ; // memory", layer1) == '(* ram_style = "distributed" *)'
    assert "rom_style" in fix_ghdl_verilog(GHDL_MEMORIES)


# --- resources -------------------------------------------------------------------------------------------------


def test_xc7_resources_in_native_units() -> None:
    cells = {
        "LUT1": 1,
        "LUT6": 4,
        "FDRE": 10,
        "FDSE": 2,
        "DSP48E1": 3,
        "RAMB18E1": 3,
        "RAMB36E1": 1,
        "CARRY4": 5,
        "SRL16E": 2,
        "RAM64X1D": 1,
        "IBUF": 9,
    }
    counts = resources_from_cells(cells, "xc7")
    # lutram is in LUTs: 2 SRL16E (one LUT each) + 1 RAM64X1D (two LUTs).
    assert counts == {"lut": 5, "ff": 12, "dsp": 3, "bram": 2.5, "carry": 5, "lutram": 4}


def test_ice40_resources_in_native_units() -> None:
    cells = {"SB_LUT4": 7, "SB_DFF": 1, "SB_DFFESR": 2, "SB_MAC16": 1, "SB_RAM40_4K": 2, "SB_CARRY": 4}
    counts = resources_from_cells(cells, "ice40")
    assert counts == {"lut": 7, "ff": 3, "dsp": 1, "bram": 2, "carry": 4, "lutram": 0}


def test_fmax_wrapper_serializes_the_ports() -> None:
    text = fmax_wrapper_verilog("acc_top", in_width=32, out_width=1)
    assert "in_shift <= {in_shift[30:0], in_bit}" in text
    assert "acc_top dut (" in text and "out_shift <= (out_valid & out_ready) ? out_data : 1'b0" in text


# --- project files -----------------------------------------------------------------------------------------


def test_vivado_script_and_core_for_xilinx_parts() -> None:
    sources = ["acc_top_layer0.vhd", "acc_top.vhd"]
    files = emit_project_files(design_for("xc7s15"), sources)
    tcl, core = files["create_vivado_project.tcl"], files["acc_top.core"]
    assert "-part xc7s15ftgb196-2" in tcl
    assert "[file join $here acc_top_layer0.vhd]" in tcl and "set_property top acc_top" in tcl
    assert "VHDL 2008" in tcl and "create_clock -period 20.000" in tcl
    assert core.startswith("CAPI=2:\n")
    assert "      - acc_top_layer0.vhd\n      - acc_top.vhd" in core
    assert "file_type: vhdlSource-2008" in core and "toplevel: acc_top" in core and "part: xc7s15ftgb196-2" in core


def test_ice40_gets_a_core_but_no_vivado_script() -> None:
    files = emit_project_files(design_for("ice40up5k"), ["acc_top.vhd"])
    assert set(files) == {"acc_top.core"}
    assert "--up5k" in files["acc_top.core"]
