"""search.mode (joint, model, hardware), reuse of a network's training across accelerators, and per-layer
(mixed) precision."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from trial_support import DefaultsTrial

from contract.design import AcceleratorDesign
from contract.reference import random_weights, run_reference
from dse.config import ConfigError, parse_config
from dse.search import run_search
from dse.space import sample_candidate
from dse.training.quant import QuantizedNet


def _file(tmp_path: Path, **sections: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "study": {"name": "modes", "seed": 0, "results_dir": str(tmp_path / "res")},
        "dataset": {"kind": "digits", "max_samples": 400},
        "model": {"hidden_layers": 1, "width": 8},
        "quantization": {"activation_bits": 8, "weight_bits": 6},
        "hardware": {"pe": {"choices": [1, 2, 4]}, "simd": {"choices": [1, 2, 4]}},
        "training": {"epochs": 2},
        "objectives": [{"name": "accuracy"}, {"name": "latency_us"}],
        "search": {"n_trials": 6, "sampler": "random"},
    }
    for name, value in sections.items():
        base[name] = base.get(name, {}) | value if isinstance(value, dict) else value
    return base


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"search": {"mode": "hardware"}, "model": {"width": {"choices": [8, 16]}}},
            "search.mode: 'hardware' keeps model fixed, but model.width is a range or choices",
        ),
        (
            {"search": {"mode": "hardware"}, "quantization": {"weight_bits": {"choices": [4, 6]}}},
            "keeps quantization fixed, but quantization.weight_bits",
        ),
        ({"search": {"mode": "model"}}, "search.mode: 'model' keeps hardware fixed, but hardware.pe is"),
        ({"search": {"mode": "physics"}}, "search.mode"),
    ],
)
def test_modes_refuse_searched_keys_they_keep_fixed(tmp_path: Path, changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config(_file(tmp_path, **changes))


def test_hardware_mode_trains_the_fixed_network_once(tmp_path: Path) -> None:
    config = parse_config(_file(tmp_path, search={"mode": "hardware", "n_trials": 6, "sampler": "random"}))
    run_search(config)
    trials = pd.read_csv(tmp_path / "res" / "trials.csv")
    trained = trials[trials["trained"]]
    assert len(trained) >= 2
    assert trained["trained_by"].nunique() == 1  # every accelerator of the one network shares its training
    assert trained["accuracy"].nunique() == 1


def test_without_reuse_every_trial_trains(tmp_path: Path) -> None:
    config = parse_config(
        _file(tmp_path, search={"mode": "hardware", "n_trials": 3, "sampler": "random", "reuse_training": False})
    )
    run_search(config)
    trials = pd.read_csv(tmp_path / "res" / "trials.csv")
    trained = trials[trials["trained"]]
    assert (trained["trained_by"] == trained["number"]).all()


def test_per_layer_bits_give_each_boundary_its_format_and_stay_bit_exact(tmp_path: Path) -> None:
    config = parse_config(
        _file(
            tmp_path,
            model={"hidden_layers": 2, "width": 6},
            quantization={
                "per_layer": True,
                "activation_bits": {"choices": [5, 8, 10]},
                "weight_bits": {"choices": [3, 6]},
            },
        )
    )
    params = {"activation_bits_0": 8, "activation_bits_1": 5, "activation_bits_2": 10, "activation_bits_3": 8}
    params |= {"weight_bits_0": 6, "weight_bits_1": 3, "weight_bits_2": 6}
    design: AcceleratorDesign = sample_candidate(DefaultsTrial(params), config, 64, 10).design  # type: ignore[arg-type]
    bits = [(layer.in_fmt.total_bits, layer.weight_fmt.total_bits, layer.out_fmt.total_bits) for layer in design.layers]
    assert bits == [(8, 6, 5), (5, 3, 10 - 3), (7, 6, 8)]  # 10 bits capped: 5-bit x 3-bit products have 3 frac bits
    assert design.layers[1].out_fmt.frac_bits == design.layers[1].acc_frac_bits
    rng = np.random.default_rng(0)
    weights = random_weights(design, rng)
    x = rng.integers(design.layers[0].in_fmt.min_int, design.layers[0].in_fmt.max_int + 1, size=(30, 64))
    net = QuantizedNet(design)
    net.load_integer_weights(weights)
    np.testing.assert_array_equal(
        net.output_codes(torch.from_numpy(x / design.layers[0].in_fmt.scale)), run_reference(design, weights, x)
    )


def test_per_layer_is_refused_for_conv1d(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="quantization.per_layer: supported for the mlp and pretrained families"):
        parse_config(
            _file(
                tmp_path,
                dataset={"kind": "italy_power_demand"},
                model={"family": "conv1d"},
                quantization={"per_layer": True},
            )
            | {"model": {"family": "conv1d"}}
        )
