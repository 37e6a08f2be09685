"""Every layer kind reaches every stage, serializes losslessly and loads version-1 designs; QAT == reference.

A new kind registered in contract.layers.KINDS without its training module, estimator, VHDL emitter, sweep
sampler or search-file schema fails here, not deep inside a search.
"""

from __future__ import annotations

import json
from dataclasses import fields, replace

import numpy as np
import pytest
import torch

from contract.design import DESIGN_FORMAT, AcceleratorDesign
from contract.fixedpoint import ACTIVATIONS, FixedFormat
from contract.layers import KINDS, DenseFolding, DenseLayer, Knob, layer_from_dict
from contract.layers.dense import MULTIPLIERS, WEIGHT_STORAGES
from contract.reference import random_weights, run_reference
from dse.calibrate.space import SWEEP_SAMPLERS
from dse.config import KIND_SCHEMAS
from dse.training.quant import QAT_MODULES, QuantizedNet
from estimators import default_calibration
from estimators.system import LAYER_ESTIMATORS
from generator.vhdl import EMITTERS

STAGE_REGISTRIES = {
    "estimators.system.LAYER_ESTIMATORS": LAYER_ESTIMATORS,
    "dse.training.quant.QAT_MODULES": QAT_MODULES,
    "generator.vhdl.EMITTERS": EMITTERS,
    "dse.calibrate.space.SWEEP_SAMPLERS": SWEEP_SAMPLERS,
    "dse.config.KIND_SCHEMAS": KIND_SCHEMAS,
}


def test_dense_is_registered() -> None:
    assert KINDS["dense"] is DenseLayer


@pytest.mark.parametrize("registry", list(STAGE_REGISTRIES))
def test_every_stage_registry_has_exactly_the_registered_kinds(registry: str) -> None:
    assert set(STAGE_REGISTRIES[registry]) == set(KINDS), f"{registry} is missing or has extra layer kinds"


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_kind_declares_knobs_and_the_search_schema_follows_them(kind: str) -> None:
    cls = KINDS[kind]
    assert cls.kind == kind
    knobs = cls.KNOBS
    assert all(isinstance(knob, Knob) for knob in knobs)
    assert knobs or kind in ("maxpool1d", "avgpool1d")  # pooling streams at one element per cycle: nothing to fold
    assert len({knob.name for knob in knobs}) == len(knobs)
    assert set(KIND_SCHEMAS[kind]) == {knob.name for knob in knobs}
    for knob in knobs:
        assert knob.doc
        if knob.is_int:
            assert isinstance(knob.default, int) and knob.default >= 1
        else:
            assert knob.default in knob.choices


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_stage_handles_a_sampled_layer_of_the_kind(kind: str) -> None:
    """Sweep sampler -> layer; its estimator, QAT module, emitter and dict round trip all accept it."""
    rng = np.random.default_rng(0)
    calibration = default_calibration("xc7")
    for _ in range(5):
        layer = SWEEP_SAMPLERS[kind](rng)
        assert isinstance(layer, KINDS[kind]) and layer.kind == kind
        assert layer_from_dict(layer.to_dict()) == layer
        assert layer_from_dict(json.loads(json.dumps(layer.to_dict()))) == layer
        numbers = LAYER_ESTIMATORS[kind](layer, calibration)
        assert numbers[0] == layer.latency_cycles
        module = QAT_MODULES[kind](layer)
        assert isinstance(module, torch.nn.Module)
        weights = layer.random_weights(rng)
        layer.check_weights(weights)
        text = EMITTERS[kind]("sampled_layer", layer, weights)
        assert "entity sampled_layer is" in text


def _random_dense(rng: np.random.Generator, in_fmt: FixedFormat | None = None, in_features: int = 0) -> DenseLayer:
    in_features = in_features or int(rng.integers(1, 13))
    out_features = int(rng.integers(1, 13))
    in_fmt = in_fmt or FixedFormat(int(rng.integers(1, 17)), int(rng.integers(0, 10)))
    weight_fmt = FixedFormat(int(rng.integers(1, 17)), int(rng.integers(0, 10)))
    acc_frac = in_fmt.frac_bits + weight_fmt.frac_bits
    out_fmt = FixedFormat(int(rng.integers(1, 17)), int(rng.integers(max(0, acc_frac - 10), acc_frac + 1)))
    folding = DenseFolding(
        pe=int(rng.integers(1, out_features + 1)),
        simd=int(rng.integers(1, in_features + 1)),
        multiplier=str(rng.choice(MULTIPLIERS)),
        weight_storage=str(rng.choice(WEIGHT_STORAGES)),
    )
    placement = "mcu" if rng.random() < 0.2 else "fpga"
    return DenseLayer(
        in_features, out_features, str(rng.choice(ACTIVATIONS)), in_fmt, weight_fmt, out_fmt, folding, placement
    )


@pytest.mark.parametrize("seed", range(20))
def test_dense_dict_round_trip(seed: int) -> None:
    rng = np.random.default_rng(seed)
    layer = _random_dense(rng)
    data = layer.to_dict()
    assert data["kind"] == "dense" and data["folding"] == layer.folding.to_dict()
    assert DenseLayer.from_dict(data) == layer
    assert DenseFolding.from_dict(layer.folding.to_dict()) == layer.folding
    design = AcceleratorDesign((layer,), device="xc7s15", clock_mhz=50.0, name="rt", meta={"seed": seed})
    loaded = AcceleratorDesign.from_dict(json.loads(design.to_json()))
    assert loaded == design and loaded.meta == design.meta
    assert design.to_dict()["format"] == DESIGN_FORMAT


def _version1_layer(parallelism: int, storage: str, **extra: object) -> dict[str, object]:
    return {
        "in_features": 6,
        "out_features": 5,
        "activation": "relu",
        "in_fmt": {"total_bits": 8, "frac_bits": 4},
        "weight_fmt": {"total_bits": 8, "frac_bits": 7},
        "out_fmt": {"total_bits": 8, "frac_bits": 4},
        "parallelism": parallelism,
        "weight_storage": storage,
        **extra,
    }


def test_version1_design_dict_loads_with_parallelism_as_pe() -> None:
    old = {  # as dse.design.AcceleratorDesign.to_dict wrote it before the contract package: no "format"
        "name": "old_net",
        "device": "xc7s15",
        "clock_mhz": 100.0,
        "layers": [
            _version1_layer(3, "bram", kind="dense", placement="fpga"),
            {**_version1_layer(2, "lutrom", placement="mcu"), "in_features": 5, "out_features": 4},  # no "kind"
        ],
        "meta": {"trial": 7},
    }
    design = AcceleratorDesign.from_dict(json.loads(json.dumps(old)))
    first, second = design.layers
    assert first.folding == DenseFolding(pe=3, simd=1, multiplier="dsp", weight_storage="bram")
    assert second.folding == DenseFolding(pe=2, simd=1, multiplier="dsp", weight_storage="lutrom")
    assert (first.placement, second.placement) == ("fpga", "mcu")
    assert (first.in_features, first.out_features, second.out_features) == (6, 5, 4)
    assert first.in_fmt == FixedFormat(8, 4) and first.weight_fmt == FixedFormat(8, 7)
    assert design.name == "old_net" and design.meta == {"trial": 7}
    # Saved again, it is a current-format design that loads to the same thing.
    saved = design.to_dict()
    assert saved["format"] == DESIGN_FORMAT
    assert "parallelism" not in saved["layers"][0] and saved["layers"][0]["folding"]["pe"] == 3
    assert AcceleratorDesign.from_dict(saved) == design


def test_newer_design_format_and_unknown_kind_are_rejected() -> None:
    data = AcceleratorDesign(
        (DenseLayer(2, 2, "relu", FixedFormat(8, 4), FixedFormat(8, 7), FixedFormat(8, 4)),), "xc7s15", 100.0
    ).to_dict()
    with pytest.raises(ValueError, match="newer"):
        AcceleratorDesign.from_dict({**data, "format": DESIGN_FORMAT + 1})
    with pytest.raises(ValueError, match="unknown layer kind"):
        AcceleratorDesign.from_dict({**data, "layers": [{**data["layers"][0], "kind": "conv9d"}]})


def test_folding_knobs_are_checked() -> None:
    f8, w8 = FixedFormat(8, 4), FixedFormat(8, 7)
    for folding in (
        DenseFolding(pe=4),  # more lanes than outputs
        DenseFolding(simd=6),  # more inputs per cycle than inputs
        DenseFolding(pe=0),
        DenseFolding(multiplier="dsp48"),
        DenseFolding(weight_storage="uram"),
    ):
        with pytest.raises(ValueError):
            DenseLayer(5, 3, "relu", f8, w8, f8, folding=folding)
    assert {field.name for field in fields(DenseFolding)} == {knob.name for knob in DenseLayer.KNOBS}


# --- QAT == reference for random dense layers and foldings (fast, no simulator) ----------------------------


def _random_network(rng: np.random.Generator) -> AcceleratorDesign:
    layers = [_random_dense(rng)]
    for _ in range(int(rng.integers(0, 3))):
        layers.append(_random_dense(rng, layers[-1].out_fmt, layers[-1].out_features))
    # FPGA layers must be contiguous: MCU only at the ends
    placements = ["fpga"] * len(layers)
    if len(layers) > 1 and rng.random() < 0.5:
        placements[0] = "mcu"
    if len(layers) > 2 and rng.random() < 0.5:
        placements[-1] = "mcu"
    layers = [replace(layer, placement=p) for layer, p in zip(layers, placements, strict=True)]
    return AcceleratorDesign(tuple(layers), device="xc7s15", clock_mhz=100.0, name="qat")


def qat_output_codes(design: AcceleratorDesign, weights: list, x_codes: np.ndarray) -> np.ndarray:
    """The fake-quantized torch model with its parameters set from integer codes, fed dequantized input codes."""
    model = QuantizedNet(design)
    model.load_integer_weights(weights)
    return model.output_codes(design.layers[0].in_fmt.to_float(x_codes))


def input_codes(design: AcceleratorDesign, rng: np.random.Generator, n: int = 64) -> np.ndarray:
    fmt, width = design.layers[0].in_fmt, design.layers[0].in_size
    extremes = np.array([np.full(width, fmt.min_int), np.full(width, fmt.max_int), np.zeros(width, np.int64)])
    return np.concatenate([extremes, rng.integers(fmt.min_int, fmt.max_int + 1, size=(n, width))])


@pytest.mark.parametrize("seed", range(40))
def test_qat_equals_reference_for_random_dense_layers_and_foldings(seed: int) -> None:
    rng = np.random.default_rng(1000 + seed)
    design = _random_network(rng)
    weights = random_weights(design, rng)
    x = input_codes(design, rng)
    want = run_reference(design, weights, x)
    np.testing.assert_array_equal(qat_output_codes(design, weights, x), want, err_msg=design.to_json())
    # The reference is the composition of the layers' own forwards.
    for layer, layer_weights in zip(design.layers, weights, strict=True):
        layer.check_weights(layer_weights)
        x = layer.forward(layer_weights, x)
    np.testing.assert_array_equal(x, want)


def test_qat_check_can_fail() -> None:
    """One weight code off by one changes some output code: the comparison above is not vacuous."""
    rng = np.random.default_rng(5)
    f8, w8 = FixedFormat(8, 4), FixedFormat(8, 7)
    design = AcceleratorDesign(
        (DenseLayer(6, 4, "identity", f8, w8, FixedFormat(12, 8), DenseFolding(pe=3, simd=4)),), "xc7s15", 100.0
    )
    weights = random_weights(design, rng)
    x = input_codes(design, rng)
    want = run_reference(design, weights, x)
    bad = weights[0].weight.copy()
    bad[1, 2] = bad[1, 2] + 1 if bad[1, 2] < w8.max_int else bad[1, 2] - 1
    got = qat_output_codes(design, [type(weights[0])(bad, weights[0].bias)], x)
    assert (got != want).any()
