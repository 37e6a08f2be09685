"""The dense kind: y = act(W x + b) on the PE x SIMD engine (docs/architecture.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from contract.fixedpoint import (
    ACTIVATIONS,
    FixedFormat,
    accumulator_bits,
    activate_and_requantize,
    product_format,
    requant_bits,
)
from contract.layers.base import PLACEMENTS, Knob, register
from contract.requant import RequantPlan, requant_plan

WEIGHT_STORAGES = ("lutrom", "bram")
MULTIPLIERS = ("dsp", "lut")
# A block RAM for a few words wastes a whole block, and yosys folds such tiny ROMs' constant columns
# depending on the weight values, so their block count cannot be known before training: keep them in LUTs.
MIN_BRAM_DEPTH = 8
# `ghdl synth` builds an array of at most this many bits as logic, whatever style it is given (measured with
# GHDL 2.0: 8 x 4 and 5 x 6 bit ROMs become multiplexers, 11 x 3 and 9 x 4 stay memories).
GHDL_LOGIC_ARRAY_BITS = 32
# Input-buffer banks at least this deep go to block RAM; shallower ones are LUTRAM (xc7) or registers (iCE40).
BUFFER_BRAM_MIN_DEPTH = {"xc7": 128, "ice40": 16}
# Last input accepted -> first results in the output register beyond the group loop: buffer read, product,
# accumulate, output register (one more for the SIMD adder tree).
PIPELINE_CYCLES = 4

DENSE_KNOBS = (
    Knob("pe", 1, "output lanes: outputs computed side by side", bound="out_features", alias="parallelism"),
    Knob("simd", 1, "inputs consumed per cycle by every lane (need not divide the input count)", bound="in_features"),
    Knob("multiplier", "dsp", "where products are built: DSP blocks or LUT logic", choices=MULTIPLIERS),
    Knob("weight_storage", "lutrom", "where the weight ROM lives", choices=WEIGHT_STORAGES),
)


@dataclass(frozen=True, slots=True)
class DenseFolding:
    """The hardware knobs of one dense layer (declared in DENSE_KNOBS)."""

    pe: int = 1
    simd: int = 1
    multiplier: str = "dsp"
    weight_storage: str = "lutrom"

    def to_dict(self) -> dict[str, Any]:
        return {"pe": self.pe, "simd": self.simd, "multiplier": self.multiplier, "weight_storage": self.weight_storage}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DenseFolding:
        return cls(
            pe=int(data.get("pe", data.get("parallelism", 1))),
            simd=int(data.get("simd", 1)),
            multiplier=str(data.get("multiplier", "dsp")),
            weight_storage=str(data.get("weight_storage", "lutrom")),
        )


@dataclass(frozen=True, slots=True)
class DenseWeights:
    """Integer codes: ``weight`` is (out, in) in the layer's weight format, ``bias`` is (out,) in its bias format."""

    weight: np.ndarray
    bias: np.ndarray


def weight_rom_storage(asked: str, depth: int, width: int) -> str:
    """Where a weight ROM really lives: in LUTs unless block RAM was asked and the ROM is at least MIN_BRAM_DEPTH
    words deep and over GHDL_LOGIC_ARRAY_BITS bits (the VHDL front end turns a smaller one into logic)."""
    if asked == "bram" and depth >= MIN_BRAM_DEPTH and depth * width > GHDL_LOGIC_ARRAY_BITS:
        return "bram"
    return "lutrom"


def engine_rom_words(matrix: np.ndarray, groups: int, chunks: int, pe: int, simd: int) -> np.ndarray:
    """The weight ROM of a PE x SIMD engine, (groups x chunks, PE x SIMD) codes, for an (outputs, fan-in) weight
    matrix: word g*C + j holds group g's weights for chunk j, lane slot p*SIMD + s; padding lanes and slots hold
    zero."""
    padded = np.zeros((groups * pe, chunks * simd), dtype=np.int64)
    padded[: matrix.shape[0], : matrix.shape[1]] = matrix
    return padded.reshape(groups, pe, chunks, simd).transpose(0, 2, 1, 3).reshape(groups * chunks, -1)


@register("dense")
@dataclass(frozen=True, slots=True)
class DenseLayer:
    in_features: int
    out_features: int
    activation: str
    in_fmt: FixedFormat
    weight_fmt: FixedFormat
    out_fmt: FixedFormat
    folding: DenseFolding = field(default_factory=DenseFolding)
    placement: str = "fpga"
    # Derived once in __post_init__ (the estimators read them for every candidate); not part of the identity.
    groups: int = field(init=False, repr=False, compare=False)  # G = ceil(OUT / PE), computed one after another
    chunks: int = field(init=False, repr=False, compare=False)  # C = ceil(IN / SIMD) reads per group
    # Edge of the last input element's hand-shake to the edge of the last output element's (out_ready high).
    latency_cycles: int = field(init=False, repr=False, compare=False)
    # The hardware accumulator: bias + round constant + every product, never overflowing.
    acc_bits: int = field(init=False, repr=False, compare=False)
    macs: int = field(init=False, repr=False, compare=False)  # IN x OUT
    params: int = field(init=False, repr=False, compare=False)  # weights + biases
    # contract.requant.RequantPlan.select_structure for this accumulator (what the output select is built of).
    select_structure: tuple[int, int, int, int, int] = field(init=False, repr=False, compare=False)

    kind = "dense"
    KNOBS = DENSE_KNOBS

    def __post_init__(self) -> None:
        if self.in_features < 1 or self.out_features < 1:
            raise ValueError("in_features and out_features must be >= 1")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {self.activation!r}")
        for knob in DENSE_KNOBS:
            knob.check(getattr(self.folding, knob.name), self)
        if self.placement not in PLACEMENTS:
            raise ValueError(f"placement must be one of {PLACEMENTS}, got {self.placement!r}")
        for name, fmt in (("in_fmt", self.in_fmt), ("weight_fmt", self.weight_fmt), ("out_fmt", self.out_fmt)):
            if fmt.frac_bits < 0:
                raise ValueError(f"{name} frac_bits must be >= 0, got {fmt.frac_bits}")
        if self.out_fmt.frac_bits > self.acc_frac_bits:
            raise ValueError(
                f"out frac_bits ({self.out_fmt.frac_bits}) must be <= in frac + weight frac ({self.acc_frac_bits})"
            )
        object.__setattr__(self, "macs", self.in_features * self.out_features)
        object.__setattr__(self, "params", self.in_features * self.out_features + self.out_features)
        object.__setattr__(self, "groups", -(-self.out_features // self.folding.pe))
        object.__setattr__(self, "chunks", -(-self.in_features // self.folding.simd))
        latency = PIPELINE_CYCLES + self.tree_stages + (self.groups - 1) * self.group_period + self.last_group_outputs
        object.__setattr__(self, "latency_cycles", latency)
        acc = accumulator_bits(self.in_fmt, self.weight_fmt, self.in_features, self.requant.round_constant)
        object.__setattr__(self, "acc_bits", acc)
        object.__setattr__(self, "select_structure", self.requant.select_structure(acc))

    # --- shape -------------------------------------------------------------------------------------------
    @property
    def in_size(self) -> int:
        return self.in_features

    @property
    def out_size(self) -> int:
        return self.out_features

    # --- folding -----------------------------------------------------------------------------------------
    @property
    def last_group_outputs(self) -> int:
        return self.out_features - (self.groups - 1) * self.folding.pe

    @property
    def rom_depth(self) -> int:
        """Weight ROM words: word g*C + j holds the PE x SIMD weights of group g, chunk j."""
        return self.groups * self.chunks

    @property
    def rom_width(self) -> int:
        return self.folding.pe * self.folding.simd * self.weight_fmt.total_bits

    @property
    def rom_storage(self) -> str:
        return weight_rom_storage(self.folding.weight_storage, self.rom_depth, self.rom_width)

    @property
    def buffer_storage(self) -> str:
        """The input buffer on a 7-series part (see buffer_storage_on)."""
        return self.buffer_storage_on("xc7")

    def buffer_storage_on(self, family: str) -> str:
        """The input buffer (SIMD banks of C words): block RAM when deep, else LUTRAM on 7-series. The iCE40 has
        no LUTRAM, so its shallow banks are registers."""
        if self.chunks >= BUFFER_BRAM_MIN_DEPTH[family]:
            return "bram"
        return "lutram" if family == "xc7" else "registers"

    @property
    def tree_stages(self) -> int:
        """Register stages of the per-lane SIMD adder tree (none for SIMD = 1)."""
        return 1 if self.folding.simd > 1 else 0

    @property
    def group_period(self) -> int:
        """Cycles between groups: C reads, or the PE-element drain of the output register when that is longer."""
        return max(self.chunks, self.folding.pe)

    @property
    def bound_cycles(self) -> float:
        """MACs / (PE x SIMD): the cycles if every multiplier worked every cycle."""
        return self.macs / (self.folding.pe * self.folding.simd)

    # --- arithmetic --------------------------------------------------------------------------------------
    @property
    def bias_fmt(self) -> FixedFormat:
        return product_format(self.in_fmt, self.weight_fmt)

    @property
    def acc_frac_bits(self) -> int:
        return self.in_fmt.frac_bits + self.weight_fmt.frac_bits

    @property
    def requant(self) -> RequantPlan:
        return requant_plan(self.activation, self.acc_frac_bits, self.out_fmt)

    @property
    def requant_bits(self) -> int:
        """Width the float64 QAT model needs to be exact (contract.fixedpoint.requant_bits)."""
        return requant_bits(accumulator_bits(self.in_fmt, self.weight_fmt, self.in_features), self.acc_frac_bits)

    # --- reference ---------------------------------------------------------------------------------------
    def check_weights(self, weights: DenseWeights) -> None:
        if weights.weight.shape != (self.out_features, self.in_features):
            raise ValueError(f"weight shape {weights.weight.shape} != {(self.out_features, self.in_features)}")
        if weights.bias.shape != (self.out_features,):
            raise ValueError(f"bias shape {weights.bias.shape} != {(self.out_features,)}")
        for name, codes, fmt in (("weight", weights.weight, self.weight_fmt), ("bias", weights.bias, self.bias_fmt)):
            if codes.size and (codes.min() < fmt.min_int or codes.max() > fmt.max_int):
                raise ValueError(f"{name} codes out of range for {fmt}")

    def rom_words(self, weight: np.ndarray) -> np.ndarray:
        """The weight ROM (engine_rom_words). The generator writes it; the estimator reads its content."""
        return engine_rom_words(weight, self.groups, self.chunks, self.folding.pe, self.folding.simd)

    def forward(self, weights: DenseWeights, x: np.ndarray) -> np.ndarray:
        """x: (N, in) integer codes in ``in_fmt`` -> (N, out) codes in ``out_fmt``."""
        x = np.asarray(x, dtype=np.int64)
        acc = x @ weights.weight.astype(np.int64).T + weights.bias.astype(np.int64)
        return activate_and_requantize(acc, self.acc_frac_bits, self.activation, self.out_fmt)

    def random_weights(self, rng: np.random.Generator) -> DenseWeights:
        """Full-range random codes: the hardest case for accumulator widths (tests and sweeps)."""
        w = rng.integers(
            self.weight_fmt.min_int, self.weight_fmt.max_int + 1, size=(self.out_features, self.in_features)
        )
        b = rng.integers(self.bias_fmt.min_int, self.bias_fmt.max_int + 1, size=self.out_features)
        return DenseWeights(w.astype(np.int64), b.astype(np.int64))

    # --- serialization -----------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "dense",
            "in_features": self.in_features,
            "out_features": self.out_features,
            "activation": self.activation,
            "in_fmt": self.in_fmt.to_dict(),
            "weight_fmt": self.weight_fmt.to_dict(),
            "out_fmt": self.out_fmt.to_dict(),
            "folding": self.folding.to_dict(),
            "placement": self.placement,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DenseLayer:
        # Version-1 designs kept the knobs at the top level ("parallelism", "weight_storage").
        folding = data.get("folding", data)
        return cls(
            in_features=int(data["in_features"]),
            out_features=int(data["out_features"]),
            activation=str(data["activation"]),
            in_fmt=FixedFormat.from_dict(data["in_fmt"]),
            weight_fmt=FixedFormat.from_dict(data["weight_fmt"]),
            out_fmt=FixedFormat.from_dict(data["out_fmt"]),
            folding=DenseFolding.from_dict(folding),
            placement=str(data.get("placement", "fpga")),
        )
