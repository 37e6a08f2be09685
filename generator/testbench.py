"""cocotb testbench for an exported design: the test module (a static template) plus a vectors JSON file.

Expected outputs come from dse.reference.run_reference on the FPGA segment, so the testbench checks the
hardware against the same integer model that training and the MCU use.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import numpy as np

from contract.design import AcceleratorDesign
from contract.reference import LayerWeights, run_reference

TB_MODULE_TEMPLATE = "cocotb_tb.py"
VECTORS_FILE = "tb_vectors.json"
RESULTS_FILE = "tb_results.json"
# Environment variables read by the test module (see templates/cocotb_tb.py).
VECTORS_ENV = "DSE_TB_VECTORS"
RESULTS_ENV = "DSE_TB_RESULTS"


def testbench_module_name(design: AcceleratorDesign) -> str:
    return f"tb_{design.name}"


def expected_outputs(design: AcceleratorDesign, weights: list[LayerWeights], vectors: np.ndarray) -> np.ndarray:
    """Reference output codes of the FPGA segment for input codes ``vectors`` (N, IN)."""
    segment = design.fpga_slice
    if len(weights) != len(design.layers):
        raise ValueError("expected_outputs needs the weights of all layers (as for run_reference)")
    return run_reference(design, weights, np.asarray(vectors, dtype=np.int64), segment)


def check_vectors(design: AcceleratorDesign, vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.int64)
    first = design.fpga_layers[0]
    if vectors.ndim != 2 or vectors.shape[1] != first.in_size:
        raise ValueError(f"vectors must have shape (N, {first.in_size}), got {vectors.shape}")
    if vectors.size and (vectors.min() < first.in_fmt.min_int or vectors.max() > first.in_fmt.max_int):
        raise ValueError(f"vector codes out of range for {first.in_fmt}")
    return vectors


def stimulus_vectors(design: AcceleratorDesign, n_random: int, rng: np.random.Generator) -> np.ndarray:
    """Test-set-like codes (a quantized normal distribution), full-range random codes and the extremes."""
    layer = design.fpga_layers[0]
    fmt, width = layer.in_fmt, layer.in_size
    lo, hi = fmt.min_int, fmt.max_int
    data_like = fmt.quantize(rng.normal(0.0, 0.5, size=(max(1, n_random // 2), width)))
    full_range = rng.integers(lo, hi + 1, size=(n_random - len(data_like), width))
    alternating = np.where(np.arange(width) % 2 == 0, lo, hi)
    extremes = np.array([np.full(width, lo), np.full(width, hi), alternating, np.zeros(width, dtype=np.int64)])
    return np.concatenate([extremes, data_like, full_range]).astype(np.int64)


def emit_testbench(
    design: AcceleratorDesign,
    weights: list[LayerWeights],
    vectors: np.ndarray,
    seed: int = 1,
    raw_inputs: dict[str, Any] | None = None,
) -> dict[str, str]:
    """In-memory files {``tb_<name>.py``, ``tb_vectors.json``}; ``weights`` are for all layers of ``design``.

    ``raw_inputs`` ({"scaler", "values"}): unscaled features of the first vectors; the testbench scales and
    quantizes them itself and checks that it gets ``vectors``' codes, so the exported scaler is tested too.
    """
    vectors = check_vectors(design, vectors)
    expected = expected_outputs(design, weights, vectors)
    first, last = design.fpga_layers[0], design.fpga_layers[-1]
    config = {
        "top": design.name,
        "in_features": first.in_size,
        "in_bits": first.in_fmt.total_bits,
        "out_features": last.out_size,
        "out_bits": last.out_fmt.total_bits,
        "clock_period_ns": 10,  # cycles are counted, the simulated period does not matter
        "expected_latency_cycles": design.latency_cycles,
        "expected_ii_cycles": design.initiation_interval,
        "seed": seed,
        "inputs": vectors.tolist(),
        "expected": expected.tolist(),
    }
    if raw_inputs is not None:
        config["raw_inputs"] = raw_inputs | {"in_bits": first.in_fmt.total_bits, "in_frac": first.in_fmt.frac_bits}
    module = resources.files("generator").joinpath("templates", TB_MODULE_TEMPLATE).read_text()
    return {f"{testbench_module_name(design)}.py": module, VECTORS_FILE: json.dumps(config) + "\n"}
