"""Conv1d estimates with trained weights, against synthesis: `python benchmarks/trained_conv.py`.

Random single conv1d layers (the kind sweep's space, dse.calibrate.space.sample_conv1d) with trained-like weights
(dse.calibrate.space.sweep_weights "trained": small codes whose upper bits repeat the sign, 20 % zeros), each
synthesized with yosys. The conv fit (estimators/calibration/conv1d.json) saw only full-range weights. It prints,
per family, the LUT and FF error of the estimate with the ROM content of the weights (estimators.content, what a
search uses after training) and of the pre-training estimate, and the DSP/BRAM exact-match shares.
Results are cached in .cache/dse-trained-conv (per design, weights and tool versions).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from synthesis_runs import error_summary, exact_share, failure, measure_all

from contract.design import AcceleratorDesign
from dse.calibrate.cache import ResultCache, point_key
from dse.calibrate.kinds import kind_generator_version
from dse.calibrate.space import sample_conv1d, single_layer_design, sweep_weights
from estimators import default_calibration, estimate_design
from estimators.content import rom_contents


def measure(design: AcceleratorDesign, weights: list[Any]) -> dict[str, Any]:
    """Worker: synthesize one layer; a tool failure is recorded, not raised."""
    from generator.synth import synthesize

    try:
        with tempfile.TemporaryDirectory(prefix="dse-conv-") as scratch:
            result = synthesize(design, weights, Path(scratch), device=design.device, place_and_route=False)
        return {key: getattr(result, key) for key in ("lut", "ff", "dsp", "bram")} | {"error": ""}
    except Exception as error:  # noqa: BLE001 - a failing design is reported
        return failure(error)


def run_family(family: str, count: int, seed: int, jobs: int, cache_dir: Path) -> dict[str, Any]:
    from generator.synth import tool_versions

    rng = np.random.default_rng(seed)
    designs = [single_layer_design(sample_conv1d(rng), family) for _ in range(count)]
    weights = [sweep_weights(design, seed, i, "trained") for i, design in enumerate(designs)]
    cache, tools = ResultCache(cache_dir / family), tool_versions()
    extra = {"bench": "trained-conv", "generator": kind_generator_version()}
    keys = [point_key(d, w, tools, extra) for d, w in zip(designs, weights, strict=True)]
    measured = measure_all(measure, designs, weights, keys, cache, jobs)
    calibration = default_calibration(family)
    rows = []
    for i, design in enumerate(designs):
        if not measured[i]["error"]:
            after = estimate_design(design, calibration, contents=rom_contents(design, weights[i]))
            rows.append((measured[i], estimate_design(design, calibration), after))

    def stats(key: str, which: int) -> dict[str, float]:
        return error_summary([float(m[key]) for m, *_ in rows], [float(getattr(r[which], key)) for r in rows])

    return {
        "family": family,
        "layers": len(rows),
        "failed": count - len(rows),
        "lut_content_aware": stats("lut", 2),
        "lut_pre_training": stats("lut", 1),
        "ff_content_aware": stats("ff", 2),
        "ff_pre_training": stats("ff", 1),
        "dsp_exact": exact_share([(m["dsp"], post.dsp) for m, _, post in rows]),
        "bram_exact": exact_share([(m["bram"], post.bram) for m, _, post in rows]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", choices=("xc7", "ice40"), nargs="+", default=["xc7", "ice40"])
    parser.add_argument("--layers", type=int, default=16, help="layers per family (default 16)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--cache-dir", type=Path, default=Path(".cache/dse-trained-conv"))
    args = parser.parse_args(argv)
    for family in args.family:
        print(json.dumps(run_family(family, args.layers, args.seed, args.jobs, args.cache_dir)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
