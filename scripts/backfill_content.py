"""Write the content columns (estimators.content.CONTENT_COLUMNS) into a sweep table made before they existed.

    python scripts/backfill_content.py TABLE.csv --seed S [--space dense|edge|wide|deep] [--weights uniform|trained]

The seed, space and weights are those of the sweep command that made the table (docs/calibration.md). Each
row's layer is drawn again from that seed and must equal the row's; its weights are regenerated the way the
sweep made them (dse.calibrate.sweep.point_inputs) and must give any content column the row already has. Only
then are the columns written; measured values are not touched.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from dse.calibrate.space import SPACES, WEIGHTS, sample_points
from dse.calibrate.sweep import SweepSettings, point_inputs
from estimators.content import CONTENT_COLUMNS, content_columns, rom_content
from estimators.fit import layer_config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("table", type=Path)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--space", default="dense", choices=tuple(SPACES))
    parser.add_argument("--weights", default="uniform", choices=WEIGHTS)
    args = parser.parse_args(argv)
    with args.table.open(newline="") as handle:
        reader = csv.DictReader(handle)
        header, rows = list(reader.fieldnames or ()), list(reader)
    family = rows[0]["family"]
    settings = SweepSettings(family, args.seed, args.space, args.weights, False, {}, "")
    points = sample_points(max(int(row["sample"]) for row in rows) + 1, args.seed, args.space)
    for line, row in enumerate(rows, start=2):
        point = points[int(row["sample"])]
        drawn = {key: str(value) for key, value in layer_config(point.layer).items()}
        if any(row[key] != value for key, value in drawn.items()):
            raise SystemExit(f"{args.table}, line {line}: the layer drawn from seed {args.seed} differs from the row")
        content = content_columns(rom_content(point.layer, point_inputs(point, settings)[1][0].weight))
        known = {key: row[key] for key in CONTENT_COLUMNS if row.get(key) not in (None, "")}
        if any(int(float(value)) != content[key] for key, value in known.items()):
            raise SystemExit(f"{args.table}, line {line}: regenerated weights disagree with the row's {known}")
        row.update({key: str(value) for key, value in content.items()})
    anchor = header.index("rom_columns") if "rom_columns" in header else header.index("device")
    kept = [column for column in header if column not in CONTENT_COLUMNS]
    fields = kept[:anchor] + list(CONTENT_COLUMNS) + kept[anchor:]
    if "space" not in header:
        fields = kept[:anchor] + ["space", "weights", *CONTENT_COLUMNS] + kept[anchor:]
        for row in rows:
            row.update(space=args.space, weights=args.weights)
    with args.table.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    print(f"{args.table}: content columns of {len(rows)} rows written")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
