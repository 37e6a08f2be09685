"""The lstm and gru kinds: QAT == reference on random layers, the float model uses the same hard functions, the
fixed-point rules hold (gate format, zero halves of GRU's candidate rows), and the contract test in GHDL
(QAT == reference == simulation, simulated cycles == contract == estimator) on odd shapes: hidden size 1, hidden
size not divisible by PE, input width 1, sequence lengths 1 and 40, shared and separate gate lanes, SIMD that does
not divide, LUT and DSP multipliers, block-RAM weights and input buffer, and a stack lstm -> gru -> dense.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from contract.design import AcceleratorDesign
from contract.fixedpoint import FixedFormat
from contract.layers import DenseFolding, DenseLayer, GruLayer, LstmLayer, RecurrentFolding
from contract.layers.recurrent import STEP_OVERHEAD_CYCLES, RecurrentWeights, recurrent_latency
from contract.reference import random_weights, run_reference
from dse.training.quant import QuantizedNet

sys.path.insert(0, str(Path(__file__).parent))
from test_sim_generator import check_contract, qat_output_codes  # noqa: E402

F8, W8, F6 = FixedFormat(8, 5), FixedFormat(8, 6), FixedFormat(6, 3)
CELLS = {"lstm": LstmLayer, "gru": GruLayer}


def _random_layer(rng: np.random.Generator, cell: str) -> LstmLayer | GruLayer:
    bx, bw = int(rng.integers(3, 11)), int(rng.integers(2, 10))
    fmt, weight_fmt = FixedFormat(bx, int(rng.integers(1, bx))), FixedFormat(bw, int(rng.integers(1, bw)))
    cell_bits = int(rng.integers(3, 14))
    hidden = int(rng.integers(1, 7))
    probe = CELLS[cell](
        int(rng.integers(1, 4)),
        int(rng.integers(1, 9)),
        hidden,
        fmt,
        weight_fmt,
        fmt,
        gate_bits=int(rng.integers(3, min(10, fmt.frac_bits + weight_fmt.frac_bits + 2) + 1)),
        cell_fmt=FixedFormat(cell_bits, int(rng.integers(0, cell_bits))),
        return_sequence=bool(rng.random() < 0.5),
    )
    folding = RecurrentFolding(
        pe=int(rng.integers(1, hidden + 1)),
        simd=int(rng.integers(1, probe.fan_in + 1)),
        gate_lanes=str(rng.choice(["shared", "separate"])),
    )
    return replace(probe, folding=folding)


@pytest.mark.parametrize("cell", sorted(CELLS))
@pytest.mark.parametrize("seed", range(12))
def test_qat_equals_reference_for_random_layers(cell: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    layer = _random_layer(rng, cell)
    design = AcceleratorDesign((layer,), "xc7s15", 100.0)
    weights = random_weights(design, rng)
    fmt = layer.in_fmt
    x = np.concatenate(
        [
            np.full((1, layer.in_size), fmt.min_int),
            np.full((1, layer.in_size), fmt.max_int),
            rng.integers(fmt.min_int, fmt.max_int + 1, size=(40, layer.in_size)),
        ]
    )
    expected = run_reference(design, weights, x)
    assert expected.shape == (len(x), layer.out_size)
    np.testing.assert_array_equal(qat_output_codes(design, weights, x), expected)


def test_the_reference_steps_like_the_float_cell_with_hard_functions() -> None:
    """With fine formats the integer LSTM follows the float LSTM written out from torch's equations."""
    fine = FixedFormat(16, 12)
    layer = LstmLayer(2, 6, 3, fine, FixedFormat(16, 12), fine, gate_bits=14, cell_fmt=FixedFormat(20, 12))
    rng = np.random.default_rng(1)
    weights = layer.random_weights(rng)
    weights = RecurrentWeights(weights.weight // 64, weights.bias // (1 << 20))
    x = rng.normal(size=(5, layer.in_size))
    codes = layer.forward(weights, fine.quantize(x))
    w, b = layer.weight_fmt.to_float(weights.weight), layer.bias_fmt.to_float(weights.bias)
    h, c = np.zeros((5, 3)), np.zeros((5, 3))
    sigmoid, tanh = (lambda v: np.clip(v / 4 + 0.5, 0, 1)), (lambda v: np.clip(v, -1, 1))
    for t in range(6):
        acc = np.concatenate([fine.to_float(fine.quantize(x))[:, 2 * t : 2 * t + 2], h], axis=1) @ w.T + b
        i, f, g, o = sigmoid(acc[:, :3]), sigmoid(acc[:, 3:6]), tanh(acc[:, 6:9]), sigmoid(acc[:, 9:])
        c = f * c + i * g
        h = o * tanh(c)
    np.testing.assert_allclose(fine.to_float(codes), h, atol=5e-3)


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_the_float_model_uses_the_same_hard_functions(cell: str) -> None:
    """quantized=False differs from the integer model only by rounding: with fine formats they agree closely."""
    fine = FixedFormat(16, 12)
    layer = CELLS[cell](1, 8, 4, fine, FixedFormat(16, 13), fine, gate_bits=14, cell_fmt=FixedFormat(20, 12))
    net = QuantizedNet(AcceleratorDesign((layer,), "xc7s15", 100.0))
    net.reset_parameters(torch.Generator().manual_seed(0))
    x = torch.randn(16, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        exact, float_ = net(x), net(x, quantized=False)
    assert torch.allclose(exact, float_, atol=5e-3)
    assert not torch.equal(exact, float_)


def test_latency_is_steps_of_the_period_plus_the_output_drain() -> None:
    layer = LstmLayer(3, 5, 6, F8, W8, F8, folding=RecurrentFolding(pe=4, simd=4))
    assert layer.unit_groups == 2 and layer.passes == 4 and layer.chunks == 3
    assert layer.step_cycles == 2 * 4 * 3 + 1 + STEP_OVERHEAD_CYCLES
    assert layer.latency_cycles == 1 + 5 * layer.step_cycles + 6
    separate = replace(layer, folding=RecurrentFolding(pe=4, simd=4, gate_lanes="separate"))
    assert separate.jobs == 2 and separate.lanes == 16
    # Every step's state leaves the layer: a step shorter than H waits for the output register to drain.
    assert recurrent_latency(3, 5, 9, True) == 1 + 5 + 2 * 9 + 9
    assert recurrent_latency(3, 12, 9, True) == 1 + 3 * 12 + 9


def test_bad_formats_and_weights_are_refused_with_the_field_named() -> None:
    with pytest.raises(ValueError, match="gate_bits 12"):
        LstmLayer(1, 4, 2, FixedFormat(8, 4), FixedFormat(8, 4), FixedFormat(8, 4), gate_bits=12)
    with pytest.raises(ValueError, match="state format"):
        GruLayer(1, 4, 2, F8, W8, F6)
    with pytest.raises(ValueError, match="hidden_size"):
        LstmLayer(1, 4, 0, F8, W8, F8)
    layer = GruLayer(2, 3, 2, F8, W8, F8)
    weights = layer.random_weights(np.random.default_rng(0))
    assert not weights.weight[~layer.weight_mask()].any()
    weights.weight[4, 3] = 1  # row nx (input half only) with a recurrent weight
    with pytest.raises(ValueError, match="zero halves"):
        layer.check_weights(weights)


# --- contract test in GHDL ---------------------------------------------------------------------------------


def _odd_lstm() -> AcceleratorDesign:
    # Input width 1, hidden 5 on PE 2 (not divisible), SIMD 4 of 6 (not divisible), LUT multipliers; the state
    # (Q12.10) has more fractional bits than gate x cell (2 + 3): h' is shifted left, not rounded.
    state = FixedFormat(12, 10)
    folding = RecurrentFolding(2, 4, "shared", "lut")
    a = LstmLayer(1, 7, 5, state, W8, state, gate_bits=4, cell_fmt=FixedFormat(8, 3), folding=folding)
    head = DenseLayer(5, 3, "identity", state, W8, FixedFormat(10, 6))
    return AcceleratorDesign((a, head), "xc7s15", 100.0, name="lstm_odd")


def _one_unit_gru() -> AcceleratorDesign:
    # Hidden size 1, sequence length 1, 3 inputs, separate gate lanes, SIMD 3 of 4.
    a = GruLayer(3, 1, 1, F8, W8, F8, gate_bits=7, folding=RecurrentFolding(1, 3, "separate"))
    return AcceleratorDesign((a,), "xc7s15", 100.0, name="gru_one")


def _long_stack() -> AcceleratorDesign:
    # 40 steps x 2 inputs: the LSTM passes every state on (block-RAM weights, 4 lanes of 6 units), the GRU reads
    # them (separate gate lanes, SIMD 9 of 9), a dense head on its last state.
    a = LstmLayer(
        2, 40, 6, F6, FixedFormat(5, 4), F6, gate_bits=6, cell_fmt=FixedFormat(9, 4), return_sequence=True,
        folding=RecurrentFolding(4, 2, "shared", "dsp", "bram"),
    )  # fmt: skip
    b = GruLayer(6, 40, 3, F6, W8, F6, gate_bits=9, folding=RecurrentFolding(3, 9, "separate", "lut"))
    head = DenseLayer(3, 2, "identity", F6, W8, FixedFormat(10, 6), folding=DenseFolding(2, 3))
    return AcceleratorDesign((a, b, head), "xc7s15", 100.0, name="rnn_stack")


def _bram_buffer_gru() -> AcceleratorDesign:
    # 130 steps of 1 input: the input buffer is deep enough for block RAM.
    a = GruLayer(1, 130, 2, F8, W8, F8, gate_bits=8, folding=RecurrentFolding(2, 1))
    return AcceleratorDesign((a,), "xc7s15", 100.0, name="gru_long")


@pytest.mark.sim
@pytest.mark.parametrize(
    "build", [_odd_lstm, _one_unit_gru, _long_stack, _bram_buffer_gru], ids=["odd", "one", "stack", "long"]
)
def test_recurrent_designs_are_bit_exact_with_contract_timing(build: object, tmp_path: Path) -> None:
    design = build()  # type: ignore[operator]
    first = design.layers[0]
    if design.name == "rnn_stack":
        assert first.rom_storage == "bram"
    if design.name == "gru_long":
        assert first.buffer_storage == "bram"
    check_contract(design, tmp_path, seed=11)


@pytest.mark.synth
@pytest.mark.parametrize("cell", sorted(CELLS))
def test_synthesis_matches_the_dsp_and_bram_rules(cell: str, tmp_path: Path) -> None:
    """DSP blocks (engine lanes and element-wise products) and block RAM are the estimator's, exactly."""
    from estimators import estimate_design
    from generator.synth import synthesize

    layer = CELLS[cell](
        2, 12, 5, F8, W8, F8, gate_bits=8, cell_fmt=FixedFormat(12, 8),
        folding=RecurrentFolding(2, 3, "shared", "dsp", "bram"),
    )  # fmt: skip
    design = AcceleratorDesign((layer,), "xc7s15", 100.0, name="rnn_syn")
    result = synthesize(design, random_weights(design, np.random.default_rng(0)), tmp_path, device="xc7s15")
    estimate = estimate_design(design)
    assert result.dsp == estimate.dsp > 0
    assert result.bram == estimate.bram > 0
