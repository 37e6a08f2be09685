-- ${entity}: SPI slave (mode 0, byte-wide, MSB first) around the element-serial accelerator ${core}.
-- SCK, CS_N and MOSI are sampled in the clk domain (two flip-flops each), so clk must be at least 4x SCK.
-- Protocol (docs/deployment-board.md), one command per CS_N low period, command byte first:
--   0x01 write: ${n_in} input element(s), ${in_bytes} byte(s) each, little-endian two's complement
--   0x02 status: the next byte read is {6'b0, busy, done}; done = outputs ready
--   0x03 read: ${n_out} output element(s), ${out_bytes} byte(s) each, little-endian, sign-extended
-- irq is high while done = 1. One clock, synchronous reset, no latches.
library ieee;
use ieee.std_logic_1164.all;
use ieee.numeric_std.all;

entity ${entity} is
  port (
    clk   : in  std_logic;
    rst   : in  std_logic;
    sck   : in  std_logic;
    cs_n  : in  std_logic;
    mosi  : in  std_logic;
    miso  : out std_logic;
    irq   : out std_logic
  );
end entity;

architecture rtl of ${entity} is
  constant N_IN      : natural := ${n_in};
  constant N_OUT     : natural := ${n_out};
  constant IN_BYTES  : natural := ${in_bytes};
  constant OUT_BYTES : natural := ${out_bytes};
  type out_buffer_t is array (0 to N_OUT - 1) of signed(${out_bits} - 1 downto 0);
  signal out_buffer : out_buffer_t := (others => (others => '0'));

  signal sck_s, cs_s, mosi_s : std_logic_vector(2 downto 0) := (others => '0');
  signal rise, fall, selected : std_logic;
  signal bit_count  : natural range 0 to 7 := 0;
  signal rx_shift   : std_logic_vector(6 downto 0) := (others => '0');
  signal tx_shift   : std_logic_vector(7 downto 0) := (others => '0');
  signal first_byte : std_logic := '1';
  signal command    : std_logic_vector(7 downto 0) := (others => '0');
  signal assembled  : std_logic_vector(IN_BYTES * 8 - 1 downto 0) := (others => '0');
  signal byte_index : natural range 0 to ${max_bytes} := 0;  -- byte within the current element
  signal element    : natural range 0 to ${max_elements} := 0;  -- element within the command
  signal in_valid, in_ready, out_valid : std_logic;
  signal in_data    : std_logic_vector(${in_bits} - 1 downto 0) := (others => '0');
  signal out_data   : std_logic_vector(${out_bits} - 1 downto 0);
  signal pending    : std_logic := '0';  -- an assembled input element waits for in_ready
  signal received   : natural range 0 to N_OUT := 0;
  signal done, busy : std_logic := '0';

  function out_byte(value : signed; index : natural) return std_logic_vector is
    variable wide : signed(OUT_BYTES * 8 - 1 downto 0);
  begin
    wide := resize(value, OUT_BYTES * 8);
    return std_logic_vector(wide(index * 8 + 7 downto index * 8));
  end function;
begin
  core : entity work.${core}
    port map (
      clk => clk, rst => rst,
      in_valid => in_valid, in_ready => in_ready, in_data => in_data,
      out_valid => out_valid, out_ready => '1', out_data => out_data
    );
  in_valid <= pending;
  irq      <= done;
  miso     <= tx_shift(7);
  rise     <= sck_s(1) and not sck_s(2);
  fall     <= sck_s(2) and not sck_s(1);
  selected <= not cs_s(1);

  process (clk)
    variable byte     : std_logic_vector(7 downto 0);
    variable word     : std_logic_vector(IN_BYTES * 8 - 1 downto 0);
  begin
    if rising_edge(clk) then
      sck_s  <= sck_s(1 downto 0) & sck;
      cs_s   <= cs_s(1 downto 0) & cs_n;
      mosi_s <= mosi_s(1 downto 0) & mosi;
      if rst = '1' then
        bit_count <= 0; first_byte <= '1'; tx_shift <= (others => '0'); pending <= '0';
        received <= 0; done <= '0'; busy <= '0'; element <= 0; byte_index <= 0;
      else
        if pending = '1' and in_ready = '1' then
          pending <= '0';
        end if;
        if out_valid = '1' then
          out_buffer(received) <= signed(out_data);
          if received = N_OUT - 1 then
            received <= 0; done <= '1'; busy <= '0';
          else
            received <= received + 1;
          end if;
        end if;
        if selected = '0' then
          bit_count <= 0; first_byte <= '1'; element <= 0; byte_index <= 0; tx_shift <= (others => '0');
        elsif rise = '1' then
          if bit_count = 7 then
            bit_count <= 0;
            byte := rx_shift & mosi_s(1);
            first_byte <= '0';
            tx_shift <= (others => '0');
            if first_byte = '1' then
              command <= byte;
              if byte = x"02" then
                tx_shift <= "000000" & busy & done;
              elsif byte = x"03" then
                tx_shift <= out_byte(out_buffer(0), 0);
                byte_index <= 1 mod OUT_BYTES;
                element <= 1 / OUT_BYTES;
              elsif byte = x"01" then
                done <= '0'; busy <= '1';
              end if;
            elsif command = x"01" and element < N_IN then
              word := byte & assembled(IN_BYTES * 8 - 1 downto 8);
              assembled <= word;
              if byte_index = IN_BYTES - 1 then
                byte_index <= 0;
                element <= element + 1;
                in_data <= word(${in_bits} - 1 downto 0);
                pending <= '1';
              else
                byte_index <= byte_index + 1;
              end if;
            elsif command = x"03" and element < N_OUT then
              tx_shift <= out_byte(out_buffer(element), byte_index);
              if byte_index = OUT_BYTES - 1 then
                byte_index <= 0; element <= element + 1;
              else
                byte_index <= byte_index + 1;
              end if;
            elsif command = x"02" then
              tx_shift <= "000000" & busy & done;
            end if;
          else
            bit_count <= bit_count + 1;
            rx_shift <= rx_shift(5 downto 0) & mosi_s(1);
          end if;
        elsif fall = '1' and bit_count /= 0 then
          tx_shift <= tx_shift(6 downto 0) & '0';
        end if;
      end if;
    end if;
  end process;
end architecture;
