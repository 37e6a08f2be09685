"""Search-file validation: good files load, bad files name the field and what is allowed, exit code 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from dse.config import Choices, ConfigError, FloatRange, IntRange, load_config, parse_config

REPO = Path(__file__).resolve().parents[1]
MINIMAL = {"study": {"name": "t"}, "dataset": {"kind": "digits"}, "objectives": [{"name": "accuracy"}]}


def with_changes(**sections: dict) -> dict:
    data = {key: dict(value) if isinstance(value, dict) else value for key, value in MINIMAL.items()}
    data.update(sections)
    return data


@pytest.mark.parametrize("path", sorted((REPO / "search_spaces").glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_search_files_are_valid(path: Path) -> None:
    config = load_config(path)
    assert config.study.name
    assert len(config.objectives) >= 2


def test_defaults_and_parameter_shapes() -> None:
    config = parse_config(
        with_changes(
            model={"hidden_layers": {"low": 1, "high": 3}, "width": {"choices": [8, 16]}},
            training={"learning_rate": {"low": 0.001, "high": 0.1, "log": True}},
        )
    )
    assert config.results_dir == Path("results/t")
    assert config.model.hidden_layers == IntRange(low=1, high=3)
    assert config.model.width == Choices(choices=[8, 16])
    assert config.training.learning_rate == FloatRange(low=0.001, high=0.1, log=True)
    assert config.search.sampler == "nsga2"
    assert config.hardware.device == "xc7s15"
    assert config.objectives[0].resolved_direction == "maximize"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"foo": 1}, "foo: unknown key"),
        ({"hardware": {"device": "xc9"}}, "hardware.device: unknown device 'xc9'; allowed: ice40up5k"),
        ({"hardware": {"parallelism": {"low": 4, "high": 2}}}, "hardware.parallelism: empty range: low (4) > high (2)"),
        ({"hardware": {"pe": {"low": 4, "high": 2}}}, "hardware.pe: empty range: low (4) > high (2)"),
        ({"hardware": {"pe": 0}}, "hardware.pe: pe values must be integers >= 1, got 0"),
        ({"hardware": {"pe": {"choices": [4, 0]}}}, "hardware.pe: pe values must be integers >= 1, got 0"),
        ({"hardware": {"pe": True}}, "hardware.pe: pe values must be integers >= 1, got True"),
        ({"hardware": {"simd": 0}}, "hardware.simd: simd values must be integers >= 1, got 0"),
        ({"hardware": {"simd": {"low": 0, "high": 4}}}, "hardware.simd: simd values must be integers >= 1, got 0"),
        ({"hardware": {"simd": 2.5}}, "hardware.simd: Input should be a valid integer"),
        ({"hardware": {"multiplier": "fpga"}}, "hardware.multiplier: unknown multiplier 'fpga'; allowed: dsp, lut"),
        (
            {"hardware": {"multiplier": {"choices": ["lut", "dsp48"]}}},
            "hardware.multiplier: unknown multiplier 'dsp48'; allowed: dsp, lut",
        ),
        ({"hardware": {"weight_storage": "rom"}}, "hardware.weight_storage: unknown weight_storage 'rom'"),
        ({"hardware": {"lanes": 2}}, "hardware.lanes: unknown key"),
        ({"model": {"width": "wide"}}, "model.width: Input should be a valid integer"),
        ({"model": {"activation": "tanh"}}, "model.activation: unknown activation 'tanh'; allowed: relu"),
        ({"model": {"width": {"choices": []}}}, "model.width: List should have at least 1 item"),
        (
            {"dataset": {"kind": "mnist"}},
            "dataset.kind: Input should be 'digits', 'sensor', 'italy_power_demand', 'gunpoint', 'basic_motions', "
            "'sensor_activity', 'csv' or 'npz'",
        ),
        ({"dataset": {"kind": "csv"}}, "dataset: path is required for kind 'csv'"),
        ({"objectives": [{"name": "speed"}]}, "objectives.0.name: Input should be 'accuracy'"),
        ({"objectives": [{"name": "mse"}]}, "'mse' needs a regression dataset, but dataset is classification"),
        ({"search": {"sampler": "cmaes"}}, "search.sampler: Input should be 'nsga2', 'tpe', 'random' or 'gp'"),
        ({"search": {"n_trials": 0}}, "search.n_trials: Input should be greater than or equal to 1"),
    ],
)
def test_bad_input_names_the_field(change: dict, expected: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_config(with_changes(**change))
    assert expected in str(error.value)


def test_hardware_knobs_default_and_parse() -> None:
    default = parse_config(MINIMAL).hardware
    assert (default.pe, default.simd, default.multiplier, default.weight_storage) == (1, 1, "dsp", "lutrom")
    hardware = parse_config(
        with_changes(
            hardware={
                "pe": {"low": 1, "high": 8, "step": 2},
                "simd": {"choices": [1, 3, 16]},
                "multiplier": {"choices": ["dsp", "lut"]},
                "weight_storage": "bram",
            }
        )
    ).hardware
    assert hardware.pe == IntRange(low=1, high=8, step=2)
    assert hardware.simd == Choices(choices=[1, 3, 16])
    assert hardware.multiplier == Choices(choices=["dsp", "lut"])
    assert hardware.weight_storage == "bram"


@pytest.mark.parametrize("value", [4, {"choices": [1, 4, 32]}, {"low": 2, "high": 6}])
def test_parallelism_is_an_alias_of_pe(value: object) -> None:
    old = parse_config(with_changes(hardware={"parallelism": value})).hardware
    new = parse_config(with_changes(hardware={"pe": value})).hardware
    assert old.pe == new.pe != 1
    assert old == new
    assert "parallelism" not in old.model_dump()  # written back (search.yaml snapshots) under the new name
    assert parse_config(with_changes(hardware=old.model_dump(mode="json"))).hardware == old


def test_missing_dataset_file_is_reported(tmp_path: Path) -> None:
    search = tmp_path / "s.yaml"
    data = with_changes(dataset={"kind": "csv", "path": "nope.csv", "task": "regression", "target_columns": ["y"]})
    data["objectives"] = [{"name": "mse"}, {"name": "lut"}]
    search.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match="dataset.path: file 'nope.csv' does not exist"):
        load_config(search)


def test_yaml_is_safe_loaded(tmp_path: Path) -> None:
    search = tmp_path / "s.yaml"
    search.write_text("study: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(search)


def test_cli_bad_file_exits_2_without_traceback(tmp_path: Path) -> None:
    search = tmp_path / "s.yaml"
    search.write_text(yaml.safe_dump(with_changes(hardware={"device": "xc9"})))
    result = subprocess.run(
        [sys.executable, "-m", "dse.cli", "run", str(search)], capture_output=True, text=True, cwd=tmp_path
    )
    assert result.returncode == 2
    assert "hardware.device: unknown device 'xc9'" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "results").exists()
