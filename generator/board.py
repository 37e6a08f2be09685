"""The Elastic Node V5 board top: an SPI slave bridge around the accelerator, pin constraints, and its simulation.

Pins of the XC7S15 (FTGB196) come from the group's public schematic, es-ude/ElasticNodeHardware
``v5/revision_1/main_board/en_v5.sch`` (nets PIO16..19/SPI2FPGA_*, GCLK_100, PIO13/GPIO2FPGA_0 and
PIO14/GPIO2FPGA_1, mapped to pads by the schematic's SPARTAN7-LX15 FTGB196 device). There is no iCE40UP5K on the
board: its PCF is a marked template.
"""

from __future__ import annotations

import json
import shutil
import sys
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any

import numpy as np

from contract.design import AcceleratorDesign

BOARD_TOP = "dse_board_top"
SPI_VECTORS = "spi_vectors.json"
SPI_RESULTS = "spi_results.json"
SPI_TEST_MODULE = "tb_spi"
# (port, package pin, schematic net). Bank 14; LVCMOS33 assumed for the 3.3 V RP2040 I/O.
ENV5_PINS = (
    ("clk", "H11", "GCLK_100 (100 MHz oscillator X3, MRCC)"),
    ("sck", "N11", "PIO18/SPI2FPGA_SCK (RP2040 GPIO18)"),
    ("cs_n", "P12", "PIO17/SPI2FPGA_CS (RP2040 GPIO17)"),
    ("mosi", "P11", "PIO19/SPI2FPGA_MOSI (RP2040 GPIO19)"),
    ("miso", "M12", "PIO16/SPI2FPGA_MISO (RP2040 GPIO16)"),
    ("irq", "M13", "PIO13/GPIO2FPGA_0 (RP2040 GPIO13; dual-purpose RDWR_B, a user I/O after configuration)"),
    ("rst", "P13", "PIO14/GPIO2FPGA_1 (RP2040 GPIO14, driven high by the MCU to reset the core)"),
)


def _bytes(bits: int) -> int:
    return -(-bits // 8)


def emit_board(design: AcceleratorDesign) -> dict[str, str]:
    """``board/``: the SPI bridge top (VHDL), the Elastic Node V5 XDC, an iCE40UP5K PCF template, the cocotb test."""
    first, last = design.fpga_layers[0], design.fpga_layers[-1]
    n_in, n_out = first.in_size, last.out_size
    in_bits, out_bits = first.in_fmt.total_bits, last.out_fmt.total_bits
    template = Template(resources.files("generator").joinpath("templates", "board", "spi_bridge.vhd").read_text())
    vhdl = template.substitute(
        entity=BOARD_TOP,
        core=design.name,
        n_in=n_in,
        n_out=n_out,
        in_bits=in_bits,
        out_bits=out_bits,
        in_bytes=_bytes(in_bits),
        out_bytes=_bytes(out_bits),
        max_bytes=max(_bytes(in_bits), _bytes(out_bits)),
        max_elements=max(n_in, n_out) + 1,
    )
    xdc = [
        "# Elastic Node V5 (XC7S15 FTGB196): SPI link to the RP2040. Pins from es-ude/ElasticNodeHardware,",
        "# v5/revision_1/main_board/en_v5.sch. Bank 14 I/O standard assumed LVCMOS33: check VCCO before use.",
    ]
    for port, pin, net in ENV5_PINS:
        xdc.append(f"set_property -dict {{PACKAGE_PIN {pin} IOSTANDARD LVCMOS33}} [get_ports {{{port}}}] ;# {net}")
    xdc.append(f"create_clock -name clk -period {1000.0 / 100.0:.3f} [get_ports {{clk}}] ;# the board's 100 MHz")
    pcf = [
        "# TEMPLATE: iCE40UP5K pins for the SPI board top. No Elastic Node carries an iCE40UP5K; replace every",
        "# <PIN> with your board's package pin before place and route.",
        "",
    ]
    pcf += [f"set_io {port} <PIN>  # {port}" for port, _, _ in ENV5_PINS]
    test = resources.files("generator").joinpath("templates", "board", "tb_spi.py").read_text()
    return {
        "board/spi_bridge.vhd": vhdl,
        "board/elastic_node_v5.xdc": "\n".join(xdc) + "\n",
        "board/ice40up5k_TEMPLATE.pcf": "\n".join(pcf) + "\n",
        f"board/{SPI_TEST_MODULE}.py": test,
    }


def spi_vectors(design: AcceleratorDesign, inputs: np.ndarray, expected: np.ndarray) -> str:
    first, last = design.fpga_layers[0], design.fpga_layers[-1]
    return json.dumps(
        {
            "inputs": np.asarray(inputs).tolist(),
            "expected": np.asarray(expected).tolist(),
            "in_bits": first.in_fmt.total_bits,
            "out_bits": last.out_fmt.total_bits,
            "in_bytes": _bytes(first.in_fmt.total_bits),
            "out_bytes": _bytes(last.out_fmt.total_bits),
        }
    )


def simulate_board(sources: list[Path], board_dir: Path, sim_dir: Path) -> dict[str, Any]:
    """GHDL + cocotb: SPI transactions through the board top; the verdict and the mismatches."""
    from cocotb_tools.runner import get_runner

    board_dir, sim_dir = board_dir.resolve(), sim_dir.resolve()
    if sim_dir.exists():
        shutil.rmtree(sim_dir)
    sim_dir.mkdir(parents=True)
    runner = get_runner("ghdl")
    error = None
    sys.path.insert(0, str(board_dir))
    try:
        runner.build(
            sources=[*sources, board_dir / "spi_bridge.vhd"],
            hdl_toplevel=BOARD_TOP,
            build_dir=sim_dir,
            build_args=["--std=08"],
            always=True,
            log_file=sim_dir / "build.log",
        )
        runner.test(
            test_module=SPI_TEST_MODULE,
            hdl_toplevel=BOARD_TOP,
            build_dir=sim_dir,
            test_args=["--std=08"],
            extra_env={"DSE_SPI_VECTORS": str(board_dir / SPI_VECTORS), "DSE_SPI_RESULTS": str(sim_dir / SPI_RESULTS)},
            log_file=sim_dir / "test.log",
        )
    except (SystemExit, Exception) as exc:  # a failing cocotb test ends the runner: report it, do not raise
        error = f"{type(exc).__name__}: {exc}"
    finally:
        sys.path.remove(str(board_dir))
    results_path = sim_dir / SPI_RESULTS
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    verified = error is None and results.get("mismatches") == 0 and results.get("vectors", 0) > 0
    return {"verified": verified, "error": error, **results}
