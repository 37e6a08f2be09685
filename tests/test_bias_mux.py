"""The bias read of a dense engine with many output groups (estimators.dense.bias_mux_luts): synthesis merges it
with the accumulate's first-word select, and its cost per accumulator bit jumps with the group address width."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from contract.fixedpoint import FixedFormat
from contract.layers.dense import DenseFolding, DenseLayer
from estimators import default_calibration
from estimators.calibration import FEATURES
from estimators.dense import bias_mux_luts, dense_features


def many_groups_layer(out_features: int, pe: int = 1) -> DenseLayer:
    return DenseLayer(
        44,
        out_features,
        "relu",
        FixedFormat(9, 4),
        FixedFormat(4, 2),
        FixedFormat(8, 3),
        folding=DenseFolding(pe, 4, "dsp", "bram"),
    )


@pytest.mark.parametrize(
    ("groups", "extra"), [(1, 0), (2, 0), (16, 0), (17, 1), (32, 1), (33, 3), (64, 3), (65, 2), (128, 2), (129, 4)]
)
def test_extra_luts_per_accumulator_bit_follow_the_group_address(groups: int, extra: int) -> None:
    assert bias_mux_luts(groups, 6) == extra


def test_lut4_is_not_measured_and_adds_nothing() -> None:
    assert all(bias_mux_luts(groups, 4) == 0 for groups in (1, 5, 17, 64, 300))


def test_the_feature_counts_every_lane_and_accumulator_bit() -> None:
    calibration = default_calibration("xc7")
    for out_features, pe in ((47, 1), (94, 2), (20, 1)):
        layer = many_groups_layer(out_features, pe)
        features = dict(zip(FEATURES, dense_features(layer, 1, calibration), strict=True))
        assert features["bias_mux_bits"] == pe * layer.acc_bits * bias_mux_luts(layer.groups, 6)
    assert dict(zip(FEATURES, default_calibration("xc7").lut, strict=True))["bias_mux_bits"] > 0.5


@pytest.mark.synth
def test_yosys_still_spends_the_extra_luts_at_33_groups(tmp_path: Path) -> None:
    """The measurement behind the feature: 32 -> 33 groups (5 -> 6 address bits) costs more than one LUT per
    accumulator bit (this layer: 150 -> 180 LUTs for 18 bits; the model says 2 per bit)."""
    from dse.calibrate.space import single_layer_design
    from generator.synth import synthesize

    luts = []
    for out_features in (32, 33):
        layer = many_groups_layer(out_features)
        rng = np.random.default_rng(0)
        weights = [layer.random_weights(rng)]
        design = single_layer_design(layer, "xc7")
        luts.append(synthesize(design, weights, tmp_path / str(out_features), place_and_route=False).lut)
    assert luts[1] - luts[0] > many_groups_layer(33).acc_bits
