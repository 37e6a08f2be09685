"""The conv1d kind: y[t, o] = act(b[o] + sum_{k, c} W[o, c, k] x[t*stride + k - pad_left, c_in(o, c)]).

Streams are time-major (element t*C + c is channel c at time t). The engine (docs/architecture.md, "Conv1d
engine") buffers the whole input vector (the full window buffer), then computes one output position after
another, PE output channels at a time, SIMD receptive-field elements per cycle. Because computing starts only
after the last input element arrived, the layer's latency does not depend on how the inputs arrived.
"""

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
from contract.layers.dense import (
    BUFFER_BRAM_MIN_DEPTH,
    MULTIPLIERS,
    WEIGHT_STORAGES,
    engine_rom_words,
    weight_rom_storage,
)
from contract.requant import RequantPlan, requant_plan

PADDINGS = ("valid", "same")
# Last input accepted -> first read issued (the buffer's full flag), read, product, accumulate: as dense.
CONV_PIPELINE_CYCLES = 3

CONV_KNOBS = (
    Knob("pe", 1, "output lanes: output channels computed side by side", bound="out_channels", alias="parallelism"),
    Knob("simd", 1, "receptive-field elements (kernel x input channels) read per cycle by every lane", bound="fan_in"),
    Knob("multiplier", "dsp", "where products are built: DSP blocks or LUT logic", choices=MULTIPLIERS),
    Knob("weight_storage", "lutrom", "where the weight ROM lives", choices=WEIGHT_STORAGES),
)


@dataclass(frozen=True, slots=True)
class ConvFolding:
    """The hardware knobs of one conv1d layer (declared in CONV_KNOBS)."""

    pe: int = 1
    simd: int = 1
    multiplier: str = "dsp"
    weight_storage: str = "lutrom"

    def to_dict(self) -> dict[str, Any]:
        return {"pe": self.pe, "simd": self.simd, "multiplier": self.multiplier, "weight_storage": self.weight_storage}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConvFolding:
        return cls(
            pe=int(data.get("pe", 1)),
            simd=int(data.get("simd", 1)),
            multiplier=str(data.get("multiplier", "dsp")),
            weight_storage=str(data.get("weight_storage", "lutrom")),
        )


@dataclass(frozen=True, slots=True)
class ConvWeights:
    """Integer codes: ``weight`` is (out_channels, in_channels / groups, kernel) as torch's Conv1d, ``bias`` (out,)."""

    weight: np.ndarray
    bias: np.ndarray


def conv_output_length(length: int, kernel: int, stride: int, padding: str) -> int:
    """Output positions: valid = floor((L - K) / S) + 1; same = ceil(L / S)."""
    if padding == "same":
        return -(-length // stride)
    return (length - kernel) // stride + 1


def same_padding(length: int, kernel: int, stride: int) -> tuple[int, int]:
    """Zeros before and after the input for "same": total = max((P - 1) S + K - L, 0), the odd one after
    (torch's convention for even kernels, and TensorFlow's)."""
    total = max((conv_output_length(length, kernel, stride, "same") - 1) * stride + kernel - length, 0)
    return total // 2, total - total // 2


def conv_latency(jobs: int, chunks: int, tree_stages: int, outputs: list[int]) -> int:
    """Last input hand-shake edge -> last output hand-shake edge, out_ready high (generator/templates/conv/).

    Job k (one output position x one group of PE channels) accumulates its last chunk at edge A_k and enters the
    output register at Ld_k = max(A_k + 1, Ld_{k-1} + n_{k-1}) (the register drains n elements, one per cycle);
    while a finished job waits for the register the whole pipeline stalls, so A_{k+1} = Ld_k + chunks - 1.
    """
    done = CONV_PIPELINE_CYCLES + tree_stages + chunks - 1  # A_0, edges after the last input's
    load = done + 1
    for k in range(1, jobs):
        done = load + chunks - 1
        load = max(done + 1, load + outputs[(k - 1) % len(outputs)])
    return load + outputs[(jobs - 1) % len(outputs)]


@register("conv1d")
@dataclass(frozen=True, slots=True)
class Conv1dLayer:
    in_channels: int
    in_length: int
    out_channels: int
    kernel_size: int
    activation: str
    in_fmt: FixedFormat
    weight_fmt: FixedFormat
    out_fmt: FixedFormat
    stride: int = 1
    padding: str = "valid"
    groups: int = 1  # 1 or in_channels (depthwise, channel multiplier 1: out_channels == in_channels)
    folding: ConvFolding = field(default_factory=ConvFolding)
    placement: str = "fpga"
    batch_norm: bool = False  # training only: folded into the weights before quantization
    out_length: int = field(init=False, repr=False, compare=False)
    pad_left: int = field(init=False, repr=False, compare=False)
    fan_in: int = field(init=False, repr=False, compare=False)  # kernel x in_channels / groups
    channel_groups: int = field(init=False, repr=False, compare=False)  # G = ceil(out_channels / PE)
    chunks: int = field(init=False, repr=False, compare=False)  # ceil(fan_in / SIMD) reads per job
    latency_cycles: int = field(init=False, repr=False, compare=False)
    acc_bits: int = field(init=False, repr=False, compare=False)
    macs: int = field(init=False, repr=False, compare=False)
    params: int = field(init=False, repr=False, compare=False)
    select_structure: tuple[int, int, int, int, int] = field(init=False, repr=False, compare=False)

    kind = "conv1d"
    KNOBS = CONV_KNOBS

    def __post_init__(self) -> None:
        for name in ("in_channels", "in_length", "out_channels", "kernel_size", "stride"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"conv1d {name} must be >= 1, got {getattr(self, name)!r}")
        if self.padding not in PADDINGS:
            raise ValueError(f"conv1d padding must be one of {', '.join(PADDINGS)}, got {self.padding!r}")
        if self.groups not in (1, self.in_channels):
            raise ValueError(f"conv1d groups must be 1 or in_channels ({self.in_channels}), got {self.groups}")
        if self.depthwise and self.out_channels != self.in_channels:
            raise ValueError("a depthwise conv1d (groups = in_channels) needs out_channels == in_channels")
        if self.padding == "valid" and self.kernel_size > self.in_length:
            raise ValueError(f"conv1d kernel_size {self.kernel_size} > input length {self.in_length} (valid)")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {self.activation!r}")
        if self.placement not in PLACEMENTS:
            raise ValueError(f"placement must be one of {PLACEMENTS}, got {self.placement!r}")
        for name, fmt in (("in_fmt", self.in_fmt), ("weight_fmt", self.weight_fmt), ("out_fmt", self.out_fmt)):
            if fmt.frac_bits < 0:
                raise ValueError(f"{name} frac_bits must be >= 0, got {fmt.frac_bits}")
        if self.out_fmt.frac_bits > self.acc_frac_bits:
            raise ValueError(
                f"out frac_bits ({self.out_fmt.frac_bits}) must be <= in frac + weight frac ({self.acc_frac_bits})"
            )
        set_ = object.__setattr__
        set_(self, "out_length", conv_output_length(self.in_length, self.kernel_size, self.stride, self.padding))
        pad = same_padding(self.in_length, self.kernel_size, self.stride)[0] if self.padding == "same" else 0
        set_(self, "pad_left", pad)
        set_(self, "fan_in", self.kernel_size * self.in_channels // self.groups)
        for knob in CONV_KNOBS:
            knob.check(getattr(self.folding, knob.name), self)
        set_(self, "channel_groups", -(-self.out_channels // self.folding.pe))
        set_(self, "chunks", -(-self.fan_in // self.folding.simd))
        set_(self, "macs", self.out_length * self.out_channels * self.fan_in)
        set_(self, "params", self.out_channels * self.fan_in + self.out_channels)
        outputs = [self.folding.pe] * (self.channel_groups - 1) + [self.last_group_outputs]
        latency = conv_latency(self.jobs, self.chunks, self.tree_stages, outputs)
        set_(self, "latency_cycles", latency)
        acc = accumulator_bits(self.in_fmt, self.weight_fmt, self.fan_in, self.requant.round_constant)
        set_(self, "acc_bits", acc)
        set_(self, "select_structure", self.requant.select_structure(acc))

    # --- shape -------------------------------------------------------------------------------------------
    @property
    def depthwise(self) -> bool:
        return self.groups > 1

    @property
    def in_size(self) -> int:
        return self.in_length * self.in_channels

    @property
    def out_size(self) -> int:
        return self.out_length * self.out_channels

    # --- folding -----------------------------------------------------------------------------------------
    @property
    def jobs(self) -> int:
        """Output positions x channel groups, computed one after another."""
        return self.out_length * self.channel_groups

    @property
    def last_group_outputs(self) -> int:
        return self.out_channels - (self.channel_groups - 1) * self.folding.pe

    @property
    def tree_stages(self) -> int:
        return 1 if self.folding.simd > 1 else 0

    @property
    def rom_depth(self) -> int:
        """Weight ROM words: word g*C + j holds the PE x SIMD weights of channel group g, chunk j."""
        return self.channel_groups * self.chunks

    @property
    def rom_width(self) -> int:
        return self.folding.pe * self.folding.simd * self.weight_fmt.total_bits

    @property
    def rom_storage(self) -> str:
        return weight_rom_storage(self.folding.weight_storage, self.rom_depth, self.rom_width)

    @property
    def read_ports(self) -> int:
        """Copies of the window buffer, one per element read per cycle: SIMD, times PE for depthwise (every
        lane reads its own channel)."""
        return self.folding.simd * (self.folding.pe if self.depthwise else 1)

    @property
    def address_depth(self) -> int:
        """Read-address table words: one per read (job x chunk)."""
        return self.jobs * self.chunks

    @property
    def buffer_storage(self) -> str:
        return self.buffer_storage_on("xc7")

    def buffer_storage_on(self, family: str) -> str:
        if self.in_size >= BUFFER_BRAM_MIN_DEPTH[family]:
            return "bram"
        return "lutram" if family == "xc7" else "registers"

    @property
    def bound_cycles(self) -> float:
        return self.macs / (self.folding.pe * self.folding.simd)

    def read_addresses(self) -> np.ndarray:
        """(reads, lanes, SIMD) input element indices, -1 for a zero (padding or beyond the receptive field).

        Read r = job * C + j, job = position * G + group; receptive-field element f = j*SIMD + s is (k, c) with
        f = k * (in_channels / groups) + c. ``lanes`` is PE for depthwise, else 1 (all lanes share the inputs).
        """
        pe, simd = self.folding.pe, self.folding.simd
        lanes = pe if self.depthwise else 1
        cin_group = self.in_channels // self.groups
        table = np.full((self.out_length, self.channel_groups, self.chunks, lanes, simd), -1, dtype=np.int64)
        f = np.arange(self.chunks * simd).reshape(self.chunks, simd)
        k, c = f // cin_group, f % cin_group
        inside_field = f < self.fan_in
        for p in range(self.out_length):
            t = p * self.stride + k - self.pad_left
            ok = inside_field & (t >= 0) & (t < self.in_length)
            for g in range(self.channel_groups):
                for lane in range(lanes):
                    channel = g * pe + lane if self.depthwise else 0
                    if self.depthwise and channel >= self.out_channels:
                        continue
                    table[p, g, :, lane, :] = np.where(ok, t * self.in_channels + c + channel, -1)
        return table.reshape(self.address_depth, lanes, simd)

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
        return requant_bits(accumulator_bits(self.in_fmt, self.weight_fmt, self.fan_in), self.acc_frac_bits)

    @property
    def weight_shape(self) -> tuple[int, int, int]:
        return (self.out_channels, self.in_channels // self.groups, self.kernel_size)

    def rom_words(self, weight: np.ndarray) -> np.ndarray:
        """The weight ROM: the (out_channels, fan_in) matrix, fan-in index k * Cin/groups + c, in the engine's
        layout (contract.layers.dense.engine_rom_words). The generator writes it; the estimator reads it."""
        flat = np.asarray(weight).transpose(0, 2, 1).reshape(self.out_channels, self.fan_in)
        return engine_rom_words(flat, self.channel_groups, self.chunks, self.folding.pe, self.folding.simd)

    # --- reference ---------------------------------------------------------------------------------------
    def check_weights(self, weights: ConvWeights) -> None:
        if weights.weight.shape != self.weight_shape:
            raise ValueError(f"weight shape {weights.weight.shape} != {self.weight_shape}")
        if weights.bias.shape != (self.out_channels,):
            raise ValueError(f"bias shape {weights.bias.shape} != {(self.out_channels,)}")
        for name, codes, fmt in (("weight", weights.weight, self.weight_fmt), ("bias", weights.bias, self.bias_fmt)):
            if codes.size and (codes.min() < fmt.min_int or codes.max() > fmt.max_int):
                raise ValueError(f"{name} codes out of range for {fmt}")

    def forward(self, weights: ConvWeights, x: np.ndarray) -> np.ndarray:
        """x: (N, L*C) codes in stream order -> (N, P*OUT) codes in stream order (t*OUT + o)."""
        x = np.asarray(x, dtype=np.int64).reshape(-1, self.in_length, self.in_channels)
        n = x.shape[0]
        right = max(0, (self.out_length - 1) * self.stride + self.kernel_size - self.in_length - self.pad_left)
        padded = np.zeros((n, self.pad_left + self.in_length + right, self.in_channels), dtype=np.int64)
        padded[:, self.pad_left : self.pad_left + self.in_length] = x
        w = weights.weight.astype(np.int64)
        acc = np.broadcast_to(weights.bias.astype(np.int64), (n, self.out_length, self.out_channels)).copy()
        span = (self.out_length - 1) * self.stride + 1
        for k in range(self.kernel_size):
            window = padded[:, k : k + span : self.stride, :]  # (N, P, C)
            if self.depthwise:
                acc += window * w[:, 0, k]
            else:
                acc += window @ w[:, :, k].T
        out = activate_and_requantize(acc, self.acc_frac_bits, self.activation, self.out_fmt)
        return out.reshape(n, self.out_size)

    def random_weights(self, rng: np.random.Generator) -> ConvWeights:
        w = rng.integers(self.weight_fmt.min_int, self.weight_fmt.max_int + 1, size=self.weight_shape)
        b = rng.integers(self.bias_fmt.min_int, self.bias_fmt.max_int + 1, size=self.out_channels)
        return ConvWeights(w.astype(np.int64), b.astype(np.int64))

    # --- serialization -----------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "conv1d",
            "in_channels": self.in_channels,
            "in_length": self.in_length,
            "out_channels": self.out_channels,
            "kernel_size": self.kernel_size,
            "stride": self.stride,
            "padding": self.padding,
            "groups": self.groups,
            "activation": self.activation,
            "in_fmt": self.in_fmt.to_dict(),
            "weight_fmt": self.weight_fmt.to_dict(),
            "out_fmt": self.out_fmt.to_dict(),
            "folding": self.folding.to_dict(),
            "placement": self.placement,
            "batch_norm": self.batch_norm,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Conv1dLayer:
        return cls(
            in_channels=int(data["in_channels"]),
            in_length=int(data["in_length"]),
            out_channels=int(data["out_channels"]),
            kernel_size=int(data["kernel_size"]),
            activation=str(data["activation"]),
            in_fmt=FixedFormat.from_dict(data["in_fmt"]),
            weight_fmt=FixedFormat.from_dict(data["weight_fmt"]),
            out_fmt=FixedFormat.from_dict(data["out_fmt"]),
            stride=int(data.get("stride", 1)),
            padding=str(data.get("padding", "valid")),
            groups=int(data.get("groups", 1)),
            folding=ConvFolding.from_dict(data.get("folding", {})),
            placement=str(data.get("placement", "fpga")),
            batch_norm=bool(data.get("batch_norm", False)),
        )
