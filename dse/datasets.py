"""Datasets for the search: built-ins (``digits``, ``sensor``, the series sets) and user files (``csv``, ``npz``).

Everything is loaded without network access and split deterministically (stratified for classification).
Error messages name the config field at fault (``dataset.<field>``) so CLI users can fix their spec.
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np

from dse.errors import not_a_file
from dse.scaling import InputScaler, fit_scaler
from dse.series_data import (
    ACTIVITY_CLASSES,
    UCR_SETS,
    load_ucr,
    make_activity,
    ncl_to_stream,
    stream_feature_names,
)

Task = Literal["classification", "regression"]
TASKS: tuple[str, ...] = ("classification", "regression")
SERIES_BUILTINS: tuple[str, ...] = (*UCR_SETS, "sensor_activity")
BUILTINS: tuple[str, ...] = ("digits", "sensor", *SERIES_BUILTINS)
FILE_KINDS: tuple[str, ...] = ("csv", "npz")
SPLITS: tuple[str, ...] = ("train", "val", "test")

# The synthetic sensor series: windows of SENSOR_WINDOW samples predict the next SENSOR_HORIZON values.
SENSOR_SAMPLES = 2000
SENSOR_WINDOW = 16
SENSOR_HORIZON = 1


@dataclass(frozen=True, eq=False)  # numpy fields: == would be ambiguous
class Dataset:
    """Features: float64 (N, n_features). Targets: int64 labels (N,) or float64 regression (N, n_outputs).

    ``input_shape`` is ``(n_features,)`` for tabular data and ``(channels, length)`` for series, whose features
    are flat in stream order (element t*C + c, see ``dse.series_data``).
    """

    name: str
    task: Task
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    feature_names: tuple[str, ...]
    output_names: tuple[str, ...]  # class names (label i is output_names[i]) or target names
    input_shape: tuple[int, ...] = ()
    scaler: InputScaler | None = None  # already applied to every split; fitted on x_train

    def __post_init__(self) -> None:
        if not self.input_shape:
            object.__setattr__(self, "input_shape", (len(self.feature_names),))
        if int(np.prod(self.input_shape)) != len(self.feature_names):
            raise ValueError(f"input_shape {self.input_shape} does not hold {len(self.feature_names)} features")
        if self.task not in TASKS:
            raise ValueError(f"dataset.task: must be one of {', '.join(TASKS)}, got {self.task!r}")
        for split in SPLITS:
            x, y = self.split(split)
            if x.ndim != 2 or x.shape[1] != len(self.feature_names) or x.dtype != np.float64:
                raise ValueError(f"x_{split}: expected float64 (N, {len(self.feature_names)}), got {x.dtype} {x.shape}")
            if self.task == "classification":
                if y.shape != (len(x),) or y.dtype != np.int64:
                    raise ValueError(f"y_{split}: expected int64 ({len(x)},), got {y.dtype} {y.shape}")
                if y.size and (y.min() < 0 or y.max() >= self.n_outputs):
                    raise ValueError(f"y_{split}: labels must be in 0..{self.n_outputs - 1}")
            elif y.shape != (len(x), self.n_outputs) or y.dtype != np.float64:
                raise ValueError(f"y_{split}: expected float64 ({len(x)}, {self.n_outputs}), got {y.dtype} {y.shape}")

    @property
    def n_features(self) -> int:
        return len(self.feature_names)

    @property
    def n_outputs(self) -> int:
        """Number of classes (classification) or target dimensions (regression)."""
        return len(self.output_names)

    def split(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        if name not in SPLITS:
            raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {name!r}")
        return getattr(self, f"x_{name}"), getattr(self, f"y_{name}")


@dataclass(frozen=True)
class _Raw:
    """A whole data set before subsampling and splitting."""

    name: str
    task: Task
    x: np.ndarray
    y: np.ndarray
    feature_names: tuple[str, ...]
    output_names: tuple[str, ...]
    input_shape: tuple[int, ...] = ()


def load_dataset(
    kind: str,
    *,
    path: Path | str | None = None,
    feature_columns: Sequence[str] | str | None = None,
    target_columns: Sequence[str] | str | None = None,
    task: str | None = None,
    x_key: str = "x",
    y_key: str = "y",
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
    seed: int = 0,
    max_samples: int | None = None,
    input_shape: Sequence[int] | None = None,
    scale: str = "none",
) -> Dataset:
    """Load a built-in (``digits``, ``sensor``) or a user file (``csv``, ``npz``) and split it.

    ``seed`` drives the split, the ``max_samples`` subsample and, for ``sensor``, the generated signal.
    ``input_shape`` ([channels, length]) declares a user file's features as a series, channel-major
    (column c*L + t, numpy's reshape order) or an npz array of shape (N, C, L); they are stored in stream order.
    ``scale`` (``standard``, ``minmax``, ``none``) fits an input scaler on the training split and applies it to
    every split (``Dataset.scaler``).
    """
    _check_fractions(val_fraction, test_fraction)
    if max_samples is not None and max_samples < 1:
        raise ValueError(f"dataset.max_samples: must be >= 1, got {max_samples}")
    if task is not None and task not in TASKS:
        raise ValueError(f"dataset.task: must be one of {', '.join(TASKS)}, got {task!r}")
    if kind in BUILTINS:
        for field_name, value in (
            ("path", path),
            ("feature_columns", feature_columns),
            ("target_columns", target_columns),
            ("input_shape", input_shape),
        ):
            if value is not None:
                raise ValueError(f"dataset.{field_name}: not used by the built-in dataset {kind!r}")
        raw = _builtin(kind, seed)
        if task is not None and task != raw.task:
            raise ValueError(f"dataset.task: {kind!r} is a {raw.task} dataset, got {task!r}")
    elif kind in FILE_KINDS:
        file = _check_path(path, kind)
        raw = _csv(file, feature_columns, target_columns, task) if kind == "csv" else _npz(file, x_key, y_key, task)
        if input_shape is not None:
            raw = _as_series(raw, tuple(int(v) for v in input_shape))
    else:
        choices = ", ".join(BUILTINS + FILE_KINDS)
        raise ValueError(f"dataset.kind: unknown dataset {kind!r}; choose one of {choices}")
    return _scaled(_split(raw, val_fraction, test_fraction, seed, max_samples), scale)


def _scaled(dataset: Dataset, scale: str) -> Dataset:
    scaler = fit_scaler(scale, dataset.x_train, dataset.input_shape)
    if scaler is None:
        return dataset
    splits = {f"x_{name}": scaler.apply(dataset.split(name)[0]) for name in SPLITS}
    return replace(dataset, scaler=scaler, **splits)


def make_sensor(
    n_samples: int = SENSOR_SAMPLES, window: int = SENSOR_WINDOW, horizon: int = SENSOR_HORIZON, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Noisy multi-sine + drift series in windows: x (n, window) -> y (n, horizon), all in [-0.95, 0.95]."""
    rng = np.random.default_rng(seed)
    length = n_samples + window + horizon - 1
    t = np.arange(length, dtype=np.float64)
    freqs = rng.uniform(0.004, 0.06, size=3)  # cycles per sample: periods of ~17..250 samples
    amps = rng.uniform(0.3, 1.0, size=3)
    phases = rng.uniform(0.0, 2 * np.pi, size=3)
    signal = (amps[:, None] * np.sin(2 * np.pi * freqs[:, None] * t + phases[:, None])).sum(axis=0)
    drift = 0.8 * np.sin(2 * np.pi * t / length * rng.uniform(0.5, 1.5)) + 0.3 * t / length
    series = signal + drift + 0.05 * rng.standard_normal(length)
    # Leave headroom below 1.0 so Q(B, B-1) inputs and outputs never saturate on this data.
    series = 0.95 * series / np.abs(series).max()
    windows = np.lib.stride_tricks.sliding_window_view(series, window + horizon)
    return windows[:, :window].copy(), windows[:, window:].copy()


def _builtin(kind: str, seed: int) -> _Raw:
    if kind == "digits":
        return _digits()
    if kind == "sensor":
        return _sensor(seed)
    if kind == "sensor_activity":
        x, labels = make_activity(seed=seed)
        return _series_raw(kind, "classification", x, labels, ACTIVITY_CLASSES)
    x, raw_labels = load_ucr(kind)
    labels, classes = _encode_labels(raw_labels)
    return _series_raw(kind, "classification", x, labels, classes)


def _series_raw(name: str, task: Task, x_ncl: np.ndarray, y: np.ndarray, outputs: tuple[str, ...]) -> _Raw:
    _, channels, length = x_ncl.shape
    names = stream_feature_names(channels, length)
    return _Raw(name, task, ncl_to_stream(x_ncl), y, names, outputs, (channels, length))


def _as_series(raw: _Raw, shape: tuple[int, ...]) -> _Raw:
    if len(shape) != 2 or min(shape) < 1:
        raise ValueError(f"dataset.input_shape: must be [channels, length] with both >= 1, got {list(shape)}")
    channels, length = shape
    if raw.x.shape[1] != channels * length:
        raise ValueError(
            f"dataset.input_shape: {channels} x {length} = {channels * length} elements, "
            f"but the file has {raw.x.shape[1]} features per sample"
        )
    x_ncl = raw.x.reshape(len(raw.x), channels, length)
    return _Raw(
        raw.name, raw.task, ncl_to_stream(x_ncl), raw.y, stream_feature_names(channels, length), raw.output_names, shape
    )


def _digits() -> _Raw:
    from sklearn.datasets import load_digits  # bundled with scikit-learn, no download

    x, y = load_digits(return_X_y=True)
    # Pixels are 0..16; /16 maps them to [0, 1] (1.0 saturates to the top code of a Q(B, B-1) input).
    names = tuple(f"pixel_{r}_{c}" for r in range(8) for c in range(8))
    return _Raw(
        "digits",
        "classification",
        x.astype(np.float64) / 16.0,
        y.astype(np.int64),
        names,
        tuple(str(d) for d in range(10)),
    )


def _sensor(seed: int) -> _Raw:
    x, y = make_sensor(seed=seed)
    names = tuple(f"t-{SENSOR_WINDOW - 1 - i}" for i in range(SENSOR_WINDOW))
    targets = tuple(f"t+{i + 1}" for i in range(SENSOR_HORIZON))
    return _Raw("sensor", "regression", x, y, names, targets, (1, SENSOR_WINDOW))


def _check_path(path: Path | str | None, kind: str) -> Path:
    if path is None:
        raise ValueError(f"dataset.path: required for kind {kind!r}")
    file = Path(path)
    if not file.is_file():
        raise ValueError(f"dataset.path: {not_a_file(file)}")
    return file


def _columns(value: Sequence[str] | str | None) -> list[str] | None:
    if value is None:
        return None
    return [value] if isinstance(value, str) else [str(v) for v in value]


def _csv(
    file: Path,
    feature_columns: Sequence[str] | str | None,
    target_columns: Sequence[str] | str | None,
    task: str | None,
) -> _Raw:
    import pandas as pd

    targets = _columns(target_columns)
    if not targets:
        raise ValueError("dataset.target_columns: required for kind 'csv'")
    if task is None:
        raise ValueError("dataset.task: required for kind 'csv' (classification or regression)")
    try:
        frame = pd.read_csv(file)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise ValueError(f"dataset.path: cannot read '{file}' as CSV: {error}") from error
    if frame.empty:
        raise ValueError(f"dataset.path: '{file}' has a header but no data rows")
    available = [str(c) for c in frame.columns]
    frame.columns = available
    features = _columns(feature_columns)
    if features is None:
        features = [c for c in available if c not in targets]
    for field_name, names in (("target_columns", targets), ("feature_columns", features)):
        for name in names:
            if name not in available:
                raise ValueError(
                    f"dataset.{field_name}: column '{name}' not in file; available: {', '.join(available)}"
                )
    if overlap := sorted(set(features) & set(targets)):
        raise ValueError(f"dataset.feature_columns: column '{overlap[0]}' is also a target column")
    if not features:
        raise ValueError("dataset.feature_columns: no feature columns left after removing the targets")
    for name in features + (targets if task == "regression" else []):
        field_name = "feature_columns" if name in features else "target_columns"
        if not pd.api.types.is_numeric_dtype(frame[name]) or pd.api.types.is_bool_dtype(frame[name]):
            raise ValueError(f"dataset.{field_name}: column '{name}' is not numeric{_first_non_number(frame[name])}")
    for name in features + targets:
        if (missing := int(frame[name].isna().sum())) > 0:
            field_name = "feature_columns" if name in features else "target_columns"
            raise ValueError(f"dataset.{field_name}: column '{name}' has {missing} missing values")
    x = frame[features].to_numpy(dtype=np.float64)
    _check_finite(x, "feature_columns")
    if task == "classification":
        if len(targets) != 1:
            raise ValueError(f"dataset.target_columns: classification needs exactly one column, got {len(targets)}")
        y, classes = _encode_labels(frame[targets[0]].to_numpy())
        return _Raw(file.stem, "classification", x, y, tuple(features), classes)
    y = frame[targets].to_numpy(dtype=np.float64)
    _check_finite(y, "target_columns")
    return _Raw(file.stem, "regression", x, y, tuple(features), tuple(targets))


def _first_non_number(column: Any) -> str:
    """Where a CSV column stops being numbers: ': 'x' on line 52' (line 1 is the header), or ''."""
    import pandas as pd

    numbers = pd.to_numeric(column, errors="coerce")
    bad = np.flatnonzero(numbers.isna().to_numpy() & column.notna().to_numpy())
    return f": {column.iloc[bad[0]]!r} on line {bad[0] + 2}" if len(bad) else ""


def _npz(file: Path, x_key: str, y_key: str, task: str | None) -> _Raw:
    if not zipfile.is_zipfile(file):
        raise ValueError(f"dataset.path: '{file}' is not an .npz archive (numpy.savez writes one)")
    try:
        archive = np.load(file, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise ValueError(f"dataset.path: cannot read '{file}' as .npz: {error}") from error
    with archive:
        available = ", ".join(archive.files)
        for field_name, key in (("x_key", x_key), ("y_key", y_key)):
            if key not in archive.files:
                raise ValueError(f"dataset.{field_name}: array '{key}' not in file; available: {available}")
        x_raw, y_raw = archive[x_key], archive[y_key]
    if x_raw.ndim == 0 or not np.issubdtype(x_raw.dtype, np.number):
        raise ValueError(f"dataset.x_key: array '{x_key}' must be a numeric array with one row per sample")
    x = x_raw.reshape(len(x_raw), -1).astype(np.float64)  # images etc. are flattened to feature vectors
    _check_finite(x, "x_key")
    if y_raw.ndim == 0 or len(y_raw) != len(x):
        raise ValueError(
            f"dataset.y_key: array '{y_key}' has shape {y_raw.shape}, expected {len(x)} rows like '{x_key}'"
        )
    if task is None:  # integer labels mean classes, anything else is a regression target
        integral = np.issubdtype(y_raw.dtype, np.integer) or np.issubdtype(y_raw.dtype, np.bool_)
        task = "classification" if integral and y_raw.ndim == 1 else "regression"
    features = tuple(f"x{i}" for i in range(x.shape[1]))
    if task == "classification":
        if y_raw.ndim != 1:
            raise ValueError(f"dataset.y_key: classification needs 1-D labels, '{y_key}' has shape {y_raw.shape}")
        y, classes = _encode_labels(y_raw)
        return _Raw(file.stem, "classification", x, y, features, classes)
    if not np.issubdtype(y_raw.dtype, np.number):
        raise ValueError(f"dataset.y_key: regression targets '{y_key}' must be numeric")
    y = y_raw.reshape(len(y_raw), -1).astype(np.float64)
    _check_finite(y, "y_key")
    return _Raw(file.stem, "regression", x, y, features, tuple(f"y{i}" for i in range(y.shape[1])))


def _encode_labels(values: np.ndarray) -> tuple[np.ndarray, tuple[str, ...]]:
    """Any label values -> 0..K-1 in sorted order of the distinct values."""
    if values.dtype == object:  # mixed CSV cells (e.g. 1 and "a") cannot be sorted otherwise
        values = values.astype(str)
    classes, codes = np.unique(values, return_inverse=True)
    return codes.reshape(-1).astype(np.int64), tuple(str(c) for c in classes)


def _check_finite(values: np.ndarray, field_name: str) -> None:
    if not np.isfinite(values).all():
        raise ValueError(f"dataset.{field_name}: data contains NaN or infinite values")


def _check_fractions(val_fraction: float, test_fraction: float) -> None:
    for field_name, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0.0 <= value < 1.0:
            raise ValueError(f"dataset.{field_name}: must be in [0, 1), got {value}")
    if val_fraction + test_fraction >= 1.0:
        raise ValueError(
            f"dataset.val_fraction: val_fraction + test_fraction must be < 1, got {val_fraction} + {test_fraction}"
        )


def _split(raw: _Raw, val_fraction: float, test_fraction: float, seed: int, max_samples: int | None) -> Dataset:
    rng = np.random.default_rng(seed)
    index = np.arange(len(raw.x))
    if max_samples is not None and max_samples < len(index):
        index = np.sort(rng.choice(index, size=max_samples, replace=False))
    # Stratify by class so small val/test splits keep the class balance; regression is one "stratum".
    strata = raw.y[index] if raw.task == "classification" else np.zeros(len(index), dtype=np.int64)
    if raw.task == "classification" and len(np.unique(strata)) < 2:
        raise ValueError(
            f"dataset: {raw.name!r} has a single class ({raw.output_names[int(strata[0])] if len(strata) else '-'}); "
            "classification needs at least 2 classes in the target column"
        )
    parts: dict[str, list[np.ndarray]] = {split: [] for split in SPLITS}
    for stratum in np.unique(strata):
        members = rng.permutation(index[strata == stratum])
        n_test = round(len(members) * test_fraction)
        n_val = round(len(members) * val_fraction)
        parts["test"].append(members[:n_test])
        parts["val"].append(members[n_test : n_test + n_val])
        parts["train"].append(members[n_test + n_val :])
    chosen = {split: np.sort(np.concatenate(parts[split])).astype(np.int64) for split in SPLITS}
    if len(chosen["train"]) == 0:
        raise ValueError(f"dataset.val_fraction: no training samples left out of {len(index)}")
    for split, fraction in (("val", val_fraction), ("test", test_fraction)):
        # An empty split gives a NaN metric in every trial; refuse once instead.
        if len(chosen[split]) == 0:
            raise ValueError(
                f"dataset.{split}_fraction: {raw.name!r} has {len(index)} rows, too few for a non-empty {split} "
                f"split at {split}_fraction = {fraction}; give more rows or a larger fraction"
            )
    arrays = {}
    for split in SPLITS:
        arrays[f"x_{split}"] = np.ascontiguousarray(raw.x[chosen[split]], dtype=np.float64)
        arrays[f"y_{split}"] = np.ascontiguousarray(raw.y[chosen[split]])
    return Dataset(
        name=raw.name,
        task=cast(Task, raw.task),
        feature_names=raw.feature_names,
        output_names=raw.output_names,
        input_shape=raw.input_shape,
        **arrays,
    )
