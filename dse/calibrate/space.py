"""The single-dense-layer configuration space the resource models are calibrated on."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import numpy as np

from contract.design import AcceleratorDesign
from contract.fixedpoint import ACTIVATIONS, FixedFormat
from contract.layers import Conv1dLayer, DenseLayer, LayerShape
from contract.layers.base import Knob
from contract.layers.conv import CONV_KNOBS, ConvFolding
from contract.layers.dense import DENSE_KNOBS, DenseFolding
from contract.reference import random_weights
from estimators.fit import layer_config

FAMILY_DEVICES = {"xc7": "xc7s15", "ice40": "ice40up5k"}
FAMILY_CLOCKS = {"xc7": 100.0, "ice40": 24.0}
TOP_NAME = "cal_dense"
MAX_IN, MAX_OUT, MIN_BITS, MAX_BITS = 64, 32, 2, 12
# At most this many multipliers (PE x SIMD) per swept layer, and at most this many product bits (PE x SIMD x
# Bx x Bw) of LUT multipliers: larger ones take many minutes each in yosys/abc.
MAX_MULTIPLIERS, MAX_LUT_PRODUCT_BITS = 16, 512


@dataclass(frozen=True)
class SweepPoint:
    index: int
    layer: DenseLayer

    def config(self) -> dict[str, object]:
        return layer_config(self.layer)


def _log_uniform_int(rng: np.random.Generator, high: int) -> int:
    # Log-uniform: small layers (where the constant terms matter) are as well covered as large ones.
    return min(high, max(1, int(round(math.exp(rng.uniform(0.0, math.log(high + 0.5)))))))


def sample_knob(rng: np.random.Generator, knob: Knob, shape: object) -> int | str:
    """A knob's sweep range comes from its declaration: 1..bound log-uniform (non-divisors included), or a choice."""
    if knob.is_int:
        return _log_uniform_int(rng, knob.upper(shape))
    return str(rng.choice(knob.choices))


def sample_layer(rng: np.random.Generator) -> DenseLayer:
    in_features = int(rng.integers(1, MAX_IN + 1)) if rng.random() < 0.5 else _log_uniform_int(rng, MAX_IN)
    out_features = int(rng.integers(1, MAX_OUT + 1)) if rng.random() < 0.5 else _log_uniform_int(rng, MAX_OUT)
    shape = LayerShape(in_features, out_features)
    knobs = {knob.name: sample_knob(rng, knob, shape) for knob in DENSE_KNOBS}
    knobs["simd"] = max(1, min(int(knobs["simd"]), MAX_MULTIPLIERS // int(knobs["pe"])))
    bx, bw, by = (int(b) for b in rng.integers(MIN_BITS, MAX_BITS + 1, size=3))
    fx, fw = int(rng.integers(0, bx)), int(rng.integers(0, bw))
    fy = int(rng.integers(0, min(by - 1, fx + fw) + 1))
    if knobs["multiplier"] == "lut":
        knobs["pe"] = max(1, min(int(knobs["pe"]), MAX_LUT_PRODUCT_BITS // (bx * bw)))
        knobs["simd"] = max(1, min(int(knobs["simd"]), MAX_LUT_PRODUCT_BITS // (int(knobs["pe"]) * bx * bw)))
    return DenseLayer(
        in_features,
        out_features,
        str(rng.choice(ACTIVATIONS)),
        FixedFormat(bx, fx),
        FixedFormat(bw, fw),
        FixedFormat(by, fy),
        folding=DenseFolding(**knobs),  # type: ignore[arg-type]
    )


MAX_CHANNELS, MAX_LENGTH, MAX_KERNEL = 8, 32, 7


def sample_conv1d(rng: np.random.Generator) -> Conv1dLayer:
    """A conv1d layer: plain, depthwise or pointwise, valid or same, strides 1..3, knobs from CONV_KNOBS."""
    in_channels = _log_uniform_int(rng, MAX_CHANNELS)
    length = int(rng.integers(4, MAX_LENGTH + 1))
    style = str(rng.choice(["plain", "depthwise", "pointwise"]))
    kernel = 1 if style == "pointwise" else int(rng.integers(2, min(MAX_KERNEL, length) + 1))
    groups = in_channels if style == "depthwise" else 1
    out_channels = in_channels if style == "depthwise" else _log_uniform_int(rng, MAX_CHANNELS)
    padding = str(rng.choice(["valid", "same"]))
    stride = int(rng.choice([1, 1, 2, 3]))
    bx, bw, by = (int(b) for b in rng.integers(MIN_BITS, 9, size=3))
    fx, fw = int(rng.integers(0, bx)), int(rng.integers(0, bw))
    fy = int(rng.integers(0, min(by - 1, fx + fw) + 1))
    probe = Conv1dLayer(
        in_channels,
        length,
        out_channels,
        kernel,
        "relu",
        FixedFormat(bx, fx),
        FixedFormat(bw, fw),
        FixedFormat(by, fy),
        stride,
        padding,
        groups,
    )
    knobs = {knob.name: sample_knob(rng, knob, probe) for knob in CONV_KNOBS}
    knobs["simd"] = max(1, min(int(knobs["simd"]), MAX_MULTIPLIERS // int(knobs["pe"])))
    if knobs["multiplier"] == "lut":
        knobs["pe"] = max(1, min(int(knobs["pe"]), MAX_LUT_PRODUCT_BITS // (bx * bw)))
        knobs["simd"] = max(1, min(int(knobs["simd"]), MAX_LUT_PRODUCT_BITS // (int(knobs["pe"]) * bx * bw)))
    return replace(probe, activation=str(rng.choice(ACTIVATIONS)), folding=ConvFolding(**knobs))  # type: ignore[arg-type]


# One sweep sampler per layer kind (contract.layers.KINDS); tests/test_layer_kinds.py checks none is missing.
def sample_pool1d(rng: np.random.Generator, kind: str) -> Any:
    """A pooling layer of ``kind``: 1..MAX_CHANNELS channels, windows 2..5, lengths with and without a tail."""
    from contract.layers import KINDS

    channels = _log_uniform_int(rng, MAX_CHANNELS)
    window = int(rng.integers(2, 6))
    length = int(rng.integers(window, MAX_LENGTH + 1))
    bits = int(rng.integers(MIN_BITS, 9))
    fmt = FixedFormat(bits, int(rng.integers(0, bits)))
    return KINDS[kind](channels, length, window, fmt, fmt)


MAX_HIDDEN, MAX_STEPS = 16, 24


def sample_recurrent(rng: np.random.Generator, kind: str) -> Any:
    """An lstm or gru layer: 1..4 inputs per step, 1..MAX_STEPS steps, 1..MAX_HIDDEN units, knobs from
    RECURRENT_KNOBS (multipliers capped like the other kinds')."""
    from contract.layers import KINDS
    from contract.layers.recurrent import RECURRENT_KNOBS, RecurrentFolding

    features, steps, hidden = (
        int(rng.integers(1, 5)),
        int(rng.integers(1, MAX_STEPS + 1)),
        _log_uniform_int(rng, MAX_HIDDEN),
    )
    bx, bw = (int(b) for b in rng.integers(4, 9, size=2))
    fmt, weight_fmt = FixedFormat(bx, int(rng.integers(1, bx))), FixedFormat(bw, int(rng.integers(1, bw)))
    cell_bits = int(rng.integers(bx, 13))
    probe = KINDS[kind](
        features,
        steps,
        hidden,
        fmt,
        weight_fmt,
        fmt,
        gate_bits=int(rng.integers(4, min(8, fmt.frac_bits + weight_fmt.frac_bits + 2) + 1)),
        cell_fmt=FixedFormat(cell_bits, int(rng.integers(1, cell_bits - 1))),
        return_sequence=bool(rng.random() < 0.3),
    )
    knobs = {knob.name: sample_knob(rng, knob, probe) for knob in RECURRENT_KNOBS}
    lanes = int(knobs["pe"]) * (4 if knobs["gate_lanes"] == "separate" else 1)
    knobs["simd"] = max(1, min(int(knobs["simd"]), MAX_MULTIPLIERS // lanes))
    return replace(probe, folding=RecurrentFolding(**knobs))  # type: ignore[arg-type]


SWEEP_SAMPLERS: dict[str, Callable[[np.random.Generator], Any]] = {
    "dense": sample_layer,
    "conv1d": sample_conv1d,
    "maxpool1d": partial(sample_pool1d, kind="maxpool1d"),
    "avgpool1d": partial(sample_pool1d, kind="avgpool1d"),
    "lstm": partial(sample_recurrent, kind="lstm"),
    "gru": partial(sample_recurrent, kind="gru"),
}


def sample_edge_layer(rng: np.random.Generator) -> DenseLayer:
    """The edges of the space: tiny layers (1..3 x 1..3 at 2..4 bits), where the constant terms decide, and weight
    ROMs of 1000..2048 words in block RAM, whose block count depends on how synthesis splits the depth."""
    if rng.random() < 0.5:
        bx, bw, by = (int(b) for b in rng.integers(MIN_BITS, 5, size=3))
        fx, fw = int(rng.integers(0, bx)), int(rng.integers(0, bw))
        return DenseLayer(
            int(rng.integers(1, 4)),
            int(rng.integers(1, 4)),
            str(rng.choice(ACTIVATIONS)),
            FixedFormat(bx, fx),
            FixedFormat(bw, fw),
            FixedFormat(by, int(rng.integers(0, min(by - 1, fx + fw) + 1))),
            folding=DenseFolding(1, 1, str(rng.choice(["dsp", "lut"])), str(rng.choice(["lutrom", "bram"]))),
        )
    while True:
        in_features, out_features = int(rng.integers(32, MAX_IN + 1)), int(rng.integers(20, MAX_OUT + 1))
        pe = int(rng.choice([1, 1, 2]))
        if -(-out_features // pe) * in_features >= 1000:
            break
    bx, bw, by = (int(b) for b in rng.integers(4, 13, size=3))
    fx, fw = int(rng.integers(0, bx)), int(rng.integers(0, bw))
    return DenseLayer(
        in_features,
        out_features,
        str(rng.choice(ACTIVATIONS)),
        FixedFormat(bx, fx),
        FixedFormat(bw, fw),
        FixedFormat(by, int(rng.integers(0, min(by - 1, fx + fw) + 1))),
        folding=DenseFolding(pe, 1, "dsp", "bram"),
    )


WIDE_FACTORS = (2, 3, 4, 6, 8)  # PE and SIMD of the wide space: up to 8 x 8, as a search space may offer


def sample_wide_layer(rng: np.random.Generator) -> DenseLayer:
    """Engines of more than MAX_MULTIPLIERS products (PE x SIMD up to 64), which the dense space leaves out: mostly
    DSP products (yosys maps any number of them; the device check is the estimator's), and LUT products narrow
    enough for MAX_LUT_PRODUCT_BITS."""
    pe = simd = 1
    while pe * simd <= MAX_MULTIPLIERS:
        pe, simd = (int(rng.choice(WIDE_FACTORS)) for _ in range(2))
    multiplier = "lut" if rng.random() < 0.3 else "dsp"
    if multiplier == "lut":
        budget = MAX_LUT_PRODUCT_BITS // (pe * simd)  # Bx x Bw
        bx = int(rng.integers(MIN_BITS, max(MIN_BITS, min(MAX_BITS, budget // MIN_BITS)) + 1))
        bw = int(rng.integers(MIN_BITS, max(MIN_BITS, min(MAX_BITS, budget // bx)) + 1))
    else:
        bx, bw = (int(b) for b in rng.integers(MIN_BITS, MAX_BITS + 1, size=2))
    by = int(rng.integers(MIN_BITS, MAX_BITS + 1))
    fx, fw = int(rng.integers(0, bx)), int(rng.integers(0, bw))
    return DenseLayer(
        int(rng.integers(simd, MAX_IN + 1)),
        int(rng.integers(pe, MAX_OUT + 1)),
        str(rng.choice(ACTIVATIONS)),
        FixedFormat(bx, fx),
        FixedFormat(bw, fw),
        FixedFormat(by, int(rng.integers(0, min(by - 1, fx + fw) + 1))),
        folding=DenseFolding(pe, simd, multiplier, str(rng.choice(["lutrom", "bram"]))),  # type: ignore[arg-type]
    )


MIN_DEEP_GROUPS, MAX_DEEP_GROUPS = 33, 256  # the other spaces stop at MAX_OUT = 32 outputs: 32 groups at most
MAX_DEEP_LUTROM_BITS = 16384


def sample_deep_layer(rng: np.random.Generator) -> DenseLayer:
    """Layers of 33..256 output groups (PE 1..2, up to 512 outputs), as wide hidden layers folded onto few PEs are:
    their bias table's address is 6..8 bits, and synthesis maps its read (merged with the accumulator's first-word
    select) very differently from the <= 5-bit tables the other spaces give."""
    pe = int(rng.choice([1, 1, 2]))
    groups = _log_uniform_int(rng, MAX_DEEP_GROUPS - MIN_DEEP_GROUPS + 1) + MIN_DEEP_GROUPS - 1
    out_features = groups * pe - int(rng.integers(0, pe))  # a partial last group too
    simd = int(rng.choice([1, 1, 2, 4, 8]))
    multiplier = "lut" if rng.random() < 0.4 else "dsp"
    bx, bw, by = (int(b) for b in rng.integers(MIN_BITS, MAX_BITS + 1, size=3))
    if multiplier == "lut":
        bx = min(bx, 8)
        bw = max(MIN_BITS, min(bw, MAX_LUT_PRODUCT_BITS // (pe * simd * bx)))
    fx, fw = int(rng.integers(0, bx)), int(rng.integers(0, bw))
    storage = str(rng.choice(["lutrom", "bram"]))
    # A LUT ROM of more than MAX_DEEP_LUTROM_BITS bits takes yosys minutes: fewer inputs (chunks) keep it below.
    max_chunks = MAX_DEEP_LUTROM_BITS // (groups * pe * simd * bw)
    max_in = MAX_IN if storage == "bram" else max(simd, min(MAX_IN, simd * max_chunks))
    return DenseLayer(
        int(rng.integers(simd, max_in + 1)),
        out_features,
        str(rng.choice(ACTIVATIONS)),
        FixedFormat(bx, fx),
        FixedFormat(bw, fw),
        FixedFormat(by, int(rng.integers(0, min(by - 1, fx + fw) + 1))),
        folding=DenseFolding(pe, simd, multiplier, storage),  # type: ignore[arg-type]
    )


SPACES: dict[str, Callable[[np.random.Generator], DenseLayer]] = {
    "dense": sample_layer,
    "edge": sample_edge_layer,
    "wide": sample_wide_layer,
    "deep": sample_deep_layer,
}


def sample_points(samples: int, seed: int, space: str = "dense") -> list[SweepPoint]:
    """The first ``samples`` points of the seed's sequence: a larger --samples extends a sweep, never reshuffles it."""
    rng = np.random.default_rng(seed)
    return [SweepPoint(index, SPACES[space](rng)) for index in range(samples)]


WEIGHTS = ("uniform", "trained")


def sweep_weights(design: AcceleratorDesign, seed: int, index: int, kind: str = "uniform") -> list[Any]:
    """The weights a sweep point is synthesized with: full-range uniform codes, or trained-like ones (normal with
    a standard deviation of 1/32 of the range, so that the upper bits mostly repeat the sign, and 20 % zeros)."""
    rng = np.random.default_rng(weights_seed(seed, index))
    uniform = random_weights(design, rng)
    if kind == "uniform":
        return uniform
    trained = []
    for layer, weights in zip(design.layers, uniform, strict=True):
        fmt = layer.weight_fmt
        codes = np.rint(rng.normal(0.0, max(1.0, (fmt.max_int + 1) / 16), size=weights.weight.shape))
        codes[rng.random(codes.shape) < 0.2] = 0
        trained.append(replace(weights, weight=np.clip(codes, fmt.min_int, fmt.max_int).astype(np.int64)))
    return trained


def single_layer_design(layer: DenseLayer, family: str) -> AcceleratorDesign:
    return AcceleratorDesign((layer,), FAMILY_DEVICES[family], FAMILY_CLOCKS[family], name=TOP_NAME)


def weights_seed(seed: int, index: int) -> int:
    return seed * 1_000_003 + index
