"""What trained weights change in an estimate: the LUT-ROM bit columns synthesis really keeps.

yosys folds a ROM bit column that is the same in every word into a constant, and merges columns with equal
content (opt_merge). Small trained weights have upper bits that only repeat the sign, so their ROMs shrink a lot;
full-range random weights (the pre-training assumption) keep every column.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from contract.design import AcceleratorDesign
from contract.layers.dense import DenseLayer


def distinct_rom_columns(layer: DenseLayer, weight: np.ndarray) -> int:
    """Non-constant, pairwise different bit columns of the layer's weight ROM (two's complement words)."""
    words = layer.rom_words(weight)
    if len(words) < 2:  # the generator pads a one-word table with a zero word
        words = np.vstack([words, np.zeros_like(words)])
    bits = layer.weight_fmt.total_bits
    columns = ((words[:, :, None] >> np.arange(bits)) & 1).reshape(len(words), -1).T
    varying = columns[columns.min(axis=1) != columns.max(axis=1)]
    return len(np.unique(varying, axis=0)) if len(varying) else 0


def rom_contents(
    design: AcceleratorDesign, weights: Sequence[Any], memo: dict[tuple[int, ...], int] | None = None
) -> tuple[int | None, ...]:
    """Per layer of ``design``: its distinct ROM columns when it is a dense FPGA layer, else None (estimated as
    full). ``memo`` keeps the count per (weights, layer, folding) while the same weights are re-folded."""
    memo = {} if memo is None else memo
    columns: list[int | None] = []
    for index, (layer, layer_weights) in enumerate(zip(design.layers, weights, strict=True)):
        if not isinstance(layer, DenseLayer) or layer.placement == "mcu":
            columns.append(None)
            continue
        key = (id(weights), index, layer.folding.pe, layer.folding.simd, layer.weight_fmt.total_bits)
        if key not in memo:
            memo[key] = distinct_rom_columns(layer, layer_weights.weight)
        columns.append(memo[key])
    return tuple(columns)
