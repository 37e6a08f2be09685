"""The Elastic Node V5 board top: an SPI slave bridge around the accelerator, simulated end to end in GHDL, and its
pin constraints (from the group's public schematic; the iCE40 PCF is a marked template)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from contract.design import AcceleratorDesign
from contract.fixedpoint import FixedFormat
from contract.layers import DenseFolding, DenseLayer
from contract.reference import random_weights, run_reference
from generator.board import ENV5_PINS, SPI_VECTORS, emit_board, simulate_board, spi_vectors
from generator.vhdl import compile_order, emit_vhdl
from generator.writer import write_files


def _design(in_bits: int, out_bits: int) -> AcceleratorDesign:
    q_in, w = FixedFormat(in_bits, in_bits // 2), FixedFormat(6, 4)
    first = DenseLayer(5, 4, "relu", q_in, w, q_in, folding=DenseFolding(2, 2))
    last = DenseLayer(4, 3, "identity", q_in, w, FixedFormat(out_bits, min(out_bits - 1, q_in.frac_bits + 4)))
    return AcceleratorDesign((first, last), "xc7s15", 100.0, name="dse_net")


def test_constraints_name_the_schematic_pins_and_the_ice40_template_is_marked() -> None:
    files = emit_board(_design(8, 8))
    xdc = files["board/elastic_node_v5.xdc"]
    for port, pin, _ in ENV5_PINS:
        assert f"PACKAGE_PIN {pin} IOSTANDARD LVCMOS33}} [get_ports {{{port}}}]" in xdc
    assert "es-ude/ElasticNodeHardware" in xdc and "create_clock" in xdc
    pcf = files["board/ice40up5k_TEMPLATE.pcf"]
    assert pcf.startswith("# TEMPLATE") and pcf.count("set_io ") == pcf.count("<PIN>  #") == len(ENV5_PINS)
    vhdl = files["board/spi_bridge.vhd"]
    assert "rising_edge(clk)" in vhdl and "rising_edge(sck)" not in vhdl  # SCK is sampled, never a clock


def _simulate(tmp_path: Path, design: AcceleratorDesign, corrupt: bool = False) -> dict[str, object]:
    rng = np.random.default_rng(1)
    weights = random_weights(design, rng)
    fmt = design.layers[0].in_fmt
    x = np.concatenate(
        [[np.full(5, fmt.min_int)], [np.full(5, fmt.max_int)], rng.integers(fmt.min_int, fmt.max_int + 1, (2, 5))]
    )
    expected = run_reference(design, weights, x)
    if corrupt:
        expected[1, 2] += 1
    hdl = emit_vhdl(design, weights)
    files = {f"vhdl/{name}": text for name, text in hdl.items()} | emit_board(design)
    files[f"board/{SPI_VECTORS}"] = spi_vectors(design, x, expected)
    write_files(files, tmp_path / "out")
    sources = [tmp_path / "out" / "vhdl" / name for name in compile_order(hdl)]
    return simulate_board(sources, tmp_path / "out" / "board", tmp_path / "sim")


@pytest.mark.sim
@pytest.mark.parametrize(("in_bits", "out_bits"), [(8, 8), (10, 13), (3, 17)], ids=["1+1 bytes", "2+2", "1+3"])
def test_spi_top_is_bit_exact_end_to_end(tmp_path: Path, in_bits: int, out_bits: int) -> None:
    result = _simulate(tmp_path, _design(in_bits, out_bits))
    assert result["verified"] is True, result
    assert (result["vectors"], result["mismatches"]) == (4, 0)


@pytest.mark.sim
def test_a_wrong_expectation_fails_the_spi_check(tmp_path: Path) -> None:
    result = _simulate(tmp_path, _design(8, 8), corrupt=True)
    assert result["verified"] is False and result["mismatches"] == 1
    details = json.loads((tmp_path / "sim" / "spi_results.json").read_text())["details"]
    assert details[0]["vector"] == 1
