"""Window-buffer copies whose weights are all 0 vanish in synthesis (estimators.conv.live_copies): the rule that
made the trained conv1d BRAM estimate exact on iCE40 (benchmarks/trained_conv.py)."""

from __future__ import annotations

import numpy as np
import pytest

from contract.fixedpoint import FixedFormat
from contract.layers.conv import Conv1dLayer, ConvFolding
from estimators import default_calibration
from estimators.content import rom_content
from estimators.conv import conv_numbers, engine_view, live_copies
from estimators.dense import block_ram_count, dsps_per_product

CALIBRATION = default_calibration("ice40")


def _layer(
    out_channels: int = 1, multiplier: str = "lut", bits: int = 4, groups: int = 1, pe: int = 1, weight_bits: int = 0
) -> Conv1dLayer:
    q = FixedFormat(bits, 2)
    channels = out_channels if groups > 1 else 1
    return Conv1dLayer(
        channels, 40, out_channels, 3, "relu", q, FixedFormat(weight_bits or bits, 1), q,
        groups=groups, folding=ConvFolding(pe=pe, simd=3, multiplier=multiplier),
    )  # fmt: skip


def _copies(layer: Conv1dLayer, taps: list[int], outputs: int = 1) -> int:
    """Copies kept when every output's kernel holds ``taps`` (the codes of its 3 taps)."""
    weight = np.tile(np.array(taps, dtype=np.int64), (outputs, 1))[:, None, :]  # (out, in/groups, kernel)
    return live_copies(layer, CALIBRATION, rom_content(layer, weight))


def test_behind_shift_and_add_every_zero_copy_vanishes() -> None:
    layer = _layer()
    assert layer.read_ports == 3
    assert _copies(layer, [1, 2, 0]) == 2
    assert _copies(layer, [0, 2, 1]) == 2
    assert _copies(layer, [1, 0, 0]) == 1
    assert _copies(layer, [0, 0, 0]) == 0
    deep = _layer(out_channels=4)
    assert deep.rom_depth == 4
    assert _copies(deep, [1, 0, 2], outputs=4) == 2


def test_behind_a_tool_built_product_the_narrower_weight_decides() -> None:
    narrow = _layer(multiplier="dsp", bits=6, weight_bits=3)  # Bw < Bx: the weight gates the product
    assert dsps_per_product(engine_view(narrow), CALIBRATION) == 0  # type: ignore[arg-type]
    assert _copies(narrow, [1, 0, 2]) == 2
    assert _copies(_layer(out_channels=4, multiplier="dsp", bits=6, weight_bits=3), [1, 0, 2], outputs=4) == 2
    wide = _layer(multiplier="dsp", bits=4)  # Bw = Bx: only the trimmed top slots of a short ROM go
    assert dsps_per_product(engine_view(wide), CALIBRATION) == 0  # type: ignore[arg-type]
    assert _copies(wide, [1, 0, 2]) == 3
    assert _copies(wide, [1, 2, 0]) == 2
    assert _copies(_layer(out_channels=2, multiplier="dsp"), [1, 2, 0], outputs=2) == 2  # two words
    assert _copies(_layer(out_channels=3, multiplier="dsp"), [1, 2, 0], outputs=3) == 3  # three words


def test_a_depthwise_copy_belongs_to_one_lane_slot() -> None:
    layer = _layer(out_channels=2, groups=2, pe=2)
    assert layer.depthwise and layer.read_ports == 6
    codes = [[[1, 0, 2]], [[1, 2, 3]]]  # channel 0's middle tap is 0: one copy of six
    assert live_copies(layer, CALIBRATION, rom_content(layer, np.array(codes))) == 5
    codes = [[[0, 0, 0]], [[1, 2, 0]]]  # channel 0 wholly, channel 1's last tap
    assert live_copies(layer, CALIBRATION, rom_content(layer, np.array(codes))) == 2


def test_dsp_products_keep_their_copies_and_no_content_keeps_all() -> None:
    layer = _layer(multiplier="dsp", bits=12)
    assert dsps_per_product(engine_view(layer), CALIBRATION) > 0  # type: ignore[arg-type]
    assert _copies(layer, [1, 2, 0]) == 3
    assert live_copies(_layer(), CALIBRATION, None) == 3


@pytest.mark.parametrize(("taps", "copies"), [([1, 2, 3], 3), ([1, 2, 0], 2), ([0, 0, 0], 0)])
def test_the_estimate_counts_block_ram_for_the_kept_copies(taps: list[int], copies: int) -> None:
    layer = _layer()
    assert layer.buffer_storage_on("ice40") == "bram"
    weight = np.array([[taps]])
    _, _, _, _, _, bram, _ = conv_numbers(layer, CALIBRATION, rom_content(layer, weight))
    per_copy = block_ram_count(layer.in_size, layer.in_fmt.total_bits, "ice40")
    assert bram == copies * per_copy
