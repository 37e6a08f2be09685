"""Built-in and user-file datasets: shapes, deterministic stratified splits and field-named errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from dse.datasets import Dataset, load_dataset, make_sensor


def _all_rows(ds: Dataset) -> tuple[np.ndarray, np.ndarray]:
    return (
        np.concatenate([ds.x_train, ds.x_val, ds.x_test]),
        np.concatenate([ds.y_train, ds.y_val, ds.y_test]),
    )


def test_digits_shapes_and_scaling() -> None:
    ds = load_dataset("digits")
    assert (ds.name, ds.task, ds.n_features, ds.n_outputs) == ("digits", "classification", 64, 10)
    assert (len(ds.x_train), len(ds.x_val), len(ds.x_test)) == (1259, 269, 269)
    x, y = _all_rows(ds)
    assert x.dtype == np.float64 and y.dtype == np.int64
    assert x.min() == 0.0 and x.max() == 1.0  # pixels 0..16 divided by 16
    assert ds.output_names == tuple(str(d) for d in range(10))


def test_splits_are_deterministic_and_seeded() -> None:
    a, b, c = load_dataset("digits", seed=1), load_dataset("digits", seed=1), load_dataset("digits", seed=2)
    for split in ("train", "val", "test"):
        np.testing.assert_array_equal(a.split(split)[0], b.split(split)[0])
        np.testing.assert_array_equal(a.split(split)[1], b.split(split)[1])
    assert not np.array_equal(a.x_test, c.x_test)


def test_classification_split_is_stratified() -> None:
    ds = load_dataset("digits", val_fraction=0.2, test_fraction=0.1)
    _, y = _all_rows(ds)
    totals = np.bincount(y, minlength=10)
    for split, fraction in (("val", 0.2), ("test", 0.1)):
        counts = np.bincount(ds.split(split)[1], minlength=10)
        assert np.all(np.abs(counts - totals * fraction) <= 0.5 + 1e-9)  # per-class rounding only


def test_splits_are_disjoint_and_complete(tmp_path: Path) -> None:
    index = np.arange(101, dtype=np.float64)
    np.savez(tmp_path / "d.npz", x=np.stack([index, -index], axis=1), y=index * 2)
    ds = load_dataset("npz", path=tmp_path / "d.npz", val_fraction=0.2, test_fraction=0.1, seed=5)
    assert ds.task == "regression"  # float targets
    assert (len(ds.x_train), len(ds.x_val), len(ds.x_test)) == (71, 20, 10)
    x, y = _all_rows(ds)
    np.testing.assert_array_equal(np.sort(x[:, 0]), index)
    np.testing.assert_array_equal(y[:, 0], x[:, 0] * 2)  # rows stay aligned with their targets


def test_max_samples_subsamples() -> None:
    ds = load_dataset("digits", max_samples=300)
    assert len(_all_rows(ds)[0]) == 300


def test_sensor_windows_predict_next_value() -> None:
    x, y = make_sensor(n_samples=500, window=8, horizon=2, seed=3)
    assert x.shape == (500, 8) and y.shape == (500, 2)
    np.testing.assert_array_equal(x[1:, -1], y[:-1, 0])  # target = the sample after the window
    np.testing.assert_array_equal(y[:-1, 1], y[1:, 0])
    assert np.abs(x).max() <= 0.95 + 1e-12
    np.testing.assert_array_equal(make_sensor(seed=3)[0], make_sensor(seed=3)[0])
    assert not np.array_equal(make_sensor(seed=3)[0], make_sensor(seed=4)[0])


def test_sensor_dataset() -> None:
    ds = load_dataset("sensor")
    assert (ds.task, ds.n_features, ds.n_outputs) == ("regression", 16, 1)
    assert ds.y_train.shape == (len(ds.x_train), 1) and ds.y_train.dtype == np.float64
    assert len(_all_rows(ds)[0]) == 2000
    assert np.std(ds.y_train) > 0.2  # a real signal, not a flat line


def _write_csv(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "a": rng.random(60),
            "b": rng.random(60),
            "c": rng.random(60),
            "label": ["cat", "dog", "emu"] * 20,
            "t1": rng.random(60),
            "t2": rng.random(60),
        }
    )
    frame.to_csv(tmp_path / "data.csv", index=False)
    return tmp_path / "data.csv"


def test_csv_classification(tmp_path: Path) -> None:
    path = _write_csv(tmp_path)
    ds = load_dataset("csv", path=path, feature_columns=["c", "a"], target_columns="label", task="classification")
    assert ds.feature_names == ("c", "a") and ds.output_names == ("cat", "dog", "emu")
    frame = pd.read_csv(path)
    x, y = _all_rows(ds)
    rows = {tuple(r) for r in frame[["c", "a"]].to_numpy()}
    assert {tuple(r) for r in x} == rows
    labels = dict(zip(map(tuple, frame[["c", "a"]].to_numpy()), frame["label"], strict=True))
    assert all(ds.output_names[label] == labels[tuple(row)] for row, label in zip(x, y, strict=True))
    assert np.bincount(ds.y_test).tolist() == [3, 3, 3]  # 15% of 20 per class, stratified


def test_csv_regression_defaults_to_all_other_columns(tmp_path: Path) -> None:
    path = _write_csv(tmp_path)
    ds = load_dataset("csv", path=path, feature_columns=["a", "b", "c"], target_columns=["t1", "t2"], task="regression")
    assert ds.n_outputs == 2 and ds.y_train.shape == (len(ds.x_train), 2)
    frame = pd.read_csv(path).drop(columns=["label"])
    frame.to_csv(path, index=False)
    ds = load_dataset("csv", path=path, target_columns=["t2"], task="regression")
    assert ds.feature_names == ("a", "b", "c", "t1")


def test_npz_custom_keys_and_label_encoding(tmp_path: Path) -> None:
    images = np.arange(40 * 2 * 3, dtype=np.float32).reshape(40, 2, 3)
    np.savez(tmp_path / "d.npz", images=images, labels=np.repeat([7, 9], 20))
    ds = load_dataset("npz", path=tmp_path / "d.npz", x_key="images", y_key="labels")
    assert (ds.task, ds.n_features, ds.output_names) == ("classification", 6, ("7", "9"))
    x, y = _all_rows(ds)
    np.testing.assert_array_equal(y, (x[:, 0] >= 20 * 6).astype(np.int64))  # 7 -> 0, 9 -> 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"kind": "mnist"},
            "dataset.kind: unknown dataset 'mnist'; choose one of digits, sensor, italy_power_demand, gunpoint, "
            "basic_motions, sensor_activity, csv, npz",
        ),
        ({"kind": "csv"}, "dataset.path: required for kind 'csv'"),
        ({"kind": "csv", "path": "missing.csv"}, "dataset.path: file 'missing.csv' does not exist"),
        ({"kind": "csv", "path": "data.csv", "task": "classification"}, "dataset.target_columns: required"),
        (
            {"kind": "csv", "path": "data.csv", "target_columns": "label"},
            "dataset.task: required for kind 'csv'",
        ),
        (
            {"kind": "csv", "path": "data.csv", "target_columns": "foo", "task": "regression"},
            "dataset.target_columns: column 'foo' not in file; available: a, b, c, label, t1, t2",
        ),
        (
            {
                "kind": "csv",
                "path": "data.csv",
                "target_columns": "t1",
                "feature_columns": ["a", "zz"],
                "task": "regression",
            },
            "dataset.feature_columns: column 'zz' not in file",
        ),
        (
            {
                "kind": "csv",
                "path": "data.csv",
                "target_columns": "t1",
                "feature_columns": ["a", "t1"],
                "task": "regression",
            },
            "dataset.feature_columns: column 't1' is also a target",
        ),
        (
            {"kind": "csv", "path": "data.csv", "target_columns": "t1", "task": "regression"},
            "dataset.feature_columns: column 'label' is not numeric",
        ),
        (
            {
                "kind": "csv",
                "path": "data.csv",
                "target_columns": ["t1", "t2"],
                "feature_columns": "a",
                "task": "classification",
            },
            "dataset.target_columns: classification needs exactly one column, got 2",
        ),
        (
            {"kind": "csv", "path": "data.csv", "target_columns": "t1", "task": "ranking"},
            "dataset.task: must be one of",
        ),
        (
            {"kind": "npz", "path": "data.npz", "x_key": "features"},
            "dataset.x_key: array 'features' not in file; available: x, y",
        ),
        ({"kind": "npz", "path": "data.npz", "y_key": "labels"}, "dataset.y_key: array 'labels' not in file"),
        ({"kind": "digits", "val_fraction": 1.2}, r"dataset.val_fraction: must be in \[0, 1\)"),
        ({"kind": "digits", "test_fraction": -0.1}, "dataset.test_fraction: must be in"),
        (
            {"kind": "digits", "val_fraction": 0.5, "test_fraction": 0.5},
            "val_fraction \\+ test_fraction must be < 1",
        ),
        ({"kind": "digits", "max_samples": 0}, "dataset.max_samples: must be >= 1"),
        ({"kind": "digits", "task": "regression"}, "dataset.task: 'digits' is a classification dataset"),
        ({"kind": "sensor", "path": "x.csv"}, "dataset.path: not used by the built-in dataset 'sensor'"),
    ],
)
def test_bad_inputs_name_the_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kwargs: dict[str, Any], message: str
) -> None:
    monkeypatch.chdir(tmp_path)  # the cases use paths relative to tmp_path
    _write_csv(tmp_path)
    np.savez(tmp_path / "data.npz", x=np.zeros((10, 2)), y=np.zeros(10))
    with pytest.raises(ValueError, match=message):
        load_dataset(**kwargs)


def test_missing_and_non_finite_values_are_rejected(tmp_path: Path) -> None:
    pd.DataFrame({"a": [1.0, None, 3.0], "y": [0, 1, 0]}).to_csv(tmp_path / "gap.csv", index=False)
    with pytest.raises(ValueError, match="dataset.feature_columns: column 'a' has 1 missing values"):
        load_dataset("csv", path=tmp_path / "gap.csv", target_columns="y", task="classification")
    np.savez(tmp_path / "inf.npz", x=np.array([[1.0], [np.inf]]), y=np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="dataset.x_key: data contains NaN or infinite values"):
        load_dataset("npz", path=tmp_path / "inf.npz")


def test_unreadable_files(tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ValueError, match="dataset.path: cannot read .*empty.csv' as CSV"):
        load_dataset("csv", path=tmp_path / "empty.csv", target_columns="y", task="regression")
    (tmp_path / "junk.npz").write_text("not a zip")
    with pytest.raises(ValueError, match=r"dataset.path: '.*junk.npz' is not an .npz archive"):
        load_dataset("npz", path=tmp_path / "junk.npz")
    (tmp_path / "broken.npz").write_bytes(b"PK\x03\x04" + bytes(60))  # a zip's magic, nothing behind it
    with pytest.raises(ValueError, match=r"dataset.path: '.*broken.npz' is not an .npz archive|cannot read"):
        load_dataset("npz", path=tmp_path / "broken.npz")
    (tmp_path / "header.csv").write_text("a,b,y\n")
    with pytest.raises(ValueError, match=r"dataset.path: '.*header.csv' has a header but no data rows"):
        load_dataset("csv", path=tmp_path / "header.csv", target_columns="y", task="classification")


def test_a_non_numeric_cell_is_named_with_its_line(tmp_path: Path) -> None:
    rows = "".join(f"{i},{i % 2}\n" for i in range(5))
    (tmp_path / "cell.csv").write_text(f"a,y\n{rows}7x,1\n{rows}")
    with pytest.raises(ValueError, match="dataset.feature_columns: column 'a' is not numeric: '7x' on line 7"):
        load_dataset("csv", path=tmp_path / "cell.csv", target_columns="y", task="classification")


def test_dataset_validates_shapes() -> None:
    x = np.zeros((4, 2))
    with pytest.raises(ValueError, match="y_train: labels must be in 0..1"):
        Dataset(
            "d",
            "classification",
            x,
            np.array([0, 1, 2, 0]),
            x[:0],
            np.zeros(0, np.int64),
            x[:0],
            np.zeros(0, np.int64),
            ("a", "b"),
            ("n", "p"),
        )
