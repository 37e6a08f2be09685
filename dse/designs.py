"""results/<study>/designs.csv: every accelerator the two-level search scored for a trained network.

One row per (network, accelerator): the network's trial (`model`), the accelerator's parameters (`hardware`, a
JSON object, since the parameter names differ with the layer count), its objective values (the network's validation
quality, the estimated costs), the estimates behind them, and whether it fits its constraints. `queued`: it was on
the network's estimator Pareto set and so became a trial (marked `variant_of` in trials.csv); those trials are what
pareto.csv, the plots and `dse export --trial/--pick` see. When the network's front has at most
`search.variants_per_model` points, no other accelerator of it can be on the study's front (same quality,
dominated costs). The file grows as networks are trained; a resumed study appends to it.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

DESIGNS_FILE = "designs.csv"
ESTIMATE_COLUMNS = ("cycles", "latency_us", "energy_uj", "power_mw", "lut", "ff", "dsp", "bram", "fits")


def design_row(
    model: int, params: dict[str, Any], objectives: dict[str, float], estimate: dict[str, Any], feasible: bool
) -> dict[str, Any]:
    row: dict[str, Any] = {"model": model, "queued": False, "feasible": feasible}
    row.update(objectives)
    row["hardware"] = json.dumps(params, sort_keys=True)
    row.update({f"est_{key}": estimate.get(key) for key in ESTIMATE_COLUMNS})
    row["violations"] = "; ".join(estimate.get("violations", []))
    return row


def append_designs(results_dir: Path, rows: list[dict[str, Any]]) -> None:
    """Append ``rows`` to designs.csv (the header when the file is new). Every row of a study has the same columns."""
    if not rows:
        return
    path = Path(results_dir) / DESIGNS_FILE
    new = not path.exists()
    with path.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        if new:
            writer.writeheader()
        writer.writerows(rows)
