"""QAT model == integer reference model bit for bit, training sanity, determinism and failure modes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from contract.design import AcceleratorDesign
from contract.fixedpoint import ACTIVATIONS, FixedFormat
from contract.layers import DenseLayer
from contract.reference import run_reference
from dse.datasets import Dataset, load_dataset
from dse.training import (
    QuantizedMLP,
    TrainingDiverged,
    compute_metrics,
    evaluate_integer,
    evaluate_model,
    export_integer_weights,
    fake_quant,
    load_checkpoint,
    quantize_inputs,
    save_checkpoint,
    train,
)
from dse.training.quant import QAT_MODULES, DenseQAT, QuantizedNet


def _design(
    sizes: list[int], fmts: list[FixedFormat], weight_fmts: list[FixedFormat], acts: list[str]
) -> AcceleratorDesign:
    layers = tuple(
        DenseLayer(sizes[i], sizes[i + 1], acts[i], fmts[i], weight_fmts[i], fmts[i + 1]) for i in range(len(acts))
    )
    return AcceleratorDesign(layers, device="test", clock_mhz=100.0)


def _uniform_design(bits: int, activation: str, sizes: list[int]) -> AcceleratorDesign:
    n = len(sizes) - 1
    act_fmt, weight_fmt = FixedFormat(bits, bits - 2), FixedFormat(bits, bits - 1)
    return _design(sizes, [act_fmt] * (n + 1), [weight_fmt] * n, [activation] * n)


def _random_design(rng: np.random.Generator) -> AcceleratorDesign:
    n = int(rng.integers(1, 4))
    sizes = [int(s) for s in rng.integers(1, 13, size=n + 1)]
    acts = [str(a) for a in rng.choice(ACTIVATIONS, size=n)]
    fmts = [FixedFormat(int(rng.integers(2, 17)), int(rng.integers(0, 10)))]
    weight_fmts = []
    for _act in acts:
        # DenseLayer requires frac_bits >= 0 everywhere and out frac <= in frac + weight frac.
        weight_fmts.append(FixedFormat(int(rng.integers(2, 17)), int(rng.integers(0, 10))))
        acc_frac = fmts[-1].frac_bits + weight_fmts[-1].frac_bits
        fmts.append(FixedFormat(int(rng.integers(2, 17)), int(rng.integers(max(0, acc_frac - 8), acc_frac + 1))))
    return _design(sizes, fmts, weight_fmts, acts)


def _perturbed_model(design: AcceleratorDesign, seed: int) -> QuantizedNet:
    """Weights after a few large Adam steps, with some values exactly on rounding ties or far out of range."""
    generator = torch.Generator().manual_seed(seed)
    model = QuantizedNet(design)
    model.reset_parameters(generator)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.2)
    x = torch.randn(64, design.layers[0].in_features, dtype=torch.float64, generator=generator)
    target = torch.randn(64, design.layers[-1].out_features, dtype=torch.float64, generator=generator)
    for _ in range(3):
        optimizer.zero_grad()
        torch.nn.functional.mse_loss(model(x), target * 4).backward()
        optimizer.step()
    with torch.no_grad():
        for layer, module in zip(design.layers, model.layers, strict=True):
            for param, fmt in ((module.weight, layer.weight_fmt), (module.bias, layer.bias_fmt)):
                ties = torch.rand(param.shape, generator=generator) < 0.3
                half_lsb = (torch.floor(param * fmt.scale) + 0.5) / fmt.scale
                param.copy_(torch.where(ties, half_lsb, param * 1.5))
    return model


def _inputs(design: AcceleratorDesign, rng: np.random.Generator, n: int = 200) -> np.ndarray:
    """Values across and beyond the input range; half of them exactly halfway between two codes."""
    fmt = design.layers[0].in_fmt
    codes = rng.integers(2 * fmt.min_int - 2, 2 * fmt.max_int + 3, size=(n, design.layers[0].in_features))
    x = codes / fmt.scale
    halfway = rng.random(x.shape) < 0.5
    return np.where(halfway, (codes + 0.5) / fmt.scale, x)


def _assert_bit_exact(design: AcceleratorDesign, model: QuantizedNet, x: np.ndarray) -> np.ndarray:
    weights = export_integer_weights(model)
    for layer, layer_weights in zip(design.layers, weights, strict=True):
        layer.check_weights(layer_weights)
    expected = run_reference(design, weights, quantize_inputs(design, x))
    np.testing.assert_array_equal(model.output_codes(x), expected)
    return expected


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("bits", [2, 3, 4, 8, 12, 16])
def test_qat_forward_equals_reference(bits: int, activation: str) -> None:
    design = _uniform_design(bits, activation, [7, 9, 6, 5])
    rng = np.random.default_rng(bits)
    model = _perturbed_model(design, seed=bits)
    codes = _assert_bit_exact(design, model, _inputs(design, rng))
    assert len(np.unique(codes)) > 1  # a constant output would make the comparison meaningless


@pytest.mark.parametrize("seed", range(40))
def test_qat_forward_equals_reference_random_designs(seed: int) -> None:
    rng = np.random.default_rng(1000 + seed)
    design = _random_design(rng)
    _assert_bit_exact(design, _perturbed_model(design, seed), _inputs(design, rng))


def test_every_layer_becomes_its_kinds_module() -> None:
    design = _uniform_design(8, "relu", [7, 9, 5])
    model = QuantizedNet(design)
    assert QuantizedMLP is QuantizedNet  # the older name still works
    assert QAT_MODULES["dense"] is DenseQAT
    assert [type(m) for m in model.layers] == [DenseQAT, DenseQAT]
    assert [m.layer for m in model.layers] == list(design.layers)
    assert [tuple(m.weight.shape) for m in model.layers] == [(9, 7), (5, 9)]


def test_folding_does_not_change_the_arithmetic() -> None:
    """PE, SIMD, multiplier and weight storage are hardware knobs only: same weights, same outputs."""
    from dataclasses import replace

    from contract.layers import DenseFolding

    design = _uniform_design(6, "hardtanh", [7, 9, 5])
    folded = replace(
        design,
        layers=(
            replace(design.layers[0], folding=DenseFolding(pe=4, simd=3, multiplier="lut")),
            replace(design.layers[1], folding=DenseFolding(pe=5, simd=9, weight_storage="bram")),
        ),
    )
    model = _perturbed_model(design, seed=2)
    other = QuantizedNet(folded)
    other.load_state_dict(model.state_dict())
    x = _inputs(design, np.random.default_rng(2))
    np.testing.assert_array_equal(other.output_codes(x), model.output_codes(x))
    np.testing.assert_array_equal(_assert_bit_exact(folded, other, x), model.output_codes(x))


def test_fake_quant_gradient_is_straight_through_with_saturation() -> None:
    fmt = FixedFormat(4, 2)  # codes -8..7, values -2..1.75
    values = torch.tensor([0.3, 5.0, 5.0, -5.0, -5.0], dtype=torch.float64, requires_grad=True)
    out = fake_quant(values, fmt)
    assert out.tolist() == [0.25, 1.75, 1.75, -2.0, -2.0]
    out.backward(torch.tensor([1.0, 1.0, -1.0, 1.0, -1.0], dtype=torch.float64))
    # Only gradients that pull a saturated value back into the range pass.
    assert values.grad is not None
    assert values.grad.tolist() == [1.0, 1.0, 0.0, 0.0, -1.0]


def test_designs_float64_cannot_reproduce_are_rejected() -> None:
    wide = FixedFormat(30, 20)
    with pytest.raises(ValueError, match="layer 0: .* float64"):
        QuantizedMLP(_design([64, 4], [wide, wide], [wide], ["identity"]))


@pytest.fixture(scope="module")
def digits() -> Dataset:
    return load_dataset("digits")


def _digits_design() -> AcceleratorDesign:
    act, weight = FixedFormat(8, 7), FixedFormat(8, 6)
    hidden = FixedFormat(8, 4)
    return _design([64, 16, 10], [act, hidden, hidden], [weight, weight], ["relu", "identity"])


def test_digits_mlp_trains_and_integer_metrics_match_qat(digits: Dataset) -> None:
    design = _digits_design()
    result = train(design, digits, epochs=10, lr=0.01, batch_size=64, seed=0)
    integer = evaluate_integer(design, result.weights, digits, "test")
    # Measured 0.93-0.945 over seeds 0..5; 0.88 leaves room for BLAS/platform noise in training.
    assert integer["accuracy"] > 0.88
    assert evaluate_model(result.model, digits, "test") == integer  # bit-exact model => identical metrics
    assert evaluate_model(result.model, digits, "test", quantized=False)["accuracy"] > 0.8
    assert len(result.history) == 10
    best = result.history[result.best_epoch]
    assert best["val_accuracy"] == evaluate_integer(design, result.weights, digits, "val")["accuracy"]
    assert best["val_error"] == min(r["val_error"] for r in result.history)


def test_training_is_deterministic(digits: Dataset) -> None:
    design = _digits_design()
    runs = [train(design, digits, epochs=2, lr=0.01, batch_size=128, seed=seed) for seed in (3, 3, 4)]
    for a, b in zip(runs[0].weights, runs[1].weights, strict=True):
        np.testing.assert_array_equal(a.weight, b.weight)
        np.testing.assert_array_equal(a.bias, b.bias)
    assert runs[0].history == runs[1].history
    assert not np.array_equal(runs[0].weights[0].weight, runs[2].weights[0].weight)


def test_sensor_regression_learns() -> None:
    sensor = load_dataset("sensor")
    fmt = FixedFormat(8, 6)
    design = _design([16, 16, 1], [FixedFormat(8, 7), fmt, FixedFormat(8, 7)], [fmt, fmt], ["hardtanh", "identity"])
    result = train(design, sensor, epochs=15, lr=0.01, batch_size=64, seed=0)
    metrics = evaluate_integer(design, result.weights, sensor, "test")
    assert set(metrics) == {"mse", "mae"}
    assert metrics["mse"] < 0.1 * float(np.var(sensor.y_test))


def _tiny_regression(y_train: np.ndarray) -> Dataset:
    x = np.linspace(-1, 1, 2 * len(y_train)).reshape(-1, 2)
    empty_x, empty_y = np.zeros((0, 2)), np.zeros((0, 1))
    return Dataset("tiny", "regression", x, y_train, empty_x, empty_y, empty_x, empty_y, ("a", "b"), ("t",))


def test_nan_loss_raises_training_diverged() -> None:
    y = np.zeros((16, 1))
    y[5] = np.nan
    fmt = FixedFormat(8, 6)
    design = _design([2, 1], [fmt, fmt], [fmt], ["identity"])
    with pytest.raises(TrainingDiverged, match="epoch 0") as info:
        train(design, _tiny_regression(y), epochs=3, lr=0.01, batch_size=4, seed=0)
    assert info.value.epoch == 0
    # Without NaN the same set-up trains (and, without a val split, keeps the last epoch).
    result = train(design, _tiny_regression(np.zeros((16, 1))), epochs=3, lr=0.01, batch_size=4, seed=0)
    assert result.best_epoch == 2


def test_callback_sees_val_metrics_and_can_stop(digits: Dataset) -> None:
    seen: list[tuple[int, dict[str, float]]] = []
    result = train(
        _digits_design(),
        digits,
        epochs=5,
        lr=0.01,
        batch_size=256,
        seed=0,
        callback=lambda epoch, record: seen.append((epoch, record)) or epoch == 1,
    )
    assert [epoch for epoch, _ in seen] == [0, 1]
    assert {"train_loss", "val_loss", "val_accuracy", "val_error"} <= set(seen[0][1])
    assert len(result.history) == 2


def test_design_and_dataset_must_match(digits: Dataset) -> None:
    fmt = FixedFormat(8, 6)
    with pytest.raises(ValueError, match="design takes 16 inputs but dataset 'digits' has 64 features"):
        train(
            _design([16, 10], [fmt, fmt], [fmt], ["identity"]),
            digits,
            epochs=1,
            lr=0.01,
            batch_size=8,
            seed=0,
        )
    with pytest.raises(ValueError, match="design has 3 outputs but dataset 'digits' has 10 classes"):
        train(_design([64, 3], [fmt, fmt], [fmt], ["identity"]), digits, epochs=1, lr=0.01, batch_size=8, seed=0)


def test_checkpoint_round_trip(tmp_path: Path) -> None:
    design = _uniform_design(6, "hardsigmoid", [5, 4, 3])
    model = _perturbed_model(design, seed=1)
    save_checkpoint(tmp_path / "model.pt", model)
    loaded = load_checkpoint(tmp_path / "model.pt")
    assert loaded.design == design
    x = _inputs(design, np.random.default_rng(0))
    np.testing.assert_array_equal(loaded.output_codes(x), model.output_codes(x))
    torch.save({"something": 1}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a dse.training.checkpoint"):
        load_checkpoint(tmp_path / "other.pt")


def test_metrics_ties_pick_lowest_index() -> None:
    outputs = np.array([[3, 3, 1], [0, 2, 2]])
    assert compute_metrics(outputs, np.array([0, 1]), "classification") == {"accuracy": 1.0, "error": 0.0}
    assert compute_metrics(outputs, np.array([1, 2]), "classification") == {"accuracy": 0.0, "error": 1.0}
    assert compute_metrics(np.array([[1.0], [3.0]]), np.array([[0.0], [1.0]]), "regression") == {
        "mse": 2.5,
        "mae": 1.5,
    }
