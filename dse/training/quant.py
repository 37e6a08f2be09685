"""Quantization-aware torch model that computes exactly what ``dse.reference`` computes.

Everything runs in float64: every fixed-point value is a dyadic number and, as long as the requantization
stage fits in 53 bits, every product, partial sum, activation and rounding below is exact in float64,
whatever order BLAS sums in. So the fake-quantized forward pass *is* the integer model, bit for bit.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional

from dse.design import AcceleratorDesign
from dse.fixedpoint import FixedFormat

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


class QuantizedMLP(nn.Module):
    """All dense layers of a design (whatever their placement) with fake quantization everywhere."""

    def __init__(self, design: AcceleratorDesign) -> None:
        super().__init__()
        check_exact(design)
        self.design = design
        self.weights = nn.ParameterList(
            nn.Parameter(torch.zeros(layer.out_features, layer.in_features, dtype=torch.float64))
            for layer in design.layers
        )
        self.biases = nn.ParameterList(
            nn.Parameter(torch.zeros(layer.out_features, dtype=torch.float64)) for layer in design.layers
        )

    def reset_parameters(self, generator: torch.Generator) -> None:
        """Uniform He init, clipped to the weight format: at least one LSB (so that narrow formats do not
        round every weight to 0) and at most the largest code. Biases start at 0."""
        with torch.no_grad():
            for layer, weight, bias in zip(self.design.layers, self.weights, self.biases, strict=True):
                fmt = layer.weight_fmt
                bound = min(max((6.0 / layer.in_features) ** 0.5, 1.0 / fmt.scale), fmt.max_int / fmt.scale)
                if fmt.max_int == 0:  # 1-bit weights: the only codes are -1 and 0
                    bound = 1.0 / fmt.scale
                weight.uniform_(-bound, bound, generator=generator)
                bias.zero_()

    def forward(self, x: torch.Tensor, quantized: bool = True) -> torch.Tensor:
        """x: float features (N, in) -> dequantized outputs; ``quantized=False`` is the plain float model."""
        layers = self.design.layers
        if quantized:
            x = fake_quant(x, layers[0].in_fmt)
        for layer, weight, bias in zip(layers, self.weights, self.biases, strict=True):
            if quantized:
                weight, bias = fake_quant(weight, layer.weight_fmt), fake_quant(bias, layer.bias_fmt)
            x = activate(functional.linear(x, weight, bias), layer.activation)
            if quantized:
                x = fake_quant(x, layer.out_fmt)
        return x

    def output_codes(self, x: np.ndarray | torch.Tensor) -> np.ndarray:
        """Integer output codes of the last layer, computed by the fake-quantized torch model."""
        with torch.no_grad():
            out = self(torch.as_tensor(x, dtype=torch.float64))
        return to_codes(out, self.design.layers[-1].out_fmt)
