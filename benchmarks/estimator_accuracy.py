"""Estimator accuracy on synthesized layers that the fit never saw: `python benchmarks/estimator_accuracy.py`.

Default: the shipped sweep tables (estimators/calibration/data/<family>_sweep*.csv) are split by a fixed rule,
sample % 5 == 4 held out (20 %). LUT/FF are refitted on the other 80 % with the shipped calibration's features
and rules, then scored on the held-out rows. DSP and BRAM are rules: exact-match share on the held-out rows.
`--holdout FILE` instead scores the shipped calibration itself on a separately swept table (another seed).
Goal: LUT/FF median |error| <= 5 %, p90 <= 10 %; DSP/BRAM exact.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from importlib import resources
from pathlib import Path

import numpy as np
from rich.console import Console

from dse.calibrate.tables import error_table
from estimators.calibration import default_calibration, load_calibration
from estimators.fit import (
    FITTED,
    RULES,
    error_stats,
    fit_resources,
    predict,
    read_tables,
    row_content,
    row_layer,
)

HOLDOUT_MODULUS, HOLDOUT_REMAINDER = 5, 4


def is_held_out(row: dict[str, str]) -> bool:
    return int(row["sample"]) % HOLDOUT_MODULUS == HOLDOUT_REMAINDER


def score(rows: list[dict[str, str]], calibration: object) -> tuple[dict, dict]:
    layers, contents = [row_layer(row) for row in rows], [row_content(row) for row in rows]
    predicted = predict(layers, calibration, contents)  # type: ignore[arg-type]
    stats = {key: error_stats(np.array([float(r[key]) for r in rows]), predicted[key]) for key in FITTED}
    exact = {key: float(np.mean(predicted[key] == np.array([float(r[key]) for r in rows]))) for key in RULES}
    return stats, exact


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", choices=("xc7", "ice40"), nargs="+", default=["xc7", "ice40"])
    parser.add_argument("--calibration", type=Path, default=None, help="calibration to score (default: shipped)")
    parser.add_argument("--table", type=Path, default=None, help="sweep table (default: shipped data)")
    parser.add_argument("--holdout", type=Path, default=None, help="score the calibration on this table as is")
    args = parser.parse_args(argv)
    console = Console()
    for family in args.family:
        calibration = load_calibration(args.calibration) if args.calibration else default_calibration(family)
        if args.holdout is not None:
            rows = read_tables([args.holdout])
            title = f"{family}: {calibration.version} on {args.holdout.name} (never fitted on)"
        else:
            data = Path(str(resources.files("estimators").joinpath("calibration", "data")))
            tables = [args.table] if args.table else sorted(data.glob(f"{family}_sweep*.csv"))
            all_rows = read_tables(tables)
            train = [r for r in all_rows if not is_held_out(r)]
            rows = [r for r in all_rows if is_held_out(r)]
            fit = fit_resources(train, calibration)
            calibration = replace(calibration, lut=fit.coefficients["lut"], ff=fit.coefficients["ff"])
            title = (
                f"{family}: fit on {len(train)} rows of {', '.join(t.name for t in tables)}, scored on {len(rows)} "
                "held-out rows "
                f"(sample % {HOLDOUT_MODULUS} == {HOLDOUT_REMAINDER})"
            )
        stats, exact = score(rows, calibration)
        console.print(error_table(title, stats, exact, len(rows)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
