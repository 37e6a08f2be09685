"""Calibration files: per-family coefficients of the resource, power and MCU models, with their provenance."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

# Structural features of one dense layer (estimators.dense.dense_features); LUT and FF are linear in them.
FEATURES = (
    "const",
    "rom_lut_bits",  # LUT-ROM bits: depth x width
    "rom_lut_cols",  # LUT-ROM output columns: width x ceil(depth / words per LUT)
    "rom_reg_bits",  # the registered LUT-ROM word
    "bias_cols",  # bias table (lanes x accumulator bits) when there is more than one group
    "bias_mux_bits",  # its read merged with the first-word select: lanes x acc bits x the LUTs beyond one per bit
    "acc_bits",  # lanes x accumulator bits (in fabric)
    "acc_dsp_bits",  # lanes x accumulator bits where one DSP product feeds the accumulator (SIMD 1): may pack
    "clamp_chunks",  # threshold comparators (acc <= 32 bits): lanes x active comparisons x ceil(acc / LUT inputs)
    "clamp_wide_bits",  # threshold comparators (acc > 32 bits): lanes x active comparisons x acc bits
    "clamp_mux_diff_bits",  # output select, both clamps active, bits where the low and high constants differ
    "clamp_mux_same_bits",  # output select, both clamps active, bits where they are equal
    "clamp_mux_one_bits",  # output select with one active clamp
    "sign_select_bits",  # output select when both thresholds are 0: high or 0 by the accumulator's sign
    "soft_mult_bits",  # '*' too narrow for a DSP, built by the tools in LUTs: lanes x SIMD x Bx x Bw
    "shift_add_bits",  # multiplier 'lut' (shift-and-add, Bx - 1 adders): lanes x SIMD x the measured LUTs of one
    # product (ShiftAddTable) where the family has a table, else lanes x SIMD x (Bx - 1) x Bw ...
    "shift_add_sq_bits",  # ... plus the sign-extended upper part of each adder: lanes x SIMD x (Bx - 1) x Bx
    "shift_add_copy_bits",  # xc7 LUT ROM: what the table adds for the weight's sign copies (top bits equal to the
    # bit below in every word, one shared flip-flop), which shift_add_bits leaves out
    "const_mult_bits",  # soft products by a one-word ROM (constant weights, folded by synthesis): lanes x Bx x Bw
    "small_rom_mult_bits",  # tool-built products by a ROM of 2..4 words (a choice among constant products): x depth
    "few_input_bits",  # soft products of few inputs (ROM address bits + Bx <= LUT inputs): one LUT per product bit
    "soft_prod_bits",  # product registers of either: lanes x SIMD x (Bx + Bw)
    "dsp_mults",  # multipliers in DSP blocks
    "tree_bits",  # SIMD adder trees: lanes x (SIMD - 1) x tree width
    "tree_reg_bits",  # their output registers: lanes x tree width
    "buffer_bits",  # input buffer read registers: SIMD x Bx
    "buffer_reg_bits",  # input buffer in registers (iCE40, which has no LUTRAM): SIMD x C x Bx
    "out_bits",  # output register: lanes x By
    "out_shift_bits",  # its shift path: (lanes - 1) x By
    "counter_bits",  # address, chunk, group, bank and count registers
)
# The fmax model: the clock period is the slowest of these register-to-register paths, each linear in its
# features (estimators.timing.engine_paths computes them).
TIMING_PATHS: dict[str, tuple[str, ...]] = {
    "read_multiply": (
        "const",
        "rom_levels",  # LUT-ROM read: mux levels
        "bram_rom",  # weights in block RAM (its clock-to-output)
        "soft_mult_min",  # a LUT multiplier: min(Bx, Bw) adder rows ...
        "soft_mult_sum",  # ... of Bx + Bw bits
        "few_input",  # a product of few inputs: one LUT level
        "dsp",  # products in DSP blocks
    ),
    "accumulate": (
        "const",
        "acc_bits",  # the accumulator's carry chain
        "tree_levels",  # SIMD adder tree levels (LUT products)
        "tree_bits",  # levels x product bits
        "dsp_chain",  # SIMD DSP products chained through the cascade
        "dsp_mac",  # one DSP product per lane, accumulated in the DSP
    ),
    "control": ("const", "register_bits_log2"),  # the stall signal enables every register
}
# iCE40 packing: nextpnr puts a flip-flop in the cell of the LUT that drives it alone, and how often that happens
# depends on what the flip-flop holds. Each group of FF features has its own cells-per-FF coefficient; FF features
# in no group form the group "other".
PACKING_GROUPS: dict[str, tuple[str, ...]] = {
    "accumulator": ("acc_bits", "acc_dsp_bits", "bias_cols"),
    "rom_word": ("rom_reg_bits",),
    "products": ("soft_prod_bits", "tree_reg_bits"),
    "input_buffer": ("buffer_bits", "buffer_reg_bits"),
    "output": ("out_bits", "out_shift_bits"),
    "control": ("counter_bits", "const"),
}
PACKING_GROUP_NAMES = (*PACKING_GROUPS, "other")
PACKING_GROUP_OF = tuple(
    next((group for group, names in PACKING_GROUPS.items() if name in names), "other") for name in FEATURES
)
POWER_KEYS = ("clock_uw_per_mhz", "lut_uw_per_mhz", "ff_uw_per_mhz", "dsp_uw_per_mhz", "bram_uw_per_mhz", "activity")
BOARD_KEYS = (
    "mcu_mhz",
    "mcu_cycles_per_mac",
    "mcu_cycles_per_output",
    "mcu_cycles_per_layer",
    "mcu_active_mw",
    "link_mhz",
    "link_overhead_us",
    "link_mw",
)


@dataclass(frozen=True, slots=True)
class DspRule:
    min_input_bits: int
    min_product_bits: int
    max_a_bits: int
    max_b_bits: int
    # table[a][b] for every width a FixedFormat allows (1..32): the estimator's hot path indexes it directly.
    table: tuple[tuple[int, ...], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        rows = tuple(tuple(self._count(a, b) for b in range(33)) for a in range(33))
        object.__setattr__(self, "table", rows)

    def _count(self, a_bits: int, b_bits: int) -> int:
        if min(a_bits, b_bits) < self.min_input_bits or a_bits + b_bits < self.min_product_bits:
            return 0
        a_bits, b_bits = max(a_bits, b_bits), min(a_bits, b_bits)
        return -(-a_bits // self.max_a_bits) * -(-b_bits // self.max_b_bits)

    def dsps_per_multiplier(self, a_bits: int, b_bits: int) -> int:
        """How many DSP blocks yosys infers for a registered signed a*b (0: built from LUTs)."""
        return self.table[a_bits][b_bits] if a_bits <= 32 and b_bits <= 32 else self._count(a_bits, b_bits)


def adder_bits(in_bits: int, weight_bits: int) -> float:
    """Roughly the adder bits of a shift-and-add product: Bx rows (the sign row included) of Bw + Bx / 2 bits."""
    return in_bits * (weight_bits + in_bits / 2)


@dataclass(frozen=True, slots=True)
class ShiftAddTable:
    """LUTs of one shift-and-add product alone, per operand width (scripts/measure_shift_add.py): yosys/ABC maps
    the adder rows unevenly across widths, which no linear feature follows. Widths outside the measured square
    take its nearest entry, scaled by the adder bits they add (adder_bits)."""

    min_bits: int
    luts: tuple[tuple[float, ...], ...]  # luts[Bx - min_bits][Bw - min_bits]
    # table[Bx][Bw] for every width a FixedFormat allows (0..32): the estimator's hot path indexes it directly.
    table: tuple[tuple[float, ...], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        top = self.min_bits + len(self.luts) - 1
        if self.min_bits < 1 or not self.luts or any(len(row) != len(self.luts) for row in self.luts):
            raise ValueError("shift_add_luts: min_bits must be >= 1 and luts a non-empty square table")

        def entry(bx: int, bw: int) -> float:
            nx, nw = (min(max(bits, self.min_bits), top) for bits in (bx, bw))
            return self.luts[nx - self.min_bits][nw - self.min_bits] * adder_bits(bx, bw) / adder_bits(nx, nw)

        object.__setattr__(self, "table", tuple(tuple(entry(a, b) for b in range(33)) for a in range(33)))


def _shift_add_table(data: dict[str, Any], where: str) -> ShiftAddTable | None:
    table = data.get("shift_add_luts")
    if table is None:
        return None
    try:
        return ShiftAddTable(int(table["min_bits"]), tuple(tuple(float(v) for v in row) for row in table["luts"]))
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"{where}: shift_add_luts needs min_bits >= 1 and a square table 'luts' of numbers") from None


@dataclass(frozen=True)
class Calibration:
    family: str
    version: str
    lut: tuple[float, ...]
    ff: tuple[float, ...]
    dsp_rule: DspRule
    bram_kind: str
    power: dict[str, float]
    static_mw: float | None
    board: dict[str, float]
    provenance: dict[str, Any] = field(default_factory=dict)
    path: str = ""
    power_source: str = ""  # how the power coefficients were obtained ("Prior: ..." until fitted)
    board_source: str = ""
    # Per TIMING_PATHS entry, ns per feature (estimators.timing); iCE40 logic cells = packing . (LUT, FF).
    timing: tuple[tuple[float, ...], ...] = ()
    packing: tuple[float, float] | None = None
    # iCE40 logic cells of a dense engine's flip-flops per feature: the FF coefficient times its group's packing
    # (PACKING_GROUPS); None: every flip-flop counts packing[1].
    packing_ff: tuple[float, ...] | None = None
    shift_add: ShiftAddTable | None = None  # the family's measured shift-and-add products (None: rows x Bw)

    @classmethod
    def from_dict(cls, data: dict[str, Any], path: str = "") -> Calibration:
        where = path or "calibration"
        try:
            lut = tuple(float(data["lut"][name]) for name in FEATURES)
            ff = tuple(float(data["ff"][name]) for name in FEATURES)
            rule = data["dsp_rule"]
            dsp_rule = DspRule(
                int(rule["min_input_bits"]),
                int(rule["min_product_bits"]),
                int(rule["max_a_bits"]),
                int(rule["max_b_bits"]),
            )
            power = {key: float(data["power"][key]) for key in POWER_KEYS}
            board = {key: float(data["board"][key]) for key in BOARD_KEYS}
        except KeyError as missing:
            raise ValueError(f"{where}: missing key {missing}") from None
        timing, packing = _limits(data, where)
        static = data["power"].get("static_mw")
        provenance = {k: data.get(k) for k in ("version", "created", "source", "tools", "n_samples", "errors")}
        return cls(
            family=str(data["family"]),
            version=str(data.get("version", "")),
            lut=lut,
            ff=ff,
            dsp_rule=dsp_rule,
            bram_kind=str(data["bram_rule"]["kind"]),
            power=power,
            static_mw=None if static is None else float(static),
            board=board,
            provenance=provenance,
            path=path,
            power_source=str(data["power"].get("source", "")),
            board_source=str(data["board"].get("source", "")),
            timing=tuple(tuple(timing["paths"][p][n] for n in names) for p, names in TIMING_PATHS.items()),
            packing=None if packing is None else (float(packing["lut"]), float(packing["ff"])),
            packing_ff=_packing_ff(packing, ff, where),
            shift_add=_shift_add_table(data, where),
        )


def _packing_ff(packing: dict[str, Any] | None, ff: tuple[float, ...], where: str) -> tuple[float, ...] | None:
    """Per feature, the logic cells its flip-flops add: ff coefficient x the packing of its group."""
    groups = None if packing is None else packing.get("ff_groups")
    if groups is None:
        return None
    try:
        per_group = {name: float(groups[name]) for name in PACKING_GROUP_NAMES}
    except (KeyError, TypeError, ValueError):
        raise ValueError(
            f"{where}: packing.ff_groups needs a number for every group of {PACKING_GROUP_NAMES}"
        ) from None
    return tuple(coefficient * per_group[group] for coefficient, group in zip(ff, PACKING_GROUP_OF, strict=True))


def _limits(data: dict[str, Any], where: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The fmax model and the logic-cell packing; a file written before they existed takes the shipped ones."""
    timing, packing = data.get("timing"), data.get("packing")
    if timing is None:
        shipped_file = resources.files("estimators").joinpath("calibration", f"{data['family']}.json")
        shipped = json.loads(shipped_file.read_text())
        timing, packing = shipped["timing"], shipped.get("packing")
    try:
        paths = {path: {n: float(timing["paths"][path][n]) for n in names} for path, names in TIMING_PATHS.items()}
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"{where}: timing.paths needs a number for every feature of {dict(TIMING_PATHS)}") from None
    return {**timing, "paths": paths}, packing


def ff_cells(ff: float, calibration: Calibration) -> float:
    """What ``ff`` flip-flops add to the packed iCE40 logic cells, by the family's average packing (the dense
    engine's own flip-flops are packed by group: estimators.dense.dense_numbers)."""
    packing = calibration.packing
    return packing[1] * ff if packing else 0.0


@cache
def default_calibration(family: str) -> Calibration:
    resource = resources.files("estimators").joinpath("calibration", f"{family}.json")
    return Calibration.from_dict(json.loads(resource.read_text()), path=f"estimators/calibration/{family}.json")


def read_calibration_dict(path: Path, what: str = "calibration file") -> dict[str, Any]:
    """The raw JSON of a calibration file; ``what`` names it in errors (e.g. the CLI option)."""
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ValueError(f"{what} {str(path)!r} does not exist") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"{what} {str(path)!r} is not valid JSON: {error}") from None


def load_calibration(path: Path) -> Calibration:
    return Calibration.from_dict(read_calibration_dict(path), path=str(path))
