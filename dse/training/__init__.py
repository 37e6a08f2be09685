"""Quantization-aware training whose fake-quantized forward pass equals ``contract.reference`` bit for bit."""

from dse.training.checkpoint import load_checkpoint, save_checkpoint
from dse.training.evaluation import (
    compute_metrics,
    evaluate_integer,
    evaluate_model,
    export_integer_weights,
    quantize_inputs,
)
from dse.training.loop import EpochCallback, TrainedModel, TrainingDiverged, check_compatible, train
from dse.training.quant import EXACT_BITS, QuantizedMLP, check_exact, fake_quant

__all__ = [
    "EXACT_BITS",
    "EpochCallback",
    "QuantizedMLP",
    "TrainedModel",
    "TrainingDiverged",
    "check_compatible",
    "check_exact",
    "compute_metrics",
    "evaluate_integer",
    "evaluate_model",
    "export_integer_weights",
    "fake_quant",
    "load_checkpoint",
    "quantize_inputs",
    "save_checkpoint",
    "train",
]
