"""Pooling kinds over a time-major stream (element t*C + c): ``maxpool1d`` and ``avgpool1d``.

Windows do not overlap (stride = window, torch's default); the last ``L mod W`` time steps are dropped, as
torch's floor mode does. Global average pooling is ``avgpool1d`` with window = length.

The engine streams: one running register per channel, an element taken every cycle. A window's result leaves
with the window's last element, except for the last window: its C results are held until the vector's last
element (after any dropped tail) and then shifted out, so the latency does not depend on how inputs arrived.

Average, exactly as training, reference and VHDL compute it: with the window sum ``s`` of input codes,
``y = sat((s * M + 2**(sh - 1)) >> sh)``, ``M = round(2**AVG_RECIPROCAL_BITS / W)``, ``sh = AVG_RECIPROCAL_BITS
+ Fx - Fy``: a multiplication by the reciprocal with 16 fractional bits, then one round half up and saturation.
For a power-of-two window M is a power of two and the result is the exact rounded mean.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from contract.fixedpoint import FixedFormat, ceil_log2
from contract.layers.base import PLACEMENTS, Knob, register
from contract.layers.dense import DenseWeights

AVG_RECIPROCAL_BITS = 16
POOL_KNOBS: tuple[Knob, ...] = ()  # nothing to fold: one element per cycle is the stream's own rate


@dataclass(frozen=True, slots=True)
class PoolFolding:
    """Pooling has no knobs; the empty folding keeps the design JSON uniform across kinds."""

    def to_dict(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PoolFolding:
        return cls()


@dataclass(frozen=True, slots=True)
class _Pool1d:
    channels: int
    in_length: int
    window: int
    in_fmt: FixedFormat
    out_fmt: FixedFormat
    folding: PoolFolding = field(default_factory=PoolFolding)
    placement: str = "fpga"
    out_length: int = field(init=False, repr=False, compare=False)

    kind = "pool"
    KNOBS = POOL_KNOBS

    def __post_init__(self) -> None:
        if self.channels < 1 or self.in_length < 1:
            raise ValueError(f"{self.kind}: channels and length must be >= 1, got {self.channels}, {self.in_length}")
        if not 1 <= self.window <= self.in_length:
            raise ValueError(f"{self.kind}: window must be in 1..{self.in_length} (the length), got {self.window}")
        if self.placement not in PLACEMENTS:
            raise ValueError(f"{self.kind}: placement must be one of {', '.join(PLACEMENTS)}, got {self.placement!r}")
        object.__setattr__(self, "out_length", self.in_length // self.window)

    @property
    def in_size(self) -> int:
        return self.in_length * self.channels

    @property
    def out_size(self) -> int:
        return self.out_length * self.channels

    @property
    def macs(self) -> int:
        return 0

    @property
    def params(self) -> int:
        return 0

    @property
    def latency_cycles(self) -> int:
        """Last input hand-shake -> last output hand-shake, out_ready high: the last window's C held results are
        loaded into the output register one per edge from the next edge on, each taken one edge after loading."""
        return self.channels + 1

    @property
    def bound_cycles(self) -> float:
        return 0.0

    @property
    def requant_bits(self) -> int:
        """Widest intermediate of the integer arithmetic (what float64 training must hold exactly)."""
        return self.in_fmt.total_bits

    def check_weights(self, weights: Any) -> None:
        return None  # no weights

    def random_weights(self, rng: np.random.Generator) -> DenseWeights:
        return DenseWeights(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))

    def windows(self, x: np.ndarray) -> np.ndarray:
        """(N, L*C) stream codes -> (N, P, W, C): the kept windows."""
        x = np.asarray(x, dtype=np.int64).reshape(-1, self.in_length, self.channels)
        kept = x[:, : self.out_length * self.window]
        return kept.reshape(len(x), self.out_length, self.window, self.channels)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "channels": self.channels,
            "in_length": self.in_length,
            "window": self.window,
            "in_fmt": self.in_fmt.to_dict(),
            "out_fmt": self.out_fmt.to_dict(),
            "placement": self.placement,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Any:
        return cls(
            channels=int(data["channels"]),
            in_length=int(data["in_length"]),
            window=int(data["window"]),
            in_fmt=FixedFormat.from_dict(data["in_fmt"]),
            out_fmt=FixedFormat.from_dict(data["out_fmt"]),
            placement=str(data.get("placement", "fpga")),
        )


@register("maxpool1d")
@dataclass(frozen=True, slots=True)
class MaxPool1dLayer(_Pool1d):
    kind = "maxpool1d"

    def __post_init__(self) -> None:
        _Pool1d.__post_init__(self)
        if self.out_fmt != self.in_fmt:
            raise ValueError(f"maxpool1d: out_fmt must equal in_fmt {self.in_fmt}, got {self.out_fmt}")

    def forward(self, weights: Any, x: np.ndarray) -> np.ndarray:
        return self.windows(x).max(axis=2).reshape(-1, self.out_size)


@register("avgpool1d")
@dataclass(frozen=True, slots=True)
class AvgPool1dLayer(_Pool1d):
    kind = "avgpool1d"

    def __post_init__(self) -> None:
        _Pool1d.__post_init__(self)
        if self.shift < 1:
            raise ValueError(
                f"avgpool1d: out_fmt may have at most {AVG_RECIPROCAL_BITS + self.in_fmt.frac_bits - 1} fractional "
                f"bits, got {self.out_fmt.frac_bits}"
            )

    @property
    def reciprocal(self) -> int:
        """M = round(2**16 / W), half up."""
        return (2 * (1 << AVG_RECIPROCAL_BITS) + self.window) // (2 * self.window)

    @property
    def shift(self) -> int:
        return AVG_RECIPROCAL_BITS + self.in_fmt.frac_bits - self.out_fmt.frac_bits

    @property
    def sum_bits(self) -> int:
        """Signed width of a window sum: |s| <= W * 2**(Bx-1)."""
        return self.in_fmt.total_bits + max(0, ceil_log2(self.window))

    @property
    def product_bits(self) -> int:
        """Signed width of s * M + rounding constant (M <= 2**16, so 17 more bits and one for the constant)."""
        return self.sum_bits + AVG_RECIPROCAL_BITS + 2

    @property
    def requant_bits(self) -> int:
        return self.product_bits

    def average(self, sums: np.ndarray) -> np.ndarray:
        rounded = (np.asarray(sums, dtype=np.int64) * self.reciprocal + (1 << (self.shift - 1))) >> self.shift
        return self.out_fmt.saturate(rounded)

    def forward(self, weights: Any, x: np.ndarray) -> np.ndarray:
        return self.average(self.windows(x).sum(axis=2)).reshape(-1, self.out_size)
