"""cocotb test of the SPI board top: SPI transactions in (mode 0, MSB first), bit-exact outputs out.

Reads its vectors from $DSE_SPI_VECTORS ({"inputs", "expected", "in_bytes", "out_bytes", "in_bits", "out_bits"})
and writes {"vectors", "mismatches", "details"} to $DSE_SPI_RESULTS. Only the standard library and cocotb.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge

HALF_SCK = 4  # clk cycles per SCK half period: SCK = clk / 8


async def transfer(dut: Any, send: list[int]) -> list[int]:
    """One CS_N-low transaction: send bytes MSB first on MOSI, return the bytes read on MISO."""
    received = []
    dut.cs_n.value = 0
    await ClockCycles(dut.clk, HALF_SCK)
    for byte in send:
        value = 0
        for bit in range(7, -1, -1):
            dut.mosi.value = (byte >> bit) & 1
            await ClockCycles(dut.clk, HALF_SCK)
            dut.sck.value = 1  # the master samples MISO at its rising edge
            value = (value << 1) | int(dut.miso.value)
            await ClockCycles(dut.clk, HALF_SCK)
            dut.sck.value = 0
        received.append(value)
    await ClockCycles(dut.clk, HALF_SCK)
    dut.cs_n.value = 1
    await ClockCycles(dut.clk, 2 * HALF_SCK)
    return received


def to_bytes(value: int, count: int) -> list[int]:
    return [(value >> (8 * i)) & 0xFF for i in range(count)]


def from_bytes(data: list[int], bits: int) -> int:
    value = sum(byte << (8 * i) for i, byte in enumerate(data))
    value &= (1 << (8 * len(data))) - 1
    return value - (1 << (8 * len(data))) if value >> (8 * len(data) - 1) else value


@cocotb.test()
async def spi_round_trips(dut: Any) -> None:
    config = json.loads(Path(os.environ["DSE_SPI_VECTORS"]).read_text())
    Clock(dut.clk, 10, unit="ns").start()
    dut.sck.value, dut.cs_n.value, dut.mosi.value, dut.rst.value = 0, 1, 0, 1
    await ClockCycles(dut.clk, 5)
    dut.rst.value = 0
    await RisingEdge(dut.clk)
    mismatches, details = 0, []
    n_out, out_bytes = len(config["expected"][0]), config["out_bytes"]
    for index, (inputs, expected) in enumerate(zip(config["inputs"], config["expected"], strict=True)):
        payload = [0x01] + [b for value in inputs for b in to_bytes(value, config["in_bytes"])]
        await transfer(dut, payload)
        for _ in range(10_000):  # poll the status byte until done
            status = (await transfer(dut, [0x02, 0x00]))[1]
            if status & 1:
                break
        assert int(dut.irq.value) == 1, "irq must be high while outputs are ready"
        raw = (await transfer(dut, [0x03] + [0x00] * (n_out * out_bytes)))[1:]
        got = [from_bytes(raw[i * out_bytes : (i + 1) * out_bytes], config["out_bits"]) for i in range(n_out)]
        if got != expected:
            mismatches += 1
            details.append({"vector": index, "expected": expected, "got": got})
    results = {"vectors": len(config["inputs"]), "mismatches": mismatches, "details": details[:5]}
    Path(os.environ["DSE_SPI_RESULTS"]).write_text(json.dumps(results))
    assert mismatches == 0, details[:5]
