"""estimators.fit: NNLS recovers known coefficients, the error table is computed as documented.

Also holds the synthetic-table helpers the other test_calibrate_* modules import."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from dse.calibrate.space import sample_points
from estimators import default_calibration
from estimators.calibration import FEATURES, Calibration
from estimators.fit import (
    ResourceModel,
    cross_validated_stats,
    design_matrix,
    error_stats,
    fit_resources,
    row_layer,
    rule_predictions,
)

XC7 = default_calibration("xc7")

# Known LUT/FF coefficients in FEATURES order (some zero, as NNLS must be able to recover exact zeros).
_LUT = {
    "const": 15.0, "rom_lut_bits": 0.03, "rom_lut_cols": 0.8, "rom_reg_bits": 0.0, "bias_cols": 1.2, "acc_bits": 2.0,
    "clamp_chunks": 1.0, "clamp_wide_bits": 1.1, "clamp_mux_diff_bits": 0.6, "clamp_mux_same_bits": 0.4,
    "clamp_mux_one_bits": 0.3, "sign_select_bits": 1.0, "soft_mult_bits": 0.7, "soft_prod_bits": 0.0,
    "dsp_mults": 0.5, "tree_bits": 1.0, "tree_reg_bits": 0.0, "buffer_bits": 0.2, "out_bits": 0.5,
    "out_shift_bits": 1.0, "counter_bits": 2.5,
}  # fmt: skip
_FF = {
    "const": 10.0, "rom_lut_bits": 0.0, "rom_lut_cols": 0.0, "rom_reg_bits": 1.0, "bias_cols": 0.0, "acc_bits": 1.0,
    "clamp_chunks": 0.0, "clamp_wide_bits": 0.0, "clamp_mux_diff_bits": 0.0, "clamp_mux_same_bits": 0.0,
    "clamp_mux_one_bits": 0.0, "sign_select_bits": 0.0, "soft_mult_bits": 0.0, "soft_prod_bits": 1.0,
    "dsp_mults": 0.0, "tree_bits": 0.0, "tree_reg_bits": 1.0, "buffer_bits": 1.0, "out_bits": 1.0,
    "out_shift_bits": 0.0, "counter_bits": 2.0,
}  # fmt: skip
# A feature added to estimators.calibration.FEATURES later gets a plain non-zero default.
TRUE_LUT = tuple(_LUT.get(name, 0.5) for name in FEATURES)
TRUE_FF = tuple(_FF.get(name, 1.0) for name in FEATURES)
assert len(TRUE_LUT) == len(TRUE_FF) == len(FEATURES)


def synthetic_rows(n: int, calibration: Calibration, seed: int = 7) -> list[dict[str, object]]:
    """Rows shaped like a sweep table whose LUT/FF are exactly linear and whose DSP/BRAM follow the rules."""
    layers = [point.layer for point in sample_points(n, seed)]
    X = design_matrix(layers, calibration)
    rules = rule_predictions(layers, calibration)
    rows = []
    for i, point in enumerate(sample_points(n, seed)):
        rows.append(
            {
                "sample": i,
                "family": calibration.family,
                **point.config(),
                "lut": float(X[i] @ np.array(TRUE_LUT)),
                "ff": float(X[i] @ np.array(TRUE_FF)),
                "dsp": float(rules["dsp"][i]),
                "bram": float(rules["bram"][i]),
                "error": "",
                "ghdl": "GHDL test",
                "yosys": "Yosys test",
                "generator": "test",
            }
        )
    return rows


def write_rows(rows: list[dict[str, object]], path: Path) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_resource_model_recovers_known_non_negative_coefficients() -> None:
    rng = np.random.default_rng(0)
    X = np.column_stack([np.ones(60), rng.uniform(0, 100, size=(60, 4))])
    true = np.array([12.0, 0.5, 0.0, 2.0, 0.01])
    model = ResourceModel().fit(X, X @ true)
    np.testing.assert_allclose(model.coef_, true, atol=1e-8)
    assert model.predict(X[:3]) == pytest.approx(X[:3] @ true)


def test_resource_model_never_returns_negative_costs() -> None:
    X = np.array([[1.0, 1.0], [1.0, 2.0], [1.0, 3.0]])
    y = np.array([10.0, 8.0, 6.0])  # falls with the feature: the best unconstrained slope is -2
    assert ResourceModel().fit(X, y).coef_.min() >= 0.0


def test_error_stats_on_a_fixed_table() -> None:
    truth = np.array([100.0] * 5 + [200.0] * 5)
    predicted = truth + np.array([0, 1, -2, 3, -4, 10, -12, 16, -24, 40])  # |err| % = 0,1,2,3,4,5,6,8,12,20
    stats = error_stats(truth, predicted)
    assert stats.n == 10
    assert stats.median_pct == pytest.approx(4.5)
    assert stats.p90_pct == pytest.approx(12.8)  # numpy linear interpolation between 12 and 20
    assert stats.within_10pct == pytest.approx(0.8)
    assert stats.r2 == pytest.approx(1 - 2706 / 25000)  # squared errors 2706, variance around 150: 10 * 50²


def test_cross_validated_error_is_out_of_fold() -> None:
    x = np.arange(1.0, 21.0)
    X = np.column_stack([np.ones(20), x])
    y = 10.0 + 2.0 * x
    exact = cross_validated_stats(X, y, folds=5)
    assert exact.median_pct == pytest.approx(0.0, abs=1e-9) and exact.r2 == pytest.approx(1.0)
    y_bad = y.copy()
    y_bad[7] += 30.0  # one outlier: in-sample it would pull the fit, out of fold it shows as a large error
    noisy = cross_validated_stats(X, y_bad, folds=5)
    assert noisy.within_10pct == pytest.approx(19 / 20)  # only the outlier misses by more than 10 %
    assert noisy.median_pct > 0.1  # and it spoils the folds it was trained in


def test_cross_validated_error_is_the_median_over_shuffles() -> None:
    from sklearn.model_selection import KFold, cross_val_predict

    from estimators.fit import CV_SHUFFLES, ResourceModel

    rng = np.random.default_rng(3)
    X = np.column_stack([np.ones(40), rng.uniform(1, 50, 40)])
    y = X @ [5.0, 3.0] * rng.uniform(0.8, 1.2, 40)
    runs = [
        error_stats(y, cross_val_predict(ResourceModel(), X, y, cv=KFold(5, shuffle=True, random_state=seed)))
        for seed in range(CV_SHUFFLES)
    ]
    assert len({run.median_pct for run in runs}) > 1  # the shuffle alone moves a single K-fold figure
    stats = cross_validated_stats(X, y, folds=5)
    assert stats.median_pct == pytest.approx(float(np.median([run.median_pct for run in runs])))
    assert stats.p90_pct == pytest.approx(float(np.median([run.p90_pct for run in runs])))


def test_fit_resources_on_a_synthetic_table_recovers_coefficients_and_scores_rules() -> None:
    rows = synthetic_rows(60, XC7)
    rows[3]["bram"] = float(rows[3]["bram"]) + 0.5  # one point where synthesis disagrees with the rule
    fit = fit_resources(rows, XC7, folds=5)
    X = design_matrix([row_layer(r) for r in rows], XC7)
    # Features can be collinear on a sample, so compare predictions, not coefficient vectors.
    np.testing.assert_allclose(X @ np.array(fit.coefficients["lut"]), X @ np.array(TRUE_LUT), rtol=1e-6)
    np.testing.assert_allclose(X @ np.array(fit.coefficients["ff"]), X @ np.array(TRUE_FF), rtol=1e-6)
    assert fit.cv["lut"].median_pct < 1e-3 and fit.cv["ff"].p90_pct < 1e-3
    assert fit.exact == {"dsp": 1.0, "bram": pytest.approx(59 / 60)}
    assert len(fit.mismatches["bram"]) == 1 and fit.mismatches["bram"][0]["synthesis"] == rows[3]["bram"]


def test_fit_needs_enough_rows() -> None:
    with pytest.raises(ValueError, match="usable rows"):
        fit_resources(synthetic_rows(4, XC7), XC7)


def test_features_use_the_exact_accumulator_width() -> None:
    from contract.fixedpoint import accumulator_bits
    from estimators.dense import dense_features

    for point in sample_points(200, seed=5):
        layer = point.layer
        # bias + round constant + every product (contract.requant): never overflows.
        acc = accumulator_bits(layer.in_fmt, layer.weight_fmt, layer.in_features, layer.requant.round_constant)
        assert acc == layer.acc_bits
        features = dense_features(layer, 1)  # one DSP per product: SIMD 1 accumulators count as acc_dsp_bits
        in_fabric, by_dsp = features[FEATURES.index("acc_bits")], features[FEATURES.index("acc_dsp_bits")]
        assert in_fabric + by_dsp == layer.folding.pe * acc
        assert (by_dsp > 0) == (layer.folding.simd == 1)
