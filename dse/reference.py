"""Integer reference model: what the generated hardware (and the MCU) computes, bit for bit."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dse.design import AcceleratorDesign, DenseLayer
from dse.fixedpoint import activate_and_requantize


@dataclass(frozen=True)
class LayerWeights:
    """Integer codes: ``weight`` is (out, in) in the layer's weight format, ``bias`` is (out,) in its bias format."""

    weight: np.ndarray
    bias: np.ndarray


def check_weights(layer: DenseLayer, weights: LayerWeights) -> None:
    if weights.weight.shape != (layer.out_features, layer.in_features):
        raise ValueError(f"weight shape {weights.weight.shape} != {(layer.out_features, layer.in_features)}")
    if weights.bias.shape != (layer.out_features,):
        raise ValueError(f"bias shape {weights.bias.shape} != {(layer.out_features,)}")
    for name, codes, fmt in (("weight", weights.weight, layer.weight_fmt), ("bias", weights.bias, layer.bias_fmt)):
        if codes.size and (codes.min() < fmt.min_int or codes.max() > fmt.max_int):
            raise ValueError(f"{name} codes out of range for {fmt}")


def dense_forward(layer: DenseLayer, weights: LayerWeights, x: np.ndarray) -> np.ndarray:
    """x: (N, in) integer codes in ``layer.in_fmt`` -> (N, out) codes in ``layer.out_fmt``."""
    x = np.asarray(x, dtype=np.int64)
    acc = x @ weights.weight.astype(np.int64).T + weights.bias.astype(np.int64)
    return activate_and_requantize(acc, layer.acc_frac_bits, layer.activation, layer.out_fmt)


def run_reference(
    design: AcceleratorDesign, weights: list[LayerWeights], x: np.ndarray, layers: slice = slice(None)
) -> np.ndarray:
    for layer, layer_weights in zip(design.layers[layers], weights[layers], strict=True):
        x = dense_forward(layer, layer_weights, x)
    return x


def save_weights(path: Path, weights: list[LayerWeights]) -> None:
    arrays: dict[str, np.ndarray] = {}
    for index, lw in enumerate(weights):
        arrays[f"w{index}"] = lw.weight.astype(np.int64)
        arrays[f"b{index}"] = lw.bias.astype(np.int64)
    np.savez(path, **arrays)


def load_weights(path: Path) -> list[LayerWeights]:
    with np.load(path) as data:
        count = len([k for k in data.files if k.startswith("w")])
        return [LayerWeights(data[f"w{i}"], data[f"b{i}"]) for i in range(count)]


def random_weights(design: AcceleratorDesign, rng: np.random.Generator) -> list[LayerWeights]:
    """Full-range random codes: the hardest case for accumulator widths (used by tests and sweeps)."""
    result = []
    for layer in design.layers:
        w = rng.integers(
            layer.weight_fmt.min_int, layer.weight_fmt.max_int + 1, size=(layer.out_features, layer.in_features)
        )
        b = rng.integers(layer.bias_fmt.min_int, layer.bias_fmt.max_int + 1, size=layer.out_features)
        result.append(LayerWeights(w.astype(np.int64), b.astype(np.int64)))
    return result
