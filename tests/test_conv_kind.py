"""The conv1d kind: shapes and "same" padding against torch, QAT == reference on random layers (batch norm folded),
and the contract test in GHDL (QAT == reference == simulation, simulated cycles == contract == estimator) on odd
shapes: length not divisible by stride, kernel 1 and kernel == length, 1 channel, depthwise, PE and SIMD that do
not divide, even kernels with "same" padding, LUT and DSP multipliers, block-RAM weight ROM and window buffer.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.nn import functional

from contract.design import AcceleratorDesign
from contract.fixedpoint import ACTIVATIONS, FixedFormat, activate_and_requantize
from contract.layers import DenseFolding, DenseLayer
from contract.layers.conv import Conv1dLayer, ConvFolding, ConvWeights, conv_output_length, same_padding
from contract.layers.dense import MULTIPLIERS, WEIGHT_STORAGES
from contract.reference import random_weights, run_reference
from dse.training.quant import QuantizedNet

sys.path.insert(0, str(Path(__file__).parent))
from test_sim_generator import check_contract, qat_output_codes  # noqa: E402

F8, W8 = FixedFormat(8, 4), FixedFormat(8, 6)


def _random_conv(rng: np.random.Generator, in_channels: int, length: int, in_fmt: FixedFormat) -> Conv1dLayer:
    depthwise = rng.random() < 0.3
    kernel = int(rng.integers(1, length + 1))
    out_channels = in_channels if depthwise else int(rng.integers(1, 6))
    weight_fmt = FixedFormat(int(rng.integers(2, 10)), int(rng.integers(0, 8)))
    acc_frac = in_fmt.frac_bits + weight_fmt.frac_bits
    out_fmt = FixedFormat(int(rng.integers(2, 12)), int(rng.integers(max(0, acc_frac - 8), acc_frac + 1)))
    probe = Conv1dLayer(
        in_channels,
        length,
        out_channels,
        kernel,
        str(rng.choice(ACTIVATIONS)),
        in_fmt,
        weight_fmt,
        out_fmt,
        stride=int(rng.integers(1, 4)),
        padding=str(rng.choice(["valid", "same"])),
        groups=in_channels if depthwise else 1,
    )
    folding = ConvFolding(
        pe=int(rng.integers(1, out_channels + 1)),
        simd=int(rng.integers(1, probe.fan_in + 1)),
        multiplier=str(rng.choice(MULTIPLIERS)),
        weight_storage=str(rng.choice(WEIGHT_STORAGES)),
    )
    return Conv1dLayer(**{**_fields(probe), "folding": folding})


def _fields(layer: Conv1dLayer) -> dict[str, object]:
    names = ("in_channels", "in_length", "out_channels", "kernel_size", "activation", "in_fmt", "weight_fmt")
    names += ("out_fmt", "stride", "padding", "groups", "folding", "placement", "batch_norm")
    return {name: getattr(layer, name) for name in names}


@pytest.mark.parametrize("seed", range(30))
def test_qat_equals_reference_for_random_conv_stacks(seed: int) -> None:
    rng = np.random.default_rng(seed)
    in_fmt = FixedFormat(int(rng.integers(2, 10)), int(rng.integers(0, 6)))
    layers = [_random_conv(rng, int(rng.integers(1, 5)), int(rng.integers(1, 13)), in_fmt)]
    if rng.random() < 0.6:
        layers.append(_random_conv(rng, layers[-1].out_channels, layers[-1].out_length, layers[-1].out_fmt))
    design = AcceleratorDesign(tuple(layers), "xc7s15", 100.0)
    weights = random_weights(design, rng)
    x = rng.integers(in_fmt.min_int, in_fmt.max_int + 1, size=(40, layers[0].in_size))
    np.testing.assert_array_equal(qat_output_codes(design, weights, x), run_reference(design, weights, x))


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")
@pytest.mark.parametrize(("length", "kernel", "stride"), [(7, 3, 1), (6, 4, 1), (10, 4, 3), (5, 5, 2), (3, 6, 1)])
def test_same_padding_is_torch_for_stride_1_and_keeps_ceil_length(length: int, kernel: int, stride: int) -> None:
    assert conv_output_length(length, kernel, stride, "same") == -(-length // stride)
    left, right = same_padding(length, kernel, stride)
    assert (-(-length // stride) - 1) * stride + kernel == left + length + right or left + right == 0
    layer = Conv1dLayer(2, length, 3, kernel, "identity", F8, W8, FixedFormat(20, 10), stride=stride, padding="same")
    rng = np.random.default_rng(length * kernel)
    weights = layer.random_weights(rng)
    zero_bias = ConvWeights(weights.weight, np.zeros_like(weights.bias))
    x = rng.integers(-128, 128, size=(9, layer.in_size))
    x_ncl = torch.tensor(x, dtype=torch.float64).reshape(9, length, 2).permute(0, 2, 1)
    w = torch.tensor(weights.weight, dtype=torch.float64)
    if stride == 1:
        want = functional.conv1d(x_ncl, w, padding="same")  # torch's own "same"
    else:  # torch has no strided "same": pad as TensorFlow does (the odd zero after)
        want = functional.conv1d(functional.pad(x_ncl, (left, right)), w, stride=stride)
    acc = want.permute(0, 2, 1).reshape(9, -1).numpy().astype(np.int64)
    expected = activate_and_requantize(acc, layer.acc_frac_bits, "identity", layer.out_fmt)
    np.testing.assert_array_equal(layer.forward(zero_bias, x), expected)


def test_bad_shapes_are_rejected_with_the_field_named() -> None:
    with pytest.raises(ValueError, match="groups"):
        Conv1dLayer(4, 8, 4, 3, "relu", F8, W8, F8, groups=2)
    with pytest.raises(ValueError, match="out_channels"):
        Conv1dLayer(4, 8, 6, 3, "relu", F8, W8, F8, groups=4)
    with pytest.raises(ValueError, match="kernel_size"):
        Conv1dLayer(1, 4, 2, 5, "relu", F8, W8, F8)
    with pytest.raises(ValueError, match="padding"):
        Conv1dLayer(1, 4, 2, 3, "relu", F8, W8, F8, padding="full")
    with pytest.raises(ValueError, match="simd"):
        Conv1dLayer(2, 8, 3, 3, "relu", F8, W8, F8, folding=ConvFolding(simd=7))  # fan-in is 6


def test_batch_norm_is_folded_into_the_integer_weights() -> None:
    """Trained as batch norm; in eval the QAT model equals the reference on the folded integer weights."""
    layer = Conv1dLayer(2, 9, 3, 3, "relu", F8, W8, F8, padding="same", batch_norm=True)
    head = DenseLayer(layer.out_size, 2, "identity", F8, W8, FixedFormat(12, 6))
    design = AcceleratorDesign((layer, head), "xc7s15", 100.0)
    model = QuantizedNet(design)
    model.reset_parameters(torch.Generator().manual_seed(0))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    rng = np.random.default_rng(0)
    x = torch.tensor(rng.normal(2.0, 3.0, size=(64, layer.in_size)))
    for _ in range(5):
        optimizer.zero_grad()
        model(x).square().mean().backward()
        optimizer.step()
    conv = model.layers[0]
    assert conv.norm is not None and not torch.equal(conv.norm.running_mean, torch.zeros(3))
    weights = model.integer_weights()
    codes = F8.quantize(x.numpy())
    np.testing.assert_array_equal(model.output_codes(F8.to_float(codes)), run_reference(design, weights, codes))
    unfolded = W8.quantize(conv.weight.detach().numpy())
    assert not np.array_equal(unfolded, weights[0].weight), "the batch norm really changed the weights"


def test_latency_recurrence_matches_the_dense_formula_for_one_position() -> None:
    """One output position of a conv is a dense layer whose reads start after the last input: C - 1 more cycles."""
    for pe, simd, out in ((1, 1, 3), (2, 3, 5), (4, 2, 9), (3, 6, 3)):
        conv = Conv1dLayer(2, 3, out, 3, "relu", F8, W8, F8, folding=ConvFolding(pe=pe, simd=simd))
        dense = DenseLayer(6, out, "relu", F8, W8, F8, folding=DenseFolding(pe, simd))
        assert conv.latency_cycles == dense.latency_cycles + conv.chunks - 1


# --- contract test in GHDL: two designs, every odd shape ---------------------------------------------------


def _odd_stack() -> AcceleratorDesign:
    f6 = FixedFormat(6, 3)
    # 1 channel, length 10 with stride 3 (not divisible), "same" with an even kernel; PE 2 of 5, SIMD 3 of 4, LUT
    a = Conv1dLayer(1, 10, 5, 4, "relu", F8, W8, f6, stride=3, padding="same", folding=ConvFolding(2, 3, "lut"))
    # depthwise, PE 2 of 5 channels (every lane reads its own channel), SIMD 2 of kernel 3
    b = Conv1dLayer(5, a.out_length, 5, 3, "hardtanh", f6, W8, F8, padding="same", groups=5, folding=ConvFolding(2, 2))
    # pointwise (kernel 1), SIMD 4 of 5, PE 3 == OUT, weights in block RAM? (too shallow: stays LUT-ROM)
    c = Conv1dLayer(5, b.out_length, 3, 1, "identity", F8, W8, F8, folding=ConvFolding(3, 4, weight_storage="bram"))
    # kernel == length (one position), valid
    d = Conv1dLayer(3, c.out_length, 2, c.out_length, "relu", F8, W8, F8, folding=ConvFolding(1, 5))
    head = DenseLayer(d.out_size, 2, "identity", F8, W8, FixedFormat(10, 6))
    return AcceleratorDesign((a, b, c, d, head), "xc7s15", 100.0, name="conv_odd")


def _deep_stack() -> AcceleratorDesign:
    # 3 x 48 inputs: a block-RAM window buffer; 12 x 9 weights of 8 words in a block-RAM ROM; stride 2 of 48.
    a = Conv1dLayer(3, 48, 8, 3, "hardsigmoid", F8, W8, F8, stride=2, folding=ConvFolding(1, 3, weight_storage="bram"))
    b = Conv1dLayer(8, a.out_length, 8, 5, "relu", F8, W8, F8, stride=3, groups=8, folding=ConvFolding(3, 1))
    return AcceleratorDesign((a, b), "xc7s15", 100.0, name="conv_deep")


@pytest.mark.sim
@pytest.mark.parametrize("build", [_odd_stack, _deep_stack], ids=["odd", "deep"])
def test_conv_designs_are_bit_exact_with_contract_timing(build: object, tmp_path: Path) -> None:
    design = build()  # type: ignore[operator]
    if design.name == "conv_deep":
        assert design.layers[0].buffer_storage == "bram" and design.layers[0].rom_storage == "bram"
    check_contract(design, tmp_path, seed=7)


@pytest.mark.synth
@pytest.mark.parametrize(("device", "storage"), [("xc7s15", "lutram"), ("xc7s15", "bram"), ("ice40up5k", "bram")])
def test_synthesis_maps_the_window_buffer_and_matches_dsp_and_bram_rules(
    device: str, storage: str, tmp_path: Path
) -> None:
    """The window buffer is a RAM (LUTRAM or block RAM as the layer says), not registers; DSP and BRAM counts are the
    estimator's (LUT and FF are fitted, see estimators/calibration/conv1d.json)."""
    from estimators import estimate_design
    from generator.synth import synthesize

    length = 20 if storage == "lutram" else 48
    layer = Conv1dLayer(3, length, 4, 3, "relu", F8, W8, F8, stride=2, folding=ConvFolding(2, 3))
    design = AcceleratorDesign((layer,), device, 24.0 if device.startswith("ice40") else 100.0, name="conv_syn")
    family = "ice40" if device.startswith("ice40") else "xc7"
    assert layer.buffer_storage_on(family) == storage
    result = synthesize(design, random_weights(design, np.random.default_rng(0)), tmp_path, device=device)
    estimate = estimate_design(design)
    assert result.dsp == estimate.dsp and result.bram == estimate.bram
    if storage == "lutram":
        assert result.lutram >= layer.read_ports * F8.total_bits
    assert result.ff < layer.in_size * F8.total_bits  # the buffer is not in flip-flops
