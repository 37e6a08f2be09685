"""Bring your own model: a float network from an ONNX file or a PyTorch ``state_dict``, as dense layers.

ONNX: the graph ``torch.onnx.export`` writes for an ``nn.Sequential`` of ``Linear`` layers and activations
(Gemm, or MatMul + Add; Relu, Clip(-1, 1) = hardtanh, HardSigmoid with alpha 1/4 and beta 1/2, Identity,
Flatten/Reshape of the input). State dict: ``torch.load(..., weights_only=True)``, so only tensors are
unpickled; the layers are the 2-D ``*.weight`` tensors in key order, each with its ``*.bias``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dse.errors import not_a_file

# dse's activations (contract.fixedpoint.ACTIVATIONS) that an ONNX node can express exactly.
HARDSIGMOID_ALPHA, HARDSIGMOID_BETA = 0.25, 0.5
PASS_THROUGH_OPS = ("Identity", "Flatten", "Reshape", "Dropout")
SUFFIXES = (".onnx", ".pt", ".pth")


@dataclass(frozen=True, eq=False)
class PretrainedDense:
    weight: np.ndarray  # float64 (out, in)
    bias: np.ndarray  # float64 (out,)
    activation: str

    @property
    def in_features(self) -> int:
        return int(self.weight.shape[1])

    @property
    def out_features(self) -> int:
        return int(self.weight.shape[0])


def load_pretrained(path: Path, hidden_activation: str = "relu") -> list[PretrainedDense]:
    """The file's dense layers; ``hidden_activation`` is used for a state dict, which holds no activations."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"model.path: {not_a_file(path)}")
    if path.suffix == ".onnx":
        return _from_onnx(path)
    if path.suffix in (".pt", ".pth"):
        return _from_state_dict(path, hidden_activation)
    raise ValueError(f"model.path: '{path.name}' must end in one of {', '.join(SUFFIXES)}")


def _from_state_dict(path: Path, hidden_activation: str) -> list[PretrainedDense]:
    import pickle

    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError):
        raise ValueError(
            f"model.path: '{path.name}' is not a state_dict of tensors; it is read with weights_only=True, so a "
            "whole pickled model is refused: save model.state_dict() instead"
        ) from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"model.path: '{path.name}' must hold a state_dict (a dict of tensors) of an nn.Sequential")
    weights = [key for key, value in state.items() if key.endswith("weight") and value.ndim == 2]
    if not weights:
        raise ValueError(f"model.path: '{path.name}' has no 2-D '*.weight' tensors (Linear layers)")
    if other := [k for k, v in state.items() if k.endswith("weight") and v.ndim != 2]:
        raise ValueError(f"model.path: '{path.name}': tensor '{other[0]}' is not a Linear weight (only dense layers)")
    layers = []
    for index, key in enumerate(weights):
        bias_key = key[: -len("weight")] + "bias"
        weight = state[key].detach().to(torch.float64).numpy()
        bias = state[bias_key].detach().to(torch.float64).numpy() if bias_key in state else np.zeros(len(weight))
        activation = "identity" if index == len(weights) - 1 else hidden_activation
        layers.append(PretrainedDense(weight, bias, activation))
    _check_chain(layers, path)
    return layers


def _from_onnx(path: Path) -> list[PretrainedDense]:
    import onnx
    from onnx import numpy_helper

    try:
        graph = onnx.load(str(path)).graph
    except Exception as error:  # onnx raises DecodeError and others for a file that is not a model
        raise ValueError(f"model.path: '{path.name}' is not an ONNX model ({type(error).__name__})") from None
    constants = {init.name: numpy_helper.to_array(init).astype(np.float64) for init in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant":
            constants[node.output[0]] = numpy_helper.to_array(node.attribute[0].t).astype(np.float64)
    layers: list[PretrainedDense] = []
    pending_matmul: np.ndarray | None = None
    for node in graph.node:
        name = f"node '{node.name or node.output[0]}' ({node.op_type})"
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        if node.op_type == "Constant" or node.op_type in PASS_THROUGH_OPS:
            continue
        if node.op_type == "Gemm":
            weight = constants.get(node.input[1])
            if weight is None or attrs.get("transA", 0) or attrs.get("alpha", 1.0) != 1.0:
                raise ValueError(f"model.path: {name}: only x @ W^T + b with constant W (a Linear layer) is supported")
            weight = weight if attrs.get("transB", 0) else weight.T
            bias = constants.get(node.input[2], np.zeros(len(weight))) if len(node.input) > 2 else np.zeros(len(weight))
            layers.append(PretrainedDense(weight * 1.0, bias * attrs.get("beta", 1.0), "identity"))
        elif node.op_type == "MatMul" and node.input[1] in constants:
            pending_matmul = constants[node.input[1]].T  # x @ W: W is (in, out)
            layers.append(PretrainedDense(pending_matmul, np.zeros(len(pending_matmul)), "identity"))
        elif node.op_type == "Add" and pending_matmul is not None and node.input[1] in constants:
            layers[-1] = PretrainedDense(layers[-1].weight, constants[node.input[1]].reshape(-1), "identity")
            pending_matmul = None
        elif node.op_type in ("Relu", "Clip", "HardSigmoid"):
            if not layers or layers[-1].activation != "identity":
                raise ValueError(f"model.path: {name}: an activation must follow a Linear layer")
            activation = _activation(node, attrs, constants, name)
            layers[-1] = PretrainedDense(layers[-1].weight, layers[-1].bias, activation)
        else:
            raise ValueError(
                f"model.path: {name} is not supported; dse reads Linear layers (Gemm, MatMul + Add) with Relu, "
                "Clip(-1, 1), HardSigmoid(alpha 0.25, beta 0.5) or Identity"
            )
    if not layers:
        raise ValueError(f"model.path: '{path.name}' has no Linear layers")
    _check_chain(layers, path)
    return layers


def _activation(node: object, attrs: dict[str, object], constants: dict[str, np.ndarray], name: str) -> str:
    op = node.op_type  # type: ignore[attr-defined]
    if op == "Relu":
        return "relu"
    if op == "HardSigmoid":
        alpha, beta = float(attrs.get("alpha", 0.2)), float(attrs.get("beta", 0.5))  # type: ignore[arg-type]
        if np.isclose(alpha, HARDSIGMOID_ALPHA) and np.isclose(beta, HARDSIGMOID_BETA):
            return "hardsigmoid"
        raise ValueError(
            f"model.path: {name} has alpha {alpha:.4g}, beta {beta:.4g}; dse's hardsigmoid is clamp(x/4 + 1/2, 0, 1) "
            "(torch.nn.Hardsigmoid is x/6 + 1/2: use torch.clamp(x / 4 + 0.5, 0, 1) in the model)"
        )
    inputs = list(node.input)  # type: ignore[attr-defined]
    low = constants.get(inputs[1]) if len(inputs) > 1 and inputs[1] else attrs.get("min")
    high = constants.get(inputs[2]) if len(inputs) > 2 and inputs[2] else attrs.get("max")
    if low is not None and high is not None and float(np.asarray(low)) == -1.0 and float(np.asarray(high)) == 1.0:
        return "hardtanh"
    raise ValueError(f"model.path: {name}: only Clip(-1, 1) (hardtanh) is supported, got min {low}, max {high}")


def _check_chain(layers: list[PretrainedDense], path: Path) -> None:
    for index, (before, after) in enumerate(zip(layers, layers[1:], strict=False)):
        if before.out_features != after.in_features:
            raise ValueError(
                f"model.path: '{path.name}': layer {index} has {before.out_features} outputs but layer {index + 1} "
                f"takes {after.in_features} inputs"
            )
