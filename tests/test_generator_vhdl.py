"""Fast checks of the generated file system (no simulator): names, order, widths, ROM layout, synthesizable style."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace

import numpy as np
import pytest

from contract.design import AcceleratorDesign, top_counter_bits
from contract.fixedpoint import ACTIVATIONS, FixedFormat, activate_and_requantize
from contract.layers import DenseFolding, DenseLayer
from contract.reference import LayerWeights, random_weights
from generator import emit_all, emit_vhdl
from generator.vhdl import COMPILE_ORDER_FILE, bits, compile_order, fpga_weights, layer_entity_name

F8 = FixedFormat(8, 4)
W8 = FixedFormat(8, 7)


def two_layer_design(name: str = "tiny_net") -> AcceleratorDesign:
    layers = (
        # G = 2 groups x C = 5 chunks = 10 ROM words (>= 8, so really block RAM) of 2 x 2 x 8 = 32 bits
        DenseLayer(9, 3, "relu", F8, W8, F8, folding=DenseFolding(pe=2, simd=2, weight_storage="bram")),
        DenseLayer(3, 1, "hardsigmoid", F8, FixedFormat(6, 4), FixedFormat(4, 3), DenseFolding(multiplier="lut")),
    )
    return AcceleratorDesign(layers, device="xc7s15", clock_mhz=100.0, name=name)


def single(layer: DenseLayer, name: str, seed: int = 1) -> str:
    design = AcceleratorDesign((layer,), device="xc7s15", clock_mhz=100.0, name=name)
    return emit_vhdl(design, random_weights(design, np.random.default_rng(seed)))[f"{name}_layer0.vhd"]


@pytest.fixture
def files() -> dict[str, str]:
    design = two_layer_design()
    return emit_vhdl(design, random_weights(design, np.random.default_rng(0)))


def _code(text: str) -> str:
    """VHDL without comments."""
    return "\n".join(line.split("--")[0] for line in text.splitlines())


def test_one_entity_per_layer_plus_top_in_compile_order(files: dict[str, str]) -> None:
    assert compile_order(files) == ["tiny_net_layer0.vhd", "tiny_net_layer1.vhd", "tiny_net.vhd"]
    assert set(files) == {*compile_order(files), COMPILE_ORDER_FILE}
    for path in compile_order(files):
        entity = path.removesuffix(".vhd")
        assert re.search(rf"^entity {entity} is$", files[path], flags=re.MULTILINE)
    top = files["tiny_net.vhd"]
    assert "entity work.tiny_net_layer0" in top and "entity work.tiny_net_layer1" in top


def test_ports_carry_one_element(files: dict[str, str]) -> None:
    layer0, layer1, top = files["tiny_net_layer0.vhd"], files["tiny_net_layer1.vhd"], files["tiny_net.vhd"]
    assert "in_data   : in  std_logic_vector(8 - 1 downto 0)" in layer0
    assert "out_data  : out std_logic_vector(8 - 1 downto 0)" in layer0
    assert "in_data   : in  std_logic_vector(8 - 1 downto 0)" in layer1
    assert "out_data  : out std_logic_vector(4 - 1 downto 0)" in layer1
    assert "in_data   : in  std_logic_vector(8 - 1 downto 0)" in top
    assert "out_data  : out std_logic_vector(4 - 1 downto 0)" in top
    # the top counts the 9 input elements of a vector and the 1 output element
    assert "gate_open   <= '0' when in_count = 9 else '1';" in top
    # counters as wide as contract.design.top_counter_bits says (what the estimator counts once per chain)
    assert top_counter_bits(9, 1) == (4, 1)
    assert "signal in_count  : unsigned(4 - 1 downto 0)" in top
    assert "signal out_count : unsigned(1 - 1 downto 0)" in top


def test_engine_widths_follow_the_folding(files: dict[str, str]) -> None:
    layer0, layer1 = files["tiny_net_layer0.vhd"], files["tiny_net_layer1.vhd"]
    design = two_layer_design()
    # layer 0: 10 words of PE x SIMD x Bw = 32 bits; bias entries of PE accumulators
    assert "array (0 to 10 - 1) of std_logic_vector(32 - 1 downto 0)" in layer0
    acc0 = design.layers[0].acc_bits
    assert f"array (0 to 2 - 1) of std_logic_vector({2 * acc0} - 1 downto 0)" in layer0
    assert f"signal acc : signed({acc0} - 1 downto 0)" in layer0
    # SIMD products of Bx + Bw bits summed by a tree one bit wider (ceil log2 2)
    assert "type products_t is array (0 to 2 - 1) of signed(16 - 1 downto 0)" in layer0
    assert "signal lane_sum : signed(17 - 1 downto 0)" in layer0 and "adder_tree : process" in layer0
    # input buffer: SIMD = 2 banks of C = 5 words
    assert "banks : for s in 0 to 2 - 1 generate" in layer0
    assert "type bank_t is array (0 to 5 - 1) of std_logic_vector(8 - 1 downto 0)" in layer0
    # layer 1: SIMD = 1, no adder tree; the output register holds PE = 1 element
    assert "adder_tree" not in layer1 and "lane_sum <= product(0);" in layer1
    assert "signal out_reg   : std_logic_vector(1 * 4 - 1 downto 0)" in layer1
    # the latency in the header is the contract's
    assert f"= {design.layers[0].latency_cycles} cycles" in layer0
    assert f"= {design.latency_cycles} cycles" in files["tiny_net.vhd"]


def test_tables_have_at_least_two_entries() -> None:
    text = single(DenseLayer(1, 1, "identity", F8, W8, F8), "one")
    assert text.count("array (0 to 2 - 1)") == 3  # weight ROM, bias table and the 1-word buffer bank, padded


def test_rom_words_hold_pe_x_simd_weights_element_zero_low() -> None:
    # IN = 3, OUT = 3, PE = 2, SIMD = 2: a padding lane in group 1 and a padding slot in chunk 1
    layer = DenseLayer(3, 3, "identity", F8, W8, F8, folding=DenseFolding(pe=2, simd=2))
    design = AcceleratorDesign((layer,), device="xc7s15", clock_mhz=100.0, name="rom")
    weight = np.array([[1, 2, 3], [4, 5, 6], [-1, -2, -3]])
    bias = np.array([1, -1, 2])
    text = emit_vhdl(design, [LayerWeights(weight, bias)])["rom_layer0.vhd"]
    # word g*C+j, element p*SIMD+s = W[g*PE+p, j*SIMD+s]; element 0 in the low bits
    w = {v: bits(v, 8) for v in (0, 1, 2, 3, 4, 5, 6, -1, -2, -3)}
    assert f'0 => "{w[5]}{w[4]}{w[2]}{w[1]}"' in text
    assert f'1 => "{w[0]}{w[6]}{w[0]}{w[3]}"' in text
    assert f'2 => "{w[0]}{w[0]}{w[-2]}{w[-1]}"' in text
    assert f'3 => "{w[0]}{w[0]}{w[0]}{w[-3]}"' in text
    # bias entry g: lane p holds bias[g*PE+p] + the round constant, acc_bits each
    rc, acc = layer.requant.round_constant, layer.acc_bits
    assert rc == 1 << 6  # identity, shift 7: half an output LSB
    assert f'0 => "{bits(-1 + rc, acc)}{bits(1 + rc, acc)}"' in text
    assert f'1 => "{bits(rc, acc)}{bits(2 + rc, acc)}"' in text


def test_synthesizable_style(files: dict[str, str]) -> None:
    for path in compile_order(files):
        code = _code(files[path]).lower()
        for forbidden in ("latch", "falling_edge", " after ", "wait ", "report ", "assert ", "textio", "case "):
            assert forbidden not in code, (path, forbidden)
        # GHDL 2.0 prints these wrongly (toolchain notes): keep them out of generated code. shift_left is fine
        # (the same bits for signed and unsigned); the LUT multiplier of layer 1 uses it with constant amounts.
        for construct in ("shift_right", "rotate", " rem ", " mod ", "maximum(", "minimum(", "/ "):
            assert construct not in code, (path, construct)
        edges = re.findall(r"rising_edge\((\w+)\)", code)
        assert set(edges) <= {"clk"}, "only the one clock, no derived or gated clocks"


def test_one_register_set_per_lane_and_storage_attributes(files: dict[str, str]) -> None:
    layer0, layer1 = files["tiny_net_layer0.vhd"], files["tiny_net_layer1.vhd"]
    assert "lanes : for lane in 0 to 2 - 1 generate" in layer0
    assert "multipliers : for s in 0 to 2 - 1 generate" in layer0
    assert 'attribute rom_style of weight_word : signal is "block";' in layer0
    assert 'attribute rom_style of weight_word : signal is "distributed";' in layer1
    assert 'attribute ram_style of bank : signal is "distributed";' in layer0


def test_shallow_bram_rom_stays_in_luts_and_deep_buffer_goes_to_bram() -> None:
    shallow = DenseLayer(7, 3, "relu", F8, W8, F8, folding=DenseFolding(pe=3, weight_storage="bram"))
    assert shallow.rom_depth == 7 and shallow.rom_storage == "lutrom"
    assert 'attribute rom_style of weight_word : signal is "distributed";' in single(shallow, "shallow")
    deep = DenseLayer(130, 2, "relu", F8, W8, F8, folding=DenseFolding(pe=2, weight_storage="bram"))
    text = single(deep, "deep")
    assert deep.buffer_storage == "bram" and deep.rom_storage == "bram"
    assert 'attribute ram_style of bank : signal is "block";' in text
    assert 'attribute rom_style of weight_word : signal is "block";' in text
    assert "type bank_t is array (0 to 130 - 1)" in text


def test_dsp_and_lut_multipliers() -> None:
    shape = ("relu", FixedFormat(5, 2), FixedFormat(3, 2), F8)
    dsp = _code(single(DenseLayer(4, 2, *shape, folding=DenseFolding(simd=2, multiplier="dsp")), "dsp"))
    lut = _code(single(DenseLayer(4, 2, *shape, folding=DenseFolding(simd=2, multiplier="lut")), "lut"))
    assert "product(s) <= w * x;" in dsp and "use_dsp" not in dsp
    multiply = re.compile(r"\b[wx]\s*\*|\*\s*[wx]\b")  # a product of the operands (not of index constants)
    assert multiply.search(dsp) and not multiply.search(lut)
    assert 'attribute use_dsp of product : signal is "no";' in lut
    # shift-and-add of x-gated partial products over the Bx - 1 magnitude bits, the sign bit's subtracted
    assert "for i in 0 to 3 loop" in lut and "partial := resize(w, 8) when x(4) = '1'" in lut
    assert "sum := sum - shift_left(partial, 4);" in lut


def test_requant_comparisons_out_of_range_become_constants() -> None:
    # identity into a format wider than the accumulator: nothing saturates, the slice is sign-extended
    layer = DenseLayer(2, 2, "identity", F8, W8, FixedFormat(24, 11))
    text = single(layer, "wide")
    assert layer.requant.slice_bits > layer.acc_bits
    assert "below <= '0';" in text and "above <= '0';" in text
    assert "resize(acc, 24)(23 downto 0);" in text
    narrow = single(DenseLayer(2, 2, "relu", F8, W8, F8), "narrow")
    assert "below <= '1' when acc < signed'(" in narrow and "above <= '1' when acc >= signed'(" in narrow


def test_weights_for_all_layers_or_fpga_layers_only() -> None:
    layers = (
        DenseLayer(4, 3, "relu", F8, W8, F8, placement="mcu"),
        DenseLayer(3, 2, "relu", F8, W8, F8),
    )
    design = AcceleratorDesign(layers, device="xc7s15", clock_mhz=100.0, name="split")
    weights = random_weights(design, np.random.default_rng(2))
    assert fpga_weights(design, weights) == [weights[1]]
    assert fpga_weights(design, weights[1:]) == [weights[1]]
    assert list(emit_vhdl(design, weights)) == [layer_entity_name(design, 0) + ".vhd", "split.vhd", COMPILE_ORDER_FILE]
    with pytest.raises(ValueError, match="weight sets"):
        emit_vhdl(design, weights + weights)


def test_bad_names_and_weights_are_rejected() -> None:
    design = two_layer_design("bad-name")
    with pytest.raises(ValueError, match="VHDL identifier"):
        emit_vhdl(design, random_weights(design, np.random.default_rng(0)))
    design = two_layer_design()
    weights = random_weights(design, np.random.default_rng(0))
    weights[0] = LayerWeights(weights[0].weight * 1000, weights[0].bias)
    with pytest.raises(ValueError, match="out of range"):
        emit_vhdl(design, weights)
    weights = random_weights(design, np.random.default_rng(0))
    weights[1] = LayerWeights(weights[1].weight.T, weights[1].bias)
    with pytest.raises(ValueError, match="shape"):
        emit_vhdl(design, weights)


def test_emit_all_adds_project_files_and_testbench() -> None:
    design = two_layer_design()
    weights = random_weights(design, np.random.default_rng(0))
    files = emit_all(design, weights, np.zeros((2, 9), dtype=np.int64))
    assert {"tiny_net.core", "create_vivado_project.tcl", "tb_tiny_net.py", "tb_vectors.json"} <= set(files)


def test_requant_plan_equals_the_fixedpoint_spec() -> None:
    """The hardware's requantization (contract.requant: the rounding constant in the bias, two thresholds and a
    slice of acc' = acc + round_constant) equals contract.fixedpoint.activate_and_requantize, over random formats,
    fan-ins and activations, on every reachable accumulator value class (random, extremes, around the thresholds).
    """
    rng = np.random.default_rng(0)
    cases: set[tuple] = set()
    hits: Counter[str] = Counter()
    killed: Counter[str] = Counter()
    for _ in range(400):
        bx, bw, by = (int(b) for b in rng.integers(1, 17, size=3))
        fx, fw = int(rng.integers(0, bx + 3)), int(rng.integers(0, bw + 3))
        fy = int(rng.integers(0, fx + fw + 1))
        activation = ACTIVATIONS[int(rng.integers(len(ACTIVATIONS)))]
        fan_in = int(rng.integers(1, 40))
        layer = DenseLayer(fan_in, 2, activation, FixedFormat(bx, fx), FixedFormat(bw, fw), FixedFormat(by, fy))
        plan, rc = layer.requant, layer.requant.round_constant
        bound = (1 << (bx + bw - 2)) * (fan_in + 2)  # |bias + sum of products| never exceeds this
        near = [t - rc + d for t in (plan.below, plan.above, rc) for d in (-2, -1, 0, 1)]
        acc = np.concatenate([rng.integers(-bound, bound + 1, 300), near, [-bound, bound, 0]])
        acc = np.unique(np.clip(acc, -bound, bound))
        biased = acc + rc
        # the accumulator register (acc_bits wide) holds acc' without overflow
        assert -(1 << (layer.acc_bits - 1)) <= biased.min() and biased.max() < 1 << (layer.acc_bits - 1)
        want = activate_and_requantize(acc, layer.acc_frac_bits, activation, layer.out_fmt)
        np.testing.assert_array_equal(plan.apply(biased), want, err_msg=f"{layer} {plan}")

        cases.add((fan_in, bx, fx, bw, fw, by, fy, activation))
        hits[activation] += 1
        hits["shift 0"] += plan.shift == 0
        hits["low"] += bool((biased < plan.below).any())
        hits["high"] += bool((biased >= plan.above).any())
        hits["slice"] += bool(((biased >= plan.below) & (biased < plan.above)).any())
        # The comparison has teeth: plans that are one off are caught in most cases.
        mutants = {
            "late low clamp": replace(plan, below=plan.below + 1).apply(biased),
            "early high clamp": replace(plan, above=plan.above - 1).apply(biased),
            "round constant + 1": plan.apply(biased + 1),
            "round constant - 1": plan.apply(biased - 1),
        }
        for name, got in mutants.items():
            killed[name] += bool((got != want).any())

    assert len(cases) >= 390
    assert all(hits[activation] >= 60 for activation in ACTIVATIONS), hits
    assert hits["shift 0"] >= 30 and min(hits["low"], hits["high"], hits["slice"]) >= 300, hits
    assert min(killed.values()) >= 250, killed
