"""The one fixed-point spec shared by training, the integer reference model and the VHDL.

Every value is a signed two's-complement integer ``q`` that stands for ``q / 2**frac_bits``.
Rounding is *round half up* (``floor(v + 1/2)``) and every narrowing saturates to the
target range. Accumulators are sized so that they can never overflow (see ``accumulator_bits``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class FixedFormat:
    total_bits: int
    frac_bits: int

    def __post_init__(self) -> None:
        if not 1 <= self.total_bits <= 32:
            raise ValueError(f"total_bits must be in 1..32, got {self.total_bits}")
        if not -32 <= self.frac_bits <= 64:
            raise ValueError(f"frac_bits must be in -32..64, got {self.frac_bits}")

    @property
    def min_int(self) -> int:
        return -(1 << (self.total_bits - 1))

    @property
    def max_int(self) -> int:
        return (1 << (self.total_bits - 1)) - 1

    @property
    def scale(self) -> float:
        return float(2.0**self.frac_bits)

    def quantize(self, values: np.ndarray | float) -> np.ndarray:
        """Float -> integer code: round half up, then saturate."""
        scaled = np.floor(np.asarray(values, dtype=np.float64) * self.scale + 0.5)
        return np.clip(scaled, self.min_int, self.max_int).astype(np.int64)

    def to_float(self, codes: np.ndarray) -> np.ndarray:
        return np.asarray(codes, dtype=np.float64) / self.scale

    def saturate(self, codes: np.ndarray) -> np.ndarray:
        return np.clip(codes, self.min_int, self.max_int)

    def to_dict(self) -> dict[str, int]:
        return {"total_bits": self.total_bits, "frac_bits": self.frac_bits}

    @classmethod
    def from_dict(cls, data: dict[str, int]) -> FixedFormat:
        return cls(int(data["total_bits"]), int(data["frac_bits"]))

    def __str__(self) -> str:
        return f"Q{self.total_bits}.{self.frac_bits}"


def product_format(in_fmt: FixedFormat, weight_fmt: FixedFormat) -> FixedFormat:
    """Exact format of x*w; the bias is stored in this format too."""
    return FixedFormat(in_fmt.total_bits + weight_fmt.total_bits, in_fmt.frac_bits + weight_fmt.frac_bits)


def accumulator_bits(in_fmt: FixedFormat, weight_fmt: FixedFormat, fan_in: int, offset: int = 0) -> int:
    """Smallest signed width that holds bias + sum of ``fan_in`` products (+ a constant ``offset`` >= 0).

    |x*w| <= 2**(Bx+Bw-2) and |bias| <= 2**(Bx+Bw-1), so |acc| <= 2**(Bx+Bw-2) * (fan_in + 2) + offset.
    The hardware folds the rounding constant into the bias (``offset``), so its accumulator is sized for it.
    """
    max_abs = (1 << (in_fmt.total_bits + weight_fmt.total_bits - 2)) * (fan_in + 2) + offset
    return max_abs.bit_length() + 1


def requant_bits(acc_bits: int, acc_frac_bits: int) -> int:
    """Width of the activation + rounding stage: room for the hard-sigmoid offset 2**(F+2) and the rounding carry."""
    return max(acc_bits, acc_frac_bits + 4) + 1


def round_shift(values: np.ndarray, shift: int) -> np.ndarray:
    """floor(v / 2**shift + 1/2) for shift > 0, exact left shift otherwise (integers only)."""
    values = np.asarray(values, dtype=np.int64)
    if shift > 0:
        return (values + (1 << (shift - 1))) >> shift
    return values << (-shift)


ACTIVATIONS = ("identity", "relu", "hardtanh", "hardsigmoid")


def activate_and_requantize(acc: np.ndarray, acc_frac_bits: int, activation: str, out_fmt: FixedFormat) -> np.ndarray:
    """Activation in the exact accumulator domain, then one round-half-up + saturation to ``out_fmt``.

    hardtanh(v) = clamp(v, -1, 1); hardsigmoid(v) = clamp(v/4 + 1/2, 0, 1) (shift-friendly, not torch's v/6).
    """
    acc = np.asarray(acc, dtype=np.int64)
    frac = acc_frac_bits
    if activation == "identity":
        pre = acc
    elif activation == "relu":
        pre = np.maximum(acc, 0)
    elif activation == "hardtanh":
        one = 1 << frac
        pre = np.clip(acc, -one, one)
    elif activation == "hardsigmoid":
        # v/4 + 1/2 at frac+2 fractional bits is acc + 2**(frac+1); clamp to [0, 1] = [0, 2**(frac+2)].
        pre = np.clip(acc + (1 << (frac + 1)), 0, 1 << (frac + 2))
        frac += 2
    else:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    return out_fmt.saturate(round_shift(pre, frac - out_fmt.frac_bits))


def ceil_log2(n: int) -> int:
    return max(0, math.ceil(math.log2(n))) if n > 1 else 0
