"""A table of trials on a terminal of any width (never a cut number), or as CSV / Markdown / JSON for scripts."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from typing import Any, TextIO

from rich.cells import cell_len
from rich.console import Console
from rich.table import Table

FORMATS = ("table", "csv", "markdown", "json")
Value = int | float | str | bool | None
# Dropped first to last when the terminal is too narrow; a column not named here is dropped before all of them.
# The first `keep` columns (trial number and objectives) are never dropped.
DROP_ORDER = ("bound", "device", "storage", "pe×simd", "cycles", "bits a/w", "BRAM", "DSP", "LUT", "layers")


def cell_text(value: Value, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, bool | int | str):
        return str(value)
    if value.is_integer() and abs(value) < 1e15:
        return f"{value:.0f}"
    return f"{value:.{digits}g}" if abs(value) < 10**digits else f"{value:.0f}"  # no 1.234e+04 for counts


def table_width(columns: Sequence[int], header: Sequence[str], rows: Sequence[Sequence[Value]]) -> int:
    """Width of rich's default table: an edge, then per column its text, one space each side and a rule."""
    widths = [max([cell_len(header[k]), *(cell_len(cell_text(row[k])) for row in rows)]) for k in columns]
    return sum(widths) + 3 * len(widths) + 1


def fit_columns(header: Sequence[str], rows: Sequence[Sequence[Value]], width: int, keep: int) -> list[int]:
    """Indices of the columns that fit in `width`, dropping by DROP_ORDER; the first `keep` always stay."""
    optional = range(keep, len(header))
    order = [k for k in reversed(optional) if header[k] not in DROP_ORDER]
    order += [header.index(name) for name in DROP_ORDER if name in header[keep:]]
    columns = list(range(len(header)))
    for k in order:
        if table_width(columns, header, rows) <= width:
            break
        columns.remove(k)
    return columns


def print_table(
    title: str, header: Sequence[str], rows: Sequence[Sequence[Value]], keep: int, console: Console
) -> list[str]:
    """Print to the console's width; return the names of the columns left out (also announced)."""
    columns = fit_columns(header, rows, console.width, keep)
    dropped = [header[k] for k in range(len(header)) if k not in columns]
    if table_width(columns, header, rows) > console.width:
        # Not even the trial and its objectives fit side by side: one wrapped line per trial instead.
        console.print(f"[bold]{title}[/bold]")
        for row in rows:
            console.print(", ".join(f"{header[k]}={cell_text(row[k])}" for k in range(len(header))), highlight=False)
        console.print(f"[dim]{console.width} columns are too few for a table: one line per trial.[/dim]")
        return []
    table = Table(title=title)
    for k in columns:
        table.add_column(header[k], justify="right", no_wrap=True)
    for row in rows:
        table.add_row(*(cell_text(row[k]) for k in columns))
    console.print(table)
    if dropped:
        console.print(
            f"[yellow]{console.width} columns: left out {', '.join(dropped)}.[/yellow] Widen the terminal, or use "
            "--format csv|markdown|json for every column.",
            highlight=False,
        )
    return dropped


def write_rows(fmt: str, header: Sequence[str], rows: Sequence[Sequence[Value]], out: TextIO) -> None:
    """Every column, machine-readable: CSV and JSON with full precision, Markdown with 6 significant digits."""
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    elif fmt == "json":
        out.write(json.dumps([dict(zip(header, row, strict=True)) for row in rows], indent=2) + "\n")
    elif fmt == "markdown":
        out.write("| " + " | ".join(header) + " |\n")
        out.write("|" + "---:|" * len(header) + "\n")
        for row in rows:
            out.write("| " + " | ".join(cell_text(value, 6) for value in row) + " |\n")
    else:
        raise ValueError(f"--format {fmt!r}: choose one of {', '.join(FORMATS)}")


def folding_label(layer: Any, times: str = "x") -> str:
    """``PE x SIMD``, or the kind for layers without those knobs (pooling)."""
    folding = layer.folding
    return f"{folding.pe}{times}{folding.simd}" if hasattr(folding, "pe") else layer.kind


def weight_bits(layer: Any) -> int:
    """Weight width, 0 for layers without weights."""
    return layer.weight_fmt.total_bits if hasattr(layer, "weight_fmt") else 0
