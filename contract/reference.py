"""Integer reference model: what the generated hardware (and the MCU) computes, bit for bit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from contract.design import AcceleratorDesign
from contract.layers import DenseWeights

# The dense kind's weights; other kinds bring their own weight types.
LayerWeights = DenseWeights


def run_reference(
    design: AcceleratorDesign, weights: list[Any], x: np.ndarray, layers: slice = slice(None)
) -> np.ndarray:
    """Integer codes in -> integer codes out through ``design.layers[layers]`` (each layer's own forward)."""
    x = np.asarray(x, dtype=np.int64)
    for layer, layer_weights in zip(design.layers[layers], weights[layers], strict=True):
        x = layer.forward(layer_weights, x)
    return x


def random_weights(design: AcceleratorDesign, rng: np.random.Generator) -> list[Any]:
    """Full-range random codes for every layer: the hardest case for accumulator widths."""
    return [layer.random_weights(rng) for layer in design.layers]


def save_weights(path: Path, weights: list[DenseWeights]) -> None:
    arrays: dict[str, np.ndarray] = {}
    for index, lw in enumerate(weights):
        arrays[f"w{index}"] = lw.weight.astype(np.int64)
        arrays[f"b{index}"] = lw.bias.astype(np.int64)
    np.savez(path, **arrays)


def load_weights(path: Path) -> list[DenseWeights]:
    with np.load(path) as data:
        count = len([k for k in data.files if k.startswith("w")])
        return [DenseWeights(data[f"w{i}"], data[f"b{i}"]) for i in range(count)]
