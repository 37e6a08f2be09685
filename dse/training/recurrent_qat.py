"""QAT module of the lstm and gru kinds: contract.layers.recurrent's integer arithmetic in float64 torch.

Every narrowing of the contract (gates, cell state, hidden state) is a fake_quant here: the values are dyadic and
the widest intermediate fits in 53 bits (RecurrentLayer.requant_bits, checked by quant.check_exact), so the
fake-quantized forward pass is the integer model bit for bit. ``quantized=False`` is the same network in float,
with the same hard sigmoid and hard tanh.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from contract.layers.recurrent import RecurrentLayer, RecurrentWeights


class RecurrentQAT(nn.Module):
    def __init__(self, layer: RecurrentLayer) -> None:
        super().__init__()
        self.layer = layer
        self.weight = nn.Parameter(torch.zeros(layer.rows, layer.fan_in, dtype=torch.float64))
        self.bias = nn.Parameter(torch.zeros(layer.rows, dtype=torch.float64))
        self.register_buffer("mask", torch.from_numpy(layer.weight_mask()).to(torch.float64))
        rows = torch.arange(layer.rows) // layer.hidden_size
        self.register_buffer("sigmoid_rows", (rows != 2), persistent=False)  # LSTM's g (row block 2) is tanh

    def reset_parameters(self, generator: torch.Generator) -> None:
        """torch's U(-1/sqrt(H), 1/sqrt(H)), at least one weight LSB; LSTM forget-gate biases start at 1 (remember)."""
        layer, fmt = self.layer, self.layer.weight_fmt
        bound = min(max(layer.hidden_size**-0.5, 1.0 / fmt.scale), fmt.max_int / fmt.scale)
        with torch.no_grad():
            self.weight.uniform_(-bound, bound, generator=generator)
            self.weight.mul_(self.mask)
            self.bias.zero_()
            if layer.cell == "lstm":
                self.bias[layer.hidden_size : 2 * layer.hidden_size] = 1.0

    def forward(self, x: torch.Tensor, quantized: bool = True) -> torch.Tensor:
        from dse.training.quant import activate, fake_quant  # quant registers this module: import late

        layer = self.layer
        h_size = layer.hidden_size
        weight, bias = self.weight * self.mask, self.bias
        if quantized:
            weight, bias = fake_quant(weight, layer.weight_fmt), fake_quant(bias, layer.bias_fmt)

        def narrow(fmt_name: str) -> Callable[[torch.Tensor], torch.Tensor]:
            fmt = getattr(layer, fmt_name)
            return (lambda v: fake_quant(v, fmt)) if quantized else (lambda v: v)

        to_gate, to_cell, to_state = narrow("gate_fmt"), narrow("cell_fmt"), narrow("in_fmt")
        steps = x.reshape(len(x), layer.seq_len, layer.in_features)
        h = torch.zeros(len(x), h_size, dtype=x.dtype)
        c = torch.zeros(len(x), h_size, dtype=x.dtype)
        outputs = []
        for t in range(layer.seq_len):
            acc = torch.cat([steps[:, t], h], dim=1) @ weight.T + bias
            if layer.cell == "lstm":  # one fake_quant for the four gates: i, f, o sigmoid, g tanh
                squashed = torch.where(self.sigmoid_rows, activate(acc, "hardsigmoid"), activate(acc, "hardtanh"))
                i, f, g, o = to_gate(squashed).split(h_size, dim=1)
                c = to_cell(f * c + i * g)
                h = to_state(o * c.clamp(-1.0, 1.0))
            else:
                r, z = to_gate(activate(acc[:, : 2 * h_size], "hardsigmoid")).split(h_size, dim=1)
                nx, nh = acc[:, 2 * h_size : 3 * h_size], acc[:, 3 * h_size :]
                n = to_gate(activate(nx + r * nh, "hardtanh"))
                h = to_state((1.0 - z) * n + z * h)
            outputs.append(h)
        return torch.cat(outputs, dim=1) if layer.return_sequence else h

    def integer_weights(self) -> RecurrentWeights:
        from dse.training.quant import to_codes

        return RecurrentWeights(
            to_codes(self.weight * self.mask, self.layer.weight_fmt), to_codes(self.bias, self.layer.bias_fmt)
        )

    def load_integer_weights(self, weights: RecurrentWeights) -> None:
        with torch.no_grad():
            self.weight.copy_(torch.from_numpy(self.layer.weight_fmt.to_float(weights.weight)))
            self.bias.copy_(torch.from_numpy(self.layer.bias_fmt.to_float(weights.bias)))
