"""Design description -> VHDL-2008 sources (in memory): one entity per FPGA dense layer plus a top level.

The hardware is exactly the one in docs/architecture.md. Every constant is baked into the entity (no
generics), so each file is self-contained and GHDL's VPI never sees generic-dependent array bounds.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from string import Template

import numpy as np

from dse.design import AcceleratorDesign, DenseLayer
from dse.fixedpoint import ceil_log2
from dse.reference import LayerWeights, check_weights

COMPILE_ORDER_FILE = "compile_order.txt"
# Vivado attribute values per storage; yosys gets its own attribute in generator.verilog_fixes.
VIVADO_ROM_STYLE = {"lutrom": "distributed", "bram": "block"}


def _template(name: str) -> Template:
    return Template(resources.files("generator").joinpath("templates", name).read_text())


def layer_entity_name(design: AcceleratorDesign, index: int) -> str:
    """Entity name of the ``index``-th FPGA layer (0-based within the FPGA segment)."""
    return f"{design.name}_layer{index}"


def fpga_weights(design: AcceleratorDesign, weights: list[LayerWeights]) -> list[LayerWeights]:
    """The weights of the FPGA layers; accepts weights for all layers or for the FPGA layers only."""
    fpga = design.fpga_layers
    if len(weights) == len(design.layers):
        selected = [w for layer, w in zip(design.layers, weights, strict=True) if layer.placement == "fpga"]
    elif len(weights) == len(fpga):
        selected = list(weights)
    else:
        raise ValueError(
            f"got {len(weights)} weight sets; expected {len(design.layers)} (all layers) or {len(fpga)} (FPGA layers)"
        )
    for layer, layer_weights in zip(fpga, selected, strict=True):
        check_weights(layer, layer_weights)
    return selected


def fpga_layer_slice(design: AcceleratorDesign) -> slice:
    """The FPGA segment as a slice of ``design.layers`` (for dse.reference.run_reference)."""
    indices = [i for i, layer in enumerate(design.layers) if layer.placement == "fpga"]
    if not indices:
        raise ValueError(f"design {design.name!r} has no FPGA layers")
    return slice(indices[0], indices[-1] + 1)


def bits(value: int, width: int) -> str:
    """Two's-complement bit string of ``value`` in ``width`` bits (MSB first)."""
    if not -(1 << (width - 1)) <= value < (1 << width):
        raise ValueError(f"{value} does not fit in {width} bits")
    return format(value & ((1 << width) - 1), f"0{width}b")


def signed_literal(value: int, width: int) -> str:
    """A VHDL signed literal; bit strings avoid VHDL's 32-bit integer limit for wide constants."""
    if not -(1 << (width - 1)) <= value < (1 << (width - 1)):
        raise ValueError(f"{value} does not fit in a signed {width}-bit literal")
    return f'signed\'("{bits(value, width)}")'


def _packed_words(rows: list[list[int]], width: int, min_depth: int = 2) -> str:
    """Array aggregate of packed words (element 0 in the low bits), padded with zero words to ``min_depth``."""
    words = ["".join(bits(v, width) for v in reversed(row)) for row in rows]
    total = len(rows[0]) * width
    words += ["0" * total] * max(0, min_depth - len(words))
    return ",\n".join(f'    {i} => "{w}"' for i, w in enumerate(words))


@dataclass(frozen=True)
class RequantPlan:
    """Activation + round half up + saturation of one layer as thresholds on the accumulator.

    Every activation is a clamp, and rounding and saturation are monotone, so
    ``sat(round(clamp(acc + offset, a, b)))`` equals ``clamp(round(acc + offset), low, high)`` with
    ``low = sat(round(a))`` and ``high = sat(round(b))`` (dse.fixedpoint.activate_and_requantize). In hardware
    that is two comparisons of the accumulator with constants and one modular adder, all in parallel,
    instead of a chain of carry chains: ``acc < below_threshold`` gives ``low``, ``acc >= above_threshold``
    gives ``high``, otherwise the result is bits ``shift + out_bits - 1 .. shift`` of ``acc + round_constant``.
    """

    acc_bits: int
    out_bits: int
    shift: int  # s = activation frac bits - out frac bits >= 0
    round_constant: int  # activation offset + 2**(s-1) (rounding), added before the shift
    low: int
    high: int
    below_threshold: int  # acc < this -> low
    above_threshold: int  # acc >= this -> high

    @classmethod
    def of(cls, layer: DenseLayer) -> RequantPlan:
        f = layer.acc_frac_bits
        out = layer.out_fmt
        offset, frac = 0, f
        bounds: tuple[int | None, int | None] = (None, None)  # clamp bounds on acc + offset
        if layer.activation == "relu":
            bounds = (0, None)
        elif layer.activation == "hardtanh":
            bounds = (-(1 << f), 1 << f)
        elif layer.activation == "hardsigmoid":
            offset, frac, bounds = 1 << (f + 1), f + 2, (0, 1 << (f + 2))
        elif layer.activation != "identity":
            raise ValueError(f"unsupported activation {layer.activation!r}")
        shift = frac - out.frac_bits
        half = (1 << (shift - 1)) if shift > 0 else 0

        def rounded(value: int) -> int:
            return (value + half) >> shift

        def saturated(value: int) -> int:
            return min(max(value, out.min_int), out.max_int)

        low = out.min_int if bounds[0] is None else saturated(rounded(bounds[0]))
        high = out.max_int if bounds[1] is None else saturated(rounded(bounds[1]))
        # rounded(v) <= low  <=>  v < (low + 1) * 2**s - half;  rounded(v) >= high  <=>  v >= high * 2**s - half.
        return cls(
            acc_bits=layer.acc_bits,
            out_bits=out.total_bits,
            shift=shift,
            round_constant=offset + half,
            low=low,
            high=high,
            below_threshold=((low + 1) << shift) - half - offset,
            above_threshold=(high << shift) - half - offset,
        )

    @property
    def sum_bits(self) -> int:
        """Only the low s + By bits of acc + round_constant are ever output, so the adder is that wide."""
        return self.shift + self.out_bits

    def apply(self, acc: np.ndarray) -> np.ndarray:
        """The hardware's integer function (for tests against dse.fixedpoint)."""
        acc = np.asarray(acc, dtype=object)
        mask = (1 << self.sum_bits) - 1
        middle = np.array([((int(a) + self.round_constant) & mask) >> self.shift for a in acc.ravel()], dtype=object)
        sign = 1 << (self.out_bits - 1)
        middle = (middle ^ sign) - sign  # two's complement of the By-bit slice
        upper = np.where(acc >= self.above_threshold, self.high, middle)
        result = np.where(acc < self.below_threshold, self.low, upper)
        return result.reshape(acc.shape).astype(np.int64)


def _compare_with_constant(operator: str, threshold: int, acc_bits: int) -> str:
    """VHDL for ``acc < threshold`` or ``acc >= threshold``; constant when the threshold is out of acc's range."""
    acc_min, acc_max = -(1 << (acc_bits - 1)), (1 << (acc_bits - 1)) - 1
    if operator == "<":
        if threshold <= acc_min:
            return "'0'"
        if threshold > acc_max:
            return "'1'"
    else:
        if threshold <= acc_min:
            return "'1'"
        if threshold > acc_max:
            return "'0'"
    return f"'1' when acc {operator} {signed_literal(threshold, acc_bits)} else '0'"


def requant_vhdl(layer: DenseLayer) -> tuple[str, str]:
    """(declarations, concurrent statements) computing ``result`` from the lane's ``acc``."""
    plan = RequantPlan.of(layer)
    sum_bits, acc_bits = plan.sum_bits, plan.acc_bits
    if sum_bits <= acc_bits:
        acc_low = f"unsigned(acc({sum_bits - 1} downto 0))"  # slice: resize() would keep the sign bit
    else:
        acc_low = f"unsigned(resize(acc, {sum_bits}))"
    constant = plan.round_constant % (1 << sum_bits)
    decls = "\n".join(
        [
            "    signal below, above : std_logic;",
            f"    signal rounded : unsigned({sum_bits} - 1 downto 0);",
            f"    signal result : signed({plan.out_bits} - 1 downto 0);",
        ]
    )
    stmts = "\n".join(
        [
            f"    below <= {_compare_with_constant('<', plan.below_threshold, acc_bits)};",
            f"    above <= {_compare_with_constant('>=', plan.above_threshold, acc_bits)};",
            f'    rounded <= {acc_low} + unsigned\'("{bits(constant, sum_bits)}");',
            f"    result <= {signed_literal(plan.low, plan.out_bits)} when below = '1' else",
            f"              {signed_literal(plan.high, plan.out_bits)} when above = '1' else",
            f"              signed(rounded({sum_bits - 1} downto {plan.shift}));",
        ]
    )
    return decls, stmts


def _lane_rows(values: np.ndarray, lanes: int, pad_rows: int) -> np.ndarray:
    """Pad the output dimension of ``values`` to ``pad_rows`` (padding lanes get zeros)."""
    padded = np.zeros((pad_rows, *values.shape[1:]), dtype=np.int64)
    padded[: values.shape[0]] = values
    return padded


def emit_layer(entity: str, layer: DenseLayer, weights: LayerWeights) -> str:
    """VHDL of one dense layer entity with its weights and biases baked in."""
    check_weights(layer, weights)
    lanes, groups, fan_in = layer.parallelism, layer.groups, layer.in_features
    wbits, bbits = layer.weight_fmt.total_bits, layer.bias_fmt.total_bits
    xbits, ybits = layer.in_fmt.total_bits, layer.out_fmt.total_bits

    w = _lane_rows(weights.weight, lanes, groups * lanes)  # (G*P, IN)
    b = _lane_rows(weights.bias, lanes, groups * lanes)  # (G*P,)
    rom_rows = [[int(w[g * lanes + p, i]) for p in range(lanes)] for g in range(groups) for i in range(fan_in)]
    bias_rows = [[int(b[g * lanes + p]) for p in range(lanes)] for g in range(groups)]
    # Tables have at least 2 entries: GHDL 2.0 prints invalid Verilog for a variable index into 1 entry.
    rom_depth, bias_depth = max(2, len(rom_rows)), max(2, len(bias_rows))

    out_shift_width = groups * lanes * ybits
    group_width = lanes * ybits
    if groups == 1:
        out_shift_update = "out_shift <= group_result;"
    else:
        out_shift_update = f"out_shift <= group_result & out_shift({out_shift_width - 1} downto {group_width});"
    in_width = fan_in * xbits
    if fan_in == 1:
        x_rotate = "-- a single input element: nothing to rotate"
    else:
        x_rotate = f"x_rotating <= x_rotating({xbits - 1} downto 0) & x_rotating({in_width - 1} downto {xbits});"
    rom_style = VIVADO_ROM_STYLE[layer.rom_storage]
    requant_decls, requant_stmts = requant_vhdl(layer)

    return _template("dense_layer.vhd").substitute(
        entity=entity,
        in_features=fan_in,
        out_features=layer.out_features,
        activation=layer.activation,
        lanes=lanes,
        storage=layer.rom_storage,
        latency=layer.latency_cycles,
        in_width=in_width,
        out_width=layer.out_features * ybits,
        rom_depth=rom_depth,
        rom_width=layer.rom_width,
        rom_entries=_packed_words(rom_rows, wbits),
        bias_bits=bbits,
        bias_depth=bias_depth,
        bias_width=lanes * bbits,
        bias_entries=_packed_words(bias_rows, bbits),
        addr_bits=max(1, ceil_log2(rom_depth)),
        last_addr=groups * fan_in - 1,
        index_bits=max(1, ceil_log2(fan_in)),
        last_input=fan_in - 1,
        group_bits=max(1, ceil_log2(bias_depth)),
        last_group=groups - 1,
        out_shift_width=out_shift_width,
        rom_style_attribute=(
            f'attribute rom_style : string;\n  attribute rom_style of weight_word : signal is "{rom_style}";'
        ),
        in_bits=xbits,
        group_result_width=group_width,
        out_shift_update=out_shift_update,
        x_rotate=x_rotate,
        product_bits=xbits + wbits,
        acc_bits=layer.acc_bits,
        weight_bits=wbits,
        out_bits=ybits,
        requant_declarations=requant_decls,
        requant_statements=requant_stmts,
    )


def emit_top(design: AcceleratorDesign) -> str:
    """Top-level entity ``design.name``: the FPGA layers chained output-to-input."""
    layers = design.fpga_layers
    widths = [layers[0].in_features * layers[0].in_fmt.total_bits]
    widths += [layer.out_features * layer.out_fmt.total_bits for layer in layers]
    n = len(layers)
    signals, instances = [], []
    for k, width in enumerate(widths):
        signals.append(f"  signal link{k}_valid, link{k}_ready : std_logic;")
        signals.append(f"  signal link{k}_data : std_logic_vector({width} - 1 downto 0);")
    assignments = [
        "  link0_valid <= in_valid;",
        "  in_ready    <= link0_ready;",
        "  link0_data  <= in_data;",
        f"  out_valid   <= link{n}_valid;",
        f"  link{n}_ready <= out_ready;",
        f"  out_data    <= link{n}_data;",
    ]
    for k in range(n):
        instances.append(
            f"  layer{k} : entity work.{layer_entity_name(design, k)}\n"
            "    port map (\n"
            "      clk => clk, rst => rst,\n"
            f"      in_valid => link{k}_valid, in_ready => link{k}_ready, in_data => link{k}_data,\n"
            f"      out_valid => link{k + 1}_valid, out_ready => link{k + 1}_ready, out_data => link{k + 1}_data\n"
            "    );"
        )
    return _template("top.vhd").substitute(
        entity=design.name,
        n_layers=n,
        latency=design.latency_cycles,
        ii=design.initiation_interval,
        in_width=widths[0],
        out_width=widths[-1],
        link_signals="\n".join(signals),
        link_assignments="\n".join(assignments),
        instances="\n\n".join(instances),
    )


def emit_vhdl(design: AcceleratorDesign, weights: list[LayerWeights]) -> dict[str, str]:
    """In-memory file system {relative path: text}: layer entities, top level, compile_order.txt."""
    if not design.name.isidentifier() or "__" in design.name or design.name.endswith("_"):
        raise ValueError(f"design name {design.name!r} is not a valid VHDL identifier")
    selected = fpga_weights(design, weights)
    files: dict[str, str] = {}
    order: list[str] = []
    for index, (layer, layer_weights) in enumerate(zip(design.fpga_layers, selected, strict=True)):
        entity = layer_entity_name(design, index)
        path = f"{entity}.vhd"
        files[path] = emit_layer(entity, layer, layer_weights)
        order.append(path)
    top = f"{design.name}.vhd"
    files[top] = emit_top(design)
    order.append(top)
    files[COMPILE_ORDER_FILE] = "\n".join(order) + "\n"
    return files


def compile_order(files: dict[str, str]) -> list[str]:
    """The VHDL sources of an emitted file system in analysis order."""
    return files[COMPILE_ORDER_FILE].split()
