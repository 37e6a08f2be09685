"""Fast checks of the generated file system (no simulator): names, order, widths, synthesizable style."""

from __future__ import annotations

import re

import numpy as np
import pytest

from contract.design import AcceleratorDesign, DenseLayer
from contract.fixedpoint import ACTIVATIONS, FixedFormat, activate_and_requantize
from contract.reference import LayerWeights, random_weights
from generator import emit_all, emit_vhdl
from generator.vhdl import COMPILE_ORDER_FILE, RequantPlan, compile_order, fpga_weights, layer_entity_name

F8 = FixedFormat(8, 4)
W8 = FixedFormat(8, 7)


def two_layer_design(name: str = "tiny_net") -> AcceleratorDesign:
    layers = (
        DenseLayer(5, 3, "relu", F8, W8, F8, parallelism=2, weight_storage="bram"),
        DenseLayer(3, 1, "hardsigmoid", F8, FixedFormat(6, 4), FixedFormat(4, 3)),
    )
    return AcceleratorDesign(layers, device="xc7s15", clock_mhz=100.0, name=name)


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


def test_port_widths_follow_the_packing(files: dict[str, str]) -> None:
    layer0, layer1, top = files["tiny_net_layer0.vhd"], files["tiny_net_layer1.vhd"], files["tiny_net.vhd"]
    assert "in_data   : in  std_logic_vector(40 - 1 downto 0)" in layer0  # 5 x 8 bits
    assert "out_data  : out std_logic_vector(24 - 1 downto 0)" in layer0  # 3 x 8 bits
    assert "out_data  : out std_logic_vector(4 - 1 downto 0)" in layer1  # 1 x 4 bits
    assert "in_data   : in  std_logic_vector(40 - 1 downto 0)" in top
    assert "out_data  : out std_logic_vector(4 - 1 downto 0)" in top
    # layer 0: G = 2 groups x IN = 5 words of P * Bw = 16 bits; accumulator and product widths
    assert "array (0 to 10 - 1) of std_logic_vector(16 - 1 downto 0)" in layer0
    assert f"signal acc     : signed({two_layer_design().layers[0].acc_bits} - 1 downto 0)" in layer0
    assert "signal product : signed(16 - 1 downto 0)" in layer0


def test_tables_have_at_least_two_entries() -> None:
    layer = DenseLayer(1, 1, "identity", F8, W8, F8)
    design = AcceleratorDesign((layer,), device="xc7s15", clock_mhz=100.0, name="one")
    text = emit_vhdl(design, random_weights(design, np.random.default_rng(1)))["one_layer0.vhd"]
    assert text.count("array (0 to 2 - 1)") == 2  # weight ROM and bias table, padded from 1 entry


def test_rom_words_hold_lane_weights_low_lane_first() -> None:
    layer = DenseLayer(2, 3, "identity", F8, W8, F8, parallelism=2)
    design = AcceleratorDesign((layer,), device="xc7s15", clock_mhz=100.0, name="rom")
    weight = np.array([[1, 2], [3, 4], [-1, -2]])
    text = emit_vhdl(design, [LayerWeights(weight, np.zeros(3, dtype=np.int64))])["rom_layer0.vhd"]
    # word g*IN+i = W[g*P+1, i] & W[g*P, i]; group 1 has a zero padding lane in the high bits
    assert '0 => "0000001100000001"' in text
    assert '1 => "0000010000000010"' in text
    assert '2 => "0000000011111111"' in text
    assert '3 => "0000000011111110"' in text


def test_synthesizable_style(files: dict[str, str]) -> None:
    for path in compile_order(files):
        code = _code(files[path]).lower()
        for forbidden in ("latch", "falling_edge", " after ", "wait ", "report ", "assert ", "textio", "case "):
            assert forbidden not in code, (path, forbidden)
        # GHDL 2.0 prints these wrongly (toolchain notes): keep them out of generated code
        for construct in ("shift_right", "shift_left", "rotate", " rem ", " mod ", "maximum(", "minimum("):
            assert construct not in code, (path, construct)
        edges = re.findall(r"rising_edge\((\w+)\)", code)
        assert set(edges) <= {"clk"}, "only the one clock, no derived or gated clocks"


def test_one_register_per_lane_and_storage_attributes(files: dict[str, str]) -> None:
    layer0 = files["tiny_net_layer0.vhd"]
    assert "lanes : for lane in 0 to 2 - 1 generate" in layer0
    assert 'attribute rom_style of weight_word : signal is "block";' in layer0
    assert 'attribute rom_style of weight_word : signal is "distributed";' in files["tiny_net_layer1.vhd"]


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


def test_emit_all_adds_project_files_and_testbench() -> None:
    design = two_layer_design()
    weights = random_weights(design, np.random.default_rng(0))
    files = emit_all(design, weights, np.zeros((2, 5), dtype=np.int64))
    assert {"tiny_net.core", "create_vivado_project.tcl", "tb_tiny_net.py", "tb_vectors.json"} <= set(files)


def test_requant_thresholds_equal_the_fixedpoint_spec() -> None:
    """The hardware's threshold form of activation + rounding + saturation, over many formats."""
    rng = np.random.default_rng(0)
    checked = 0
    for _ in range(400):
        bx, bw, by = (int(b) for b in rng.integers(1, 17, size=3))
        fx, fw = int(rng.integers(0, bx + 3)), int(rng.integers(0, bw + 3))
        fy = int(rng.integers(0, fx + fw + 1))
        activation = ACTIVATIONS[int(rng.integers(len(ACTIVATIONS)))]
        layer = DenseLayer(
            int(rng.integers(1, 40)), 2, activation, FixedFormat(bx, fx), FixedFormat(bw, fw), FixedFormat(by, fy)
        )
        plan = RequantPlan.of(layer)
        lo, hi = -(1 << (layer.acc_bits - 1)), (1 << (layer.acc_bits - 1)) - 1
        near = [t + d for t in (plan.below_threshold, plan.above_threshold, 0) for d in (-2, -1, 0, 1)]
        acc = np.unique(np.clip(np.concatenate([rng.integers(lo, hi + 1, 300), near, [lo, hi]]), lo, hi))
        want = activate_and_requantize(acc, layer.acc_frac_bits, activation, layer.out_fmt)
        np.testing.assert_array_equal(plan.apply(acc), want, err_msg=str(layer))
        checked += 1
    assert checked == 400
