"""Fit the LUT/FF coefficients of a calibration to synthesis sweep tables (non-negative least squares).

LUT and FF are linear in the structural features of estimators.dense.dense_features; DSP and BRAM are rules
(Calibration.dsp_rule, estimators.dense.block_ram_count) and are only checked for exact agreement.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import lsq_linear, nnls
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.metrics import r2_score
from sklearn.model_selection import KFold, cross_val_predict

from contract.fixedpoint import FixedFormat
from contract.layers.dense import DENSE_KNOBS, DenseFolding, DenseLayer
from estimators.calibration import FEATURES, PACKING_GROUP_NAMES, PACKING_GROUP_OF, TIMING_PATHS, Calibration
from estimators.content import CONTENT_COLUMNS, OPTIONAL_CONTENT_COLUMNS, RomContent
from estimators.dense import dense_features, dense_numbers, dsps_per_product

FITTED = ("lut", "ff")
RULES = ("dsp", "bram")
# The columns of a sweep table that rebuild its layer (dse calibrate sweep writes them, the fit reads them).
CONFIG_COLUMNS = (
    "in_features",
    "out_features",
    "activation",
    "in_bits",
    "in_frac",
    "weight_bits",
    "weight_frac",
    "out_bits",
    "out_frac",
    *(knob.name for knob in DENSE_KNOBS),
)


class ResourceModel(BaseEstimator, RegressorMixin):
    """y ≈ X @ coef_ with coef_ >= 0 (a negative per-bit cost would be unphysical and extrapolate badly).

    ``relative=True`` minimises the squared *relative* error (rows weighted by 1/y), so that small layers, where
    the constant terms dominate, are fitted as well as large ones: the accuracy goal is stated in percent.
    """

    def __init__(self, relative: bool = True) -> None:
        self.relative = relative

    def fit(self, X: np.ndarray, y: np.ndarray) -> ResourceModel:
        X = np.asarray(X, dtype=float)
        y = np.asarray(y, dtype=float)
        weight = 1.0 / np.maximum(y, 1.0) if self.relative else np.ones_like(y)
        # Column scaling keeps NNLS well conditioned (features span 1 .. 10^4); undone on the coefficients.
        scale = np.maximum(np.abs(X).max(axis=0), 1e-12)
        coef, _ = nnls((X / scale) * weight[:, None], y * weight, maxiter=50 * X.shape[1])
        self.coef_ = coef / scale
        self.n_features_in_ = X.shape[1]
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(X, dtype=float) @ self.coef_


@dataclass(frozen=True)
class ErrorStats:
    n: int
    median_pct: float  # median |error| in % of the synthesized value
    p90_pct: float
    within_10pct: float  # share of points with |error| <= 10 %
    r2: float

    def as_dict(self) -> dict[str, float]:
        return {
            "n": self.n,
            "median_abs_pct": round(self.median_pct, 3),
            "p90_abs_pct": round(self.p90_pct, 3),
            "within_10pct": round(self.within_10pct, 4),
            "r2": round(self.r2, 5),
        }


def error_stats(y_true: np.ndarray, y_pred: np.ndarray) -> ErrorStats:
    y_true = np.asarray(y_true, dtype=float)
    y_pred = np.asarray(y_pred, dtype=float)
    pct = np.abs(y_pred - y_true) / np.maximum(np.abs(y_true), 1.0) * 100.0
    r2 = float(r2_score(y_true, y_pred)) if len(y_true) > 1 else float("nan")
    return ErrorStats(
        len(y_true), float(np.median(pct)), float(np.percentile(pct, 90)), float(np.mean(pct <= 10.0)), r2
    )


# A K-fold error moves with the shuffle of the folds alone (the xc7 LUT median by about ±0.6 points): every
# reported CV figure is the median over this many shuffles (seeds 0, 1, ...).
CV_SHUFFLES = 5


def cv_method(folds: int) -> str:
    return f"{folds}-fold CV, median of {CV_SHUFFLES} shuffles"


def cross_validated_stats(
    X: np.ndarray,
    y: np.ndarray,
    folds: int = 5,
    model: Callable[[], Any] = lambda: ResourceModel(),
    score: Callable[[np.ndarray, np.ndarray], ErrorStats] = error_stats,
) -> ErrorStats:
    """Error of out-of-fold predictions (every point predicted by a model that never saw it), each statistic the
    median over CV_SHUFFLES shuffles of the folds; ``score`` turns (y, predicted) into the statistics."""
    if len(y) < folds or folds < 2:
        raise ValueError(f"--folds: need 2 <= folds <= number of points ({len(y)}), got {folds}")
    runs = [
        score(y, cross_val_predict(model(), X, y, cv=KFold(folds, shuffle=True, random_state=seed)))
        for seed in range(CV_SHUFFLES)
    ]
    return ErrorStats(
        len(y),
        *(
            float(np.median([getattr(run, name) for run in runs]))
            for name in ("median_pct", "p90_pct", "within_10pct", "r2")
        ),
    )


# ------------------------------------------------------------------------------------------ tables


# Every column the fit reads as a number (activation and the string folding knobs are text).
NUMERIC_COLUMNS = tuple(
    c
    for c in (*CONFIG_COLUMNS, *FITTED, *RULES)
    if c != "activation" and not any(k.name == c and not k.is_int for k in DENSE_KNOBS)
)


def read_sweep_rows(path: Path, required: Sequence[str], missing_hint: str = "") -> list[tuple[int, dict[str, str]]]:
    """(line, row) of the rows of one sweep CSV that synthesized (a row with an 'error' is a failure, not data),
    after checking that the file is a readable table with the ``required`` columns."""
    try:
        with Path(path).open(newline="") as handle:
            table = list(csv.DictReader(handle))
    except FileNotFoundError:
        raise ValueError(f"sweep table {str(path)!r} does not exist") from None
    except UnicodeDecodeError:
        raise ValueError(f"sweep table {str(path)!r}: not a text CSV file") from None
    missing = [c for c in required if table and c not in table[0]]
    if not table or missing:
        raise ValueError(f"sweep table {str(path)!r}: empty or missing columns {missing}{missing_hint}")
    return [(line, row) for line, row in enumerate(table, start=2) if not row.get("error")]  # line 1: the header


def require_numbers(path: Path, line: int, row: dict[str, str], columns: Iterable[str]) -> None:
    """Refuse a cell of ``columns`` that is not a number, naming the table, line and column."""
    for column in columns:
        try:
            float(row[column])
        except (TypeError, ValueError):
            raise ValueError(
                f"sweep table {str(path)!r}, line {line}, column {column!r}: {row[column]!r} is not a number"
            ) from None


def read_tables(paths: Iterable[Path]) -> list[dict[str, str]]:
    """Rows of dense sweep CSVs that synthesized successfully, their numbers checked."""
    rows: list[dict[str, str]] = []
    for path in paths:
        kept = read_sweep_rows(path, (*CONFIG_COLUMNS, *FITTED, *RULES))
        for line, row in kept:
            # Content columns may be absent or empty (tables made before them): then the row is full-range.
            present = [c for c in CONTENT_COLUMNS if row.get(c) not in (None, "")]
            require_numbers(path, line, row, (*NUMERIC_COLUMNS, *present))
        rows += [row for _, row in kept]
    return rows


def layer_config(layer: DenseLayer) -> dict[str, object]:
    """The CONFIG_COLUMNS of one sweep-table row."""
    return {
        "in_features": layer.in_features,
        "out_features": layer.out_features,
        "activation": layer.activation,
        "in_bits": layer.in_fmt.total_bits,
        "in_frac": layer.in_fmt.frac_bits,
        "weight_bits": layer.weight_fmt.total_bits,
        "weight_frac": layer.weight_fmt.frac_bits,
        "out_bits": layer.out_fmt.total_bits,
        "out_frac": layer.out_fmt.frac_bits,
        **layer.folding.to_dict(),
    }


def row_layer(row: dict[str, Any]) -> DenseLayer:
    """Rebuild the layer of one sweep-table row (numbers may come back from CSV as text)."""

    def number(key: str) -> int:
        return int(float(row[key]))

    return DenseLayer(
        number("in_features"),
        number("out_features"),
        str(row["activation"]),
        FixedFormat(number("in_bits"), number("in_frac")),
        FixedFormat(number("weight_bits"), number("weight_frac")),
        FixedFormat(number("out_bits"), number("out_frac")),
        folding=DenseFolding(
            **{knob.name: number(knob.name) if knob.is_int else str(row[knob.name]) for knob in DENSE_KNOBS}
        ),
    )


_REQUIRED_CONTENT_COLUMNS = tuple(c for c in CONTENT_COLUMNS if c not in OPTIONAL_CONTENT_COLUMNS)


def row_content(row: dict[str, Any]) -> RomContent | None:
    """What the row's weights keep (estimators.content), from its content columns; None where a table has none
    (the layer counts as full-range, as before training). A table with only `rom_columns` (made before the
    multiplier columns existed) keeps its column count, with every product bit live."""
    if row.get("rom_columns") in (None, ""):
        return None
    if any(row.get(column) in (None, "") for column in _REQUIRED_CONTENT_COLUMNS):
        layer = row_layer(row)
        lanes = layer.folding.pe * layer.folding.simd
        return RomContent(int(float(row["rom_columns"])), 0, (), lanes * layer.weight_fmt.total_bits, lanes)
    kept, constant, live, signed, copies = (int(float(row.get(column) or 0)) for column in CONTENT_COLUMNS)
    return RomContent(kept, constant, (), live, signed, (), copies)


def design_matrix(
    layers: Sequence[DenseLayer], calibration: Calibration, contents: Sequence[RomContent | None] | None = None
) -> np.ndarray:
    """Features as the estimator computes them at prediction time (DSP use from the calibration's rule)."""
    per_layer = contents if contents is not None else [None] * len(layers)
    return np.array(
        [
            dense_features(layer, dsps_per_product(layer, calibration), calibration, content)
            for layer, content in zip(layers, per_layer, strict=True)
        ]
    )


def rule_predictions(layers: Sequence[DenseLayer], calibration: Calibration) -> dict[str, np.ndarray]:
    """The DSP and BRAM rules exactly as the estimator applies them."""
    dsp, bram = [], []
    for layer in layers:
        *_, layer_dsp, layer_bram, _ = dense_numbers(layer, calibration)
        dsp.append(layer_dsp)
        bram.append(layer_bram)
    return {"dsp": np.array(dsp, dtype=float), "bram": np.array(bram, dtype=float)}


# --------------------------------------------------------------------------------------------- fit


@dataclass
class ResourceFit:
    coefficients: dict[str, tuple[float, ...]]  # "lut"/"ff" -> coefficients in FEATURES order
    cv: dict[str, ErrorStats]  # "lut"/"ff" -> cross-validated error
    exact: dict[str, float]  # "dsp"/"bram" -> share of rows where the rule equals synthesis
    mismatches: dict[str, list[dict[str, Any]]]  # "dsp"/"bram" -> a few rows where it does not
    n_samples: int

    def errors_dict(self, folds: int) -> dict[str, Any]:
        errors: dict[str, Any] = {
            key: {**stats.as_dict(), "method": cv_method(folds)} for key, stats in self.cv.items()
        }
        for key, share in self.exact.items():
            errors[key] = {"n": self.n_samples, "exact_match": round(share, 4), "method": "rule vs synthesis"}
        return errors


def fit_resources(rows: Sequence[dict[str, Any]], calibration: Calibration, folds: int = 5) -> ResourceFit:
    """NNLS fit of LUT and FF on all rows, cross-validated error, and the exact-match share of the rules."""
    if len(rows) < max(folds, len(FEATURES)):
        raise ValueError(f"sweep tables: {len(rows)} usable rows, need at least {max(folds, len(FEATURES))}")
    layers = [row_layer(row) for row in rows]
    X = design_matrix(layers, calibration, [row_content(row) for row in rows])
    coefficients, cv = {}, {}
    for key in FITTED:
        y = np.array([float(row[key]) for row in rows])
        coefficients[key] = tuple(float(c) for c in ResourceModel().fit(X, y).coef_)
        cv[key] = cross_validated_stats(X, y, folds)
    predicted = rule_predictions(layers, calibration)
    exact, mismatches = {}, {}
    for key in RULES:
        measured = np.array([float(row[key]) for row in rows])
        wrong = np.flatnonzero(predicted[key] != measured)
        exact[key] = 1.0 - len(wrong) / len(rows)
        mismatches[key] = [
            {**layers[i].to_dict(), "rule": float(predicted[key][i]), "synthesis": float(measured[i])}
            for i in wrong[:5]
        ]
    return ResourceFit(coefficients, cv, exact, mismatches, len(rows))


def predict(
    layers: Sequence[DenseLayer], calibration: Calibration, contents: Sequence[RomContent | None] | None = None
) -> dict[str, np.ndarray]:
    """LUT/FF/DSP/BRAM of each layer under ``calibration`` (the same numbers estimators.dense computes)."""
    X = design_matrix(layers, calibration, contents)
    return {
        "lut": X @ np.array(calibration.lut),
        "ff": X @ np.array(calibration.ff),
        **rule_predictions(layers, calibration),
    }


# ------------------------------------------------------------------------------------- timing, packing


class PeriodModel(BaseEstimator, RegressorMixin):
    """Clock period = max over paths of coef_path . features_path, coefficients >= 0 (estimators.timing).

    X holds every path's features side by side (``sizes`` of them per path). The fit minimises the relative error
    of the period with scipy's bounded least squares, started from every path at the median period.
    """

    def __init__(self, sizes: tuple[int, ...] = (), starts: int = 8) -> None:
        self.sizes = sizes
        self.starts = starts

    def _split(self, X: np.ndarray) -> list[np.ndarray]:
        return np.split(np.asarray(X, dtype=float), np.cumsum(self.sizes)[:-1], axis=1)

    def _periods(self, theta: np.ndarray, parts: list[np.ndarray]) -> np.ndarray:
        thetas = np.split(theta, np.cumsum(self.sizes)[:-1])
        return np.max([part @ t for part, t in zip(parts, thetas, strict=True)], axis=0)

    def fit(self, X: np.ndarray, y: np.ndarray) -> PeriodModel:
        from scipy.optimize import least_squares

        parts, y = self._split(X), np.asarray(y, dtype=float)
        # A max of paths is not convex: start from a few seeded points and keep the best (deterministic).
        rng = np.random.default_rng(0)
        constants = np.cumsum((0, *self.sizes[:-1]))
        best = None
        for attempt in range(self.starts):
            start = np.full(sum(self.sizes), 0.01) if attempt == 0 else rng.uniform(0.0, 1.0, sum(self.sizes))
            start[constants] = 0.5 * float(np.median(y))  # each path's constant
            found = least_squares(lambda t: (self._periods(t, parts) - y) / y, start, bounds=(0.0, np.inf))
            if best is None or found.cost < best.cost:
                best = found
        self.coef_ = best.x
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self._periods(self.coef_, self._split(X))


class PackingModel(BaseEstimator, RegressorMixin):
    """cells ≈ X @ coef_ for X = (LUT, flip-flops by group): a LUT costs coef_[0] >= 0 cells, and a flip-flop
    between 0 (packed beside its LUT) and 1 (a cell of its own). Least squares in relative error."""

    def fit(self, X: np.ndarray, y: np.ndarray) -> PackingModel:
        X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
        weight = 1.0 / np.maximum(y, 1.0)
        upper = np.r_[np.inf, np.ones(X.shape[1] - 1)]
        self.coef_ = lsq_linear(X * weight[:, None], y * weight, bounds=(np.zeros(X.shape[1]), upper)).x
        self.n_features_in_ = X.shape[1]
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(X, dtype=float) @ self.coef_


@dataclass
class LimitsFit:
    """The fmax model (per path, ns per feature) and the iCE40 logic-cell packing."""

    paths: tuple[tuple[float, ...], ...] | None
    fmax_cv: ErrorStats | None
    packing: tuple[float, float] | None  # logic cells = packing . (LUT, FF) for flip-flops packed on average
    packing_groups: dict[str, float] | None  # the dense engine's flip-flops: cells per FF of each PACKING_GROUPS
    packing_cv: ErrorStats | None
    n_timed: int
    n_packed: int


def _measured(rows: Sequence[dict[str, Any]], column: str) -> list[dict[str, Any]]:
    return [row for row in rows if row.get(column) not in (None, "")]


def packing_matrix(rows: Sequence[dict[str, Any]], calibration: Calibration, ff: Sequence[float]) -> np.ndarray:
    """Per row: its measured LUTs, and its measured flip-flops split over PACKING_GROUP_NAMES in the proportions
    of the FF model ``ff`` (what each group of features holds)."""
    features = design_matrix([row_layer(row) for row in rows], calibration, [row_content(row) for row in rows])
    parts = features * np.asarray(ff, dtype=float)
    groups = np.array([[group == name for group in PACKING_GROUP_OF] for name in PACKING_GROUP_NAMES], dtype=float)
    split = parts @ groups.T
    measured = np.array([float(row["ff"]) for row in rows])
    split *= (measured / np.maximum(split.sum(axis=1), 1e-9))[:, None]
    return np.c_[[float(row["lut"]) for row in rows], split]


def fit_limits(
    rows: Sequence[dict[str, Any]], calibration: Calibration, folds: int = 5, ff: Sequence[float] | None = None
) -> LimitsFit:
    """Fit the period to the rows' measured fmax, and the logic cells to their measured LUTs and flip-flops (the
    flip-flops by group, split by the FF model ``ff``, default the calibration's); rows without them are skipped.
    Out-of-fold errors in % of the measured fmax and cells."""
    from estimators.timing import layer_paths

    timed, packed = _measured(rows, "fmax_mhz"), _measured(rows, "logic_cells")
    paths = fmax_cv = packing = packing_groups = packing_cv = None
    sizes = tuple(len(names) for names in TIMING_PATHS.values())
    if len(timed) >= max(folds, sum(sizes)):
        X = np.array([np.concatenate(layer_paths(row_layer(row), calibration)) for row in timed])
        y = np.array([1000.0 / float(row["fmax_mhz"]) for row in timed])
        flat = PeriodModel(sizes).fit(X, y).coef_
        paths = tuple(tuple(float(c) for c in part) for part in np.split(flat, np.cumsum(sizes)[:-1]))
        fmax_cv = cross_validated_stats(
            X,
            y,
            folds,
            model=lambda: PeriodModel(sizes),
            score=lambda period, predicted: error_stats(1000.0 / period, 1000.0 / np.maximum(predicted, 1e-9)),
        )
    if len(packed) >= max(folds, len(PACKING_GROUP_NAMES) + 1):
        X = packing_matrix(packed, calibration, calibration.ff if ff is None else ff)
        y = np.array([float(row["logic_cells"]) for row in packed])
        coef = PackingModel().fit(X, y).coef_
        packing_groups = {name: float(c) for name, c in zip(PACKING_GROUP_NAMES, coef[1:], strict=True)}
        # Other kinds' flip-flops are packed at the average rate, given the same LUT coefficient.
        # (least squares in relative error of the cells, like every fit here)
        flip_flops, rest = X[:, 1:].sum(axis=1) / y, (y - coef[0] * X[:, 0]) / y
        average = max(0.0, float(flip_flops @ rest / (flip_flops @ flip_flops)))
        packing = (float(coef[0]), float(average))
        packing_cv = cross_validated_stats(X, y, folds, model=PackingModel)
    return LimitsFit(paths, fmax_cv, packing, packing_groups, packing_cv, len(timed), len(packed))
