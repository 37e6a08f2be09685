"""cocotb 2.x testbench for a generated dse accelerator (written by generator.testbench).

Reads its vectors from the JSON file named by $DSE_TB_VECTORS and runs three phases on the element streams
(one element per hand-shake on in_data / out_data):
  1. latency: one vector at a time, out_ready high; latency = the first input element's hand-shake edge to the
     last output element's;
  2. throughput: input elements offered back to back, out_ready high; initiation interval = spacing of the
     vectors' first-element hand-shakes (all spacings are reported);
  3. back-pressure: in_valid and out_ready toggle pseudo-randomly.
Every output of every phase is compared bit-exactly with the expected codes. The results go to the JSON file
named by $DSE_TB_RESULTS; the test fails on any mismatch, missing output, empty vector set or wrong cycle count.
Only the standard library and cocotb are imported, so the exported folder runs on its own.
"""

from __future__ import annotations

import json
import math
import os
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import RisingEdge

VECTORS_ENV = "DSE_TB_VECTORS"
RESULTS_ENV = "DSE_TB_RESULTS"
MAX_DETAILS = 5


def to_signed(value: int, bits: int) -> int:
    sign = 1 << (bits - 1)
    return ((value & ((1 << bits) - 1)) ^ sign) - sign


class Phase:
    """Drives inputs and takes outputs in lock step with the clock, recording hand-shake edges."""

    def __init__(self, dut: Any, config: dict[str, Any]) -> None:
        self.dut = dut
        self.config = config
        self.cycle = 0

    def read_output(self) -> int | str:
        value = self.dut.out_data.value
        if not value.is_resolvable:
            return str(value)  # X/U/Z bits: reported as a mismatch
        return to_signed(value.to_unsigned(), self.config["out_bits"])

    async def reset(self) -> None:
        self.dut.rst.value = 1
        self.dut.in_valid.value = 0
        self.dut.out_ready.value = 0
        self.dut.in_data.value = 0
        for _ in range(3):
            await RisingEdge(self.dut.clk)
        self.dut.rst.value = 0
        await RisingEdge(self.dut.clk)
        self.cycle = 0

    async def run(
        self,
        inputs: list[list[int]],
        offer: Callable[[int, int, int], bool],
        take: Callable[[int], bool],
        max_cycles: int,
    ) -> tuple[list[int], list[int], list[list[int | str]]]:
        """offer(cycle, vector, vectors_out) -> drive in_valid; take(cycle) -> drive out_ready.

        Returns the edges of each vector's first input element, of each vector's last output element, and the
        output vectors.
        """
        dut, bits = self.dut, self.config["in_bits"]
        mask, n_in, n_out = (1 << bits) - 1, self.config["in_features"], self.config["out_features"]
        first_in_edges: list[int] = []
        last_out_edges: list[int] = []
        outputs: list[list[int | str]] = []
        current: list[int | str] = []
        vector, element, in_valid = 0, 0, False
        while len(outputs) < len(inputs) and self.cycle < max_cycles:
            # Drive for the coming edge; a valid element stays offered until it is taken.
            if not in_valid and vector < len(inputs) and offer(self.cycle, vector, len(outputs)):
                in_valid = True
                dut.in_data.value = inputs[vector][element] & mask
            out_ready = take(self.cycle)
            dut.in_valid.value = int(in_valid)
            dut.out_ready.value = int(out_ready)
            await RisingEdge(dut.clk)
            self.cycle += 1
            # At the edge the DUT's outputs still hold their pre-edge values: that is the hand-shake.
            if out_ready and int(dut.out_valid.value) == 1:
                current.append(self.read_output())
                if len(current) == n_out:
                    outputs.append(current)
                    last_out_edges.append(self.cycle)
                    current = []
            if in_valid and int(dut.in_ready.value) == 1:
                if element == 0:
                    first_in_edges.append(self.cycle)
                element += 1
                if element == n_in:
                    vector, element = vector + 1, 0
                in_valid = False
        dut.in_valid.value = 0
        dut.out_ready.value = 0
        return first_in_edges, last_out_edges, outputs


def compare(name: str, expected: list[list[int]], outputs: list[list[int | str]], details: list[dict]) -> int:
    mismatches = abs(len(expected) - len(outputs))
    for index, (want, got) in enumerate(zip(expected, outputs, strict=False)):
        if want != got:
            mismatches += 1
            if len(details) < MAX_DETAILS:
                details.append({"phase": name, "vector": index, "expected": want, "got": got})
    return mismatches


def scaled_codes(values: list[float], scaler: dict[str, Any], bits: int, frac: int) -> list[int]:
    """(x - offset) / scale per feature (offset/scale repeat per channel), then round half up and saturate."""
    offset, scale = scaler["offset"], scaler["scale"]
    low, high = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    codes = []
    for j, x in enumerate(values):
        scaled = (x - offset[j % len(offset)]) / scale[j % len(scale)]
        codes.append(min(max(math.floor(scaled * 2.0**frac + 0.5), low), high))
    return codes


@cocotb.test()
async def check_accelerator(dut: Any) -> None:
    config = json.loads(Path(os.environ[VECTORS_ENV]).read_text())
    inputs, expected = config["inputs"], config["expected"]
    period = config.get("clock_period_ns", 10)
    Clock(dut.clk, period, unit="ns").start()
    budget = (len(inputs) + 4) * 4 * (config["expected_latency_cycles"] + config["expected_ii_cycles"] + 8)
    budget += 4 * len(inputs) * (config["in_features"] + config["out_features"])

    results: dict[str, Any] = {
        "n_vectors": len(inputs),
        "n_expected": len(expected),
        "expected_latency_cycles": config["expected_latency_cycles"],
        "expected_ii_cycles": config["expected_ii_cycles"],
        "mismatch_details": [],
    }
    details = results["mismatch_details"]
    phase = Phase(dut, config)
    mismatches = 0

    # 0. Input scaling: raw sensor values -> scaled -> input codes, exactly as the MCU does it (scaler.json).
    if "raw_inputs" in config:
        raw = config["raw_inputs"]
        codes = [scaled_codes(row, raw["scaler"], raw["in_bits"], raw["in_frac"]) for row in raw["values"]]
        bad = [i for i, row in enumerate(codes) if row != inputs[i]]
        results["scaled_inputs_checked"] = len(codes)
        results["scaled_input_mismatches"] = len(bad)
        mismatches += len(bad)
        details.extend({"phase": "scaling", "vector": i} for i in bad[:MAX_DETAILS])

    # 1. Latency: the next vector is offered only after the previous output was taken.
    await phase.reset()
    in_edges, out_edges, outputs = await phase.run(
        inputs, offer=lambda cycle, i, done: done == i, take=lambda cycle: True, max_cycles=budget
    )
    mismatches += compare("latency", expected, outputs, details)
    latencies = sorted({out - inp for inp, out in zip(in_edges, out_edges, strict=False)})
    results["latency_outputs"] = len(outputs)
    results["latency_cycles_seen"] = latencies
    results["latency_cycles"] = max(latencies) if latencies else None

    # 2. Throughput: inputs always offered, outputs always taken.
    await phase.reset()
    in_edges, out_edges, outputs = await phase.run(
        inputs, offer=lambda cycle, i, done: True, take=lambda cycle: True, max_cycles=budget
    )
    mismatches += compare("throughput", expected, outputs, details)
    intervals = [b - a for a, b in zip(in_edges, in_edges[1:], strict=False)]
    results["throughput_outputs"] = len(outputs)
    results["ii_intervals"] = intervals
    results["ii_cycles"] = max(intervals) if intervals else None
    results["ii_steady_cycles"] = intervals[-1] if intervals else None

    # 3. Back-pressure: random gaps on both sides (seeded, so failures reproduce).
    rng = random.Random(config.get("seed", 1))
    await phase.reset()
    _, _, outputs = await phase.run(
        inputs,
        offer=lambda cycle, i, done: rng.random() < 0.6,
        take=lambda cycle: rng.random() < 0.5,
        max_cycles=4 * budget,
    )
    mismatches += compare("backpressure", expected, outputs, details)
    results["backpressure_outputs"] = len(outputs)

    results["mismatches"] = mismatches
    want_ii = config["expected_ii_cycles"]
    cycles_ok = (
        latencies == [config["expected_latency_cycles"]]
        and len(intervals) > 0
        and results["ii_cycles"] == want_ii
        and results["ii_steady_cycles"] == want_ii
    )
    results["cycles_ok"] = cycles_ok
    results["passed"] = bool(len(inputs) > 1 and len(expected) == len(inputs) and mismatches == 0 and cycles_ok)
    Path(os.environ[RESULTS_ENV]).write_text(json.dumps(results, indent=1))

    assert len(inputs) > 1, "need at least 2 input vectors (the initiation interval needs two inputs)"
    assert len(expected) == len(inputs), f"{len(expected)} expected outputs for {len(inputs)} inputs"
    assert mismatches == 0, f"{mismatches} mismatching or missing outputs, first: {details}"
    assert cycles_ok, (
        f"latency {latencies} (want {config['expected_latency_cycles']}), "
        f"II {results['ii_cycles']} (want {config['expected_ii_cycles']}), intervals {intervals}"
    )
