"""Activation + round half up + saturation as the hardware computes it: two thresholds and a bit slice.

Every activation is a clamp, and rounding and saturation are monotone, so
``sat(round(clamp(acc + offset, a, b)))`` equals ``clamp(round(acc + offset), low, high)`` with
``low = sat(round(a))`` and ``high = sat(round(b))`` (``contract.fixedpoint.activate_and_requantize``).
The hardware adds the rounding constant ``offset + 2**(s-1)`` once, into the bias, so the accumulator ends on
``acc' = acc + round_constant``: the result is ``low`` when ``acc' < below``, ``high`` when ``acc' >= above``, and
bits ``s + By - 1 .. s`` of ``acc'`` otherwise. No adder follows the accumulator.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from contract.fixedpoint import ACTIVATIONS, FixedFormat


@dataclass(frozen=True, slots=True)
class RequantPlan:
    out_bits: int
    shift: int  # s = activation frac bits - out frac bits >= 0
    round_constant: int  # activation offset + 2**(s-1), folded into the bias
    low: int
    high: int
    below: int  # acc' < below -> low   (acc' = acc + round_constant)
    above: int  # acc' >= above -> high

    @property
    def slice_bits(self) -> int:
        """acc' bits s + By - 1 .. 0: only these reach the output (besides the two comparisons)."""
        return self.shift + self.out_bits

    def select_structure(self, acc_bits: int) -> tuple[int, int, int, int, int]:
        """What the output select is made of, for an accumulator of ``acc_bits``:
        (active comparisons, bits where low and high differ, bits where they agree, bits of a one-sided clamp,
        bits of a sign-only select). A threshold outside the accumulator's range is a constant, not a comparator.
        """
        acc_min, acc_max = -(1 << (acc_bits - 1)), (1 << (acc_bits - 1)) - 1
        active = (acc_min < self.below <= acc_max) + (acc_min < self.above <= acc_max)
        if self.below == self.above == 0:  # high or 0 by the sign bit alone
            return active, 0, 0, 0, self.out_bits
        if active == 2:
            diff = ((self.low ^ self.high) & ((1 << self.out_bits) - 1)).bit_count()
            return active, diff, self.out_bits - diff, 0, 0
        return active, 0, 0, self.out_bits if active else 0, 0

    def apply(self, biased_acc: np.ndarray) -> np.ndarray:
        """The hardware's integer function of acc' (for tests against contract.fixedpoint)."""
        acc = np.asarray(biased_acc, dtype=np.int64)
        sign = 1 << (self.out_bits - 1)
        middle = ((acc >> self.shift) & ((1 << self.out_bits) - 1)) ^ sign
        middle = middle - sign
        return np.where(acc < self.below, self.low, np.where(acc >= self.above, self.high, middle)).astype(np.int64)


@cache
def requant_plan(activation: str, acc_frac_bits: int, out_fmt: FixedFormat) -> RequantPlan:
    f = acc_frac_bits
    offset, frac = 0, f
    bounds: tuple[int | None, int | None] = (None, None)  # clamp bounds on acc + offset
    if activation == "relu":
        bounds = (0, None)
    elif activation == "hardtanh":
        bounds = (-(1 << f), 1 << f)
    elif activation == "hardsigmoid":
        offset, frac, bounds = 1 << (f + 1), f + 2, (0, 1 << (f + 2))
    elif activation != "identity":
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    shift = frac - out_fmt.frac_bits
    half = (1 << (shift - 1)) if shift > 0 else 0

    def rounded(value: int) -> int:
        return (value + half) >> shift

    def saturated(value: int) -> int:
        return min(max(value, out_fmt.min_int), out_fmt.max_int)

    low = out_fmt.min_int if bounds[0] is None else saturated(rounded(bounds[0]))
    high = out_fmt.max_int if bounds[1] is None else saturated(rounded(bounds[1]))
    # rounded(v) <= low <=> v + half < (low + 1) * 2**s;  rounded(v) >= high <=> v + half >= high * 2**s,
    # with v = acc + offset and acc' = acc + offset + half.
    return RequantPlan(
        out_bits=out_fmt.total_bits,
        shift=shift,
        round_constant=offset + half,
        low=low,
        high=high,
        below=(low + 1) << shift,
        above=high << shift,
    )
