"""What every layer kind declares: its folding knobs and the registry that maps ``kind`` to its description.

A kind's description (a frozen dataclass) owns its derived numbers (cycles, ROM depth, MACs, params) and its
integer reference. The other stages (training, estimators, generator, calibration sweep, search-file schema)
keep their own registries keyed by the same ``kind`` string; tests/test_layer_kinds.py fails when one lacks a kind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from contract.fixedpoint import FixedFormat


@dataclass(frozen=True, slots=True)
class LayerShape:
    """Inputs and outputs of a layer not built yet: what caps its integer knobs (Knob.bound)."""

    in_features: int
    out_features: int


@dataclass(frozen=True, slots=True)
class Knob:
    """One hardware knob of a kind, declared once: the search-file key, Optuna parameter, sweep range and
    estimator feature all come from it.

    Integer knobs range over ``1..bound(layer)``; choice knobs over ``choices``. ``alias`` is an older
    search-file key that still loads.
    """

    name: str
    default: int | str
    doc: str
    choices: tuple[str, ...] = ()
    bound: str | None = None  # attribute of the layer shape that caps an integer knob (e.g. "out_features")
    alias: str | None = None

    @property
    def is_int(self) -> bool:
        return not self.choices

    def upper(self, shape: Any) -> int:
        """Largest value an integer knob may take for a layer of this shape."""
        return int(getattr(shape, self.bound)) if self.bound else 1 << 30

    def check(self, value: Any, shape: Any) -> None:
        if self.is_int:
            if not isinstance(value, int) or not 1 <= value <= self.upper(shape):
                raise ValueError(f"{self.name} must be an integer in 1..{self.upper(shape)}, got {value!r}")
        elif value not in self.choices:
            raise ValueError(f"{self.name} must be one of {', '.join(self.choices)}, got {value!r}")


class Layer(Protocol):
    """The interface of every layer description (see contract.layers.dense.DenseLayer)."""

    kind: str
    placement: str
    in_fmt: FixedFormat
    out_fmt: FixedFormat

    @property
    def in_size(self) -> int: ...  # elements in

    @property
    def out_size(self) -> int: ...  # elements out

    @property
    def macs(self) -> int: ...

    @property
    def params(self) -> int: ...

    @property
    def latency_cycles(self) -> int: ...

    @property
    def bound_cycles(self) -> float: ...

    def to_dict(self) -> dict[str, Any]: ...

    def forward(self, weights: Any, x: np.ndarray) -> np.ndarray: ...

    def check_weights(self, weights: Any) -> None: ...

    def random_weights(self, rng: np.random.Generator) -> Any: ...


PLACEMENTS = ("fpga", "mcu")
KINDS: dict[str, Any] = {}  # kind name -> description class (with from_dict and KNOBS)


def register(kind: str) -> Callable[[type], type]:
    def add(cls: type) -> type:
        if kind in KINDS:
            raise ValueError(f"layer kind {kind!r} is registered twice")
        KINDS[kind] = cls
        return cls

    return add


def layer_from_dict(data: dict[str, Any]) -> Any:
    kind = data.get("kind", "dense")
    if kind not in KINDS:
        raise ValueError(f"unknown layer kind {kind!r}; known: {', '.join(sorted(KINDS))}")
    return KINDS[kind].from_dict(data)
