"""Turns one Optuna trial into a candidate: a model + accelerator description and its training settings."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import optuna

from contract.design import AcceleratorDesign
from contract.fixedpoint import FixedFormat
from contract.layers import DenseLayer, LayerShape
from contract.layers.dense import DENSE_KNOBS, DenseFolding
from dse.config import Choices, FloatRange, IntRange, PretrainedSection, SearchConfig
from dse.pretrained import PretrainedDense, load_pretrained


@dataclass(frozen=True)
class Candidate:
    design: AcceleratorDesign
    epochs: int
    learning_rate: float
    batch_size: int
    folds: int = 1  # k-fold cross-validation of the quality objective (1: the fixed validation split)
    repeats: int = 1  # trainings with different seeds per fold, averaged
    pretrained: dict[str, str] | None = None  # {"path", "activation"}: start from this model's float weights

    def to_dict(self) -> dict[str, Any]:
        return {
            "design": self.design.to_dict(),
            "epochs": self.epochs,
            "learning_rate": self.learning_rate,
            "batch_size": self.batch_size,
            "folds": self.folds,
            "repeats": self.repeats,
            "pretrained": self.pretrained,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Candidate:
        return cls(
            AcceleratorDesign.from_dict(data["design"]),
            int(data["epochs"]),
            float(data["learning_rate"]),
            int(data["batch_size"]),
            int(data.get("folds", 1)),  # studies written before k-fold existed
            int(data.get("repeats", 1)),
            data.get("pretrained"),
        )


def suggest(trial: optuna.Trial, name: str, param: Any) -> Any:
    """Fixed values pass through; ranges and choices become Optuna parameters named ``name``."""
    if isinstance(param, IntRange):
        return trial.suggest_int(name, param.low, param.high, step=param.step)
    if isinstance(param, FloatRange):
        return trial.suggest_float(name, param.low, param.high, log=param.log)
    if isinstance(param, Choices):
        return trial.suggest_categorical(name, param.choices)
    return param


def _format(bits: int, int_bits: int) -> FixedFormat:
    # int_bits counts the sign; a sampled int_bits above the width leaves no fractional bits.
    return FixedFormat(bits, max(0, bits - int_bits))


def sample_folding(trial: optuna.Trial, hw: Any, index: int, fan_in: int, fan_out: int) -> DenseFolding:
    """Every dense knob (contract.layers.dense.DENSE_KNOBS) as the parameter ``<knob>_<layer>``; integer knobs
    are capped by the layer's shape (``pe`` <= outputs, ``simd`` <= inputs)."""
    shape = LayerShape(fan_in, fan_out)
    values: dict[str, Any] = {}
    for knob in DENSE_KNOBS:
        value = suggest(trial, f"{knob.name}_{index}", getattr(hw, knob.name))
        values[knob.name] = max(1, min(int(value), knob.upper(shape))) if knob.is_int else str(value)
    return DenseFolding(**values)


def sample_candidate(trial: optuna.Trial, config: SearchConfig, n_inputs: int, n_outputs: int) -> Candidate:
    model, quant, hw, train = config.model, config.quantization, config.hardware, config.training
    pretrained = None
    if isinstance(model, PretrainedSection):
        pretrained = {"path": str(model.path), "activation": model.activation}
        file_layers = pretrained_layers(model, n_inputs, n_outputs)
        widths = [layer.out_features for layer in file_layers[:-1]]
        activations = [layer.activation for layer in file_layers]
    else:
        hidden = int(suggest(trial, "hidden_layers", model.hidden_layers))
        widths = [int(suggest(trial, f"width_{i}", model.width)) for i in range(hidden)]
        activation = str(suggest(trial, "activation", model.activation))
        activations = [activation] * hidden + ["identity"]
    act_fmt = _format(
        int(suggest(trial, "activation_bits", quant.activation_bits)),
        int(suggest(trial, "activation_int_bits", quant.activation_int_bits)),
    )
    weight_fmt = _format(
        int(suggest(trial, "weight_bits", quant.weight_bits)),
        int(suggest(trial, "weight_int_bits", quant.weight_int_bits)),
    )
    device = str(suggest(trial, "device", hw.device))
    clock = float(suggest(trial, "clock_mhz", hw.clock_mhz))
    sizes = [n_inputs, *widths, n_outputs]
    n_layers = len(sizes) - 1
    mcu_tail = min(n_layers, int(suggest(trial, "mcu_tail_layers", hw.mcu_tail_layers)))
    layers = []
    for index in range(n_layers):
        fan_out = sizes[index + 1]
        folding = sample_folding(trial, hw, index, sizes[index], fan_out)
        layers.append(
            DenseLayer(
                in_features=sizes[index],
                out_features=fan_out,
                activation=activations[index],
                in_fmt=act_fmt,
                weight_fmt=weight_fmt,
                out_fmt=act_fmt,
                folding=folding,
                placement="mcu" if index >= n_layers - mcu_tail else "fpga",
            )
        )
    design = AcceleratorDesign(tuple(layers), device=device, clock_mhz=clock, name="dse_net")
    return Candidate(
        design=design,
        epochs=int(suggest(trial, "epochs", train.epochs)),
        learning_rate=float(suggest(trial, "learning_rate", train.learning_rate)),
        batch_size=int(suggest(trial, "batch_size", train.batch_size)),
        folds=train.folds,
        repeats=train.repeats,
        pretrained=pretrained,
    )


@cache
def _pretrained(path: str, activation: str) -> tuple[PretrainedDense, ...]:
    return tuple(load_pretrained(Path(path), activation))


def pretrained_layers(model: PretrainedSection, n_inputs: int, n_outputs: int) -> tuple[PretrainedDense, ...]:
    """The file's layers (read once per process), refused unless they map the dataset's inputs to its outputs."""
    layers = _pretrained(str(model.path), model.activation)
    if (layers[0].in_features, layers[-1].out_features) != (n_inputs, n_outputs):
        raise ValueError(
            f"model.path: '{model.path.name}' maps {layers[0].in_features} inputs to {layers[-1].out_features} "
            f"outputs, but the dataset has {n_inputs} features and {n_outputs} outputs (classes or targets)"
        )
    return layers
