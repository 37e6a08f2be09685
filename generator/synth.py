"""Open-source synthesis: ghdl synth -> Verilog repairs -> yosys (xc7 / ice40) -> nextpnr-ice40 for fmax.

Resource numbers are in device-native units: BRAM36 equivalents on xc7 (RAMB18E1 = 0.5), EBR (SB_RAM40_4K)
on iCE40. Tool versions are recorded because LUT and fmax numbers change a lot between versions.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from contract.design import AcceleratorDesign
from contract.reference import LayerWeights
from generator.cells import resources_from_cells
from generator.parts import Part, part_for
from generator.product_probe import PROBE_ENTITY, product_probe_vhdl
from generator.verilog_fixes import RAM_KEY, YOSYS_RAM_STYLE, YOSYS_ROM_STYLE, MemoryStyles, fix_ghdl_verilog
from generator.vhdl import COMPILE_ORDER_FILE, compile_order, emit_vhdl, layer_entity_name
from generator.writer import write_files

RAW_VERILOG = "rtl_ghdl.v"
FIXED_VERILOG = "rtl.v"
NETLIST_VERILOG = "netlist.v"
FMAX_WRAPPER = "fmax_wrapper"


class ToolError(RuntimeError):
    """An external tool failed; the message holds the command and the end of its output."""


@dataclass
class SynthResult:
    device: str
    part: str
    top: str
    lut: int
    ff: int
    dsp: int
    bram: float  # BRAM36 equivalents (xc7) or SB_RAM40_4K count (ice40)
    carry: int
    lutram: int  # LUTs used as distributed RAM / shift registers (xc7 RAM*/SRL*), 0 on iCE40
    fmax_mhz: float | None
    fmax_source: str  # how fmax_mhz was obtained (nextpnr place and route, or the xc7 open-flow timing)
    logic_cells: int | None  # iCE40 logic cells (LUT4 + FF + carry) after nextpnr packing
    placed: bool | None  # nextpnr placed it (None: not placed and routed)
    cells: dict[str, int]
    tool_versions: dict[str, str]
    runtime_s: float
    netlist: Path | None = None  # gate-level Verilog written by yosys
    work_dir: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["netlist"] = str(self.netlist) if self.netlist else None
        data["work_dir"] = str(self.work_dir) if self.work_dir else None
        return data


def run_tool(command: list[str], cwd: Path, log_name: str | None = None) -> str:
    """Run a tool, keep its output in ``cwd/log_name``, raise ToolError with the tail on failure."""
    if shutil.which(command[0]) is None:
        raise ToolError(f"{command[0]} not found on PATH")
    proc = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    output = proc.stdout + proc.stderr
    if log_name:
        (cwd / log_name).write_text(output)
    if proc.returncode != 0:
        tail = "\n".join(output.splitlines()[-25:])
        raise ToolError(f"{' '.join(command)} failed with exit code {proc.returncode}:\n{tail}")
    return proc.stdout


def tool_versions() -> dict[str, str]:
    versions = {}
    for name, command in {
        "ghdl": ["ghdl", "--version"],
        "yosys": ["yosys", "-V"],
        "nextpnr-ice40": ["nextpnr-ice40", "--version"],
    }.items():
        try:
            proc = subprocess.run(command, capture_output=True, text=True, check=False)
            versions[name] = (proc.stdout + proc.stderr).strip().splitlines()[0]
        except (OSError, IndexError):
            versions[name] = "unavailable"
    return versions


def ghdl_to_verilog(files: dict[str, str], top: str, work_dir: Path, rom_styles: MemoryStyles) -> Path:
    """Analyse the VHDL, run ``ghdl synth`` and write the repaired Verilog; returns its path."""
    sources = compile_order(files)
    run_tool(["ghdl", "-a", "--std=08", "--workdir=.", *sources], work_dir, "ghdl_analyse.log")
    raw = run_tool(["ghdl", "synth", "--std=08", "--no-formal", "--workdir=.", "--out=verilog", top], work_dir)
    (work_dir / RAW_VERILOG).write_text(raw)
    fixed_path = work_dir / FIXED_VERILOG
    fixed_path.write_text(fix_ghdl_verilog(raw, rom_styles))
    return fixed_path


def rom_styles_for(design: AcceleratorDesign) -> MemoryStyles:
    """Per layer module: the weight ROM's (width, depth) -> yosys rom_style, and the buffer banks' ram_style.

    Bias tables default to LUT logic.
    """
    return {
        layer_entity_name(design, index): {
            (layer.rom_width, max(2, layer.rom_depth)): YOSYS_ROM_STYLE[layer.rom_storage],
            RAM_KEY: YOSYS_RAM_STYLE[layer.buffer_storage_on(part_for(design.device).family)],
        }
        for index, layer in enumerate(design.fpga_layers)
        if hasattr(layer, "rom_width")  # pooling has no weight ROM and no input banks
    }


def fmax_wrapper_verilog(top: str, in_width: int, out_width: int) -> str:
    """A wrapper with serial data pins: the UP5K's 39 I/Os cannot take the full vectors for place and route."""
    in_next = "in_bit" if in_width == 1 else f"{{in_shift[{in_width - 2}:0], in_bit}}"
    out_next = "1'b0" if out_width == 1 else f"{{1'b0, out_shift[{out_width - 1}:1]}}"
    return f"""// Place-and-route wrapper for fmax only: registered serial I/O around {top}.
module {FMAX_WRAPPER} (input clk, input rst, input in_valid, output in_ready, input in_bit,
                      output out_valid, input out_ready, output out_bit);
  reg [{in_width - 1}:0] in_shift;
  reg [{out_width - 1}:0] out_shift;
  wire [{out_width - 1}:0] out_data;
  always @(posedge clk) in_shift <= {in_next};
  always @(posedge clk) out_shift <= (out_valid & out_ready) ? out_data : {out_next};
  assign out_bit = out_shift[0];
  {top} dut (.clk(clk), .rst(rst), .in_valid(in_valid), .in_ready(in_ready), .in_data(in_shift),
             .out_valid(out_valid), .out_ready(out_ready), .out_data(out_data));
endmodule
"""


def _synth_command(family: str, top: str) -> str:
    return f"synth_xilinx -flatten -family xc7 -top {top}" if family == "xc7" else f"synth_ice40 -dsp -top {top}"


def _stat_cells(work_dir: Path) -> dict[str, int]:
    """yosys cell counts by type from the ``stat -json`` the scripts write."""
    stat = json.loads((work_dir / "stat.json").read_text())
    return {name: int(count) for name, count in stat["design"]["num_cells_by_type"].items()}


def _yosys_script(part: Part, top: str, in_width: int, out_width: int, place_and_route: bool) -> str:
    lines = [
        f"read_verilog {FIXED_VERILOG}",
        "design -save rtl",
        _synth_command(part.family, top),
        "tee -q -o stat.json stat -json",
        f"write_verilog -noattr {NETLIST_VERILOG}",
    ]
    if place_and_route:
        lines += [
            "design -load rtl",
            f"read_verilog {FMAX_WRAPPER}.v",
            f"synth_ice40 -dsp -top {FMAX_WRAPPER} -json {FMAX_WRAPPER}.json",
        ]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Placement:
    """nextpnr-ice40's verdict: logic cells after packing (known even when placement fails) and fmax if placed."""

    logic_cells: int
    placed: bool
    fmax_mhz: float | None


_LC_LINE = re.compile(r"ICESTORM_LC:\s*(\d+)/")
_NO_ROOM = ("no BELs remaining", "Failed to expand region")  # out of cells of some type


def nextpnr_place(part: Part, work_dir: Path, clock_mhz: float) -> Placement:
    """Pack, place and route the fmax wrapper; a design that does not fit is a result (placed=False), not an error."""
    command = [
        "nextpnr-ice40",
        f"--{part.part}",
        "--package",
        part.package,
        "--json",
        f"{FMAX_WRAPPER}.json",
        "--freq",
        f"{clock_mhz:g}",
        "--report",
        "nextpnr_report.json",
        "--seed",
        "1",
        "--timing-allow-fail",
    ]
    try:
        run_tool(command, work_dir, "nextpnr.log")
    except ToolError:
        log = (work_dir / "nextpnr.log").read_text() if (work_dir / "nextpnr.log").exists() else ""
        cells = _LC_LINE.search(log)
        if any(reason in log for reason in _NO_ROOM) and cells:
            return Placement(int(cells.group(1)), False, None)
        raise
    report = json.loads((work_dir / "nextpnr_report.json").read_text())
    achieved = [float(clock["achieved"]) for clock in report.get("fmax", {}).values()]
    if not achieved:
        raise ToolError("nextpnr report has no clock fmax")
    cells = int(report["utilization"]["ICESTORM_LC"]["used"])
    return Placement(cells, True, min(achieved))


# xc7 has no open place and route here. Its timing is yosys 'sta' over the cell delays of the Xilinx simulation
# models (prjxray-derived 'specify' blocks), plus a routing delay per routed net: 6.441 ns over 11 nets on the
# critical path of the routed XC7S15 reference design (Vivado 2024.2, ../shared/reference-reports), and that
# report's FDRE setup time. Dedicated cascades (carry chain, MUXF7/F8, DSP48E1 cascade inputs) have no routing.
XC7_ROUTE_NS_PER_NET = 6.441 / 11
XC7_SETUP_NS = 0.032
_DEDICATED_PINS = {
    "CARRY4.CI",
    "MUXF7.I0",
    "MUXF7.I1",
    "MUXF8.I0",
    "MUXF8.I1",
    *(f"DSP48E1.{pin}" for pin in ("PCIN", "ACIN", "BCIN", "CARRYCASCIN", "MULTSIGNIN")),
}
_PATH_LINE = re.compile(r"^\s+(\d+) \S+ \((\w+)\.(\w+)(?:->(\w+))?\)")
XC7_TIMING_SOURCE = "yosys sta cell delays + 0.586 ns per routed net (Vivado XC7S15 reference report)"


@dataclass(frozen=True)
class OpenTiming:
    fmax_mhz: float
    logic_ns: float  # cell delays from launch to capture
    routed_nets: int


def xc7_open_timing(log: str) -> OpenTiming:
    """The critical path of yosys ``sta`` (listed capture first) -> an fmax with routing added per routed net."""
    lines = log[log.index("Latest arrival time") :].splitlines()[1:]
    path = [m.groups() for m in map(_PATH_LINE.match, lines) if m]
    launch = next(i for i, (_, cell, pin, out) in enumerate(path) if out and (pin == "C" or pin.startswith("CLK")))
    clock_ps = int(path[launch + 1][0]) if launch + 1 < len(path) else 0
    logic_ns = (int(path[0][0]) - clock_ps) / 1000.0
    routed = sum(1 for _, cell, pin, _ in path[:launch] if f"{cell}.{pin}" not in _DEDICATED_PINS)
    period = logic_ns + routed * XC7_ROUTE_NS_PER_NET + XC7_SETUP_NS
    return OpenTiming(round(1000.0 / period, 2), logic_ns, routed)


def xc7_sta(top: str, work_dir: Path) -> OpenTiming:
    script = (
        f"read_verilog -lib -specify +/xilinx/cells_sim.v\nread_verilog {NETLIST_VERILOG}\nhierarchy -top {top}\nsta\n"
    )
    (work_dir / "sta.ys").write_text(script)
    return xc7_open_timing(run_tool(["yosys", "-s", "sta.ys"], work_dir, "sta.log"))


def synthesize(
    design: AcceleratorDesign,
    weights: list[LayerWeights],
    work_dir: Path,
    device: str | None = None,
    place_and_route: bool = True,
) -> SynthResult:
    """Synthesize the FPGA segment of ``design`` for ``device`` (default ``design.device``) in ``work_dir``.

    ``place_and_route`` runs nextpnr-ice40 for fmax and logic cells on iCE40; on xc7, which has no open place and
    route here, it runs yosys sta (XC7_TIMING_SOURCE).
    """
    started = time.perf_counter()
    part = part_for(device or design.device)
    files = emit_vhdl(design, weights)
    work_dir = Path(work_dir)
    write_files(files, work_dir, force=True)
    ghdl_to_verilog(files, design.name, work_dir, rom_styles_for(design))

    fpga = design.fpga_layers
    in_width = fpga[0].in_fmt.total_bits  # element-serial streams
    out_width = fpga[-1].out_fmt.total_bits
    do_pnr = place_and_route and part.family == "ice40"
    if do_pnr:
        (work_dir / f"{FMAX_WRAPPER}.v").write_text(fmax_wrapper_verilog(design.name, in_width, out_width))
    (work_dir / "synth.ys").write_text(_yosys_script(part, design.name, in_width, out_width, do_pnr))
    run_tool(["yosys", "-q", "-s", "synth.ys"], work_dir, "yosys.log")

    cells = _stat_cells(work_dir)
    resources = resources_from_cells(cells, part.family)
    placement = nextpnr_place(part, work_dir, design.clock_mhz) if do_pnr else None
    timing = xc7_sta(design.name, work_dir) if place_and_route and part.family == "xc7" else None
    fmax = placement.fmax_mhz if placement else timing.fmax_mhz if timing else None
    return SynthResult(
        device=part.device,
        part=part.part if part.family == "xc7" else f"{part.part}-{part.package}",
        top=design.name,
        lut=int(resources["lut"]),
        ff=int(resources["ff"]),
        dsp=int(resources["dsp"]),
        bram=float(resources["bram"]),
        carry=int(resources["carry"]),
        lutram=int(resources["lutram"]),
        fmax_mhz=fmax,
        fmax_source=("nextpnr-ice40" if placement else XC7_TIMING_SOURCE if timing else ""),
        logic_cells=placement.logic_cells if placement else None,
        placed=placement.placed if placement else None,
        cells=cells,
        tool_versions=tool_versions(),
        runtime_s=time.perf_counter() - started,
        netlist=work_dir / NETLIST_VERILOG,
        work_dir=work_dir,
    )


def synthesize_product(in_bits: int, weight_bits: int, family: str, work_dir: Path) -> int:
    """LUTs of one shift-and-add product alone (generator.product_probe), synthesized as the engine is."""
    files = {f"{PROBE_ENTITY}.vhd": product_probe_vhdl(in_bits, weight_bits), COMPILE_ORDER_FILE: f"{PROBE_ENTITY}.vhd"}
    write_files(files, work_dir, force=True)
    ghdl_to_verilog(files, PROBE_ENTITY, work_dir, {})
    script = f"read_verilog {FIXED_VERILOG}\n{_synth_command(family, PROBE_ENTITY)}\ntee -q -o stat.json stat -json\n"
    (work_dir / "synth.ys").write_text(script)
    run_tool(["yosys", "-q", "-s", "synth.ys"], work_dir, "yosys.log")
    return int(resources_from_cells(_stat_cells(work_dir), family)["lut"])
