"""The recurrent kinds: one LSTM or GRU layer over a whole sequence, in the one fixed-point spec.

Stream: the input is L time steps of C features, time-major (element t*C + c). The layer buffers the whole
sequence, then runs the steps one after another. Step t computes the gate rows over v = [x_t; h_{t-1}] (N = C + H
elements) on the PE x SIMD engine, requantizes them to the gate format, and updates the state element-wise.
The output is h_L (H elements), or every h_t (L*H elements, time-major) with ``return_sequence``.

Arithmetic (every narrowing is round half up + saturation, contract.fixedpoint):
- the state h is in the layer's in/out format; the gates in Q(gate_bits).(gate_bits - 2), range [-2, 2);
- the gate accumulators are exact (bias + products, sized like a dense layer over N inputs);
- LSTM (torch's gate order i, f, g, o): i, f, o = hard sigmoid, g = hard tanh,
  c' = sat_cell(f*c + i*g), h' = sat_state(o * clamp(c', -1, 1));
- GRU (torch's reset-after form): r, z = hard sigmoid, n = hardtanh(Wn x + bn_x + r * (Un h + bn_h)) in the
  gate format, h' = sat_state((1 - z) * n + z * h). The two halves of n are two engine rows (``nx`` with zero
  recurrent weights, ``nh`` with zero input weights), so a GRU costs the engine as many rows as an LSTM.
The hard functions are those of contract.fixedpoint (hard sigmoid = clamp(v/4 + 1/2, 0, 1)); float training uses
the same functions (dse.training.recurrent_qat).

Timing (generator/templates/recurrent/, docs/architecture.md): step period P = jobs*chunks + tree + 8 cycles;
the latency is 1 + L*P + H, and with ``return_sequence`` every step after the first also waits for the output
register to drain its H elements: 1 + P + (L - 1) * max(P, H) + H.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from contract.fixedpoint import (
    FixedFormat,
    accumulator_bits,
    activate_and_requantize,
    product_format,
    requant_bits,
    round_shift,
)
from contract.layers.base import PLACEMENTS, Knob, register
from contract.layers.dense import BUFFER_BRAM_MIN_DEPTH, MULTIPLIERS, WEIGHT_STORAGES, weight_rom_storage
from contract.requant import RequantPlan, requant_plan

CELLS = ("lstm", "gru")
GATE_LANES = ("shared", "separate")
GATES = 4  # engine rows per hidden unit, for both cells
ROW_NAMES = {"lstm": ("i", "f", "g", "o"), "gru": ("r", "z", "nx", "nh")}
# The activation each row is requantized with; None: the raw accumulator goes to the element-wise stage.
ROW_ACTIVATIONS: dict[str, tuple[str | None, ...]] = {
    "lstm": ("hardsigmoid", "hardsigmoid", "hardtanh", "hardsigmoid"),
    "gru": ("hardsigmoid", "hardsigmoid", None, None),
}
# Last issue -> step end: read, product, accumulate, gate capture, four element-wise stages, the step-end edge.
STEP_OVERHEAD_CYCLES = 8
MIN_GATE_BITS = 3  # the gates need a fractional bit: Q3.1 at least

RECURRENT_KNOBS = (
    Knob("pe", 1, "hidden units computed side by side", bound="hidden_size", alias="parallelism"),
    Knob("simd", 1, "elements of [x_t; h_t-1] read per cycle by every lane", bound="fan_in"),
    Knob(
        "gate_lanes",
        "shared",
        "shared: one lane per unit computes the four gate rows one after another; separate: four lanes per unit",
        choices=GATE_LANES,
    ),
    Knob("multiplier", "dsp", "where products are built: DSP blocks or LUT logic", choices=MULTIPLIERS),
    Knob("weight_storage", "lutrom", "where the weight ROM lives", choices=WEIGHT_STORAGES),
)


@dataclass(frozen=True, slots=True)
class RecurrentFolding:
    """The hardware knobs of one recurrent layer (declared in RECURRENT_KNOBS)."""

    pe: int = 1
    simd: int = 1
    gate_lanes: str = "shared"
    multiplier: str = "dsp"
    weight_storage: str = "lutrom"

    def to_dict(self) -> dict[str, Any]:
        return {
            "pe": self.pe,
            "simd": self.simd,
            "gate_lanes": self.gate_lanes,
            "multiplier": self.multiplier,
            "weight_storage": self.weight_storage,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RecurrentFolding:
        return cls(
            pe=int(data.get("pe", 1)),
            simd=int(data.get("simd", 1)),
            gate_lanes=str(data.get("gate_lanes", "shared")),
            multiplier=str(data.get("multiplier", "dsp")),
            weight_storage=str(data.get("weight_storage", "lutrom")),
        )


@dataclass(frozen=True, slots=True)
class RecurrentWeights:
    """Integer codes: ``weight`` (4H, C + H) = [W_ih | W_hh] with rows gate-major (gate k, unit u at k*H + u),
    ``bias`` (4H,) in the bias format. GRU rows ``nx`` have zero recurrent weights, rows ``nh`` zero input ones."""

    weight: np.ndarray
    bias: np.ndarray


def recurrent_latency(steps: int, step_cycles: int, hidden: int, return_sequence: bool) -> int:
    """Last input hand-shake edge -> last output hand-shake edge, out_ready high (see the module doc)."""
    if return_sequence:
        return 1 + step_cycles + (steps - 1) * max(step_cycles, hidden) + hidden
    return 1 + steps * step_cycles + hidden


@dataclass(frozen=True, slots=True)
class RecurrentLayer:
    """Shared by the two registered kinds (LstmLayer, GruLayer), which differ only in ``kind``."""

    in_features: int  # C, features per time step
    seq_len: int  # L
    hidden_size: int  # H
    in_fmt: FixedFormat  # x and h (the state) share it: one product format for the whole row
    weight_fmt: FixedFormat
    out_fmt: FixedFormat  # == in_fmt
    gate_bits: int = 8
    cell_fmt: FixedFormat = field(default_factory=lambda: FixedFormat(12, 8))  # LSTM cell state c
    return_sequence: bool = False
    folding: RecurrentFolding = field(default_factory=RecurrentFolding)
    placement: str = "fpga"
    activation: str = "identity"  # the layer's output is the state itself; kept for the common Layer fields
    fan_in: int = field(init=False, repr=False, compare=False)  # N = C + H
    unit_groups: int = field(init=False, repr=False, compare=False)  # Q = ceil(H / PE)
    chunks: int = field(init=False, repr=False, compare=False)  # ceil(N / SIMD) reads per job
    step_cycles: int = field(init=False, repr=False, compare=False)
    latency_cycles: int = field(init=False, repr=False, compare=False)
    acc_bits: int = field(init=False, repr=False, compare=False)
    macs: int = field(init=False, repr=False, compare=False)
    params: int = field(init=False, repr=False, compare=False)

    kind = "recurrent"  # overridden by the kinds
    KNOBS = RECURRENT_KNOBS

    @property
    def cell(self) -> str:
        return self.kind

    def __post_init__(self) -> None:
        if self.cell not in CELLS:
            raise ValueError(f"cell must be one of {', '.join(CELLS)}, got {self.cell!r}")
        for name in ("in_features", "seq_len", "hidden_size"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{self.cell} {name} must be >= 1, got {getattr(self, name)!r}")
        if self.out_fmt != self.in_fmt:
            raise ValueError(
                f"{self.cell}: the state format ({self.out_fmt}) must equal the input format ({self.in_fmt})"
            )
        if not MIN_GATE_BITS <= self.gate_bits <= 18:
            raise ValueError(f"{self.cell} gate_bits must be in {MIN_GATE_BITS}..18, got {self.gate_bits}")
        if self.placement not in PLACEMENTS:
            raise ValueError(f"placement must be one of {PLACEMENTS}, got {self.placement!r}")
        for name, fmt in (("in_fmt", self.in_fmt), ("weight_fmt", self.weight_fmt), ("cell_fmt", self.cell_fmt)):
            if fmt.frac_bits < 0:
                raise ValueError(f"{name} frac_bits must be >= 0, got {fmt.frac_bits}")
        if self.gate_fmt.frac_bits > self.acc_frac_bits:
            raise ValueError(
                f"{self.cell} gate_bits {self.gate_bits}: the gates' {self.gate_fmt.frac_bits} fractional bits must be "
                f"<= input frac + weight frac ({self.acc_frac_bits}); use gate_bits <= {self.acc_frac_bits + 2}"
            )
        set_ = object.__setattr__
        set_(self, "fan_in", self.in_features + self.hidden_size)
        for knob in RECURRENT_KNOBS:
            knob.check(getattr(self.folding, knob.name), self)
        set_(self, "unit_groups", -(-self.hidden_size // self.folding.pe))
        set_(self, "chunks", -(-self.fan_in // self.folding.simd))
        set_(self, "step_cycles", self.jobs * self.chunks + self.tree_stages + STEP_OVERHEAD_CYCLES)
        latency = recurrent_latency(self.seq_len, self.step_cycles, self.hidden_size, self.return_sequence)
        set_(self, "latency_cycles", latency)
        offset = max(plan.round_constant for plan in self.row_plans if plan is not None)
        set_(self, "acc_bits", accumulator_bits(self.in_fmt, self.weight_fmt, self.fan_in, offset))
        set_(self, "macs", self.seq_len * GATES * self.hidden_size * self.fan_in)
        h = self.hidden_size
        weights = GATES * h * self.fan_in if self.cell == "lstm" else 3 * h * self.fan_in
        set_(self, "params", weights + GATES * h)

    # --- shape -------------------------------------------------------------------------------------------
    @property
    def in_size(self) -> int:
        return self.seq_len * self.in_features

    @property
    def out_size(self) -> int:
        return self.seq_len * self.hidden_size if self.return_sequence else self.hidden_size

    @property
    def rows(self) -> int:
        return GATES * self.hidden_size

    # --- folding -----------------------------------------------------------------------------------------
    @property
    def gate_lanes(self) -> int:
        """Lanes per hidden unit: 4 with separate gate lanes, else 1."""
        return GATES if self.folding.gate_lanes == "separate" else 1

    @property
    def passes(self) -> int:
        """Jobs per unit group: the gate rows one after another on shared lanes, all at once on separate ones."""
        return GATES // self.gate_lanes

    @property
    def lanes(self) -> int:
        return self.folding.pe * self.gate_lanes

    @property
    def jobs(self) -> int:
        """Jobs per time step: unit groups x passes, each ``chunks`` reads."""
        return self.unit_groups * self.passes

    @property
    def tree_stages(self) -> int:
        return 1 if self.folding.simd > 1 else 0

    @property
    def x_chunks(self) -> int:
        """Chunks that hold input elements: words per time step in each input-buffer bank."""
        return -(-self.in_features // self.folding.simd)

    @property
    def buffer_depth(self) -> int:
        """Words in each of the SIMD input-buffer banks: the whole sequence."""
        return self.seq_len * self.x_chunks

    @property
    def rom_depth(self) -> int:
        """Weight ROM words: word k*chunks + j holds the lanes x SIMD weights of job k, chunk j."""
        return self.jobs * self.chunks

    @property
    def rom_width(self) -> int:
        return self.lanes * self.folding.simd * self.weight_fmt.total_bits

    @property
    def rom_storage(self) -> str:
        return weight_rom_storage(self.folding.weight_storage, self.rom_depth, self.rom_width)

    @property
    def buffer_storage(self) -> str:
        return self.buffer_storage_on("xc7")

    def buffer_storage_on(self, family: str) -> str:
        if self.buffer_depth >= BUFFER_BRAM_MIN_DEPTH[family]:
            return "bram"
        return "lutram" if family == "xc7" else "registers"

    @property
    def bound_cycles(self) -> float:
        return self.macs / (self.lanes * self.folding.simd)

    def job_rows(self, job: int) -> list[int]:
        """Weight row of every lane in ``job`` (lane l = gate_lane * PE + p), -1 for a padding unit."""
        pe = self.folding.pe
        group, pass_ = divmod(job, self.passes)
        rows = []
        for gate_lane in range(self.gate_lanes):
            gate = pass_ + gate_lane
            for p in range(pe):
                unit = group * pe + p
                rows.append(gate * self.hidden_size + unit if unit < self.hidden_size else -1)
        return rows

    def rom_words(self, weight: np.ndarray) -> np.ndarray:
        """The weight ROM, (jobs x chunks, lanes x SIMD) codes: word job*C + j holds, for lane l of the job
        (job_rows) and slot s, weight[row, j*SIMD + s]; padding units and slots hold zero. The generator writes
        it; the estimator reads its content."""
        simd, chunks = self.folding.simd, self.chunks
        padded = np.zeros((self.rows + 1, chunks * simd), dtype=np.int64)  # the last row: a padding unit's zeros
        padded[: self.rows, : self.fan_in] = weight
        rows = np.array([self.job_rows(job) for job in range(self.jobs)])  # (jobs, lanes); -1 picks the zero row
        words = padded[rows].reshape(self.jobs, self.lanes, chunks, simd).transpose(0, 2, 1, 3)
        return words.reshape(self.jobs * chunks, self.lanes * simd)

    # --- arithmetic --------------------------------------------------------------------------------------
    @property
    def gate_fmt(self) -> FixedFormat:
        return FixedFormat(self.gate_bits, self.gate_bits - 2)

    @property
    def bias_fmt(self) -> FixedFormat:
        return product_format(self.in_fmt, self.weight_fmt)

    @property
    def acc_frac_bits(self) -> int:
        return self.in_fmt.frac_bits + self.weight_fmt.frac_bits

    @property
    def row_plans(self) -> tuple[RequantPlan | None, ...]:
        """Requantization of each gate row (None: the raw accumulator goes on, GRU's nx and nh)."""
        return tuple(
            requant_plan(a, self.acc_frac_bits, self.gate_fmt) if a else None for a in ROW_ACTIVATIONS[self.cell]
        )

    @property
    def candidate_plan(self) -> RequantPlan:
        """GRU: n = hardtanh(nx + r * nh) at frac F_acc + F_gate, into the gate format."""
        return requant_plan("hardtanh", self.acc_frac_bits + self.gate_fmt.frac_bits, self.gate_fmt)

    @property
    def requant_bits(self) -> int:
        """Widest value the float64 QAT model must hold exactly (contract.fixedpoint.requant_bits)."""
        acc = accumulator_bits(self.in_fmt, self.weight_fmt, self.fan_in)
        widest = requant_bits(acc, self.acc_frac_bits)
        if self.cell == "gru":
            widest = max(widest, requant_bits(acc + self.gate_bits, self.acc_frac_bits + self.gate_fmt.frac_bits))
        return widest

    @property
    def select_structure(self) -> tuple[int, int, int, int, int]:
        """The output select of the sigmoid rows (what estimators.dense reads for the requantization)."""
        plan = self.row_plans[0]
        assert plan is not None
        return plan.select_structure(self.acc_bits)

    # --- reference ---------------------------------------------------------------------------------------
    def weight_mask(self) -> np.ndarray:
        """(4H, N) booleans: where a weight may be non-zero (GRU's candidate rows have a zero half)."""
        h, c = self.hidden_size, self.in_features
        mask = np.ones((self.rows, self.fan_in), dtype=bool)
        if self.cell == "gru":
            mask[2 * h : 3 * h, c:] = False
            mask[3 * h :, :c] = False
        return mask

    def check_weights(self, weights: RecurrentWeights) -> None:
        if weights.weight.shape != (self.rows, self.fan_in):
            raise ValueError(f"weight shape {weights.weight.shape} != {(self.rows, self.fan_in)}")
        if weights.bias.shape != (self.rows,):
            raise ValueError(f"bias shape {weights.bias.shape} != {(self.rows,)}")
        for name, codes, fmt in (("weight", weights.weight, self.weight_fmt), ("bias", weights.bias, self.bias_fmt)):
            if codes.size and (codes.min() < fmt.min_int or codes.max() > fmt.max_int):
                raise ValueError(f"{name} codes out of range for {fmt}")
        if np.any(weights.weight[~self.weight_mask()]):
            raise ValueError("gru weights: the candidate rows' zero halves (nx: recurrent, nh: input) must be 0")

    def cell_step(self, gates: list[np.ndarray], c: np.ndarray, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One element-wise update from the four rows (gate codes, or raw accumulators for GRU's nx, nh)."""
        fg, fc, fs = self.gate_fmt.frac_bits, self.cell_fmt.frac_bits, self.in_fmt.frac_bits
        if self.cell == "lstm":
            i, f, g, o = gates
            frac = max(fg + fc, 2 * fg)
            total = (f * c << (frac - fg - fc)) + (i * g << (frac - 2 * fg))
            c = self.cell_fmt.saturate(round_shift(total, frac - self.cell_fmt.frac_bits))
            squashed = np.clip(c, -(1 << fc), 1 << fc)
            h = self.in_fmt.saturate(round_shift(o * squashed, fg + fc - fs))
            return c, h
        r, z, nx, nh = gates
        n = activate_and_requantize((nx << fg) + r * nh, self.acc_frac_bits + fg, "hardtanh", self.gate_fmt)
        frac = max(fg, fs)
        mixed = ((1 << fg) - z) * (n << (frac - fg)) + z * (h << (frac - fs))
        h = self.in_fmt.saturate(round_shift(mixed, fg + frac - fs))
        return c, h

    def forward(self, weights: RecurrentWeights, x: np.ndarray) -> np.ndarray:
        """x: (N, L*C) codes, time-major -> (N, H) codes (h_L), or (N, L*H) with return_sequence."""
        x = np.asarray(x, dtype=np.int64).reshape(-1, self.seq_len, self.in_features)
        n, h_size = x.shape[0], self.hidden_size
        w, b = weights.weight.astype(np.int64), weights.bias.astype(np.int64)
        h = np.zeros((n, h_size), dtype=np.int64)
        c = np.zeros((n, h_size), dtype=np.int64)
        outputs = []
        for t in range(self.seq_len):
            acc = np.concatenate([x[:, t], h], axis=1) @ w.T + b
            rows = [acc[:, k * h_size : (k + 1) * h_size] for k in range(GATES)]
            gates = [
                activate_and_requantize(row, self.acc_frac_bits, activation, self.gate_fmt) if activation else row
                for row, activation in zip(rows, ROW_ACTIVATIONS[self.cell], strict=True)
            ]
            c, h = self.cell_step(gates, c, h)
            outputs.append(h)
        return np.concatenate(outputs, axis=1) if self.return_sequence else h

    def random_weights(self, rng: np.random.Generator) -> RecurrentWeights:
        w = rng.integers(self.weight_fmt.min_int, self.weight_fmt.max_int + 1, size=(self.rows, self.fan_in))
        b = rng.integers(self.bias_fmt.min_int, self.bias_fmt.max_int + 1, size=self.rows)
        return RecurrentWeights(np.where(self.weight_mask(), w, 0).astype(np.int64), b.astype(np.int64))

    # --- serialization -----------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "in_features": self.in_features,
            "seq_len": self.seq_len,
            "hidden_size": self.hidden_size,
            "in_fmt": self.in_fmt.to_dict(),
            "weight_fmt": self.weight_fmt.to_dict(),
            "out_fmt": self.out_fmt.to_dict(),
            "gate_bits": self.gate_bits,
            "cell_fmt": self.cell_fmt.to_dict(),
            "return_sequence": self.return_sequence,
            "folding": self.folding.to_dict(),
            "placement": self.placement,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Any:
        return cls(
            in_features=int(data["in_features"]),
            seq_len=int(data["seq_len"]),
            hidden_size=int(data["hidden_size"]),
            in_fmt=FixedFormat.from_dict(data["in_fmt"]),
            weight_fmt=FixedFormat.from_dict(data["weight_fmt"]),
            out_fmt=FixedFormat.from_dict(data["out_fmt"]),
            gate_bits=int(data.get("gate_bits", 8)),
            cell_fmt=FixedFormat.from_dict(data.get("cell_fmt", {"total_bits": 12, "frac_bits": 8})),
            return_sequence=bool(data.get("return_sequence", False)),
            folding=RecurrentFolding.from_dict(data.get("folding", {})),
            placement=str(data.get("placement", "fpga")),
        )


@register("lstm")
@dataclass(frozen=True, slots=True)
class LstmLayer(RecurrentLayer):
    kind = "lstm"


@register("gru")
@dataclass(frozen=True, slots=True)
class GruLayer(RecurrentLayer):
    kind = "gru"
