"""The pooling kinds: the fixed-point average, QAT == reference, and the contract test in GHDL (QAT == reference ==
simulation, simulated cycles == contract == estimator) on windows 2 and 3, lengths with a dropped tail, 1 and
several channels, global average pooling, direct input and input arriving with gaps from a dense layer."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from contract.design import AcceleratorDesign
from contract.fixedpoint import FixedFormat
from contract.layers import DenseFolding, DenseLayer
from contract.layers.conv import Conv1dLayer, ConvFolding
from contract.layers.pool import AvgPool1dLayer, MaxPool1dLayer
from dse.training.pool_qat import Pool1dQAT

sys.path.insert(0, str(Path(__file__).parent))
from test_sim_generator import check_contract  # noqa: E402

F6, F8, W8 = FixedFormat(6, 3), FixedFormat(8, 4), FixedFormat(8, 6)


@pytest.mark.parametrize("window", [1, 2, 4, 8])
def test_power_of_two_average_is_the_exactly_rounded_mean(window: int) -> None:
    layer = AvgPool1dLayer(1, 8, window, F8, F8)
    sums = np.arange(-window * 128, window * 128)
    exact = np.floor(sums / window + 0.5).astype(np.int64)  # round half up of the true mean, same format
    np.testing.assert_array_equal(layer.average(sums), np.clip(exact, F8.min_int, F8.max_int))


def test_window_three_uses_the_16_bit_reciprocal() -> None:
    layer = AvgPool1dLayer(1, 9, 3, F8, F8)
    assert layer.reciprocal == 21845 and layer.shift == 16
    sums = np.arange(-3 * 128, 3 * 128)
    inside = (sums / 3 >= -128) & (sums / 3 <= 127)  # outside, saturation adds its own error
    error = np.abs(layer.average(sums) - sums / 3)[inside]
    assert error.max() <= 0.5 + 3 * 128 * (1 / 3 - 21845 / 65536)  # rounding + the reciprocal's 16-bit error


@pytest.mark.parametrize("seed", range(12))
def test_qat_equals_reference(seed: int) -> None:
    rng = np.random.default_rng(seed)
    channels, window = int(rng.integers(1, 5)), int(rng.integers(1, 5))
    length = int(rng.integers(window, 13))
    bits = int(rng.integers(3, 9))
    fmt = FixedFormat(bits, int(rng.integers(0, bits)))
    out = FixedFormat(int(rng.integers(3, 9)), int(rng.integers(0, 3)))
    for layer in (
        MaxPool1dLayer(channels, length, window, fmt, fmt),
        AvgPool1dLayer(channels, length, window, fmt, out),
    ):
        codes = rng.integers(fmt.min_int, fmt.max_int + 1, size=(40, layer.in_size))
        want = layer.forward(None, codes)
        got = Pool1dQAT(layer)(torch.from_numpy(codes / fmt.scale), True).detach().numpy()
        np.testing.assert_array_equal(np.floor(got * layer.out_fmt.scale + 0.5).astype(np.int64), want)
        assert layer.out_length == length // window and want.shape == (40, layer.out_length * channels)


def test_stream_order_matches_torch_pooling() -> None:
    layer = MaxPool1dLayer(3, 7, 2, F8, F8)
    codes = np.random.default_rng(0).integers(-128, 128, size=(5, 21))
    ncl = torch.from_numpy(codes.reshape(5, 7, 3).transpose(0, 2, 1).astype(np.float64))
    want = torch.nn.functional.max_pool1d(ncl, 2).numpy().transpose(0, 2, 1).reshape(5, -1)
    np.testing.assert_array_equal(layer.forward(None, codes), want)


def test_bad_pool_shapes_name_the_field() -> None:
    with pytest.raises(ValueError, match=r"maxpool1d: window must be in 1..4"):
        MaxPool1dLayer(1, 4, 5, F8, F8)
    with pytest.raises(ValueError, match="maxpool1d: out_fmt must equal in_fmt"):
        MaxPool1dLayer(1, 4, 2, F8, F6)


def _direct() -> AcceleratorDesign:
    # input straight into a max pool: 1 channel, window 3 over length 7 (one step dropped), then a dense head
    pool = MaxPool1dLayer(1, 7, 3, F8, F8)
    head = DenseLayer(pool.out_size, 3, "identity", F8, W8, F8, folding=DenseFolding(2, 2))
    return AcceleratorDesign((pool, head), "xc7s15", 100.0, name="pool_direct")


def _gapped() -> AcceleratorDesign:
    # dense (outputs arrive in PE groups with gaps) -> average window 3 over 3 channels x 5 steps -> dense
    dense = DenseLayer(4, 15, "relu", F8, W8, F6, folding=DenseFolding(2, 3))
    pool = AvgPool1dLayer(3, 5, 3, F6, F8)
    head = DenseLayer(pool.out_size, 2, "identity", F8, W8, F8)
    return AcceleratorDesign((dense, pool, head), "xc7s15", 100.0, name="pool_gapped")


def _cnn() -> AcceleratorDesign:
    # conv -> max pool window 2 (length 9: tail) -> global average pool (window = length 4) -> dense
    conv = Conv1dLayer(2, 11, 3, 3, "relu", F8, W8, F8, folding=ConvFolding(2, 2))
    pool = MaxPool1dLayer(3, conv.out_length, 2, F8, F8)
    gap = AvgPool1dLayer(3, pool.out_length, pool.out_length, F8, F8)
    head = DenseLayer(3, 2, "identity", F8, W8, F8)
    return AcceleratorDesign((conv, pool, gap, head), "xc7s15", 100.0, name="pool_cnn")


@pytest.mark.sim
@pytest.mark.parametrize("build", [_direct, _gapped, _cnn], ids=["direct", "gapped", "cnn"])
def test_pool_designs_are_bit_exact_with_contract_timing(build: object, tmp_path: Path) -> None:
    check_contract(build(), tmp_path, seed=3)  # type: ignore[operator]


@pytest.mark.synth
@pytest.mark.parametrize(
    ("kind", "channels", "length", "window", "device"),
    [("max", 8, 24, 3, "xc7s15"), ("avg", 4, 12, 3, "ice40up5k")],
)
def test_synthesis_agrees_with_the_rule_estimate(
    kind: str, channels: int, length: int, window: int, device: str, tmp_path: Path
) -> None:
    """DSP and BRAM exact (the average's reciprocal is shift-and-add, never a DSP). LUT and FF are rules scaled by
    the kind's calibration sweep (held-out errors in docs/architecture.md); this test guards against a structural
    change (registers becoming RAM, a DSP appearing), not a percentage."""
    from contract.reference import random_weights
    from estimators import estimate_design
    from generator.synth import synthesize

    cls = MaxPool1dLayer if kind == "max" else AvgPool1dLayer
    design = AcceleratorDesign((cls(channels, length, window, F8, F8),), device, 24.0, name="pool_syn")
    result = synthesize(design, random_weights(design, np.random.default_rng(0)), tmp_path, device=device)
    estimate = estimate_design(design)
    assert (result.dsp, result.bram) == (estimate.dsp, estimate.bram) == (0, 0)
    assert 0.5 * estimate.lut <= result.lut <= 2.0 * estimate.lut
    assert 0.8 * estimate.ff <= result.ff <= 1.25 * estimate.ff
