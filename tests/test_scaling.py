"""Input scaling (fitted on train only, per channel for series), the testbench's own scaling, and k-fold splits."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from contract.fixedpoint import FixedFormat
from dse.config import parse_config
from dse.datasets import load_dataset
from dse.errors import ConfigError
from dse.evaluate import validation_splits
from dse.scaling import InputScaler, fit_scaler, saturation_warning, write_scaler


def _data(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    x = np.stack([rng.normal(500.0, 80.0, 90), rng.normal(-3.0, 0.01, 90), rng.uniform(0, 1, 90)], axis=1)
    np.savez(tmp_path / "d.npz", x=x, y=np.arange(90) % 3)
    return tmp_path / "d.npz"


def test_standard_scaler_is_fitted_on_the_training_split_only(tmp_path: Path) -> None:
    raw = load_dataset("npz", path=_data(tmp_path), task="classification")
    scaled = load_dataset("npz", path=_data(tmp_path), task="classification", scale="standard")
    assert raw.scaler is None and scaled.scaler is not None
    np.testing.assert_allclose(scaled.scaler.offset, raw.x_train.mean(axis=0))
    np.testing.assert_allclose(scaled.scaler.scale, raw.x_train.std(axis=0))
    all_rows = np.concatenate([raw.x_train, raw.x_val, raw.x_test])
    assert not np.allclose(scaled.scaler.offset, all_rows.mean(axis=0))  # val and test did not leak in
    for split in ("train", "val", "test"):
        np.testing.assert_array_equal(scaled.split(split)[0], scaled.scaler.apply(raw.split(split)[0]))
    np.testing.assert_allclose(scaled.x_train.mean(axis=0), 0.0, atol=1e-9)


def test_minmax_maps_the_training_range_to_plus_minus_one(tmp_path: Path) -> None:
    scaled = load_dataset("npz", path=_data(tmp_path), task="classification", scale="minmax")
    np.testing.assert_allclose(scaled.x_train.min(axis=0), -1.0)
    np.testing.assert_allclose(scaled.x_train.max(axis=0), 1.0)


def test_series_are_scaled_per_channel_not_per_time_step() -> None:
    ds = load_dataset("sensor_activity", scale="standard")
    assert ds.scaler is not None and len(ds.scaler.offset) == 3
    per_channel = ds.x_train.reshape(-1, 3)
    np.testing.assert_allclose(per_channel.mean(axis=0), 0.0, atol=1e-9)
    np.testing.assert_allclose(per_channel.std(axis=0), 1.0, atol=1e-9)


def test_constant_features_keep_scale_one() -> None:
    scaler = fit_scaler("standard", np.array([[1.0, 2.0], [1.0, 4.0]]), (2,))
    assert scaler is not None and scaler.scale[0] == 1.0 and scaler.offset == (1.0, 3.0)
    assert fit_scaler("none", np.zeros((2, 2)), (2,)) is None
    with pytest.raises(ValueError, match="dataset.scale: must be one of standard, minmax, none"):
        fit_scaler("robust", np.zeros((2, 2)), (2,))


def test_scaler_file_round_trips(tmp_path: Path) -> None:
    scaler = InputScaler("standard", (1.0, -2.0), (0.5, 4.0))
    path = write_scaler(tmp_path, scaler)
    assert path is not None and InputScaler.from_dict(json.loads(path.read_text())) == scaler
    assert write_scaler(tmp_path / "none", None) is None


def test_saturation_warning_names_the_fields() -> None:
    assert saturation_warning(np.zeros((10, 3)), 1, "standard") is None
    message = saturation_warning(np.full((10, 3), 900.0), 3, "none")
    assert message is not None
    assert "100.0 %" in message and "[-4, 4)" in message and "dataset.scale: none" in message


def _testbench_module() -> ModuleType:
    path = Path(__file__).parents[1] / "generator" / "templates" / "cocotb_tb.py"
    spec = importlib.util.spec_from_file_location("exported_tb", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("fmt", [FixedFormat(8, 5), FixedFormat(4, 1), FixedFormat(12, 11)])
def test_exported_testbench_scales_and_quantizes_bit_exactly(fmt: FixedFormat) -> None:
    rng = np.random.default_rng(fmt.total_bits)
    raw = rng.normal(3.0, 20.0, size=(200, 6))
    scaler = InputScaler("standard", (2.5, -1.0, 0.0), (7.0, 0.3, 11.0))  # two time steps of 3 channels
    want = fmt.quantize(scaler.apply(raw))
    tb = _testbench_module()
    got = [tb.scaled_codes(row.tolist(), scaler.to_dict(), fmt.total_bits, fmt.frac_bits) for row in raw]
    np.testing.assert_array_equal(np.array(got), want)
    assert want.min() == fmt.min_int and want.max() == fmt.max_int  # saturation is exercised


def test_folds_partition_train_and_val_and_leave_test_alone() -> None:
    ds = load_dataset("digits", max_samples=300)
    splits = validation_splits(ds, 4, seed=1)
    assert len(splits) == 4
    held = np.concatenate([s.x_val for s in splits])
    pool = np.concatenate([ds.x_train, ds.x_val])
    assert len(held) == len(pool)
    assert {row.tobytes() for row in held} == {row.tobytes() for row in pool}
    for split in splits:
        np.testing.assert_array_equal(split.x_test, ds.x_test)
        assert len(split.x_train) + len(split.x_val) == len(pool)
    assert validation_splits(ds, 1, seed=1) == [ds]
    with pytest.raises(ValueError, match="training.folds: 400 folds need at least 400"):
        validation_splits(ds, 400, seed=1)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"dataset": {"kind": "digits", "scale": "robust"}}, "dataset.scale"),
        ({"training": {"folds": 0}}, "training.folds"),
        ({"training": {"repeats": 50}}, "training.repeats"),
    ],
)
def test_bad_scale_and_folds_name_the_field(change: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config({"study": {"name": "x"}, "dataset": {"kind": "digits"}} | change)
