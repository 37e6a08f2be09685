"""Candidates estimated per second (goal >= 100,000/s): `python benchmarks/estimator_speed.py`."""

from __future__ import annotations

import random
import time

from contract.design import AcceleratorDesign
from contract.fixedpoint import FixedFormat
from contract.layers import DenseFolding, DenseLayer
from estimators import estimate_design


def random_design(rng: random.Random) -> AcceleratorDesign:
    bits = rng.randint(3, 12)
    act = FixedFormat(bits, bits // 2)
    weight = FixedFormat(rng.randint(2, 12), rng.randint(1, 8))
    widths = [64] + [rng.choice([8, 16, 24, 32, 48, 64]) for _ in range(rng.randint(1, 3))] + [10]
    layers = []
    for index, (fan_in, fan_out) in enumerate(zip(widths, widths[1:], strict=False)):
        last = index == len(widths) - 2
        out = act if act.frac_bits <= act.frac_bits + weight.frac_bits else act
        layers.append(
            DenseLayer(
                fan_in,
                fan_out,
                "identity" if last else rng.choice(["relu", "hardtanh"]),
                act,
                weight,
                out,
                folding=DenseFolding(
                    pe=rng.randint(1, fan_out),
                    simd=rng.randint(1, fan_in),
                    multiplier=rng.choice(["dsp", "lut"]),
                    weight_storage=rng.choice(["lutrom", "bram"]),
                ),
                placement="mcu" if last and rng.random() < 0.3 else "fpga",
            )
        )
    return AcceleratorDesign(tuple(layers), rng.choice(["xc7s15", "xc7s50", "ice40up5k"]), rng.choice([32.0, 100.0]))


def main(count: int = 20_000, repeats: int = 5) -> None:
    rng = random.Random(0)
    designs = [random_design(rng) for _ in range(count)]
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        for design in designs:
            estimate_design(design)
        best = max(best, count / (time.perf_counter() - start))
    layers = sum(len(d.layers) for d in designs) / count
    print(f"estimate_design: {best:,.0f} candidates/s ({layers:.1f} layers per candidate, {count} distinct designs)")


if __name__ == "__main__":
    main()
