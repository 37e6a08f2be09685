"""Area and cycles next to elasticai.creator for the same weights: `python benchmarks/peer_area.py [--quick]`.

The weights are the creator's integer ROM contents (shared/peer-area/*.weights_int.json, see its README): Q8.4
activations and weights, ReLU between layers, identity output, xc7s15 at 100 MHz.
1. One lane per layer (PE = SIMD = 1, DSP multiplier, LUT-ROM weights), as the creator does: synthesized with
   yosys synth_xilinx, verified bit- and cycle-exact in GHDL, LUT / FF ratios ours / creator.
2. The fastest design that fits an XC7S15 by estimate (coarse folding grid), confirmed by synthesis and GHDL.
   Goals on 100-60-10: speed-up (creator cycles / ours) >= 30, cycles / (Σ MACs / (PE·SIMD)) <= 1.10.
The last line printed is JSON with the key figures.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import estimators
from contract.design import AcceleratorDesign
from contract.devices import Device
from contract.fixedpoint import FixedFormat
from contract.layers import DenseFolding, DenseLayer, DenseWeights
from estimators import estimate_design, get_device
from estimators.calibration import Calibration
from generator.synth import SynthResult, ToolError, synthesize
from generator.verify import VerifyResult, verify

DEFAULT_PEER_DIR = Path(__file__).resolve().parents[2] / "shared" / "peer-area"
MLPS = ("16-10", "20-12-6", "100-60-10", "100-60-10-uniform")
QUICK_MLPS = ("16-10", "20-12-6")
# The uniform-weight 100-60-10 has the same shapes: its fastest folding is the same design (BRAM weights), so only
# its one-lane area (where LUT-ROM content matters) is measured.
FASTEST_MLPS = ("16-10", "20-12-6", "100-60-10")
FMT = FixedFormat(8, 4)  # Q4.4 codes in an 8-bit word, for activations and weights alike
BIAS_SHIFT = 4  # the creator adds bias << 4 to a Q8.8 accumulator; our bias is in the Q16.8 product format
DEVICE = "xc7s15"
CLOCK_MHZ = 100.0
N_VECTORS = 6
ONE_LANE = DenseFolding(pe=1, simd=1, multiplier="dsp", weight_storage="lutrom")
MAX_COMBOS = 4096  # the fastest-design search estimates at most this many foldings per MLP
PRIOR_PATH = Path(estimators.__file__).resolve().parent / "calibration" / "data" / "xc7_prior.json"

# The creator's figures (elasticai.creator 0.67.0, GHDL 2.0 + Yosys 0.23 synth_xilinx -flatten -family xc7), copied
# from the table in shared/peer-area/README.md. cycles = Σ OUT·(IN+1).
CREATOR: dict[str, dict[str, int]] = {
    "16-10": {"cycles": 170, "lut": 48, "ff": 26, "dsp": 1, "lutram": 2, "bram": 0},
    "20-12-6": {"cycles": 330, "lut": 93, "ff": 51, "dsp": 2, "lutram": 4, "bram": 0},
    "100-60-10": {"cycles": 6670, "lut": 384, "ff": 66, "dsp": 2, "lutram": 5, "bram": 0},
    "100-60-10-uniform": {"cycles": 6670, "lut": 1159, "ff": 66, "dsp": 2, "lutram": 5, "bram": 0},
}


@dataclass
class Run:
    design: AcceleratorDesign
    synth: SynthResult | None
    check: VerifyResult | None
    error: str | None = None


def load_weights(path: Path) -> list[DenseWeights]:
    layers = json.loads(path.read_text())
    return [
        DenseWeights(
            np.asarray(layer["weights"], dtype=np.int64), np.asarray(layer["bias"], dtype=np.int64) << BIAS_SHIFT
        )
        for layer in layers
    ]


def vhdl_name(mlp: str, what: str) -> str:
    return f"mlp_{mlp.replace('-', '_')}_{what}"


def build_design(name: str, shapes: list[tuple[int, int]], foldings: list[DenseFolding]) -> AcceleratorDesign:
    """Q8.4 everywhere, ReLU between layers, identity output; ``shapes`` are (IN, OUT) per layer."""
    last = len(shapes) - 1
    layers = tuple(
        DenseLayer(in_f, out_f, "identity" if index == last else "relu", FMT, FMT, FMT, folding)
        for index, ((in_f, out_f), folding) in enumerate(zip(shapes, foldings, strict=True))
    )
    return AcceleratorDesign(layers, DEVICE, CLOCK_MHZ, name=name)


def shapes_of(weights: list[DenseWeights]) -> list[tuple[int, int]]:
    return [(w.weight.shape[1], w.weight.shape[0]) for w in weights]


def synth_and_verify(
    mlp: str, what: str, weights: list[DenseWeights], foldings: list[DenseFolding], out: Path, seed: int
) -> Run:
    """Synthesize, then simulate with random full-range input codes; tool failures are reported, not raised."""
    design = build_design(vhdl_name(mlp, what), shapes_of(weights), foldings)
    for layer, w in zip(design.layers, weights, strict=True):
        layer.check_weights(w)
    build = out / mlp / what
    rng = np.random.default_rng(seed)
    vectors = rng.integers(FMT.min_int, FMT.max_int + 1, size=(N_VECTORS, design.layers[0].in_size))
    try:
        synth = synthesize(design, weights, build / "synth", place_and_route=False)
    except ToolError as error:
        return Run(design, None, None, f"synthesis failed: {error}")
    check = verify(design, weights, vectors, build / "verify", seed=seed)
    return Run(design, synth, check, None if check.verified else check.error)


def estimator_calibration() -> Calibration:
    """The shipped xc7 calibration, or the prior while a refit has zeroed the LUT/FF coefficients."""
    shipped = estimators.default_calibration("xc7")
    if shipped.version != "pending-refit":
        return shipped
    print(
        f"WARNING: shipped xc7 calibration is {shipped.version!r} (LUT/FF coefficients zero during a refit); "
        f"estimating with {PRIOR_PATH.relative_to(PRIOR_PATH.parents[3])} instead"
    )
    return Calibration.from_dict(json.loads(PRIOR_PATH.read_text()), path=str(PRIOR_PATH))


def thin(values: list[int], limit: int) -> list[int]:
    """At most ``limit`` of the sorted ``values``, log-spaced, keeping the first and the last."""
    if len(values) <= limit:
        return values
    if limit <= 1:
        return [values[-1]]
    lo, hi = math.log(values[0]), math.log(values[-1])
    picked = {values[0], values[-1]}
    for i in range(1, limit - 1):
        target = lo + (hi - lo) * i / (limit - 1)
        picked.add(min(values, key=lambda v: abs(math.log(v) - target)))
    return sorted(picked)


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def folding_grid(shapes: list[tuple[int, int]]) -> list[list[DenseFolding]]:
    """Per layer: PE over divisors of OUT, SIMD over divisors of IN, both thinned until the product of the
    per-layer counts is at most MAX_COMBOS; every multiplier and weight storage."""
    for limit in range(12, 1, -1):
        per_layer = [
            [
                DenseFolding(pe, simd, multiplier, storage)
                for pe in thin(divisors(out_f), limit)
                for simd in thin(divisors(in_f), limit)
                for multiplier in ("dsp", "lut")
                for storage in ("lutrom", "bram")
            ]
            for in_f, out_f in shapes
        ]
        if math.prod(len(options) for options in per_layer) <= MAX_COMBOS:
            return per_layer
    return per_layer


def fastest_fitting(
    mlp: str, weights: list[DenseWeights], calibration: Calibration, device: Device
) -> tuple[list[DenseFolding], Any, int, int] | None:
    """Lowest-latency folding that fits ``device`` by estimate (ties: lowest LUT); also the counts searched."""
    shapes = shapes_of(weights)
    grid = folding_grid(shapes)
    best: tuple[tuple[int, float], list[DenseFolding], Any] | None = None
    searched = fitting = 0
    for combo in itertools.product(*grid):
        design = build_design(vhdl_name(mlp, "fastest"), shapes, list(combo))
        estimate = estimate_design(design, calibration, device)
        searched += 1
        if not estimate.fits:
            continue
        fitting += 1
        key = (design.latency_cycles, estimate.lut)
        if best is None or key < best[0]:
            best = (key, list(combo), estimate)
    if best is None:
        return None
    return best[1], best[2], searched, fitting


def ratio(ours: float | None, theirs: float) -> float | None:
    return None if ours is None or not theirs else round(ours / theirs, 2)


def fmt(value: Any, width: int) -> str:
    text = "-" if value is None else (f"{value:.2f}" if isinstance(value, float) else str(value))
    return text.rjust(width)


def folding_text(design: AcceleratorDesign) -> str:
    return " | ".join(
        f"pe={layer.folding.pe} simd={layer.folding.simd} {layer.folding.multiplier} {layer.rom_storage}"
        for layer in design.layers
    )


def one_lane_table(runs: dict[str, Run]) -> dict[str, dict[str, Any]]:
    header = (
        f"{'MLP':<18}{'cycles':>7}{'creator':>8} | {'LUT':>5}{'FF':>5}{'DSP':>4}{'LRAM':>5}{'BRAM':>5} | "
        f"{'cLUT':>5}{'cFF':>5}{'cDSP':>5}{'cLRAM':>6} | {'LUTx':>5}{'FFx':>5} | verified"
    )
    print("\nOne lane per layer (PE=SIMD=1, dsp, lutrom); c* = creator (README), LUTx/FFx = ours / creator")
    print(header)
    print("-" * len(header))
    figures = {}
    for mlp, run in runs.items():
        c, s = CREATOR[mlp], run.synth
        lut_ratio = ratio(s.lut if s else None, c["lut"])
        ff_ratio = ratio(s.ff if s else None, c["ff"])
        verified = bool(run.check and run.check.verified)
        print(
            f"{mlp:<18}{run.design.latency_cycles:>7}{c['cycles']:>8} | "
            f"{fmt(s and s.lut, 5)}{fmt(s and s.ff, 5)}{fmt(s and s.dsp, 4)}{fmt(s and s.lutram, 5)}"
            f"{fmt(s and f'{s.bram:g}', 5)} | {c['lut']:>5}{c['ff']:>5}{c['dsp']:>5}{c['lutram']:>6} | "
            f"{fmt(lut_ratio, 5)}{fmt(ff_ratio, 5)} | {'yes' if verified else 'no'}"
        )
        figures[mlp] = {"lut_ratio": lut_ratio, "ff_ratio": ff_ratio, "verified": verified}
    for mlp, run in runs.items():
        if run.error:
            print(f"  {mlp}: {run.error.splitlines()[0]}")
    return figures


def fastest_report(
    mlp: str, weights: list[DenseWeights], calibration: Calibration, device: Device, out: Path, seed: int
) -> dict[str, Any] | None:
    started = time.perf_counter()
    found = fastest_fitting(mlp, weights, calibration, device)
    search_s = time.perf_counter() - started
    print(f"\nFastest {mlp} that fits an {device.name} by estimate ({calibration.version})")
    if found is None:
        print("  no folding on the grid fits")
        return None
    foldings, estimate, searched, fitting = found
    chosen = build_design(vhdl_name(mlp, "fastest"), shapes_of(weights), foldings)
    print(f"  searched {searched} foldings in {search_s:.1f} s, {fitting} fit; chosen: {folding_text(chosen)}")
    run = synth_and_verify(mlp, "fastest", weights, foldings, out, seed)
    design, s = run.design, run.synth
    creator = CREATOR[mlp]["cycles"]
    cycles, bound = design.latency_cycles, design.bound_cycles
    fits = bool(s) and s.lut <= device.lut and s.ff <= device.ff and s.dsp <= device.dsp and s.bram <= device.bram
    print(f"  {'':<10}{'LUT':>8}{'FF':>8}{'DSP':>6}{'BRAM':>7}{'LUTRAM':>8}")
    print(f"  {'estimate':<10}{estimate.lut:>8.0f}{estimate.ff:>8.0f}{estimate.dsp:>6}{estimate.bram:>7.1f}{'-':>8}")
    if s:
        print(f"  {'synthesis':<10}{s.lut:>8}{s.ff:>8}{s.dsp:>6}{s.bram:>7.1f}{s.lutram:>8}")
    print(f"  {'limit':<10}{device.lut:>8}{device.ff:>8}{device.dsp:>6}{device.bram:>7}{device.lutram:>8}")
    verified = bool(run.check and run.check.verified)
    speedup = round(creator / cycles, 2)
    over_bound = round(cycles / bound, 3)
    print(
        f"  cycles {cycles} (estimate {estimate.cycles}), creator {creator}, speed-up {speedup:.2f} (goal >= 30); "
        f"bound Σ MACs/(PE·SIMD) = {bound:.1f}, cycles/bound {over_bound:.3f} (goal <= 1.10)"
    )
    print(
        f"  fits by synthesis: {'yes' if fits else 'no'}; verified (GHDL, bit- and cycle-exact): "
        f"{'yes' if verified else 'no'}"
    )
    if run.error:
        print(f"  {run.error.splitlines()[0]}")
    return {
        "cycles": cycles,
        "speedup": speedup,
        "cycles_over_bound": over_bound,
        "fits_by_synthesis": fits,
        "verified": verified,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peer-dir", type=Path, default=DEFAULT_PEER_DIR, help="folder with *.weights_int.json")
    parser.add_argument("--quick", action="store_true", help="only 16-10 and 20-12-6 one-lane, no fastest search")
    parser.add_argument("--out", type=Path, default=None, help="build folders (default: a temporary directory)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random input vectors")
    args = parser.parse_args(argv)
    peer_dir = args.peer_dir.resolve()
    if not peer_dir.is_dir():
        print(
            f"error: peer-area folder {peer_dir} does not exist (copy shared/peer-area there or pass --peer-dir)",
            file=sys.stderr,
        )
        return 2
    mlps = QUICK_MLPS if args.quick else MLPS
    missing = [m for m in mlps if not (peer_dir / f"{m}.weights_int.json").is_file()]
    if missing:
        print(f"error: {peer_dir} lacks {', '.join(f'{m}.weights_int.json' for m in missing)}", file=sys.stderr)
        return 2

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="peer_area_") as scratch:
        out = args.out.resolve() if args.out else Path(scratch)
        print(f"weights: {peer_dir}; builds: {out}")
        weights = {mlp: load_weights(peer_dir / f"{mlp}.weights_int.json") for mlp in mlps}
        runs = {}
        for mlp in mlps:  # sequential: synthesis and simulation share 2 cores with background sweeps
            runs[mlp] = synth_and_verify(mlp, "one_lane", weights[mlp], [ONE_LANE] * len(weights[mlp]), out, args.seed)
        figures: dict[str, Any] = {"mlps": one_lane_table(runs)}
        if not args.quick:
            calibration = estimator_calibration()
            device = get_device(DEVICE)
            figures["fastest"] = {
                mlp: fastest_report(mlp, weights[mlp], calibration, device, out, args.seed)
                for mlp in mlps
                if mlp in FASTEST_MLPS
            }
        figures["runtime_s"] = round(time.perf_counter() - started, 1)
        print(f"\nruntime {figures['runtime_s']:.1f} s")
        print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
