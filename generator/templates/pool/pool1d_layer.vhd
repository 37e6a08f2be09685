-- ${entity}: ${op} pooling, ${channels} channel(s), length ${length}, window ${window} (stride = window).
-- Element stream, time-major (element t*C + c). One running register per channel; a window's result leaves with
-- its last element, the last window's results are held and shifted out after the vector's last element.
library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;

entity ${entity} is
  port (
    clk       : in  std_logic;
    rst       : in  std_logic;
    in_valid  : in  std_logic;
    in_ready  : out std_logic;
    in_data   : in  std_logic_vector(${in_bits} - 1 downto 0);
    out_valid : out std_logic;
    out_ready : in  std_logic;
    out_data  : out std_logic_vector(${out_bits} - 1 downto 0)
  );
end entity;

architecture rtl of ${entity} is
  constant CHANNELS : natural := ${channels};
  type acc_t is array (0 to CHANNELS - 1) of signed(${acc_bits} - 1 downto 0);
  signal acc       : acc_t := (others => (others => '0'));
  signal chan      : natural range 0 to CHANNELS - 1 := 0;
  signal step      : natural range 0 to ${length} - 1 := 0;  -- time step of the element being taken
  signal pos       : natural range 0 to ${window} - 1 := 0;  -- position inside the window
  signal flushing  : std_logic := '0';
  signal flush_idx : natural range 0 to CHANNELS - 1 := 0;
  signal out_full  : std_logic := '0';
  signal out_reg   : std_logic_vector(${out_bits} - 1 downto 0) := (others => '0');
  signal ready_i   : std_logic;
  signal take      : std_logic;
  signal room      : std_logic;  -- the output register is empty or drains at this edge
  signal x         : signed(${acc_bits} - 1 downto 0);
  signal merged    : signed(${acc_bits} - 1 downto 0);

  function result(value : signed(${acc_bits} - 1 downto 0)) return std_logic_vector is
${result_body}
  end function;
begin
  room     <= (not out_full) or out_ready;
  ready_i  <= room and not flushing;
  in_ready <= ready_i;
  take     <= in_valid and ready_i;
  x        <= resize(signed(in_data), ${acc_bits});
${merge}

  process (clk)
  begin
    if rising_edge(clk) then
      if rst = '1' then
        chan <= 0; step <= 0; pos <= 0; flushing <= '0'; flush_idx <= 0; out_full <= '0';
      else
        if out_full = '1' and out_ready = '1' then
          out_full <= '0';
        end if;
        if take = '1' then
          if step < ${kept_steps} then
            if pos = ${window} - 1 and step < ${last_window_start} then
              out_reg  <= result(merged);  -- a window ends: its result leaves now
              out_full <= '1';
            else
              acc(chan) <= merged;
            end if;
          end if;
          if chan = CHANNELS - 1 then
            chan <= 0;
            if step = ${length} - 1 then
              step <= 0; pos <= 0; flushing <= '1'; flush_idx <= 0;
            else
              step <= step + 1;
              if pos = ${window} - 1 then pos <= 0; else pos <= pos + 1; end if;
            end if;
          else
            chan <= chan + 1;
          end if;
        elsif flushing = '1' and room = '1' then
          out_reg  <= result(acc(flush_idx));
          out_full <= '1';
          if flush_idx = CHANNELS - 1 then
            flushing <= '0'; flush_idx <= 0;
          else
            flush_idx <= flush_idx + 1;
          end if;
        end if;
      end if;
    end if;
  end process;

  out_valid <= out_full;
  out_data  <= out_reg;
end architecture;
