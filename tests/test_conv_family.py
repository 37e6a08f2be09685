"""The conv1d model family: search-file keys, the layer list a trial builds, bad input, and one tiny search."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna
import pandas as pd
import pytest
from trial_support import DefaultsTrial

from contract.layers import Conv1dLayer, DenseLayer
from contract.reference import load_weights
from dse.config import ConfigError, SearchConfig, parse_config
from dse.search import run_search
from dse.space import Candidate, sample_candidate
from estimators import default_calibration, estimate_design
from estimators.content import rom_contents
from estimators.conv import conv_numbers


def conv_config(**model: Any) -> SearchConfig:
    return parse_config(
        {
            "study": {"name": "conv", "seed": 1},
            "dataset": {"kind": "italy_power_demand"},
            "model": {"family": "conv1d", **model},
            "hardware": {"pe": {"choices": [1, 3]}, "simd": {"choices": [1, 4]}},
            "training": {"epochs": 2},
            "objectives": [{"name": "accuracy"}, {"name": "latency_us"}],
            "search": {"n_trials": 3, "sampler": "random"},
        }
    )


def _candidate(config: SearchConfig, params: dict[str, Any], shape: tuple[int, int] = (1, 24)) -> Any:
    trial: Any = DefaultsTrial(params)
    return sample_candidate(trial, config, shape[0] * shape[1], 2, shape).design


def test_plain_blocks_flatten_into_a_dense_head() -> None:
    config = conv_config(blocks=2, channels=4, kernel_size=3, stride={"choices": [1, 2]}, head_layers=1, head_width=5)
    design = _candidate(config, {"stride_0": 2, "stride_1": 1, "pe_0": 3, "simd_0": 4})
    kinds = [type(layer) for layer in design.layers]
    assert kinds == [Conv1dLayer, Conv1dLayer, DenseLayer, DenseLayer]
    first, second, hidden, out = design.layers
    assert (first.in_channels, first.in_length, first.out_channels, first.out_length) == (1, 24, 4, 12)
    assert (second.out_channels, second.out_length) == (4, 12)
    assert first.folding.pe == 3 and first.folding.simd == 3  # SIMD capped at the fan-in (kernel 3 x 1 channel)
    assert hidden.in_features == 48 and hidden.out_features == 5 and out.out_features == 2
    assert out.activation == "identity" and first.batch_norm


def test_separable_blocks_are_depthwise_then_pointwise() -> None:
    design = _candidate(conv_config(blocks=1, channels=6, kernel_size=5, separable=True), {}, shape=(3, 20))
    depthwise, pointwise, head = design.layers
    assert depthwise.groups == 3 and depthwise.out_channels == 3 and depthwise.kernel_size == 5
    assert pointwise.kernel_size == 1 and pointwise.groups == 1 and pointwise.out_channels == 6
    assert head.in_features == 6 * 20


def test_valid_padding_caps_the_kernel_at_the_remaining_length() -> None:
    config = conv_config(blocks=2, channels=2, kernel_size=7, stride=3, padding="valid")
    design = _candidate(config, {}, shape=(1, 12))
    assert design.layers[0].out_length == 2 and design.layers[1].kernel_size == 2
    assert design.layers[1].out_length == 1


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ({"pooling": "median"}, "unknown pooling 'median'"),
        ({"padding": "full"}, "unknown padding 'full'"),
        ({"blocks": 0}, "values must be >= 1"),
        ({"separable": "yes"}, "separable"),
        ({"width": 8}, "unknown key"),
        ({"family": "transformer"}, "model: unknown family; allowed: mlp, conv1d, lstm"),
    ],
)
def test_bad_model_keys_name_the_field(model: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        conv_config(**model)


@pytest.mark.e2e
def test_a_tiny_conv1d_search_trains_and_reports(tmp_path: Path) -> None:
    summary = run_search(conv_config(blocks=1, channels=2, separable={"choices": [False, True]}), results_dir=tmp_path)
    assert summary.completed == 2  # the space holds two networks; the two-level search trains each once
    trials = pd.read_csv(tmp_path / "trials.csv")
    assert trials["test_accuracy"].notna().all() and (trials["est_cycles"] > 0).all()
    # Conv layers are re-estimated with the ROM content of their trained weights, as dense layers are.
    study = optuna.load_study(study_name="conv", storage=f"sqlite:///{tmp_path / 'study.db'}")
    shrunk, calibration = [], default_calibration("xc7")
    for trial in study.trials:
        design = Candidate.from_dict(trial.user_attrs["candidate"]).design
        contents = rom_contents(design, load_weights(tmp_path / trial.user_attrs["artifacts"] / "weights.npz"))
        assert any(c is not None for layer, c in zip(design.layers, contents, strict=True) if layer.kind == "conv1d")
        after, before = estimate_design(design, contents=contents), estimate_design(design)
        assert trial.user_attrs["estimate"]["lut"] == pytest.approx(after.lut)
        assert trial.user_attrs["estimate_pre_training"]["lut"] == pytest.approx(before.lut)
        for layer, content in zip(design.layers, contents, strict=True):
            if layer.kind == "conv1d":  # lut is the third of a layer's numbers
                shrunk.append(conv_numbers(layer, calibration, content)[2] < conv_numbers(layer, calibration)[2])
    assert any(shrunk)


def test_pooling_after_each_block_and_global_average_before_the_head() -> None:
    from contract.layers import AvgPool1dLayer, MaxPool1dLayer

    config = conv_config(blocks=2, channels=3, kernel_size=3, pooling="max", pool_window=3, global_pool=True)
    design = _candidate(config, {})
    kinds = [type(layer) for layer in design.layers]
    assert kinds == [Conv1dLayer, MaxPool1dLayer, Conv1dLayer, MaxPool1dLayer, AvgPool1dLayer, DenseLayer]
    first_pool, second_pool, gap, head = design.layers[1], design.layers[3], design.layers[4], design.layers[5]
    assert (first_pool.in_length, first_pool.out_length) == (24, 8)  # "same" conv keeps 24 steps; window 3
    assert (second_pool.in_length, second_pool.out_length) == (8, 2)  # 8 = 2 windows of 3 + a dropped tail of 2
    assert (gap.window, gap.out_length, head.in_features) == (2, 1, 3)
    avg = _candidate(conv_config(blocks=1, pooling="avg", pool_window=2), {}).layers[1]
    assert isinstance(avg, AvgPool1dLayer) and avg.window == 2
