"""The lstm and gru kinds' VHDL entity (generator/templates/recurrent/): the dense PE x SIMD lanes compute the gate
rows over [x_t; h_t-1], element-wise lanes update the state (contract.layers.recurrent holds the arithmetic).

Kept out of generator.vhdl like the conv emitter; generator/__init__.py registers it in generator.vhdl.EMITTERS.
"""

from __future__ import annotations

from importlib import resources
from string import Template

import numpy as np

from contract.fixedpoint import ceil_log2
from contract.layers.recurrent import ROW_ACTIVATIONS, ROW_NAMES, RecurrentLayer, RecurrentWeights
from contract.requant import RequantPlan
from generator.vhdl import VIVADO_ROM_STYLE, _multiplier, _packed_words, _tree_parts, signed_literal


def _template() -> Template:
    return Template(resources.files("generator").joinpath("templates", "recurrent", "recurrent_layer.vhd").read_text())


def _width(count: int) -> int:
    """Counter bits for values 0..count-1 (at least 1)."""
    return max(1, ceil_log2(max(2, count)))


def _select(plan: RequantPlan, value: str, value_bits: int, target: str, indent: str) -> str:
    """``target := low / high / slice`` of the biased ``value`` (contract.requant), as sequential statements."""
    top = plan.slice_bits - 1
    lo, hi = -(1 << (value_bits - 1)), (1 << (value_bits - 1)) - 1
    middle = (
        f"{value}({top} downto {plan.shift})"
        if plan.slice_bits <= value_bits
        else (f"resize({value}, {plan.slice_bits})({top} downto {plan.shift})")
    )
    lines = []
    below = plan.below > lo
    above = plan.above <= hi
    if below:
        lines.append(f"if {value} < {signed_literal(plan.below, value_bits)} then")
        lines.append(f"  {target} := {signed_literal(plan.low, plan.out_bits)};")
    if above:
        lines.append(f"{'elsif' if below else 'if'} {value} >= {signed_literal(plan.above, value_bits)} then")
        lines.append(f"  {target} := {signed_literal(plan.high, plan.out_bits)};")
    if below or above:
        lines += ["else", f"  {target} := {middle};", "end if;"]
    else:
        lines.append(f"{target} := {middle};")
    if plan.below > hi:  # every value is below: constant low
        lines = [f"{target} := {signed_literal(plan.low, plan.out_bits)};"]
    elif plan.above <= lo:
        lines = [f"{target} := {signed_literal(plan.high, plan.out_bits)};"]
    return "\n".join(indent + line for line in lines)


def _gate_width(layer: RecurrentLayer, gate: int) -> int:
    return layer.gate_bits if ROW_ACTIVATIONS[layer.cell][gate] else layer.acc_bits


def _gate_parts(layer: RecurrentLayer) -> tuple[str, str]:
    """Gate registers (signals) and their capture: gate k of unit lane p comes from engine lane p (shared lanes,
    at pass k) or k*PE + p (separate lanes); sigmoid/tanh rows are requantized, GRU's nx/nh rows kept raw."""
    pe, acc_bits = layer.folding.pe, layer.acc_bits
    signals, blocks = [], []
    for gate, name in enumerate(ROW_NAMES[layer.cell]):
        width = _gate_width(layer, gate)
        signals.append(f"  signal gate_{name} : std_logic_vector({pe} * {width} - 1 downto 0);")
        lane0 = gate * pe if layer.gate_lanes > 1 else 0
        when = "done = '1'" if layer.gate_lanes > 1 else f"done = '1' and d_pass = {gate}"
        plan = layer.row_plans[gate]
        if plan is None:
            value = "      value := acc;"
            variable = f"      variable value : signed({acc_bits} - 1 downto 0);"
        else:
            variable = f"      variable value : signed({width} - 1 downto 0);"
            value = _select(plan, "acc", acc_bits, "value", "      ")
        blocks.append(
            f"""  capture_{name} : for p in 0 to {pe} - 1 generate
    signal acc : signed({acc_bits} - 1 downto 0);
  begin
    acc <= signed(acc_all(({lane0} + p + 1) * {acc_bits} - 1 downto ({lane0} + p) * {acc_bits}));
    capture : process (clk)
{variable}
    begin
      if rising_edge(clk) then
        if {when} then
{_indent(value, 4)}
          gate_{name}((p + 1) * {width} - 1 downto p * {width}) <= std_logic_vector(value);
        end if;
      end if;
    end process;
  end generate;"""
        )
    return "\n".join(signals), "\n\n".join(blocks)


def _indent(text: str, spaces: int) -> str:
    return "\n".join(" " * spaces + line for line in text.splitlines())


def _slots(layer: RecurrentLayer) -> str:
    """Slot s of a read: element j*SIMD + s of [x_t; h_t-1] from its input bank, the state, or zero."""
    simd, c, n, xbits = layer.folding.simd, layer.in_features, layer.fan_in, layer.in_fmt.total_bits
    depth = max(2, layer.buffer_depth + layer.chunks)  # reads past the last step's words stay inside
    style = "block" if layer.buffer_storage == "bram" else "distributed"
    read_bits = _width(depth)
    out = []
    for s in range(simd):
        x_chunks = -(-(c - s) // simd) if s < c else 0  # chunks j with j*SIMD + s < C
        all_chunks = -(-(n - s) // simd) if s < n else 0
        bank = ""
        bank_signals = ""
        if x_chunks:
            bank_signals = f"""    type bank_t is array (0 to {depth} - 1) of std_logic_vector({xbits} - 1 downto 0);
    signal bank : bank_t := (others => (others => '0'));
    attribute ram_style : string;
    attribute ram_style of bank : signal is "{style}";"""
            bank = f"""        if take = '1' and w_bank = {s} then
          bank(to_integer(resize(w_word, {read_bits}))) <= in_data;
        end if;
        if issue = '1' then
          x_elem <= bank(to_integer(x_base + resize(r_chunk, {read_bits})));
        end if;"""
        choose = []
        if x_chunks:
            choose.append(f'if r_chunk < {x_chunks} then\n            source <= "01";')
        if all_chunks > x_chunks:
            keyword = "elsif" if choose else "if"
            choose.append(
                f'{keyword} r_chunk < {all_chunks} then\n            source <= "10";\n'
                f"            h_elem <= h_arr(to_integer(r_chunk) * {simd} {'+' if s >= c else '-'} {abs(s - c)});"
            )
        choose_text = (
            "\n          ".join(choose) + '\n          else\n            source <= "00";\n          end if;'
            if choose
            else 'source <= "00";'
        )
        out.append(
            f"""  slot{s} : block
{bank_signals}
    signal x_elem, h_elem : std_logic_vector({xbits} - 1 downto 0) := (others => '0');
    signal source : std_logic_vector(1 downto 0) := "00";  -- 01: input, 10: state, 00: zero padding
  begin
    read_slot : process (clk)
    begin
      if rising_edge(clk) then
{bank}
        if issue = '1' then
          {choose_text}
        end if;
      end if;
    end process;
    x_word({s + 1} * {xbits} - 1 downto {s} * {xbits}) <= x_elem when source = "01" else
                                               h_elem when source = "10" else (others => '0');
  end block;"""
        )
    return "\n\n".join(out)


def _mul(a: str, b: str, lut: bool) -> str:
    """a * b as a VHDL expression: ``*`` (DSP where the tools see fit) or the shift-and-add function."""
    return f"shift_add({a}, {b})" if lut else f"{a} * {b}"


SHIFT_ADD_FUNCTION = """    -- Shift-and-add product (no '*': no DSP block); the sign bit's partial is subtracted.
    function shift_add(a : signed; b : signed) return signed is
      variable sum, partial : signed(a'length + b'length - 1 downto 0);
      variable bb : signed(b'length - 1 downto 0);
    begin
      bb := b;
      sum := (others => '0');
      for i in 0 to b'length - 2 loop
        partial := resize(a, a'length + b'length) when bb(i) = '1' else (others => '0');
        sum := sum + shift_left(partial, i);
      end loop;
      partial := resize(a, a'length + b'length) when bb(b'length - 1) = '1' else (others => '0');
      return sum - shift_left(partial, b'length - 1);
    end function;"""


def _elementwise(layer: RecurrentLayer) -> str:
    """The element-wise lanes: unit lane p owns units q*PE + p (its cell state and new h)."""
    pe, groups, lut = layer.folding.pe, layer.unit_groups, layer.folding.multiplier == "lut"
    bg, fg = layer.gate_bits, layer.gate_fmt.frac_bits
    bs, fs = layer.in_fmt.total_bits, layer.in_fmt.frac_bits
    names = ROW_NAMES[layer.cell]

    def gate(name: str, width: int) -> str:
        return f"signed(gate_{name}((p + 1) * {width} - 1 downto p * {width}))"

    head = f"""  elementwise : for p in 0 to {pe} - 1 generate
    type state_mem_t is array (0 to {max(2, groups)} - 1) of std_logic_vector({bs} - 1 downto 0);
    signal h_mem : state_mem_t := (others => (others => '0'));
{SHIFT_ADD_FUNCTION if lut else ""}"""
    tail = f"""    outputs : for q in 0 to {groups} - 1 generate
      h_next((q * {pe} + p + 1) * {bs} - 1 downto (q * {pe} + p) * {bs}) <= h_mem(q);
    end generate;
  end generate;"""
    if layer.cell == "lstm":
        bc, fc = layer.cell_fmt.total_bits, layer.cell_fmt.frac_bits
        frac = max(fg + fc, 2 * fg)
        total_bits = max(bg + bc + frac - fg - fc, 2 * bg + frac - 2 * fg) + 1
        hp_shift = fg + fc - fs
        if hp_shift >= 0:
            h_value = f"round_saturate(hp, {hp_shift}, {bs})"
        else:
            h_value = f"round_saturate(shift_left(resize(hp, {bg + bc + 1 - hp_shift}), {-hp_shift}), 0, {bs})"
        one = signed_literal(1 << fc, bc + 1)
        minus_one = signed_literal(-(1 << fc), bc + 1)
        body = f"""    type cell_mem_t is array (0 to {max(2, groups)} - 1) of signed({bc} - 1 downto 0);
    signal c_mem : cell_mem_t := (others => (others => '0'));
    signal fc : signed({bg + bc} - 1 downto 0);
    signal ig : signed({2 * bg} - 1 downto 0);
    signal o1, o2, o3 : signed({bg} - 1 downto 0);
    signal c_new : signed({bc} - 1 downto 0);
    signal hp : signed({bg + bc + 1} - 1 downto 0);
  begin
    update : process (clk)
      variable total : signed({total_bits} - 1 downto 0);
      variable value : signed({bc} - 1 downto 0);
      variable squashed : signed({bc + 1} - 1 downto 0);
    begin
      if rising_edge(clk) then
        if start = '1' then
          c_mem <= (others => (others => '0'));
        end if;
        if e1_go = '1' then  -- E1: f*c and i*g
          fc <= {_mul(gate(names[1], bg), "c_mem(to_integer(e1_group))", lut)};
          ig <= {_mul(gate(names[0], bg), gate(names[2], bg), lut)};
          o1 <= {gate(names[3], bg)};
        end if;
        if e2_go = '1' then  -- E2: c' = sat_cell(round(f*c + i*g))
          total := shift_left(resize(fc, {total_bits}), {frac - fg - fc})
                   + shift_left(resize(ig, {total_bits}), {frac - 2 * fg});
          value := round_saturate(total, {frac - fc}, {bc});
          c_new <= value;
          for q in 0 to {groups} - 1 loop  -- static indices: GHDL 2.0 synthesizes a dynamic-index write as a latch
            if e2_group = q then
              c_mem(q) <= value;
            end if;
          end loop;
          o2 <= o1;
        end if;
        if e3_go = '1' then  -- E3: o * clamp(c', -1, 1)
          squashed := resize(c_new, {bc + 1});
          if squashed > {one} then
            squashed := {one};
          elsif squashed < {minus_one} then
            squashed := {minus_one};
          end if;
          hp <= {_mul("o2", "squashed", lut)};
        end if;
        if e4_go = '1' then  -- E4: h' = sat_state(round(o * tanh(c')))
          for q in 0 to {groups} - 1 loop  -- static indices (see the cell state)
            if e4_group = q then
              h_mem(q) <= std_logic_vector({h_value});
            end if;
          end loop;
        end if;
      end if;
    end process;
"""
        return head + body + tail
    acc_bits = layer.acc_bits
    plan = layer.candidate_plan
    pre_bits = acc_bits + bg + 2
    frac = max(fg, fs)
    mixed_bits = bg + 1 + max(bg + frac - fg, bs + frac - fs) + 1
    one = signed_literal(1 << fg, bg + 1)
    n_aligned = f"shift_left(resize(n2, {bg + frac - fg}), {frac - fg})"
    h_aligned = f"shift_left(resize(h2, {bs + frac - fs}), {frac - fs})"
    keep_n = _mul("keep", n_aligned, lut)
    z_h = _mul(f"resize(z2, {bg + 1})", h_aligned, lut)
    round_constant = signed_literal(plan.round_constant, pre_bits)
    body = f"""    signal rn : signed({bg + acc_bits} - 1 downto 0);
    signal nx1 : signed({acc_bits} - 1 downto 0);
    signal z1, z2, n2 : signed({bg} - 1 downto 0);
    signal h1, h2 : signed({bs} - 1 downto 0);
    signal mixed : signed({mixed_bits} - 1 downto 0);
  begin
    update : process (clk)
      variable pre : signed({pre_bits} - 1 downto 0);
      variable n : signed({bg} - 1 downto 0);
      variable keep : signed({bg + 1} - 1 downto 0);
    begin
      if rising_edge(clk) then
        if e1_go = '1' then  -- E1: r * (Un h + bn_h)
          rn  <= {_mul(gate("r", bg), gate("nh", acc_bits), lut)};
          nx1 <= {gate("nx", acc_bits)};
          z1  <= {gate("z", bg)};
          h1  <= signed(h_arr(to_integer(e1_group) * {pe} + p));
        end if;
        if e2_go = '1' then  -- E2: n = hardtanh(nx + r * nh) in the gate format
          pre := shift_left(resize(nx1, {pre_bits}), {fg}) + resize(rn, {pre_bits}) + {round_constant};
{_select(plan, "pre", pre_bits, "n", "          ")}
          n2 <= n;
          z2 <= z1;
          h2 <= h1;
        end if;
        if e3_go = '1' then  -- E3: (1 - z) * n + z * h
          keep := {one} - resize(z2, {bg + 1});
          mixed <= resize({keep_n}, {mixed_bits})
                 + resize({z_h}, {mixed_bits});
        end if;
        if e4_go = '1' then  -- E4: h' = sat_state(round(mixed))
          for q in 0 to {groups} - 1 loop  -- static indices: GHDL 2.0 synthesizes a dynamic-index write as a latch
            if e4_group = q then
              h_mem(q) <= std_logic_vector(round_saturate(mixed, {fg + frac - fs}, {bs}));
            end if;
          end loop;
        end if;
      end if;
    end process;
"""
    return head + body + tail


def emit_recurrent(entity: str, layer: RecurrentLayer, weights: RecurrentWeights) -> str:
    """VHDL of one lstm/gru entity with its weights and biases baked in."""
    layer.check_weights(weights)
    pe, simd, lanes = layer.folding.pe, layer.folding.simd, layer.lanes
    chunks, jobs = layer.chunks, layer.jobs
    wbits, xbits, acc_bits = layer.weight_fmt.total_bits, layer.in_fmt.total_bits, layer.acc_bits
    constants = [plan.round_constant if plan else 0 for plan in layer.row_plans]
    biased = weights.bias.astype(np.int64) + np.repeat(constants, layer.hidden_size)
    rom_rows, bias_rows = layer.rom_words(weights.weight).tolist(), []
    for job in range(jobs):
        rows = layer.job_rows(job)
        gate_of_lane = [(job % layer.passes) + lane // pe for lane in range(lanes)]
        bias_rows.append([int(biased[r]) if r >= 0 else constants[g] for r, g in zip(rows, gate_of_lane, strict=True)])
    rom_depth, bias_depth = max(2, len(rom_rows)), max(2, len(bias_rows))
    if (lanes * acc_bits, bias_depth) == (layer.rom_width, rom_depth):
        bias_depth += 1  # see generator.vhdl.emit_layer: GHDL tells anonymous memories apart by shape
    h = layer.hidden_size
    out_shift = "null;  -- one element: nothing to shift"
    if h > 1:
        out_shift = f"out_reg({(h - 1) * xbits} - 1 downto 0) <= out_reg({h * xbits} - 1 downto {xbits});"
    gate_signals, gate_capture = _gate_parts(layer)
    rom_style = VIVADO_ROM_STYLE[layer.rom_storage]
    return _template().substitute(
        entity=entity,
        cell=layer.cell,
        seq_len=layer.seq_len,
        in_features=layer.in_features,
        hidden_size=h,
        output="every step's state" if layer.return_sequence else "the last state",
        pe=pe,
        gate_lanes=layer.gate_lanes,
        simd=simd,
        lanes=lanes,
        multiplier=layer.folding.multiplier,
        storage=layer.rom_storage,
        buffer_storage=layer.buffer_storage,
        step_cycles=layer.step_cycles,
        latency=layer.latency_cycles,
        in_bits=xbits,
        rom_depth=rom_depth,
        rom_width=layer.rom_width,
        rom_entries=_packed_words(rom_rows, wbits),
        acc_bits=acc_bits,
        bias_depth=bias_depth,
        bias_width=lanes * acc_bits,
        bias_entries=_packed_words(bias_rows, acc_bits, bias_depth),
        chunk_bits=_width(chunks),
        last_chunk=chunks - 1,
        addr_bits=_width(jobs * chunks),
        last_addr=jobs * chunks - 1,
        job_bits=_width(jobs),
        last_job=jobs - 1,
        pass_bits=_width(layer.passes),
        last_pass=layer.passes - 1,
        group_bits=_width(layer.unit_groups),
        last_group=layer.unit_groups - 1,
        step_bits=_width(layer.seq_len),
        last_step=layer.seq_len - 1,
        feature_bits=_width(layer.in_features),
        last_feature=layer.in_features - 1,
        bank_bits=_width(simd),
        last_bank=simd - 1,
        word_bits=_width(layer.buffer_depth),
        last_word=layer.buffer_depth - 1,
        read_bits=_width(layer.buffer_depth + chunks),
        x_chunks=layer.x_chunks,
        units=layer.unit_groups * pe,
        state_depth=max(2, layer.unit_groups * pe),
        return_sequence="true" if layer.return_sequence else "false",
        count_bits=h.bit_length(),
        out_shift=out_shift,
        rom_style_attribute=(
            f'attribute rom_style : string;\n  attribute rom_style of weight_word : signal is "{rom_style}";'
        ),
        product_bits=xbits + wbits,
        weight_bits=wbits,
        slots=_slots(layer),
        gate_signals=gate_signals,
        gate_capture=gate_capture,
        elementwise=_elementwise(layer),
        **_multiplier(layer),  # type: ignore[arg-type]
        **_tree_parts(layer),  # type: ignore[arg-type]
    )
