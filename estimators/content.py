"""What trained weights change in an estimate: the ROM bits and the products synthesis really keeps.

yosys folds a ROM bit column that is the same in every word into a constant, and merges columns with equal
content (opt_merge); a block-RAM ROM drops its constant columns too. Small trained weights have upper bits that
only repeat the sign, so their ROMs shrink a lot. A LUT multiplier loses the adder rows of weight bits that are 0
in every word of its slot (a slot whose codes are all >= 0 loses its sign rows). A product by a one-word ROM's 0
vanishes. Full-range random weights (the pre-training assumption) keep every product bit, and every ROM column
that the ROM's depth allows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from contract.design import AcceleratorDesign
from contract.layers.conv import Conv1dLayer
from contract.layers.dense import DenseLayer
from contract.layers.recurrent import RecurrentLayer

# Kinds whose weights sit in one PE x SIMD engine ROM (their rom_words): estimated with their content after
# training (pooling has no weights).
CONTENT_KINDS = ("dense", "conv1d", "lstm", "gru")


@dataclass(frozen=True, slots=True)
class RomContent:
    kept_columns: int  # non-constant, pairwise different bit columns: what a LUT ROM keeps
    constant_columns: int  # columns equal in every word: what a block-RAM ROM drops
    constant_weights: tuple[int, ...]  # a one-word ROM's codes, per lane slot (p*SIMD + s): constant products
    live_weight_bits: int  # weight bits, summed over lane slots, that are not 0 in every word: a LUT product's rows
    signed_slots: int  # lane slots whose sign bit is not 0 in every word: the sign-extension part of their product
    zero_slots: tuple[bool, ...] = ()  # per lane slot: 0 in every word (empty when unknown, e.g. a sweep-table row)
    sign_copy_bits: int = 0  # summed over lane slots: top bits equal to the bit below in every word (sign copies)

    @property
    def leading_zero_slots(self) -> int:
        """The last lane slots (the word's top bits) that are 0 in every word."""
        live = [slot for slot, zero in enumerate(self.zero_slots) if not zero]
        return len(self.zero_slots) - (live[-1] + 1 if live else 0)


# Sweep-table columns that record a row's content (dse calibrate sweep writes them, the fit reads them back).
CONTENT_COLUMNS = ("rom_columns", "constant_columns", "live_weight_bits", "signed_slots", "sign_copy_bits")
# Tables made before a column existed may lack these (scripts/backfill_content.py writes them): read as 0.
OPTIONAL_CONTENT_COLUMNS = ("sign_copy_bits",)


def content_columns(content: RomContent) -> dict[str, int]:
    values = (
        content.kept_columns,
        content.constant_columns,
        content.live_weight_bits,
        content.signed_slots,
        content.sign_copy_bits,
    )
    return dict(zip(CONTENT_COLUMNS, values, strict=True))


def max_distinct_columns(depth: int, width: int) -> int:
    """Most non-constant, pairwise different bit columns a ROM of ``depth`` words can have: 2^depth - 2 patterns
    (a one-word ROM is padded with a zero word: one pattern)."""
    if depth < 2:
        return min(width, 1)
    return min(width, 2 ** min(depth, 62) - 2)


def rom_content(layer: DenseLayer | Conv1dLayer | RecurrentLayer, weight: np.ndarray) -> RomContent:
    words = layer.rom_words(weight)
    # The generator pads a one-word table with a zero word.
    padded = np.vstack([words, np.zeros_like(words)]) if len(words) < 2 else words
    bits = layer.weight_fmt.total_bits
    slot_bits = (padded[:, :, None] >> np.arange(bits)) & 1  # word, slot, bit
    columns = slot_bits.reshape(len(padded), -1).T
    constant = columns.min(axis=1) == columns.max(axis=1)
    varying = columns[~constant]
    kept = len(np.unique(varying, axis=0)) if len(varying) else 0
    live = slot_bits[: len(words)].max(axis=0).astype(bool)  # slot, bit: 1 in some word
    # Only a one-word ROM is seen as constants by yosys: a registered read of a deeper ROM stays a multiplier
    # operand even where a slot holds one code in every word.
    constants = tuple(int(code) for code in words[0]) if len(words) == 1 else ()
    zero = tuple(bool(z) for z in ~words.astype(bool).any(axis=0))
    copies = int(sign_copies(slot_bits).sum())
    return RomContent(kept, int(constant.sum()), constants, int(live.sum()), int(live[:, -1].sum()), zero, copies)


def sign_copies(slot_bits: np.ndarray) -> np.ndarray:
    """Per lane slot of (word, slot, bit) bits: how many top bits equal the bit below them in every word. A LUT
    ROM's registered word keeps one flip-flop for all of them (opt_merge), so its product sees a narrower weight;
    a block RAM's outputs stay separate."""
    equal_below = (slot_bits[:, :, 1:] == slot_bits[:, :, :-1]).all(axis=0)  # slot, bit 1.. : equals bit - 1
    return np.cumprod(equal_below[:, ::-1], axis=1).sum(axis=1)


def distinct_rom_columns(layer: DenseLayer, weight: np.ndarray) -> int:
    """Non-constant, pairwise different bit columns of the layer's weight ROM (two's complement words)."""
    return rom_content(layer, weight).kept_columns


def rom_contents(
    design: AcceleratorDesign, weights: Sequence[Any], memo: dict[tuple[Any, ...], RomContent] | None = None
) -> tuple[RomContent | None, ...]:
    """Per layer of ``design``: its ROM content when it is an FPGA layer of a CONTENT_KINDS kind, else None
    (estimated as full-range).
    ``memo`` keeps the content per (weights, layer, folding) while the same weights are re-folded."""
    memo = {} if memo is None else memo
    contents: list[RomContent | None] = []
    for index, (layer, layer_weights) in enumerate(zip(design.layers, weights, strict=True)):
        if layer.kind not in CONTENT_KINDS or layer.placement == "mcu":
            contents.append(None)
            continue
        key = (id(weights), index, layer.folding, layer.weight_fmt.total_bits)  # the folding decides the layout
        if key not in memo:
            memo[key] = rom_content(layer, layer_weights.weight)  # type: ignore[arg-type]
        contents.append(memo[key])
    return tuple(contents)
