"""Integer export and metrics: reported numbers come from ``contract.reference`` (what the hardware computes)."""

from __future__ import annotations

import math

import numpy as np
import torch

from contract.design import AcceleratorDesign
from contract.reference import LayerWeights, run_reference
from dse.datasets import Dataset
from dse.training.quant import QuantizedMLP


def quantize_inputs(design: AcceleratorDesign, x_float: np.ndarray) -> np.ndarray:
    """Float features -> int64 input codes of the first layer (round half up, saturate)."""
    return design.layers[0].in_fmt.quantize(x_float)


def export_integer_weights(model: QuantizedMLP) -> list[LayerWeights]:
    """The integer codes the fake-quantized forward pass uses: weights in weight_fmt, biases in bias_fmt."""
    return model.integer_weights()


def compute_metrics(outputs: np.ndarray, y: np.ndarray, task: str) -> dict[str, float]:
    """Classification: accuracy/error of argmax (ties -> lowest index). Regression: mse/mae per element."""
    if len(y) == 0:
        nan = math.nan
        return {"accuracy": nan, "error": nan} if task == "classification" else {"mse": nan, "mae": nan}
    if task == "classification":
        accuracy = float(np.mean(np.argmax(outputs, axis=1) == y))  # np.argmax picks the first maximum
        return {"accuracy": accuracy, "error": 1.0 - accuracy}
    diff = np.asarray(outputs, dtype=np.float64) - y
    return {"mse": float(np.mean(diff**2)), "mae": float(np.mean(np.abs(diff)))}


def evaluate_integer(
    design: AcceleratorDesign, weights: list[LayerWeights], dataset: Dataset, split: str = "test"
) -> dict[str, float]:
    """Metrics of the integer reference model on one split: the accuracy the accelerator really has."""
    x, y = dataset.split(split)
    codes = run_reference(design, weights, quantize_inputs(design, x))
    return compute_metrics(design.layers[-1].out_fmt.to_float(codes), y, dataset.task)


def evaluate_model(
    model: QuantizedMLP, dataset: Dataset, split: str = "test", *, quantized: bool = True
) -> dict[str, float]:
    """Metrics of the torch model; ``quantized=False`` gives the float model (same weights, no rounding)."""
    x, y = dataset.split(split)
    model.eval()
    with torch.no_grad():
        outputs = model(torch.from_numpy(x), quantized=quantized).numpy()
    return compute_metrics(outputs, y, dataset.task)
