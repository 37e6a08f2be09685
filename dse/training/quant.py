"""Quantization-aware torch model that computes exactly what ``contract.reference`` computes.

Everything runs in float64: every fixed-point value is a dyadic number and, as long as the requantization
stage fits in 53 bits, every product, partial sum, activation and rounding below is exact in float64,
whatever order BLAS sums in. So the fake-quantized forward pass *is* the integer model, bit for bit.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional

from contract.design import AcceleratorDesign
from contract.fixedpoint import FixedFormat
from contract.layers import Conv1dLayer, ConvWeights, DenseLayer, DenseWeights
from dse.training.pool_qat import Pool1dQAT
from dse.training.recurrent_qat import RecurrentQAT

# float64 holds every integer of up to 53 bits (sign included) exactly.
EXACT_BITS = 53


def check_exact(design: AcceleratorDesign) -> None:
    """Reject designs whose arithmetic float64 cannot reproduce exactly."""
    for index, layer in enumerate(design.layers):
        if layer.requant_bits > EXACT_BITS:
            raise ValueError(
                f"layer {index}: its requantization stage needs {layer.requant_bits} bits but float64 "
                f"training is exact only up to {EXACT_BITS}; use narrower input/weight formats"
            )


class _RoundSaturate(torch.autograd.Function):
    """Forward: round half up + saturate (values stay dequantized). Backward: straight-through estimator."""

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, values: torch.Tensor, fmt: FixedFormat) -> torch.Tensor:
        codes = torch.floor(values * fmt.scale + 0.5)  # the same float ops as FixedFormat.quantize
        below, above = codes < fmt.min_int, codes > fmt.max_int
        ctx.save_for_backward(below, above)
        return codes.clamp(fmt.min_int, fmt.max_int) / fmt.scale

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        below, above = ctx.saved_tensors  # type: ignore[attr-defined]
        # Gradient 1 inside the range; a saturated value only gets the gradient that pulls it back inside,
        # so e.g. a wrong logit stuck at the top code can still be pushed down.
        blocked = (above & (grad < 0)) | (below & (grad > 0))
        return grad.masked_fill(blocked, 0.0), None


def fake_quant(values: torch.Tensor, fmt: FixedFormat) -> torch.Tensor:
    """Round half up to ``fmt`` and saturate; returns exact dequantized values (code / 2**frac_bits)."""
    return _RoundSaturate.apply(values, fmt)  # type: ignore[no-any-return]


def to_codes(values: torch.Tensor, fmt: FixedFormat) -> np.ndarray:
    """Float tensor -> int64 codes with exactly the rounding of ``fake_quant``."""
    codes = torch.floor(values.detach().to(torch.float64) * fmt.scale + 0.5).clamp(fmt.min_int, fmt.max_int)
    return codes.numpy().astype(np.int64)


def activate(acc: torch.Tensor, activation: str) -> torch.Tensor:
    """The activations of ``fixedpoint.activate_and_requantize`` on (dequantized) accumulator values."""
    if activation == "identity":
        return acc
    if activation == "relu":
        return torch.relu(acc)
    if activation == "hardtanh":
        return acc.clamp(-1.0, 1.0)
    if activation == "hardsigmoid":
        return (acc * 0.25 + 0.5).clamp(0.0, 1.0)  # shift-friendly v/4 + 1/2, not torch's v/6
    raise ValueError(f"unknown activation {activation!r}")


class DenseQAT(nn.Module):
    """The dense kind's QAT module: fake-quantized weights and bias, activation, fake-quantized output."""

    def __init__(self, layer: DenseLayer) -> None:
        super().__init__()
        self.layer = layer
        self.weight = nn.Parameter(torch.zeros(layer.out_features, layer.in_features, dtype=torch.float64))
        self.bias = nn.Parameter(torch.zeros(layer.out_features, dtype=torch.float64))

    def reset_parameters(self, generator: torch.Generator) -> None:
        """Uniform He init, clipped to the weight format: at least one LSB (so that narrow formats do not
        round every weight to 0) and at most the largest code. Biases start at 0."""
        fmt = self.layer.weight_fmt
        bound = min(max((6.0 / self.layer.in_features) ** 0.5, 1.0 / fmt.scale), fmt.max_int / fmt.scale)
        if fmt.max_int == 0:  # 1-bit weights: the only codes are -1 and 0
            bound = 1.0 / fmt.scale
        with torch.no_grad():
            self.weight.uniform_(-bound, bound, generator=generator)
            self.bias.zero_()

    def forward(self, x: torch.Tensor, quantized: bool = True) -> torch.Tensor:
        layer, weight, bias = self.layer, self.weight, self.bias
        if quantized:
            weight, bias = fake_quant(weight, layer.weight_fmt), fake_quant(bias, layer.bias_fmt)
        x = activate(functional.linear(x, weight, bias), layer.activation)
        return fake_quant(x, layer.out_fmt) if quantized else x

    def integer_weights(self) -> DenseWeights:
        return DenseWeights(to_codes(self.weight, self.layer.weight_fmt), to_codes(self.bias, self.layer.bias_fmt))

    def load_integer_weights(self, weights: DenseWeights) -> None:
        """The inverse of integer_weights: parameters that round to exactly these codes."""
        with torch.no_grad():
            self.weight.copy_(torch.from_numpy(self.layer.weight_fmt.to_float(weights.weight)))
            self.bias.copy_(torch.from_numpy(self.layer.bias_fmt.to_float(weights.bias)))


class Conv1dQAT(nn.Module):
    """The conv1d kind's QAT module on flat stream-order vectors (x[n, t*C + c]), bit-exact with
    Conv1dLayer.forward. With ``layer.batch_norm`` a BatchNorm1d follows the convolution in training and is
    folded into its weights and bias before they are quantized (running statistics outside training), so the
    fake-quantized model is the folded integer model."""

    def __init__(self, layer: Conv1dLayer) -> None:
        super().__init__()
        self.layer = layer
        self.weight = nn.Parameter(torch.zeros(layer.weight_shape, dtype=torch.float64))
        self.bias = nn.Parameter(torch.zeros(layer.out_channels, dtype=torch.float64))
        self.norm = nn.BatchNorm1d(layer.out_channels, dtype=torch.float64) if layer.batch_norm else None
        self.pads = (layer.pad_left, _right_pad(layer))

    def reset_parameters(self, generator: torch.Generator) -> None:
        fmt = self.layer.weight_fmt
        bound = min(max((6.0 / self.layer.fan_in) ** 0.5, 1.0 / fmt.scale), fmt.max_int / fmt.scale)
        if fmt.max_int == 0:
            bound = 1.0 / fmt.scale
        with torch.no_grad():
            self.weight.uniform_(-bound, bound, generator=generator)
            self.bias.zero_()
        if self.norm is not None:
            self.norm.reset_parameters()
            self.norm.reset_running_stats()

    def _ncl(self, x: torch.Tensor) -> torch.Tensor:
        layer = self.layer
        x = x.reshape(-1, layer.in_length, layer.in_channels).permute(0, 2, 1)
        return functional.pad(x, self.pads)

    def _convolve(self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        layer = self.layer
        out = functional.conv1d(x, weight, bias, stride=layer.stride, groups=layer.groups)
        return out[:, :, : layer.out_length]

    def folded(self, x: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Weight and bias with the batch norm folded in: batch statistics of ``x`` in training, else running."""
        if self.norm is None:
            return self.weight, self.bias
        norm = self.norm
        if norm.training and x is not None:
            out = self._convolve(x, self.weight, self.bias)
            mean, var = out.mean(dim=(0, 2)), out.var(dim=(0, 2), unbiased=False)
            with torch.no_grad():  # the running statistics as nn.BatchNorm1d keeps them
                count = out.numel() // out.shape[1]
                momentum = norm.momentum if norm.momentum is not None else 0.1
                norm.running_mean.mul_(1 - momentum).add_(momentum * mean)
                norm.running_var.mul_(1 - momentum).add_(momentum * var * count / max(count - 1, 1))
        else:
            mean, var = norm.running_mean, norm.running_var
        scale = norm.weight / torch.sqrt(var + norm.eps)
        return self.weight * scale[:, None, None], (self.bias - mean) * scale + norm.bias

    def forward(self, x: torch.Tensor, quantized: bool = True) -> torch.Tensor:
        layer = self.layer
        x = self._ncl(x)
        weight, bias = self.folded(x)
        if quantized:
            weight, bias = fake_quant(weight, layer.weight_fmt), fake_quant(bias, layer.bias_fmt)
        out = activate(self._convolve(x, weight, bias), layer.activation)
        out = out.permute(0, 2, 1).reshape(out.shape[0], -1)  # back to stream order t*OUT + o
        return fake_quant(out, layer.out_fmt) if quantized else out

    def integer_weights(self) -> ConvWeights:
        weight, bias = self.folded()
        return ConvWeights(to_codes(weight, self.layer.weight_fmt), to_codes(bias, self.layer.bias_fmt))

    def load_integer_weights(self, weights: ConvWeights) -> None:
        """Parameters (batch norm reset to the identity) that round to exactly these codes."""
        with torch.no_grad():
            self.weight.copy_(torch.from_numpy(self.layer.weight_fmt.to_float(weights.weight)))
            self.bias.copy_(torch.from_numpy(self.layer.bias_fmt.to_float(weights.bias)))
        if self.norm is not None:
            self.norm.reset_parameters()
            self.norm.reset_running_stats()
            self.norm.eps = 0.0


def _right_pad(layer: Conv1dLayer) -> int:
    """Zeros after the input: enough for the last window (the reference pads the same way)."""
    return max(0, (layer.out_length - 1) * layer.stride + layer.kernel_size - layer.in_length - layer.pad_left)


# One QAT module per layer kind (contract.layers.KINDS); tests/test_layer_kinds.py checks none is missing.
QAT_MODULES: dict[str, type[nn.Module]] = {
    "dense": DenseQAT,
    "conv1d": Conv1dQAT,
    "maxpool1d": Pool1dQAT,
    "avgpool1d": Pool1dQAT,
    "lstm": RecurrentQAT,
    "gru": RecurrentQAT,
}


class QuantizedNet(nn.Module):
    """Every layer of a design (whatever its placement), each as its kind's QAT module."""

    def __init__(self, design: AcceleratorDesign) -> None:
        super().__init__()
        check_exact(design)
        self.design = design
        self.layers = nn.ModuleList(QAT_MODULES[layer.kind](layer) for layer in design.layers)

    def reset_parameters(self, generator: torch.Generator) -> None:
        for module in self.layers:
            module.reset_parameters(generator)  # type: ignore[operator]

    def forward(self, x: torch.Tensor, quantized: bool = True) -> torch.Tensor:
        """x: float inputs -> dequantized outputs; ``quantized=False`` is the plain float model."""
        if quantized:
            x = fake_quant(x, self.design.layers[0].in_fmt)
        for module in self.layers:
            x = module(x, quantized)
        return x

    def integer_weights(self) -> list[Any]:
        return [module.integer_weights() for module in self.layers]  # type: ignore[operator]

    def load_integer_weights(self, weights: list[Any]) -> None:
        for module, layer_weights in zip(self.layers, weights, strict=True):
            module.load_integer_weights(layer_weights)  # type: ignore[operator]

    def output_codes(self, x: np.ndarray | torch.Tensor) -> np.ndarray:
        """Integer output codes of the last layer, computed by the fake-quantized torch model (in eval mode:
        folded batch norms use their running statistics, as the integer model does)."""
        training = self.training
        self.eval()
        with torch.no_grad():
            out = self(torch.as_tensor(x, dtype=torch.float64))
        self.train(training)
        return to_codes(out, self.design.layers[-1].out_fmt)


QuantizedMLP = QuantizedNet  # the name the training loop and checkpoints used before layer kinds
