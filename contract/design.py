"""The accelerator description: the one object that estimators, the generator and the reference model share."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from contract.layers import Layer, layer_from_dict

# Version 2: per-layer "kind" and "folding" (pe, simd, multiplier, weight_storage), element-serial streams.
DESIGN_FORMAT = 2
# After the last output element of a vector the network takes the next vector's first element one edge later.
RESTART_CYCLES = 1


def top_counter_bits(in_elements: int, out_elements: int) -> tuple[int, int]:
    """Widths of the top level's input and output element counters (generator.vhdl.emit_top): one set per chain
    of FPGA layers, however many layers it holds."""
    return in_elements.bit_length(), max(1, (out_elements - 1).bit_length())


@dataclass(frozen=True, slots=True)
class AcceleratorDesign:
    layers: tuple[Layer, ...]
    device: str
    clock_mhz: float
    name: str = "dse_net"
    meta: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if not self.layers:
            raise ValueError("a design needs at least one layer")
        for index, (a, b) in enumerate(zip(self.layers, self.layers[1:], strict=False)):
            if a.out_size != b.in_size:
                raise ValueError(f"layer {index} has {a.out_size} outputs but layer {index + 1} takes {b.in_size}")
            if a.out_fmt != b.in_fmt:
                raise ValueError(f"layer {index} writes {a.out_fmt} but layer {index + 1} reads {b.in_fmt}")
        placements = "".join("F" if layer.placement == "fpga" else "M" for layer in self.layers)
        if "M" in placements.strip("M"):
            raise ValueError("the FPGA layers must be one contiguous segment (MCU layers only before or after it)")

    @property
    def fpga_layers(self) -> tuple[Layer, ...]:
        return tuple(layer for layer in self.layers if layer.placement == "fpga")

    @property
    def mcu_layers(self) -> tuple[Layer, ...]:
        return tuple(layer for layer in self.layers if layer.placement == "mcu")

    @property
    def fpga_slice(self) -> slice:
        """The FPGA segment as a slice of ``layers``."""
        indices = [i for i, layer in enumerate(self.layers) if layer.placement == "fpga"]
        if not indices:
            raise ValueError(f"design {self.name!r} has no FPGA layers")
        return slice(indices[0], indices[-1] + 1)

    @property
    def latency_cycles(self) -> int:
        """First input element's hand-shake edge to the last output element's, out_ready held high.

        Inputs stream in one element per cycle, so the last one is taken IN - 1 edges after the first; every
        layer then adds its own latency (last input in -> last output out). 0 without FPGA layers.
        """
        fpga = self.fpga_layers
        if not fpga:
            return 0
        return fpga[0].in_size - 1 + sum(layer.latency_cycles for layer in fpga)

    @property
    def initiation_interval(self) -> int:
        """First-element hand-shakes of consecutive vectors: the network takes one vector at a time."""
        return self.latency_cycles + RESTART_CYCLES if self.fpga_layers else 0

    @property
    def bound_cycles(self) -> float:
        """Σ MACs/(PE·SIMD) over the FPGA layers: a reference figure, not a strict bound (docs/architecture.md)."""
        return sum(layer.bound_cycles for layer in self.fpga_layers)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": DESIGN_FORMAT,
            "name": self.name,
            "device": self.device,
            "clock_mhz": self.clock_mhz,
            "layers": [layer.to_dict() for layer in self.layers],
            "meta": self.meta,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AcceleratorDesign:
        version = int(data.get("format", 1))
        if version > DESIGN_FORMAT:
            raise ValueError(f"design format {version} is newer than this dse understands ({DESIGN_FORMAT})")
        return cls(
            layers=tuple(layer_from_dict(d) for d in data["layers"]),
            device=str(data["device"]),
            clock_mhz=float(data["clock_mhz"]),
            name=str(data.get("name", "dse_net")),
            meta=dict(data.get("meta", {})),
        )

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)
