"""Design description -> VHDL-2008 sources (in memory): one entity per FPGA dense layer plus a top level.

The hardware is exactly the one in docs/architecture.md. Every constant is baked into the entity (no
generics), so each file is self-contained and GHDL's VPI never sees generic-dependent array bounds.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from string import Template
from typing import Any

import numpy as np

from contract.design import AcceleratorDesign, top_counter_bits
from contract.fixedpoint import ceil_log2
from contract.layers import DenseLayer
from contract.reference import LayerWeights

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
        layer.check_weights(layer_weights)
    return selected


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


def _compare_with_constant(operator: str, threshold: int, acc_bits: int) -> str:
    """VHDL for ``acc < threshold`` or ``acc >= threshold``; constant when the threshold is out of acc's range."""
    acc_min, acc_max = -(1 << (acc_bits - 1)), (1 << (acc_bits - 1)) - 1
    if threshold <= acc_min:
        return "'0'" if operator == "<" else "'1'"
    if threshold > acc_max:
        return "'1'" if operator == "<" else "'0'"
    return f"'1' when acc {operator} {signed_literal(threshold, acc_bits)} else '0'"


def requant_vhdl(layer: DenseLayer) -> str:
    """Concurrent statements computing the lane's ``result`` from its biased accumulator ``acc``."""
    plan, acc_bits = layer.requant, layer.acc_bits
    top = plan.slice_bits - 1
    if plan.slice_bits <= acc_bits:
        middle = f"acc({top} downto {plan.shift})"
    else:  # the accumulator is narrower than the slice: sign-extend it first
        middle = f"resize(acc, {plan.slice_bits})({top} downto {plan.shift})"
    return "\n".join(
        [
            f"    below <= {_compare_with_constant('<', plan.below, acc_bits)};",
            f"    above <= {_compare_with_constant('>=', plan.above, acc_bits)};",
            f"    result <= {signed_literal(plan.low, plan.out_bits)} when below = '1' else",
            f"              {signed_literal(plan.high, plan.out_bits)} when above = '1' else",
            f"              {middle};",
        ]
    )


def _multiplier(layer: DenseLayer) -> dict[str, str]:
    return multiplier_parts(layer.in_fmt.total_bits, layer.weight_fmt.total_bits, layer.folding.multiplier)


def multiplier_parts(bx: int, bw: int, multiplier: str) -> dict[str, str]:
    """The product of one lane slot: ``*`` (DSP blocks where the tools see fit) or shift-and-add in LUTs."""
    if multiplier == "dsp":
        return {"multiply_variables": "", "multiply_body": "            product(s) <= w * x;", "product_attribute": ""}
    # No '*' operator, so no tool maps it to a DSP block; the attribute tells Vivado the same.
    # Partial products gated by the bits of x (an AND that folds into each adder's LUT), the sign bit's subtracted.
    body = [
        "            sum := (others => '0');",
        f"            for i in 0 to {bx - 2} loop",
        f"              partial := resize(w, {bx + bw}) when x(i) = '1' else (others => '0');",
        "              sum := sum + shift_left(partial, i);",
        "            end loop;",
        f"            partial := resize(w, {bx + bw}) when x({bx - 1}) = '1' else (others => '0');",
        f"            sum := sum - shift_left(partial, {bx - 1});",
        "            product(s) <= sum;",
    ]
    return {
        "multiply_variables": f"        variable sum, partial : signed({bx + bw} - 1 downto 0);",
        "multiply_body": "\n".join(body),
        "product_attribute": 'attribute use_dsp : string;\n    attribute use_dsp of product : signal is "no";',
    }


def _buffer_banks(layer: DenseLayer) -> str:
    bits, depth = layer.in_fmt.total_bits, max(2, layer.chunks)
    style = "block" if layer.buffer_storage == "bram" else "distributed"
    return f"""  -- Input buffer: {layer.folding.simd} bank(s) of {layer.chunks} word(s); padding slots stay 0.
  banks : for s in 0 to {layer.folding.simd} - 1 generate
    type bank_t is array (0 to {depth} - 1) of std_logic_vector({bits} - 1 downto 0);
    signal bank    : bank_t := (others => (others => '0'));
    attribute ram_style : string;
    attribute ram_style of bank : signal is "{style}";
    signal element : std_logic_vector({bits} - 1 downto 0);
  begin
    buffer_bank : process (clk)
    begin
      if rising_edge(clk) then
        if take = '1' and w_bank = s then
          bank(to_integer(w_chunk)) <= in_data;
        end if;
        if issue = '1' then
          element <= bank(to_integer(r_chunk));
        end if;
      end if;
    end process;
    x_word((s + 1) * {bits} - 1 downto s * {bits}) <= element;
  end generate;"""


def _tree_parts(layer: DenseLayer) -> dict[str, str]:
    """The per-lane SIMD adder tree: one register stage when SIMD > 1, none (the product is the sum) otherwise."""
    simd = layer.folding.simd
    product_bits = layer.in_fmt.total_bits + layer.weight_fmt.total_bits
    if simd == 1:
        return {
            "tree_signals": "",
            "tree_control": "",
            "tree_reset": "",
            "stage_alignment": "\n".join(
                [
                    "  a_valid <= s2_valid;",
                    "  a_first <= s2_first;",
                    "  a_last  <= s2_last;",
                ]
            ),
            "lane_tree_signals": f"    signal lane_sum : signed({product_bits} - 1 downto 0);",
            "lane_tree": "    lane_sum <= product(0);",
        }
    tree_bits = product_bits + ceil_log2(simd)
    return {
        "tree_signals": "\n".join(
            [
                "  -- Stage 3: the SIMD products of every lane summed.",
                "  signal s3_valid, s3_first, s3_last : std_logic := '0';",
            ]
        ),
        "tree_control": "\n".join(
            [
                "        s3_valid <= s2_valid;",
                "        s3_first <= s2_first;",
                "        s3_last  <= s2_last;",
            ]
        ),
        "tree_reset": "        s3_valid   <= '0';",
        "stage_alignment": "\n".join(
            [
                "  a_valid <= s3_valid;",
                "  a_first <= s3_first;",
                "  a_last  <= s3_last;",
            ]
        ),
        "lane_tree_signals": f"    signal lane_sum : signed({tree_bits} - 1 downto 0);",
        "lane_tree": f"""    adder_tree : process (clk)
      variable sum : signed({tree_bits} - 1 downto 0);
    begin
      if rising_edge(clk) then
        if adv = '1' then
          sum := (others => '0');
          for s in 0 to {simd} - 1 loop
            sum := sum + resize(product(s), {tree_bits});
          end loop;
          lane_sum <= sum;
        end if;
      end if;
    end process;""",
    }


def emit_layer(entity: str, layer: DenseLayer, weights: LayerWeights) -> str:
    """VHDL of one dense layer entity with its weights and biases baked in."""
    layer.check_weights(weights)
    pe, simd = layer.folding.pe, layer.folding.simd
    groups, chunks = layer.groups, layer.chunks
    wbits, xbits, ybits = layer.weight_fmt.total_bits, layer.in_fmt.total_bits, layer.out_fmt.total_bits
    acc_bits = layer.acc_bits

    b = np.zeros(groups * pe, dtype=np.int64)
    b[: layer.out_features] = weights.bias
    b = b + layer.requant.round_constant  # the rounding constant rides in the bias (contract.requant)
    rom_rows = layer.rom_words(weights.weight).tolist()
    bias_rows = [[int(b[g * pe + p]) for p in range(pe)] for g in range(groups)]
    # Tables have at least 2 entries: GHDL 2.0 prints invalid Verilog for a variable index into 1 entry.
    rom_depth, bias_depth = max(2, len(rom_rows)), max(2, len(bias_rows))
    if (pe * acc_bits, bias_depth) == (layer.rom_width, rom_depth):
        # GHDL prints both tables as anonymous memories, told apart by shape (generator.synth.rom_styles_for): one
        # zero word more keeps the bias table from taking the weight ROM's style.
        bias_depth += 1
    rom_style = VIVADO_ROM_STYLE[layer.rom_storage]
    if pe == 1:
        out_shift = "null;  -- one lane: nothing to shift"
    else:
        out_shift = f"out_reg({(pe - 1) * ybits} - 1 downto 0) <= out_reg({pe * ybits} - 1 downto {ybits});"
    return _template("dense_layer.vhd").substitute(
        entity=entity,
        in_features=layer.in_features,
        out_features=layer.out_features,
        activation=layer.activation,
        pe=pe,
        simd=simd,
        multiplier=layer.folding.multiplier,
        storage=layer.rom_storage,
        buffer_storage=layer.buffer_storage,
        latency=layer.latency_cycles,
        in_bits=xbits,
        out_bits=ybits,
        rom_depth=rom_depth,
        rom_width=layer.rom_width,
        rom_entries=_packed_words(rom_rows, wbits),
        round_constant=layer.requant.round_constant,
        acc_bits=acc_bits,
        bias_depth=bias_depth,
        bias_width=pe * acc_bits,
        bias_entries=_packed_words(bias_rows, acc_bits, bias_depth),
        chunk_bits=max(1, ceil_log2(chunks)),
        last_chunk=chunks - 1,
        bank_bits=max(1, ceil_log2(simd)),
        last_bank=simd - 1,
        final_bank=(layer.in_features - 1) % simd,
        addr_bits=max(1, ceil_log2(rom_depth)),
        last_addr=groups * chunks - 1,
        group_bits=max(1, ceil_log2(groups)),
        last_group=groups - 1,
        x_word_width=simd * xbits,
        rom_style_attribute=(
            f'attribute rom_style : string;\n  attribute rom_style of weight_word : signal is "{rom_style}";'
        ),
        count_bits=pe.bit_length(),
        last_group_outputs=layer.last_group_outputs,
        out_shift=out_shift,
        buffer_banks=_buffer_banks(layer),
        product_bits=xbits + wbits,
        weight_bits=wbits,
        **_multiplier(layer),
        requant_statements=requant_vhdl(layer),
        **_tree_parts(layer),
    )


def emit_top(design: AcceleratorDesign) -> str:
    """Top-level entity ``design.name``: the FPGA layers chained element stream to element stream."""
    layers = design.fpga_layers
    widths = [layers[0].in_fmt.total_bits] + [layer.out_fmt.total_bits for layer in layers]
    n = len(layers)
    signals, instances = [], []
    for k, width in enumerate(widths):
        signals.append(f"  signal link{k}_valid, link{k}_ready : std_logic;")
        signals.append(f"  signal link{k}_data : std_logic_vector({width} - 1 downto 0);")
    for k in range(n):
        instances.append(
            f"  layer{k} : entity work.{layer_entity_name(design, k)}\n"
            "    port map (\n"
            "      clk => clk, rst => rst,\n"
            f"      in_valid => link{k}_valid, in_ready => link{k}_ready, in_data => link{k}_data,\n"
            f"      out_valid => link{k + 1}_valid, out_ready => link{k + 1}_ready, out_data => link{k + 1}_data\n"
            "    );"
        )
    in_elements, out_elements = layers[0].in_size, layers[-1].out_size
    in_count_bits, out_count_bits = top_counter_bits(in_elements, out_elements)
    return _template("top.vhd").substitute(
        entity=design.name,
        n_layers=n,
        latency=design.latency_cycles,
        ii=design.initiation_interval,
        in_bits=widths[0],
        out_bits=widths[-1],
        in_elements=in_elements,
        in_count_bits=in_count_bits,
        out_last=out_elements - 1,
        out_count_bits=out_count_bits,
        last_link=n,
        link_signals="\n".join(signals),
        instances="\n\n".join(instances),
    )


# One VHDL emitter per layer kind (contract.layers.KINDS); tests/test_layer_kinds.py checks none is missing.
EMITTERS: dict[str, Callable[[str, Any, Any], str]] = {"dense": emit_layer}


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
        files[path] = EMITTERS[layer.kind](entity, layer, layer_weights)
        order.append(path)
    top = f"{design.name}.vhd"
    files[top] = emit_top(design)
    order.append(top)
    files[COMPILE_ORDER_FILE] = "\n".join(order) + "\n"
    return files


def compile_order(files: dict[str, str]) -> list[str]:
    """The VHDL sources of an emitted file system in analysis order."""
    return files[COMPILE_ORDER_FILE].split()
