"""Measure the LUTs of the engine's shift-and-add product alone, per operand width, into a calibration base.

    python scripts/measure_shift_add.py estimators/calibration/data/xc7_prior.json [--max-bits 12] [--jobs 2]

yosys/ABC maps the product's adder rows very unevenly across widths (Bx = 6 takes fewer LUTs than Bx = 5 for
Bw >= 5 on xc7), so no linear feature follows it: the estimator prices a 'lut' product by this table
(estimators.calibration.ShiftAddTable, feature shift_add_bits) and the fit scales it. The table is written as
the base file's "shift_add_luts"; `dse calibrate fit --base` carries it into the fitted calibration.
"""

from __future__ import annotations

import argparse
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from dse.calibrate.fitting import calibration_json
from estimators.calibration import Calibration, read_calibration_dict
from generator.synth import synthesize_product, tool_versions

MIN_BITS = 2


def measure(family: str, max_bits: int, jobs: int) -> list[list[int]]:
    def one(widths: tuple[int, int]) -> int:
        with tempfile.TemporaryDirectory(prefix="dse-product-") as scratch:
            return synthesize_product(*widths, family, Path(scratch))

    widths = [(bx, bw) for bx in range(MIN_BITS, max_bits + 1) for bw in range(MIN_BITS, max_bits + 1)]
    with ThreadPoolExecutor(jobs) as pool:  # each job waits on its own tool processes
        luts = list(pool.map(one, widths))
    size = max_bits - MIN_BITS + 1
    return [luts[row * size : (row + 1) * size] for row in range(size)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", type=Path, help="calibration base file to write the table into (its family)")
    parser.add_argument("--max-bits", type=int, default=12, choices=range(MIN_BITS, 33), metavar="2..32")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1, got {args.jobs}")
    try:
        data = read_calibration_dict(args.base, what="base")
        Calibration.from_dict(data, path=str(args.base))
    except ValueError as error:
        parser.error(str(error))
    family = data["family"]
    table = measure(family, args.max_bits, args.jobs)
    data["shift_add_luts"] = {
        "source": f"scripts/measure_shift_add.py --max-bits {args.max_bits} ({tool_versions().get('yosys', '')})",
        "min_bits": MIN_BITS,
        "luts": table,  # luts[Bx - min_bits][Bw - min_bits]
    }
    args.base.write_text(calibration_json(data))
    print(f"{args.base}: shift_add_luts for Bx, Bw in {MIN_BITS}..{args.max_bits} ({family})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
