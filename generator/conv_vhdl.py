"""The conv1d kind's VHDL entity (generator/templates/conv/): the dense PE x SIMD lanes behind a full window buffer.

Kept out of generator.vhdl (and its templates out of templates/*.vhd) so the dense calibration cache stays valid;
generator/__init__.py registers it in generator.vhdl.EMITTERS.
"""

from __future__ import annotations

from importlib import resources
from string import Template

import numpy as np

from contract.fixedpoint import ceil_log2
from contract.layers.conv import Conv1dLayer, ConvWeights
from generator.vhdl import VIVADO_ROM_STYLE, _multiplier, _packed_words, _tree_parts, bits, requant_vhdl


def _template() -> Template:
    return Template(resources.files("generator").joinpath("templates", "conv", "conv1d_layer.vhd").read_text())


def _buffer_copies(layer: Conv1dLayer) -> str:
    xbits, depth = layer.in_fmt.total_bits, max(2, layer.in_size)
    abits = max(1, ceil_log2(depth))
    style = "block" if layer.buffer_storage == "bram" else "distributed"
    ports, size = layer.read_ports, layer.in_size
    return f"""  -- Window buffer: {ports} cop(ies) of the whole input ({size} element(s)), one per read port.
  copies : for rp in 0 to {layer.read_ports} - 1 generate
    type buffer_t is array (0 to {depth} - 1) of std_logic_vector({xbits} - 1 downto 0);
    signal window_bank : buffer_t := (others => (others => '0'));
    attribute ram_style : string;
    attribute ram_style of window_bank : signal is "{style}";
    signal element : std_logic_vector({xbits} - 1 downto 0);
    signal zero    : std_logic := '0';
  begin
    buffer_copy : process (clk)
      variable entry : std_logic_vector({abits + 1} - 1 downto 0);
    begin
      if rising_edge(clk) then
        if take = '1' then
          window_bank(to_integer(w_elem)) <= in_data;
        end if;
        if issue = '1' then
          entry := read_word((rp + 1) * {abits + 1} - 1 downto rp * {abits + 1});
          element <= window_bank(to_integer(unsigned(entry({abits} - 1 downto 0))));
          zero    <= entry({abits});
        end if;
      end if;
    end process;
    x_word((rp + 1) * {xbits} - 1 downto rp * {xbits}) <= element when zero = '0' else (others => '0');
  end generate;"""


def _address_entries(layer: Conv1dLayer) -> tuple[str, int, int]:
    """The read-address table as VHDL words, its depth and width."""
    abits = max(1, ceil_log2(max(2, layer.in_size)))
    table = layer.read_addresses().reshape(layer.address_depth, -1)
    words = []
    for row in table:
        # Port 0 in the low bits; a zero read is the flag with address 0.
        fields = [("1" + "0" * abits) if a < 0 else ("0" + bits(int(a), abits)) for a in row]
        words.append("".join(reversed(fields)))
    width = len(words[0])
    words += ["0" * width] * max(0, 2 - len(words))
    return ",\n".join(f'    {i} => "{w}"' for i, w in enumerate(words)), len(words), width


def emit_conv1d(entity: str, layer: Conv1dLayer, weights: ConvWeights) -> str:
    """VHDL of one conv1d entity with its weights, biases and read addresses baked in."""
    layer.check_weights(weights)
    pe, simd = layer.folding.pe, layer.folding.simd
    groups, chunks = layer.channel_groups, layer.chunks
    wbits, xbits, ybits = layer.weight_fmt.total_bits, layer.in_fmt.total_bits, layer.out_fmt.total_bits
    acc_bits = layer.acc_bits
    b = np.zeros(groups * pe, dtype=np.int64)
    b[: layer.out_channels] = weights.bias
    b = b + layer.requant.round_constant
    rom_rows = layer.rom_words(weights.weight).tolist()
    bias_rows = [[int(b[g * pe + p]) for p in range(pe)] for g in range(groups)]
    rom_depth, bias_depth = max(2, len(rom_rows)), max(2, len(bias_rows))
    if (pe * acc_bits, bias_depth) == (layer.rom_width, rom_depth):
        bias_depth += 1  # see generator.vhdl.emit_layer: GHDL tells anonymous memories apart by shape
    address_entries, address_depth, address_width = _address_entries(layer)
    if (address_width, address_depth) in ((layer.rom_width, rom_depth), (pe * acc_bits, bias_depth)):
        address_entries += f',\n    {address_depth} => "{"0" * address_width}"'
        address_depth += 1
    if pe == 1:
        out_shift = "null;  -- one lane: nothing to shift"
    else:
        out_shift = f"out_reg({(pe - 1) * ybits} - 1 downto 0) <= out_reg({pe * ybits} - 1 downto {ybits});"
    reads = layer.address_depth
    rom_style = VIVADO_ROM_STYLE[layer.rom_storage]
    return _template().substitute(
        entity=entity,
        in_channels=layer.in_channels,
        in_length=layer.in_length,
        out_channels=layer.out_channels,
        out_length=layer.out_length,
        kernel_size=layer.kernel_size,
        stride=layer.stride,
        padding=layer.padding,
        groups=layer.groups,
        read_ports=layer.read_ports,
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
        address_depth=address_depth,
        address_width=address_width,
        address_entries=address_entries,
        chunk_bits=max(1, ceil_log2(chunks)),
        last_chunk=chunks - 1,
        read_bits=max(1, ceil_log2(reads)),
        last_read=reads - 1,
        addr_bits=max(1, ceil_log2(rom_depth)),
        last_addr=groups * chunks - 1,
        group_bits=max(1, ceil_log2(groups)),
        last_group=groups - 1,
        element_bits=max(1, ceil_log2(max(2, layer.in_size))),
        last_element=layer.in_size - 1,
        x_word_width=layer.read_ports * xbits,
        x_lane="lane" if layer.depthwise else "0",
        rom_style_attribute=(
            f'attribute rom_style : string;\n  attribute rom_style of weight_word : signal is "{rom_style}";'
        ),
        count_bits=pe.bit_length(),
        last_group_outputs=layer.last_group_outputs,
        out_shift=out_shift,
        buffer_copies=_buffer_copies(layer),
        product_bits=xbits + wbits,
        weight_bits=wbits,
        **_multiplier(layer),  # type: ignore[arg-type]
        requant_statements=requant_vhdl(layer),  # type: ignore[arg-type]
        **_tree_parts(layer),  # type: ignore[arg-type]
    )
