"""QAT modules of the pooling kinds: the same integer arithmetic as contract.layers.pool, in float64 torch."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from contract.layers.pool import AvgPool1dLayer, MaxPool1dLayer


class Pool1dQAT(nn.Module):
    """No parameters. Max pooling passes codes through; average pooling rounds as the hardware does, with a
    straight-through gradient (the float mean's)."""

    def __init__(self, layer: MaxPool1dLayer | AvgPool1dLayer) -> None:
        super().__init__()
        self.layer = layer

    def reset_parameters(self, generator: torch.Generator) -> None:
        return None

    def _windows(self, x: torch.Tensor) -> torch.Tensor:
        layer = self.layer
        kept = x.reshape(len(x), layer.in_length, layer.channels)[:, : layer.out_length * layer.window]
        return kept.reshape(len(x), layer.out_length, layer.window, layer.channels)

    def forward(self, x: torch.Tensor, quantized: bool = True) -> torch.Tensor:
        layer = self.layer
        windows = self._windows(x)
        if isinstance(layer, MaxPool1dLayer):
            return windows.amax(dim=2).reshape(len(x), layer.out_size)
        mean = windows.mean(dim=2)
        if not quantized:
            return mean.reshape(len(x), layer.out_size)
        with torch.no_grad():  # integer codes: every input is a multiple of 2**-Fx, every step below is exact
            sums = windows.sum(dim=2) * layer.in_fmt.scale
            rounded = torch.floor((sums * layer.reciprocal + 2.0 ** (layer.shift - 1)) / 2.0**layer.shift)
            codes = rounded.clamp(layer.out_fmt.min_int, layer.out_fmt.max_int) / layer.out_fmt.scale
        return (mean + (codes - mean).detach()).reshape(len(x), layer.out_size)

    def integer_weights(self) -> Any:
        return self.layer.random_weights(None)  # type: ignore[arg-type]  # the empty weights, no randomness

    def load_integer_weights(self, weights: Any) -> None:
        return None
