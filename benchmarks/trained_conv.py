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
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from contract.design import AcceleratorDesign
from dse.calibrate.cache import ResultCache, point_key
from dse.calibrate.kinds import kind_generator_version
from dse.calibrate.space import sample_conv1d, single_layer_design, sweep_weights
from estimators import default_calibration, estimate_design
from estimators.content import rom_contents
from estimators.fit import error_stats


def measure(design: AcceleratorDesign, weights: list[Any]) -> dict[str, Any]:
    """Worker: synthesize one layer; a tool failure is recorded, not raised."""
    from generator.synth import synthesize

    try:
        with tempfile.TemporaryDirectory(prefix="dse-conv-") as scratch:
            result = synthesize(design, weights, Path(scratch), device=design.device, place_and_route=False)
        return {key: getattr(result, key) for key in ("lut", "ff", "dsp", "bram")} | {"error": ""}
    except Exception as error:  # noqa: BLE001 - a failing design is reported
        return {"error": f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"[:300]}


def run_family(family: str, count: int, seed: int, jobs: int, cache_dir: Path) -> dict[str, Any]:
    from generator.synth import tool_versions

    rng = np.random.default_rng(seed)
    designs = [single_layer_design(sample_conv1d(rng), family) for _ in range(count)]
    weights = [sweep_weights(design, seed, i, "trained") for i, design in enumerate(designs)]
    cache, tools = ResultCache(cache_dir / family), tool_versions()
    extra = {"bench": "trained-conv", "generator": kind_generator_version()}
    keys = [point_key(d, w, tools, extra) for d, w in zip(designs, weights, strict=True)]
    measured: dict[int, dict[str, Any]] = {i: hit for i, key in enumerate(keys) if (hit := cache.get(key))}
    todo = [i for i in range(count) if i not in measured]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        results = pool.map(measure, [designs[i] for i in todo], [weights[i] for i in todo])
        for i, result in zip(todo, results, strict=True):
            measured[i] = result
            if not result["error"]:
                cache.put(keys[i], result)
    calibration = default_calibration(family)
    rows = []
    for i, design in enumerate(designs):
        if not measured[i]["error"]:
            after = estimate_design(design, calibration, contents=rom_contents(design, weights[i]))
            rows.append((measured[i], estimate_design(design, calibration), after))

    def stats(key: str, which: int) -> dict[str, float]:
        found = error_stats(
            np.array([float(m[key]) for m, *_ in rows]), np.array([float(getattr(r[which], key)) for r in rows])
        )
        return {"median_pct": round(found.median_pct, 2), "p90_pct": round(found.p90_pct, 2)}

    return {
        "family": family,
        "layers": len(rows),
        "failed": count - len(rows),
        "lut_content_aware": stats("lut", 2),
        "lut_pre_training": stats("lut", 1),
        "ff_content_aware": stats("ff", 2),
        "ff_pre_training": stats("ff", 1),
        "dsp_exact": round(float(np.mean([m["dsp"] == post.dsp for m, _, post in rows])), 4),
        "bram_exact": round(float(np.mean([m["bram"] == post.bram for m, _, post in rows])), 4),
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
