"""Estimates at the edges, on whole designs that no fit saw: `python benchmarks/edge_estimates.py`.

Random 2-3 layer dense designs per family, with trained-like weights (dse.calibrate.space.sweep_weights; a layer
drawn all zero gets one weight of 1, since its constant output would let synthesis remove everything), a third
of them with a 1x1 layer and a third with a weight ROM of over 1000 words in block RAM; on iCE40 most are drawn
near the device's size. Each is synthesized (yosys), and on iCE40 placed and routed (nextpnr-ice40); on xc7 its
fmax comes from the open flow's timing (generator.synth.XC7_TIMING_SOURCE). It prints, per family:
- fits_agreement: the estimate says the design fits (logic cells, DSP, BRAM) exactly when nextpnr places it
  (iCE40; on xc7, when the synthesized counts are within the device);
- fmax error, median and p90 (% of the measured fmax);
- LUT and FF error of the content-aware estimate (after training) and of the pre-training one;
- DSP and BRAM exact-match shares.
Goals: fits-agreement 100 %, fmax median error <= 10 %, LUT/FF median <= 5 % and p90 <= 10 %, DSP/BRAM exact.
Results are cached in .cache/dse-edge (per design, weights and tool versions).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from synthesis_runs import error_summary, exact_share, failure, measure_all

from contract.design import AcceleratorDesign
from contract.devices import get_device
from contract.fixedpoint import ACTIVATIONS, FixedFormat
from contract.layers.dense import DenseFolding, DenseLayer
from dse.calibrate.cache import ResultCache, point_key
from dse.calibrate.space import FAMILY_CLOCKS, FAMILY_DEVICES, sweep_weights
from dse.calibrate.sweep import generator_version
from estimators import default_calibration, estimate_design
from estimators.content import rom_contents

MAX_LUT_PRODUCT_BITS = 512  # as in the calibration sweep: larger LUT multipliers take minutes in yosys/abc


def _layer(rng: np.random.Generator, n_in: int, n_out: int, in_fmt: FixedFormat, style: str, family: str) -> DenseLayer:
    bx, bw, by = in_fmt.total_bits, *(int(b) for b in rng.integers(2, 13, size=2))
    if style == "deep":
        bw = int(rng.integers(4, 13))
    fx, fw = in_fmt.frac_bits, int(rng.integers(0, bw))
    pe = int(rng.choice([1, 2, 4, 8])) if style == "any" else 1 if style == "tiny" else int(rng.choice([1, 1, 2]))
    simd = int(rng.choice([1, 2, 4, 8])) if style == "any" else 1
    pe, simd = min(pe, n_out), min(simd, n_in)
    multiplier = "dsp" if family == "xc7" and rng.random() < 0.5 or pe * simd == 1 and rng.random() < 0.3 else "lut"
    if multiplier == "lut":
        while pe * simd * bx * bw > MAX_LUT_PRODUCT_BITS and pe * simd > 1:
            pe, simd = (max(1, pe // 2), simd) if pe >= simd else (pe, max(1, simd // 2))
    storage = "bram" if style == "deep" else str(rng.choice(["lutrom", "bram"]))
    return DenseLayer(
        n_in,
        n_out,
        str(rng.choice(ACTIVATIONS)),
        in_fmt,
        FixedFormat(bw, fw),
        FixedFormat(by, int(rng.integers(0, min(by - 1, fx + fw) + 1))),
        folding=DenseFolding(pe, simd, multiplier, storage),  # type: ignore[arg-type]
    )


def sample_design(rng: np.random.Generator, family: str, index: int) -> AcceleratorDesign:
    """A chain of 2-3 dense layers; design ``index % 3`` decides the edge it holds (none, a 1x1 layer, a deep
    BRAM ROM)."""
    edge = ("any", "tiny", "deep")[index % 3]
    n_layers = int(rng.integers(2, 4))
    widths = [int(rng.integers(1, 65)) for _ in range(n_layers + 1)]
    special = int(rng.integers(0, n_layers))
    if edge == "tiny":
        widths[special] = widths[special + 1] = 1
    if edge == "deep":
        widths[special], widths[special + 1] = int(rng.integers(32, 65)), int(rng.integers(20, 33))
    bits = int(rng.integers(2, 13))
    layers, fmt = [], FixedFormat(bits, int(rng.integers(0, bits)))
    for i in range(n_layers):
        style = edge if i == special and edge != "any" else "any"
        layer = _layer(rng, widths[i], widths[i + 1], fmt, style, family)
        layers.append(layer)
        fmt = layer.out_fmt
    return AcceleratorDesign(tuple(layers), FAMILY_DEVICES[family], FAMILY_CLOCKS[family], name=f"edge{index}")


def near_capacity(rng: np.random.Generator, family: str, index: int, tries: int = 400) -> AcceleratorDesign:
    """On iCE40, 2 of 3 designs are drawn with 0.6-1.4x the device's logic cells estimated: fit verdicts are only
    at stake near the edge."""
    device, calibration = get_device(FAMILY_DEVICES[family]), default_calibration(family)
    design = sample_design(rng, family, index)
    if family != "ice40" or index % 3 == 2:
        return design
    for _ in range(tries):
        cells = estimate_design(design, calibration).logic_cells
        if 0.6 * device.lut <= cells <= 1.4 * device.lut:
            return design
        design = sample_design(rng, family, index)
    return design


def live_weights(weights: list[Any], seed: int) -> list[Any]:
    """No layer with all-zero weights: its output would be a constant, and synthesis removes the whole datapath
    (a trained network does not have one; 20 % zeros make it likely for a 1 x 1 layer)."""
    rng = np.random.default_rng(seed)
    fixed = []
    for layer_weights in weights:
        weight = layer_weights.weight.copy()
        if not weight.any():
            weight[tuple(int(rng.integers(0, n)) for n in weight.shape)] = 1
        fixed.append(replace(layer_weights, weight=weight))
    return fixed


def measure(design: AcceleratorDesign, weights: list[Any]) -> dict[str, Any]:
    """Worker: synthesize (and place) one design; a tool failure is recorded, not raised."""
    from generator.synth import synthesize

    try:
        with tempfile.TemporaryDirectory(prefix="dse-edge-") as scratch:
            result = synthesize(design, weights, Path(scratch), place_and_route=True)
        keys = ("lut", "ff", "dsp", "bram", "fmax_mhz", "logic_cells", "placed")
        return {key: getattr(result, key) for key in keys} | {"error": ""}
    except Exception as error:  # noqa: BLE001 - a failing design is reported
        return failure(error)


def run_family(family: str, count: int, seed: int, jobs: int, cache_dir: Path, details: bool = False) -> dict[str, Any]:
    from generator.synth import tool_versions

    rng = np.random.default_rng(seed)
    designs = [near_capacity(rng, family, i) for i in range(count)]
    weights = [live_weights(sweep_weights(d, seed, i, "trained"), seed + i) for i, d in enumerate(designs)]
    cache, tools = ResultCache(cache_dir / family), tool_versions()
    extra = {"bench": "edge", "generator": generator_version()}
    keys = [point_key(d, w, tools, extra) for d, w in zip(designs, weights, strict=True)]
    measured = measure_all(measure, designs, weights, keys, cache, jobs)
    return score(family, designs, weights, measured, details)


def describe(design: AcceleratorDesign, measured: dict[str, Any], pre: Any, post: Any) -> dict[str, Any]:
    """One design's line with --details: its layers, and what synthesis measured against each estimate."""
    layers = [
        f"{layer.in_features}x{layer.out_features} x{layer.in_fmt.total_bits} w{layer.weight_fmt.total_bits} "
        f"pe{layer.folding.pe} simd{layer.folding.simd} {layer.folding.multiplier} {layer.rom_storage}"
        for layer in design.layers
    ]
    keys = ("lut", "ff", "dsp", "bram", "logic_cells", "fmax_mhz")
    return {
        "design": design.name,
        "layers": layers,
        "measured": {key: measured.get(key) for key in (*keys, "placed")},
        "estimated": {key: round(float(getattr(post, key)), 1) for key in keys},
        "lut_pre_training": round(float(pre.lut), 1),
    }


def score(
    family: str,
    designs: list[AcceleratorDesign],
    weights: list[Any],
    measured: dict[int, dict[str, Any]],
    details: bool = False,
) -> dict[str, Any]:
    calibration, device = default_calibration(family), get_device(FAMILY_DEVICES[family])
    rows = []
    for i, (design, design_weights) in enumerate(zip(designs, weights, strict=True)):
        if measured[i]["error"]:
            continue
        pre = estimate_design(design, calibration)
        post = estimate_design(design, calibration, contents=rom_contents(design, design_weights))
        rows.append((measured[i], pre, post))
        if details:
            print(json.dumps(describe(design, measured[i], pre, post)))
    failed = len(designs) - len(rows)

    def stats(key: str, which: int) -> dict[str, float]:
        return error_summary([float(m[key]) for m, *_ in rows], [float(getattr(r[which], key)) for r in rows])

    def fits(post: Any) -> bool:
        cells = post.logic_cells if family == "ice40" else post.lut
        return cells <= device.lut and post.dsp <= device.dsp and post.bram <= device.bram and post.ff <= device.ff

    def placed(m: dict[str, Any]) -> bool:
        if family == "ice40":
            return bool(m["placed"])
        return m["lut"] <= device.lut and m["ff"] <= device.ff and m["dsp"] <= device.dsp and m["bram"] <= device.bram

    agree = [fits(post) == placed(m) for m, _, post in rows]
    timed = [(m["fmax_mhz"], post.fmax_mhz) for m, _, post in rows if m.get("fmax_mhz")]
    return {
        "family": family,
        "designs": len(rows),
        "failed": failed,
        "placed": sum(placed(m) for m, *_ in rows),
        "fits_agreement": round(float(np.mean(agree)), 4) if rows else None,
        "fmax": error_summary([t for t, _ in timed], [e for _, e in timed]) if timed else None,
        "lut_content_aware": stats("lut", 2),
        "lut_pre_training": stats("lut", 1),
        "ff": stats("ff", 2),
        "dsp_exact": exact_share([(m["dsp"], post.dsp) for m, _, post in rows]),
        "bram_exact": exact_share([(m["bram"], post.bram) for m, _, post in rows]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", choices=("xc7", "ice40"), nargs="+", default=["ice40", "xc7"])
    parser.add_argument("--designs", type=int, default=24, help="designs per family (default 24)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--cache-dir", type=Path, default=Path(".cache/dse-edge"))
    parser.add_argument("--details", action="store_true", help="also print one line per design")
    args = parser.parse_args(argv)
    for family in args.family:
        print(json.dumps(run_family(family, args.designs, args.seed, args.jobs, args.cache_dir, args.details)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
