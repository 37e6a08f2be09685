"""Bring your own model: ONNX and state_dict import, clear errors, post-training quantization, a verified export."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper
from torch import nn

from contract.design import AcceleratorDesign
from contract.fixedpoint import FixedFormat
from contract.layers import DenseLayer
from dse.cli import main
from dse.config import parse_config
from dse.datasets import load_dataset
from dse.errors import ConfigError
from dse.pretrained import load_pretrained
from dse.search import run_search
from dse.training import evaluate_integer, train


def _export(model: nn.Module, inputs: int, path: Path) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(model, (torch.zeros(1, inputs),), str(path), dynamo=False)
    return path


def test_onnx_from_torch_gives_the_layers_and_activations(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 3), nn.Hardtanh(), nn.Linear(3, 2))
    layers = load_pretrained(_export(model, 5, tmp_path / "m.onnx"))
    assert [layer.activation for layer in layers] == ["relu", "hardtanh", "identity"]
    for layer, linear in zip(layers, [model[0], model[2], model[4]], strict=True):
        np.testing.assert_allclose(layer.weight, linear.weight.detach().double().numpy())
        np.testing.assert_allclose(layer.bias, linear.bias.detach().double().numpy())


def test_onnx_matmul_add_graph(tmp_path: Path) -> None:
    weight = np.arange(6, dtype=np.float32).reshape(3, 2) / 10  # x @ W: (in 3, out 2)
    bias = np.array([0.5, -0.5], dtype=np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["x", "W"], ["h"], name="mm"),
            helper.make_node("Add", ["h", "b"], ["y0"], name="add"),
            helper.make_node("Relu", ["y0"], ["y"], name="act"),
        ],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])],
        [numpy_helper.from_array(weight, "W"), numpy_helper.from_array(bias, "b")],
    )
    onnx.save(helper.make_model(graph), tmp_path / "mm.onnx")
    (layer,) = load_pretrained(tmp_path / "mm.onnx")
    np.testing.assert_allclose(layer.weight, weight.T.astype(np.float64))
    np.testing.assert_allclose(layer.bias, bias.astype(np.float64))
    assert layer.activation == "relu"


@pytest.mark.parametrize(
    ("module", "message"),
    [
        (nn.Sigmoid(), r"node '.*' \(Sigmoid\) is not supported"),
        (nn.Hardsigmoid(), r"\(HardSigmoid\) has alpha 0.1667, beta 0.5; dse's hardsigmoid is clamp\(x/4 \+ 1/2"),
        (nn.Hardtanh(-2.0, 2.0), r"\(Clip\): only Clip\(-1, 1\) \(hardtanh\) is supported"),
    ],
)
def test_unsupported_onnx_nodes_are_named(tmp_path: Path, module: nn.Module, message: str) -> None:
    path = _export(nn.Sequential(nn.Linear(3, 2), module), 3, tmp_path / "bad.onnx")
    with pytest.raises(ValueError, match=message):
        load_pretrained(path)


def test_state_dict_is_read_with_weights_only(tmp_path: Path) -> None:
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    torch.save(model.state_dict(), tmp_path / "m.pt")
    layers = load_pretrained(tmp_path / "m.pt", hidden_activation="hardtanh")
    assert [(lay.in_features, lay.out_features, lay.activation) for lay in layers] == [
        (4, 3, "hardtanh"),
        (3, 2, "identity"),
    ]
    torch.save(model, tmp_path / "whole.pt")  # a pickled module: code could run on load, so it is refused
    with pytest.raises(ValueError, match="whole pickled model is refused"):
        load_pretrained(tmp_path / "whole.pt")
    torch.save({"0.weight": torch.zeros(2, 1, 3)}, tmp_path / "conv.pt")
    with pytest.raises(ValueError, match="no 2-D"):
        load_pretrained(tmp_path / "conv.pt")
    with pytest.raises(ValueError, match="must end in one of .onnx, .pt, .pth"):
        load_pretrained(_touch(tmp_path / "m.bin"))


def _touch(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def test_post_training_quantization_keeps_the_float_accuracy() -> None:
    data = load_dataset("digits", scale="standard")
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 10)).double()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    x, y = torch.from_numpy(data.x_train), torch.from_numpy(data.y_train)
    for _ in range(40):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    with torch.no_grad():
        float_accuracy = float((model(torch.from_numpy(data.x_test)).argmax(1).numpy() == data.y_test).mean())
    act, weight = FixedFormat(10, 6), FixedFormat(8, 6)
    design = AcceleratorDesign(
        (DenseLayer(64, 16, "relu", act, weight, act), DenseLayer(16, 10, "identity", act, weight, act)),
        "xc7s15",
        100.0,
    )
    initial = [(model[i].weight.detach().numpy(), model[i].bias.detach().numpy()) for i in (0, 2)]
    trained = train(design, data, epochs=0, lr=0.01, batch_size=64, seed=0, initial=initial)
    np.testing.assert_array_equal(trained.weights[0].weight, weight.quantize(initial[0][0]))
    integer_accuracy = evaluate_integer(design, trained.weights, data, "test")["accuracy"]
    assert integer_accuracy >= float_accuracy - 0.02


def _search_file(tmp_path: Path, model_path: Path) -> dict[str, object]:
    return {
        "study": {"name": "byom", "seed": 0},
        "dataset": {"kind": "digits"},
        "model": {"family": "pretrained", "path": str(model_path)},
        "quantization": {"activation_bits": 8, "activation_int_bits": 4, "weight_bits": 8, "weight_int_bits": 1},
        "hardware": {"pe": {"choices": [1, 2]}, "simd": 2},
        "training": {"epochs": 0},
        "objectives": [{"name": "accuracy"}, {"name": "energy_uj"}],
        "search": {"n_trials": 3, "sampler": "random"},
    }


def test_wrong_model_size_and_epochs_zero_for_mlp_are_refused(tmp_path: Path) -> None:
    torch.save(nn.Sequential(nn.Linear(7, 10)).state_dict(), tmp_path / "m.pt")
    config = parse_config(_search_file(tmp_path, tmp_path / "m.pt"))
    with pytest.raises(ValueError, match="model.path: 'm.pt' maps 7 inputs to 10 outputs, but the dataset has 64"):
        run_search(config, results_dir=tmp_path / "res")
    assert not (tmp_path / "res").exists()  # refused before a study was created
    with pytest.raises(ConfigError, match="training.epochs: values must be >= 1"):
        parse_config(
            {"study": {"name": "x"}, "dataset": {"kind": "digits"}, "training": {"epochs": 0}}
            | {"objectives": [{"name": "accuracy"}]}
        )


def test_mcu_layers_beyond_the_models_layers_are_refused_before_the_study(tmp_path: Path) -> None:
    torch.save(nn.Sequential(nn.Linear(64, 8), nn.ReLU(), nn.Linear(8, 10)).state_dict(), tmp_path / "m.pt")
    search = _search_file(tmp_path, tmp_path / "m.pt")
    for key, value in (("mcu_tail_layers", 9), ("mcu_head_layers", {"choices": [0, 3]})):
        config = parse_config({**search, "hardware": {key: value}})
        refused = rf"hardware.{key}: \d is more than the model 'm.pt' has layers \(at most 2\)"
        with pytest.raises(ValueError, match=refused):
            run_search(config, results_dir=tmp_path / "res")
        assert not (tmp_path / "res").exists()


@pytest.mark.sim
@pytest.mark.e2e
def test_pretrained_search_exports_a_verified_design(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 12), nn.ReLU(), nn.Linear(12, 10))
    onnx_path = _export(model, 64, tmp_path / "m.onnx")
    config = parse_config(_search_file(tmp_path, onnx_path))
    run_search(config, results_dir=tmp_path / "res")
    assert main(["export", str(tmp_path / "res"), "--pick", "knee", "--out", str(tmp_path / "out"), "--verify"]) == 0
    record = json.loads((tmp_path / "out" / "design.json").read_text())
    assert record["verified"] is True and record["candidate"]["pretrained"]["path"] == str(onnx_path)
