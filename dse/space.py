"""Turns one Optuna trial into a candidate: a model + accelerator description and its training settings."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

import optuna

from contract.design import AcceleratorDesign
from contract.fixedpoint import FixedFormat
from contract.layers import KINDS, DenseLayer, LayerShape
from contract.layers.base import Knob
from contract.layers.conv import CONV_KNOBS, Conv1dLayer, ConvFolding
from contract.layers.dense import DENSE_KNOBS, DenseFolding
from contract.layers.pool import AvgPool1dLayer, MaxPool1dLayer
from contract.layers.recurrent import RECURRENT_KNOBS, RecurrentFolding
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

    def training_key(self) -> str:
        """Everything training depends on: the layers without their folding and placement (the accelerator does
        not change the weights), and the training settings. Equal keys train the same network."""
        layers = [
            {k: v for k, v in layer.to_dict().items() if k not in ("folding", "placement")}
            for layer in self.design.layers
        ]
        data = self.to_dict() | {"design": layers}
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]

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


class ParamsTrial:
    """A trial that answers every suggestion from a complete parameter set, with no distribution bookkeeping: how
    the two-level search rebuilds thousands of accelerator variants per second (optuna.trial.FixedTrial checks and
    records every call, which costs more than the estimate itself)."""

    def __init__(self, params: dict[str, Any]) -> None:
        self.params = params

    def suggest_int(self, name: str, low: int, high: int, step: int = 1, log: bool = False) -> int:
        return int(self.params[name])

    def suggest_float(self, name: str, low: float, high: float, log: bool = False) -> float:
        return float(self.params[name])

    def suggest_categorical(self, name: str, choices: Any) -> Any:
        return self.params[name]


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


def sample_knobs(trial: optuna.Trial, hw: Any, index: int, knobs: tuple[Knob, ...], shape: Any) -> dict[str, Any]:
    """A kind's knobs as the parameters ``<knob>_<layer>``, integer knobs capped by the layer's shape."""
    values: dict[str, Any] = {}
    for knob in knobs:
        value = suggest(trial, f"{knob.name}_{index}", getattr(hw, knob.name))
        values[knob.name] = max(1, min(int(value), knob.upper(shape))) if knob.is_int else str(value)
    return values


def sample_formats(trial: optuna.Trial, quant: Any, n_layers: int) -> tuple[list[FixedFormat], list[FixedFormat]]:
    """Activation formats at the n_layers + 1 layer boundaries and the n_layers weight formats. With
    ``quantization.per_layer`` every boundary and every layer gets its own bits (``activation_bits_<i>``,
    ``weight_bits_<i>``); the integer bits stay shared."""
    act_int = int(suggest(trial, "activation_int_bits", quant.activation_int_bits))
    weight_int = int(suggest(trial, "weight_int_bits", quant.weight_int_bits))
    if not quant.per_layer:
        act = _format(int(suggest(trial, "activation_bits", quant.activation_bits)), act_int)
        weight = _format(int(suggest(trial, "weight_bits", quant.weight_bits)), weight_int)
        return [act] * (n_layers + 1), [weight] * n_layers
    acts = [
        _format(int(suggest(trial, f"activation_bits_{i}", quant.activation_bits)), act_int)
        for i in range(n_layers + 1)
    ]
    weights = [_format(int(suggest(trial, f"weight_bits_{i}", quant.weight_bits)), weight_int) for i in range(n_layers)]
    for i in range(n_layers):  # a layer cannot output more fractional bits than its product has: capped
        most = acts[i].frac_bits + weights[i].frac_bits
        if acts[i + 1].frac_bits > most:
            acts[i + 1] = FixedFormat(acts[i + 1].total_bits - (acts[i + 1].frac_bits - most), most)
    return acts, weights


def finish_candidate(
    trial: optuna.Trial,
    config: SearchConfig,
    layers: list[Any],
    device: str,
    clock: float,
    pretrained: dict[str, str] | None = None,
) -> Candidate:
    """Every family's last step: MCU placement, the design, and the training settings."""
    train = config.training
    design = AcceleratorDesign(
        tuple(place_on_mcu(trial, config.hardware, layers)), device=device, clock_mhz=clock, name="dse_net"
    )
    return Candidate(
        design=design,
        epochs=int(suggest(trial, "epochs", train.epochs)),
        learning_rate=float(suggest(trial, "learning_rate", train.learning_rate)),
        batch_size=int(suggest(trial, "batch_size", train.batch_size)),
        folds=train.folds,
        repeats=train.repeats,
        pretrained=pretrained,
    )


def place_on_mcu(trial: optuna.Trial, hw: Any, layers: list[Any]) -> list[Any]:
    """The first ``mcu_head_layers`` and the last ``mcu_tail_layers`` layers run on the RP2040; the FPGA runs the
    contiguous segment between them (none when head + tail cover the network)."""
    n = len(layers)
    head = min(n, int(suggest(trial, "mcu_head_layers", hw.mcu_head_layers)))
    tail = min(n - head, int(suggest(trial, "mcu_tail_layers", hw.mcu_tail_layers)))
    return [replace(layer, placement="mcu") if i < head or i >= n - tail else layer for i, layer in enumerate(layers)]


def sample_candidate(
    trial: optuna.Trial,
    config: SearchConfig,
    n_inputs: int,
    n_outputs: int,
    input_shape: tuple[int, ...] | None = None,
) -> Candidate:
    """One candidate of the search file's model family; ``input_shape`` is (channels, length) for series."""
    if config.model.family == "conv1d":
        return sample_conv1d_candidate(trial, config, input_shape or (1, n_inputs), n_outputs)
    if config.model.family == "lstm":
        return sample_recurrent_candidate(trial, config, input_shape or (1, n_inputs), n_outputs)
    model, quant, hw = config.model, config.quantization, config.hardware
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
    sizes = [n_inputs, *widths, n_outputs]
    n_layers = len(sizes) - 1
    act_fmts, weight_fmts = sample_formats(trial, quant, n_layers)
    device = str(suggest(trial, "device", hw.device))
    clock = float(suggest(trial, "clock_mhz", hw.clock_mhz))
    layers = []
    for index in range(n_layers):
        fan_out = sizes[index + 1]
        folding = sample_folding(trial, hw, index, sizes[index], fan_out)
        layers.append(
            DenseLayer(
                in_features=sizes[index],
                out_features=fan_out,
                activation=activations[index],
                in_fmt=act_fmts[index],
                weight_fmt=weight_fmts[index],
                out_fmt=act_fmts[index + 1],
                folding=folding,
            )
        )
    return finish_candidate(trial, config, layers, device, clock, pretrained)


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


def _series_shape(input_shape: tuple[int, ...]) -> tuple[int, int]:
    if len(input_shape) == 2:
        return int(input_shape[0]), int(input_shape[1])
    return 1, int(input_shape[0])  # tabular features as a 1-channel series


def sample_conv1d_candidate(
    trial: optuna.Trial, config: SearchConfig, input_shape: tuple[int, ...], n_outputs: int
) -> Candidate:
    """conv blocks (plain, or depthwise + pointwise when separable) -> flatten (a no-op in stream order) -> dense
    head; every conv and dense layer gets its own folding knobs."""
    model, quant, hw = config.model, config.quantization, config.hardware
    channels, length = _series_shape(input_shape)
    blocks = int(suggest(trial, "blocks", model.blocks))
    separable = bool(suggest(trial, "separable", model.separable))
    padding = str(suggest(trial, "padding", model.padding))
    activation = str(suggest(trial, "activation", model.activation))
    pooling = str(suggest(trial, "pooling", model.pooling))
    pool_window = int(suggest(trial, "pool_window", model.pool_window)) if pooling != "none" else 0
    global_pool = bool(suggest(trial, "global_pool", model.global_pool))
    acts, weights = sample_formats(trial, quant, 1)
    act_fmt, weight_fmt = acts[0], weights[0]
    device = str(suggest(trial, "device", hw.device))
    clock = float(suggest(trial, "clock_mhz", hw.clock_mhz))
    formats = {"in_fmt": act_fmt, "weight_fmt": weight_fmt, "out_fmt": act_fmt}
    layers: list[Any] = []

    def conv(out_channels: int, kernel: int, stride: int, groups: int, pad: str) -> Conv1dLayer:
        probe = Conv1dLayer(
            channels,
            length,
            out_channels,
            kernel,
            activation,
            **formats,
            stride=stride,
            padding=pad,
            groups=groups,
            batch_norm=model.batch_norm,
        )
        knobs = sample_knobs(trial, hw, len(layers), CONV_KNOBS, probe)
        return replace(probe, folding=ConvFolding(**knobs))

    for block in range(blocks):
        out_channels = int(suggest(trial, f"channels_{block}", model.channels))
        kernel = int(suggest(trial, f"kernel_size_{block}", model.kernel_size))
        stride = int(suggest(trial, f"stride_{block}", model.stride))
        if padding == "valid":
            kernel = min(kernel, length)  # the input has shrunk below the kernel: one output position
        if separable:
            layers.append(conv(channels, kernel, stride, channels, padding))
            channels, length = layers[-1].out_channels, layers[-1].out_length
            layers.append(conv(out_channels, 1, 1, 1, "valid"))
        else:
            layers.append(conv(out_channels, kernel, stride, 1, padding))
        channels, length = layers[-1].out_channels, layers[-1].out_length
        if pooling != "none" and length >= pool_window:
            pool_kind = MaxPool1dLayer if pooling == "max" else AvgPool1dLayer
            layers.append(pool_kind(channels, length, pool_window, act_fmt, act_fmt))
            length = layers[-1].out_length
    if global_pool and length > 1:
        layers.append(AvgPool1dLayer(channels, length, length, act_fmt, act_fmt))
        length = 1
    dense_head(trial, config, layers, channels * length, n_outputs, formats)
    return finish_candidate(trial, config, layers, device, clock)


def dense_head(
    trial: optuna.Trial, config: SearchConfig, layers: list[Any], inputs: int, n_outputs: int, formats: dict[str, Any]
) -> None:
    """head_layers dense layers of head_width_<i> (the model's activation), then the identity output layer."""
    model, hw = config.model, config.hardware
    head = int(suggest(trial, "head_layers", model.head_layers))
    sizes = [inputs] + [int(suggest(trial, f"head_width_{i}", model.head_width)) for i in range(head)] + [n_outputs]
    activation = str(suggest(trial, "activation", model.activation))
    for position in range(len(sizes) - 1):
        last = position == len(sizes) - 2
        knobs = sample_knobs(trial, hw, len(layers), DENSE_KNOBS, LayerShape(sizes[position], sizes[position + 1]))
        layers.append(
            DenseLayer(
                sizes[position],
                sizes[position + 1],
                "identity" if last else activation,
                **formats,
                folding=DenseFolding(**knobs),
            )
        )


def sample_recurrent_candidate(
    trial: optuna.Trial, config: SearchConfig, input_shape: tuple[int, ...], n_outputs: int
) -> Candidate:
    """[linear kernel-1 projection] -> ``layers`` lstm/gru layers (all but the last return every step's state) ->
    dense head on the last state; every layer gets its own folding knobs."""
    model, quant, hw = config.model, config.quantization, config.hardware
    channels, length = _series_shape(input_shape)
    cell = str(suggest(trial, "cell", model.cell))
    acts, weights = sample_formats(trial, quant, 1)
    act_fmt, weight_fmt = acts[0], weights[0]
    # The gates' fractional bits come from the product's: gate_bits is capped at in frac + weight frac + 2.
    gate_bits = min(int(suggest(trial, "gate_bits", model.gate_bits)), act_fmt.frac_bits + weight_fmt.frac_bits + 2)
    cell_bits = int(suggest(trial, "cell_bits", model.cell_bits))
    cell_fmt = _format(cell_bits, int(suggest(trial, "cell_int_bits", model.cell_int_bits)))
    device = str(suggest(trial, "device", hw.device))
    clock = float(suggest(trial, "clock_mhz", hw.clock_mhz))
    formats = {"in_fmt": act_fmt, "weight_fmt": weight_fmt, "out_fmt": act_fmt}
    layers: list[Any] = []
    projection = int(suggest(trial, "projection", model.projection))
    if projection:
        probe = Conv1dLayer(channels, length, projection, 1, "identity", **formats)
        layers.append(replace(probe, folding=ConvFolding(**sample_knobs(trial, hw, 0, CONV_KNOBS, probe))))
        channels = projection
    count = int(suggest(trial, "layers", model.layers))
    for index in range(count):
        hidden = int(suggest(trial, f"hidden_size_{index}", model.hidden_size))
        probe = KINDS[cell](
            channels,
            length,
            hidden,
            **formats,
            gate_bits=max(3, gate_bits),
            cell_fmt=cell_fmt,
            return_sequence=index < count - 1,
        )
        knobs = sample_knobs(trial, hw, len(layers), RECURRENT_KNOBS, probe)
        layers.append(replace(probe, folding=RecurrentFolding(**knobs)))
        channels = hidden
    dense_head(trial, config, layers, channels, n_outputs, formats)
    return finish_candidate(trial, config, layers, device, clock)
