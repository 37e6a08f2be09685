"""Values the hardware or training cannot use are refused at validation: exit 2, the field named."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from dse.config import ConfigError, load_config, parse_config
from dse.datasets import load_dataset
from dse.study_checks import check_calibration

MINIMAL = {"study": {"name": "t"}, "dataset": {"kind": "digits"}, "objectives": [{"name": "accuracy"}]}


def with_changes(**sections: dict) -> dict:
    data = dict(MINIMAL)
    data.update(sections)
    return data


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"quantization": {"activation_bits": 1}}, "quantization.activation_bits: values must be >= 2 and <= 32"),
        ({"quantization": {"activation_bits": 40}}, "quantization.activation_bits: values must be >= 2 and <= 32"),
        ({"quantization": {"weight_bits": {"choices": [4, 6]}, "weight_int_bits": 7}}, "weight_int_bits 7 is above"),
        ({"quantization": {"activation_int_bits": -2}}, "quantization.activation_int_bits: values must be >= 1"),
        ({"hardware": {"parallelism": 0}}, "hardware.parallelism: pe values must be integers >= 1"),
        ({"hardware": {"mcu_tail_layers": 3}}, "hardware.mcu_tail_layers: 3 is more than the network has layers"),
        ({"model": {"hidden_layers": -1}}, "model.hidden_layers: values must be >= 0"),
        ({"model": {"hidden_layers": 100000}}, "model.hidden_layers: values must be >= 0 and <= 64"),
        (
            {"model": {"hidden_layers": {"low": 1, "high": 100000}}},
            "model.hidden_layers: values must be >= 0 and <= 64",
        ),
        ({"model": {"width": 0}}, "model.width: values must be >= 1"),
        ({"model": {"width": {"choices": [8, "16"]}}}, "model.width: values must be integers, got '16'"),
        ({"hardware": {"clock_mhz": 0}}, "hardware.clock_mhz: values must be > 0"),
        ({"hardware": {"clock_mhz": 10000}}, "clock_mhz 10000.0 is above the fastest clock"),
        ({"hardware": {"device": "ice40up5k", "clock_mhz": 100}}, "fastest clock of the chosen device(s) (48 MHz)"),
        ({"training": {"epochs": 0}}, "training.epochs: values must be >= 1"),
        ({"training": {"batch_size": 0}}, "training.batch_size: values must be >= 1"),
        ({"training": {"learning_rate": -0.01}}, "training.learning_rate: values must be > 0"),
        ({"training": {"learning_rate": {"choices": [0.1, 0]}}}, "training.learning_rate: values must be > 0"),
        ({"study": {"name": "t", "seed": 10**23}}, "study.seed: Input should be less than or equal to 4294967295"),
        ({"hardware": {"clock_mhz": True}}, "hardware.clock_mhz: values must be numbers, not true/false"),
        ({"training": {"epochs": True}}, "training.epochs: values must be numbers, not true/false"),
        ({"model": {"hidden_layers": {"low": True, "high": 2}}}, "model.hidden_layers: values must be numbers"),
        ({"model": {"width": {"choices": [8, True]}}}, "model.width: values must be integers, got True"),
        ({"hardware": {"clock_mhz": float("nan")}}, "hardware.clock_mhz: Input should be a finite number"),
        ({"application": {"period_ms": float("nan")}}, "application.period_ms: Input should be a finite number"),
        (
            {"training": {"learning_rate": {"low": 0.001, "high": float("nan")}}},
            "training.learning_rate.high: Input should be a finite number",
        ),
        (
            {"hardware": {"mcu_tail_layers": {"low": 0, "high": 3}}},
            "hardware.mcu_tail_layers: 3 is more than the network has layers",
        ),
        (
            {"hardware": {"mcu_head_layers": {"choices": [0, 5]}}},
            "hardware.mcu_head_layers: 5 is more than the network has layers",
        ),
    ],
)
def test_unusable_values_are_refused(change: dict, expected: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_config(with_changes(**change))
    assert expected in str(error.value)


def test_duplicate_yaml_key_is_refused(tmp_path: Path) -> None:
    search = tmp_path / "s.yaml"
    search.write_text("study: {name: t}\nstudy: {name: u}\ndataset: {kind: digits}\nobjectives: [{name: accuracy}]\n")
    with pytest.raises(ConfigError, match=r"s\.yaml: not valid YAML.*duplicate key 'study'"):
        load_config(search)


def test_binary_search_file_names_the_file(tmp_path: Path) -> None:
    search = tmp_path / "binary.yaml"
    search.write_bytes(bytes(range(256)))
    with pytest.raises(ConfigError, match=r"binary\.yaml: not a text"):
        load_config(search)


def _csv(tmp_path: Path, rows: list[tuple[float, float, int]]) -> Path:
    path = tmp_path / "data.csv"
    path.write_text("a,b,label\n" + "".join(f"{a},{b},{c}\n" for a, b, c in rows))
    return path


def test_single_class_csv_is_refused(tmp_path: Path) -> None:
    path = _csv(tmp_path, [(i, i * 2, 1) for i in range(40)])
    with pytest.raises(ValueError, match="single class"):
        load_dataset("csv", path=path, target_columns=["label"], task="classification")


def test_three_row_csv_is_refused(tmp_path: Path) -> None:
    path = _csv(tmp_path, [(0, 1, 0), (1, 0, 1), (2, 2, 0)])
    with pytest.raises(ValueError, match=r"dataset\.(val|test)_fraction: 'data' has 3 rows, too few"):
        load_dataset("csv", path=path, target_columns=["label"], task="classification")


def test_calibration_of_the_wrong_family_or_garbage_is_refused(tmp_path: Path) -> None:
    ice40 = Path(__file__).resolve().parents[1] / "estimators" / "calibration" / "ice40.json"
    config = parse_config(with_changes(calibration=str(ice40)))  # device defaults to xc7s15
    with pytest.raises(ConfigError, match="calibration: .* is for the ice40 family, but hardware.device"):
        check_calibration(config)
    garbage = tmp_path / "garbage.json"
    garbage.write_text(json.dumps({"family": "xc7", "lut": "nope"}))
    with pytest.raises(ConfigError, match="calibration: .*garbage.json is not a calibration file"):
        check_calibration(parse_config(with_changes(calibration=str(garbage))))
    check_calibration(
        parse_config(with_changes(calibration=str(ice40), hardware={"device": "ice40up5k", "clock_mhz": 24}))
    )


@pytest.mark.parametrize("value", ["0", "-3", "x"])
def test_cli_n_trials_must_be_positive(tmp_path: Path, value: str) -> None:
    search = tmp_path / "s.yaml"
    search.write_text(yaml.safe_dump(MINIMAL))
    result = subprocess.run(
        [sys.executable, "-m", "dse.cli", "run", str(search), "--n-trials", value],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "--n-trials: " in result.stderr and ">= 1" in result.stderr
    assert not (tmp_path / "results").exists()


def test_a_folder_given_as_a_file_is_named_as_a_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="search file: .* is a folder, not a file"):
        load_config(tmp_path)
    search = tmp_path / "s.yaml"
    search.write_text(
        yaml.safe_dump(
            with_changes(dataset={"kind": "csv", "path": ".", "task": "classification", "target_columns": ["y"]})
        )
    )
    with pytest.raises(ConfigError, match="dataset.path: '.' is a folder, not a file"):
        load_config(search)


def test_cli_calibration_must_be_a_file(tmp_path: Path) -> None:
    search = tmp_path / "s.yaml"
    search.write_text(yaml.safe_dump(MINIMAL))
    for given, message in ((tmp_path, "is a folder, not a file"), (tmp_path / "none.json", "does not exist")):
        result = subprocess.run(
            [sys.executable, "-m", "dse.cli", "run", str(search), "--calibration", str(given)],
            capture_output=True,
            text=True,
            cwd=tmp_path,
        )
        assert result.returncode == 2 and "--calibration: " in result.stderr and message in result.stderr
        assert "Traceback" not in result.stderr and not (tmp_path / "results").exists()


def test_workers_are_bounded_by_the_machine_or_the_cluster(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    with pytest.raises(ConfigError, match="execution: workers 5: that many local worker processes .* at most 4"):
        parse_config(with_changes(execution={"workers": 5}))
    assert parse_config(with_changes(execution={"workers": 4})).execution.workers == 4
    assert parse_config(with_changes(execution={"backend": "ray", "workers": 64})).execution.workers == 64
    with pytest.raises(ConfigError, match="execution.workers: Input should be less than or equal to 4096"):
        parse_config(with_changes(execution={"backend": "ray", "workers": 10**6}))


def test_a_storage_url_without_its_driver_is_refused_with_the_password_hidden(tmp_path: Path) -> None:
    from dse.storage import resolve_storage_url

    with pytest.raises(ConfigError, match=r"search.storage 'mysql://u:\*\*\*@host/db': this database cannot be opened"):
        resolve_storage_url("mysql://u:secret@host/db", tmp_path)
    with pytest.raises(ConfigError, match="search.storage 'foo://x': this database cannot be opened"):
        resolve_storage_url("foo://x", tmp_path)
    assert resolve_storage_url("postgresql+psycopg://u@host/db", tmp_path) == "postgresql+psycopg://u@host/db"
