"""The lstm model family: search-file keys, the layer list a trial builds, bad input, a tiny search, and the
export of a searched recurrent design verified in GHDL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from trial_support import DefaultsTrial

from contract.layers import Conv1dLayer, DenseLayer, GruLayer, LstmLayer
from dse.config import ConfigError, SearchConfig, parse_config
from dse.search import run_search
from dse.space import sample_candidate


def lstm_config(*, dataset: str = "italy_power_demand", **model: Any) -> SearchConfig:
    return parse_config(
        {
            "study": {"name": "lstm", "seed": 1},
            "dataset": {"kind": dataset},
            "model": {"family": "lstm", **model},
            "hardware": {"pe": {"choices": [1, 3]}, "simd": {"choices": [1, 4]}, "gate_lanes": "shared"},
            "constraints": {"fit_device": True},
            "training": {"epochs": 2, "batch_size": 64},
            "objectives": [{"name": "accuracy" if dataset != "sensor" else "mse"}, {"name": "latency_us"}],
            "search": {"n_trials": 3, "sampler": "random"},
        }
    )


def _design(config: SearchConfig, params: dict[str, Any], shape: tuple[int, int] = (1, 24)) -> Any:
    trial: Any = DefaultsTrial(params)
    return sample_candidate(trial, config, shape[0] * shape[1], 2, shape).design


def test_one_lstm_layer_reads_the_series_and_a_dense_layer_reads_its_last_state() -> None:
    config = lstm_config(hidden_size=5, gate_bits=6, cell_bits=10, cell_int_bits=3)
    design = _design(config, {"pe_0": 3, "simd_0": 4})
    lstm, out = design.layers
    assert isinstance(lstm, LstmLayer) and isinstance(out, DenseLayer)
    assert (lstm.in_features, lstm.seq_len, lstm.hidden_size, lstm.out_size) == (1, 24, 5, 5)
    assert not lstm.return_sequence and lstm.gate_bits == 6 and lstm.cell_fmt.frac_bits == 7
    assert (lstm.folding.pe, lstm.folding.simd) == (3, 4)
    assert (out.in_features, out.out_features, out.activation) == (5, 2, "identity")


def test_projection_and_two_gru_layers_pass_every_state_on() -> None:
    config = lstm_config(cell="gru", layers=2, hidden_size={"choices": [4, 6]}, projection=3, head_layers=1)
    design = _design(config, {"hidden_size_1": 6}, shape=(2, 10))
    projection, first, second, hidden, out = design.layers
    assert isinstance(projection, Conv1dLayer) and projection.kernel_size == 1 and projection.activation == "identity"
    assert (projection.in_channels, projection.out_channels) == (2, 3)
    assert isinstance(first, GruLayer) and first.return_sequence and first.in_features == 3
    assert first.out_size == 10 * 4 == second.in_size
    assert not second.return_sequence and second.hidden_size == 6 and hidden.in_features == 6
    assert out.out_features == 2


def test_gate_bits_are_capped_at_the_products_fraction() -> None:
    config = lstm_config(gate_bits=18)
    lstm = _design(config, {}).layers[0]
    assert lstm.gate_fmt.frac_bits == lstm.in_fmt.frac_bits + lstm.weight_fmt.frac_bits


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ({"cell": "rnn"}, "model.cell"),
        ({"hidden_size": 0}, "model.hidden_size"),
        ({"layers": 3}, "model.layers"),
        ({"cell_bits": 8, "cell_int_bits": 9}, "cell_int_bits 9"),
        ({"gate_bits": 2}, "model.gate_bits"),
    ],
)
def test_bad_model_keys_name_the_field(model: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        lstm_config(**model)


def test_gate_lanes_is_a_hardware_key_with_its_choices() -> None:
    with pytest.raises(ConfigError, match="gate_lanes"):
        parse_config(
            {
                "study": {"name": "x"},
                "dataset": {"kind": "sensor"},
                "model": {"family": "lstm"},
                "hardware": {"gate_lanes": "parallel"},
                "objectives": [{"name": "mse"}],
            }
        )


@pytest.mark.e2e
@pytest.mark.sim
def test_a_tiny_lstm_search_trains_and_its_export_verifies(tmp_path: Path) -> None:
    from dse.cli import main

    config = lstm_config(dataset="sensor", cell={"choices": ["lstm", "gru"]}, hidden_size=3)
    summary = run_search(config, results_dir=tmp_path / "res")
    assert summary.completed == 2  # the space holds two networks; the two-level search trains each once
    trials = pd.read_csv(tmp_path / "res" / "trials.csv")
    assert (trials["est_cycles"] > 0).all()
    trained = trials[trials["trained"]]  # pe 3 x simd 4 can exceed the XC7S15's 20 DSPs: pruned before training
    assert len(trained) and trained["test_mse"].notna().all()
    code = main(["export", str(tmp_path / "res"), "--pick", "knee", "--out", str(tmp_path / "out"), "--verify"])
    assert code == 0
    record = json.loads((tmp_path / "out" / "design.json").read_text())
    assert record["verified"] is True and record["verification"]["mismatches"] == 0
    assert record["design"]["layers"][0]["kind"] in ("lstm", "gru")
