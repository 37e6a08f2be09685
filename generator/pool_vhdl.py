"""The pooling kinds' VHDL entity (generator/templates/pool/), registered in generator.vhdl.EMITTERS by
generator/__init__.py. Kept apart from generator.vhdl so the dense calibration cache stays valid."""

from __future__ import annotations

from importlib import resources
from string import Template
from typing import Any

from contract.layers.pool import AvgPool1dLayer, MaxPool1dLayer


def _template() -> Template:
    return Template(resources.files("generator").joinpath("templates", "pool", "pool1d_layer.vhd").read_text())


def _ops(layer: MaxPool1dLayer | AvgPool1dLayer, acc_bits: int) -> tuple[str, str]:
    """(merge: running value with the new element, result: held value -> output code)."""
    first = "pos = 0"
    if isinstance(layer, MaxPool1dLayer):
        merge = f"  merged <= x when {first} or x > acc(chan) else acc(chan);"
        body = f"  begin\n    return std_logic_vector(resize(value, {layer.out_fmt.total_bits}));"
        return merge, body
    merge = f"  merged <= x when {first} else acc(chan) + x;"
    wide, out = layer.product_bits, layer.out_fmt
    body = f"""    variable scaled : signed({wide} - 1 downto 0);
    variable code   : signed({wide} - 1 downto 0);
  begin
    -- (sum * M + 2**(sh-1)) >> sh with M = {layer.reciprocal}, sh = {layer.shift}; then saturate.
    scaled := {_shift_add(layer.reciprocal, wide)};
    code   := shift_right(scaled + to_signed({1 << (layer.shift - 1)}, {wide}), {layer.shift});
    if code > to_signed({out.max_int}, {wide}) then
      return std_logic_vector(to_signed({out.max_int}, {out.total_bits}));
    elsif code < to_signed({out.min_int}, {wide}) then
      return std_logic_vector(to_signed({out.min_int}, {out.total_bits}));
    end if;
    return std_logic_vector(resize(code, {out.total_bits}));"""
    return merge, body


def _shift_add(constant: int, wide: int) -> str:
    """value * constant as a sum of shifted copies (the constant's set bits): LUT adders, never a DSP block."""
    terms = [f"shift_left(resize(value, {wide}), {bit})" for bit in range(constant.bit_length()) if constant >> bit & 1]
    return " + ".join(terms)


def emit_pool1d(entity: str, layer: Any, weights: Any) -> str:
    acc_bits = layer.sum_bits if isinstance(layer, AvgPool1dLayer) else layer.in_fmt.total_bits
    merge, body = _ops(layer, acc_bits)
    return _template().substitute(
        entity=entity,
        op="max" if isinstance(layer, MaxPool1dLayer) else "average",
        channels=layer.channels,
        length=layer.in_length,
        window=layer.window,
        in_bits=layer.in_fmt.total_bits,
        out_bits=layer.out_fmt.total_bits,
        acc_bits=acc_bits,
        kept_steps=layer.out_length * layer.window,
        last_window_start=(layer.out_length - 1) * layer.window,
        merge=merge,
        result_body=body,
    )
