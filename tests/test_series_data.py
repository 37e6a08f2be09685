"""Series datasets: the stream order (t*C + c) shared by models and hardware, the bundled sets and user files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dse.config import DatasetSection
from dse.datasets import load_dataset
from dse.series_data import ACTIVITY_CLASSES, make_activity, ncl_to_stream, stream_to_ncl


def test_stream_order_is_time_major_and_round_trips() -> None:
    x = np.arange(2 * 3 * 4, dtype=np.float64).reshape(2, 3, 4)  # (N, C, L)
    flat = ncl_to_stream(x)
    assert flat.shape == (2, 12)
    # element t*C + c is channel c at time t
    for t in range(4):
        for c in range(3):
            assert flat[1, t * 3 + c] == x[1, c, t]
    np.testing.assert_array_equal(stream_to_ncl(flat, (3, 4)), x)


@pytest.mark.parametrize(
    ("kind", "shape", "classes"),
    [("italy_power_demand", (1, 24), 2), ("gunpoint", (1, 150), 2), ("basic_motions", (6, 100), 4)],
)
def test_bundled_ucr_sets_load_from_the_wheel(kind: str, shape: tuple[int, int], classes: int) -> None:
    ds = load_dataset(kind)
    assert (ds.input_shape, ds.n_outputs, ds.task) == (shape, classes, "classification")
    assert ds.x_train.shape[1] == shape[0] * shape[1]
    assert ds.feature_names[shape[0]] == "c0_t1"  # one time step holds all channels
    everything = np.concatenate([ds.x_train, ds.x_val, ds.x_test])
    assert np.abs(everything).max() <= 1.0  # the fixed unit keeps Q(B, B-1) inputs from saturating
    assert len(np.unique(everything, axis=0)) > 0.9 * len(everything)


def test_generated_activity_task_is_deterministic_and_balanced() -> None:
    x, y = make_activity(n_samples=400, seed=7)
    assert x.shape == (400, 3, 32) and np.abs(x).max() <= 0.95
    np.testing.assert_array_equal(make_activity(n_samples=400, seed=7)[0], x)
    counts = np.bincount(y, minlength=len(ACTIVITY_CLASSES))
    assert counts.min() > 60
    ds = load_dataset("sensor_activity", seed=1)
    assert ds.input_shape == (3, 32) and ds.output_names == ACTIVITY_CLASSES


def test_sensor_is_a_one_channel_series() -> None:
    assert load_dataset("sensor").input_shape == (1, 16)
    assert load_dataset("digits").input_shape == (64,)


def test_npz_series_are_stored_in_stream_order(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, size=(60, 2, 5))
    y = np.arange(60) % 3
    np.savez(tmp_path / "s.npz", x=x, y=y)
    ds = load_dataset("npz", path=tmp_path / "s.npz", input_shape=[2, 5], task="classification")
    assert ds.input_shape == (2, 5)
    rows = {tuple(np.round(row, 12)) for row in ncl_to_stream(x)}
    assert all(tuple(np.round(row, 12)) in rows for row in ds.x_train)


def test_csv_series_columns_are_channel_major(tmp_path: Path) -> None:
    frame = pd.DataFrame({f"v{i}": np.arange(30) * 10 + i for i in range(6)} | {"label": np.arange(30) % 2})
    frame.to_csv(tmp_path / "s.csv", index=False)
    ds = load_dataset(
        "csv", path=tmp_path / "s.csv", target_columns=["label"], task="classification", input_shape=[2, 3]
    )
    row = ds.x_train[0]
    base = row[0]
    # columns v0 v1 v2 are channel 0 at t=0..2, v3 v4 v5 channel 1: stream order is v0 v3 v1 v4 v2 v5
    np.testing.assert_array_equal(row - base, [0, 3, 1, 4, 2, 5])


def test_input_shape_errors_name_the_field(tmp_path: Path) -> None:
    np.savez(tmp_path / "s.npz", x=np.zeros((40, 7)), y=np.arange(40) % 2)
    with pytest.raises(ValueError, match=r"dataset.input_shape: 2 x 3 = 6 elements, but the file has 7"):
        load_dataset("npz", path=tmp_path / "s.npz", input_shape=[2, 3], task="classification")
    with pytest.raises(ValueError, match="dataset.input_shape: not used by the built-in dataset 'digits'"):
        load_dataset("digits", input_shape=[1, 64])
    with pytest.raises(ValueError, match="input_shape is only for csv and npz"):
        DatasetSection(kind="gunpoint", input_shape=(1, 150))
