"""The accelerator description: the one object that estimators, the generator and the reference model share."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from dse.fixedpoint import ACTIVATIONS, FixedFormat, accumulator_bits, product_format, requant_bits

WEIGHT_STORAGES = ("lutrom", "bram")
PLACEMENTS = ("fpga", "mcu")


@dataclass(frozen=True, slots=True)
class DenseLayer:
    """y = act(W x + b) with ``parallelism`` MAC lanes; lane p computes outputs p, p+P, p+2P, ..."""

    in_features: int
    out_features: int
    activation: str
    in_fmt: FixedFormat
    weight_fmt: FixedFormat
    out_fmt: FixedFormat
    parallelism: int = 1
    weight_storage: str = "lutrom"
    placement: str = "fpga"

    def __post_init__(self) -> None:
        if self.in_features < 1 or self.out_features < 1:
            raise ValueError("in_features and out_features must be >= 1")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {self.activation!r}")
        if not 1 <= self.parallelism <= self.out_features:
            raise ValueError(f"parallelism must be in 1..{self.out_features}, got {self.parallelism}")
        if self.weight_storage not in WEIGHT_STORAGES:
            raise ValueError(f"weight_storage must be one of {WEIGHT_STORAGES}, got {self.weight_storage!r}")
        if self.placement not in PLACEMENTS:
            raise ValueError(f"placement must be one of {PLACEMENTS}, got {self.placement!r}")
        for name, fmt in (("in_fmt", self.in_fmt), ("weight_fmt", self.weight_fmt), ("out_fmt", self.out_fmt)):
            if fmt.frac_bits < 0:
                raise ValueError(f"{name} frac_bits must be >= 0, got {fmt.frac_bits}")
        if self.out_fmt.frac_bits > self.acc_frac_bits:
            raise ValueError(
                f"out frac_bits ({self.out_fmt.frac_bits}) must be <= in frac + weight frac ({self.acc_frac_bits})"
            )

    @property
    def groups(self) -> int:
        """Output groups processed one after another: ceil(OUT / P)."""
        return -(-self.out_features // self.parallelism)

    @property
    def macs(self) -> int:
        return self.in_features * self.out_features

    @property
    def bias_fmt(self) -> FixedFormat:
        return product_format(self.in_fmt, self.weight_fmt)

    @property
    def acc_frac_bits(self) -> int:
        return self.in_fmt.frac_bits + self.weight_fmt.frac_bits

    @property
    def acc_bits(self) -> int:
        return accumulator_bits(self.in_fmt, self.weight_fmt, self.in_features)

    @property
    def requant_bits(self) -> int:
        return requant_bits(self.acc_bits, self.acc_frac_bits)

    @property
    def rom_depth(self) -> int:
        """Weight ROM words: one per (group, input) pair, each word holds P lane weights."""
        return self.groups * self.in_features

    @property
    def rom_storage(self) -> str:
        """Where the weights really live: a ROM shallower than MIN_BRAM_DEPTH stays in LUTs even if "bram" was asked."""
        if self.weight_storage == "bram" and self.rom_depth >= MIN_BRAM_DEPTH:
            return "bram"
        return "lutrom"

    @property
    def rom_width(self) -> int:
        return self.parallelism * self.weight_fmt.total_bits

    @property
    def latency_cycles(self) -> int:
        """Input hand-shake edge to output hand-shake edge (out_ready high), see docs/architecture.md."""
        return self.groups * self.in_features + LAYER_OVERHEAD_CYCLES

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "dense",
            "in_features": self.in_features,
            "out_features": self.out_features,
            "activation": self.activation,
            "in_fmt": self.in_fmt.to_dict(),
            "weight_fmt": self.weight_fmt.to_dict(),
            "out_fmt": self.out_fmt.to_dict(),
            "parallelism": self.parallelism,
            "weight_storage": self.weight_storage,
            "placement": self.placement,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DenseLayer:
        return cls(
            in_features=int(data["in_features"]),
            out_features=int(data["out_features"]),
            activation=str(data["activation"]),
            in_fmt=FixedFormat.from_dict(data["in_fmt"]),
            weight_fmt=FixedFormat.from_dict(data["weight_fmt"]),
            out_fmt=FixedFormat.from_dict(data["out_fmt"]),
            parallelism=int(data.get("parallelism", 1)),
            weight_storage=str(data.get("weight_storage", "lutrom")),
            placement=str(data.get("placement", "fpga")),
        )


# A block RAM for a few words wastes a 18/36 kbit block, and yosys folds such tiny ROMs' constant columns
# depending on the weight values, so their block count cannot be known before training: keep them in LUTs.
MIN_BRAM_DEPTH = 8
# Input hand-shake edge to output hand-shake edge beyond the G*IN address cycles:
# ROM register, product register, accumulator, output register (docs/architecture.md).
LAYER_OVERHEAD_CYCLES = 4
# After its output hand-shake a layer spends one cycle in IDLE before the next input hand-shake.
RESTART_CYCLES = 1


@dataclass(frozen=True, slots=True)
class AcceleratorDesign:
    layers: tuple[DenseLayer, ...]
    device: str
    clock_mhz: float
    name: str = "dse_net"
    meta: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if not self.layers:
            raise ValueError("a design needs at least one layer")
        for index, (a, b) in enumerate(zip(self.layers, self.layers[1:], strict=False)):
            if a.out_features != b.in_features:
                raise ValueError(
                    f"layer {index} has {a.out_features} outputs but layer {index + 1} takes {b.in_features}"
                )
            if a.out_fmt != b.in_fmt:
                raise ValueError(f"layer {index} writes {a.out_fmt} but layer {index + 1} reads {b.in_fmt}")
        placements = "".join("F" if layer.placement == "fpga" else "M" for layer in self.layers)
        segment = placements.strip("M")
        if "M" in segment:
            raise ValueError("the FPGA layers must be one contiguous segment (MCU layers only before or after it)")

    @property
    def fpga_layers(self) -> tuple[DenseLayer, ...]:
        return tuple(layer for layer in self.layers if layer.placement == "fpga")

    @property
    def mcu_layers(self) -> tuple[DenseLayer, ...]:
        return tuple(layer for layer in self.layers if layer.placement == "mcu")

    @property
    def latency_cycles(self) -> int:
        """Input hand-shake edge to output hand-shake edge with out_ready held high (0 without FPGA layers)."""
        fpga = self.fpga_layers
        if not fpga:
            return 0
        return sum(layer.latency_cycles for layer in fpga)

    @property
    def initiation_interval(self) -> int:
        """Cycles between accepted inputs when inputs are always offered and outputs always taken."""
        fpga = self.fpga_layers
        if not fpga:
            return 0
        return max(layer.latency_cycles for layer in fpga) + RESTART_CYCLES

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "device": self.device,
            "clock_mhz": self.clock_mhz,
            "layers": [layer.to_dict() for layer in self.layers],
            "meta": self.meta,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AcceleratorDesign:
        return cls(
            layers=tuple(DenseLayer.from_dict(d) for d in data["layers"]),
            device=str(data["device"]),
            clock_mhz=float(data["clock_mhz"]),
            name=str(data.get("name", "dse_net")),
            meta=dict(data.get("meta", {})),
        )

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)
