"""One lane slot's product of the engine between registers, alone: what `scripts/measure_shift_add.py`
synthesizes to price the shift-and-add product by its operand widths (estimators.calibration.shift_add_luts)."""

from __future__ import annotations

from generator.vhdl import multiplier_parts

PROBE_ENTITY = "product_probe"


def product_probe_vhdl(in_bits: int, weight_bits: int) -> str:
    """The engine's shift-and-add product statements (generator.vhdl.multiplier_parts) on registered operands,
    registered out, as in the engine: w from the ROM word register, x from the input word register."""
    parts = multiplier_parts(in_bits, weight_bits, "lut")
    product_bits = in_bits + weight_bits
    return f"""library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;

entity {PROBE_ENTITY} is
  port (
    clk : in std_logic;
    w_in : in std_logic_vector({weight_bits} - 1 downto 0);
    x_in : in std_logic_vector({in_bits} - 1 downto 0);
    p : out std_logic_vector({product_bits} - 1 downto 0)
  );
end entity;

architecture rtl of {PROBE_ENTITY} is
  type products_t is array (0 to 0) of signed({product_bits} - 1 downto 0);
  signal product : products_t;
  {parts["product_attribute"]}
  signal w_word : std_logic_vector({weight_bits} - 1 downto 0);
  signal x_word : std_logic_vector({in_bits} - 1 downto 0);
begin
  operands : process (clk)
  begin
    if rising_edge(clk) then
      w_word <= w_in;
      x_word <= x_in;
    end if;
  end process;

  multiply : process (clk)
    constant s : natural := 0;
    variable w : signed({weight_bits} - 1 downto 0);
    variable x : signed({in_bits} - 1 downto 0);
{parts["multiply_variables"]}
  begin
    if rising_edge(clk) then
      w := signed(w_word);
      x := signed(x_word);
{parts["multiply_body"]}
    end if;
  end process;

  p <= std_logic_vector(product(0));
end architecture;
"""
