"""Rich tables for `dse calibrate fit` and `dse calibrate strategy` (and the accuracy benchmark)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from estimators.fit import ErrorStats
from estimators.strategy import StrategyResult

if TYPE_CHECKING:
    from dse.calibrate.fitting import FitOutcome


def error_table(title: str, stats: Mapping[str, ErrorStats], exact: Mapping[str, float], n: int) -> Table:
    table = Table(title=title)
    for column in ("resource", "n", "median |err| %", "p90 |err| %", "within ±10 %", "R²", "exact match"):
        table.add_column(column, justify="right")
    for key, s in stats.items():
        table.add_row(
            key.upper(),
            str(s.n),
            f"{s.median_pct:.2f}",
            f"{s.p90_pct:.2f}",
            f"{100 * s.within_10pct:.1f} %",
            f"{s.r2:.4f}",
            "",
        )
    for key, share in exact.items():
        table.add_row(key.upper(), str(n), "", "", "", "", f"{100 * share:.1f} %")
    return table


def print_fit(outcome: FitOutcome, console: Console) -> None:
    fit = outcome.resources
    if fit is not None:
        folds = outcome.data["errors"]["lut"]["method"]
        console.print(
            error_table(f"{outcome.data['family']}: held-out error ({folds})", fit.cv, fit.exact, fit.n_samples)
        )
        for key, rows in fit.mismatches.items():
            for row in rows:
                console.print(
                    f"[yellow]{key} rule mismatch:[/yellow] rule {row['rule']} vs synthesis "
                    f"{row['synthesis']} for {row}",
                    highlight=False,
                )
    limits = outcome.limits
    for what, stats in (("fmax", limits and limits.fmax_cv), ("logic cells", limits and limits.packing_cv)):
        if stats:
            console.print(
                f"{what}: {stats.n} points, held-out median |error| {stats.median_pct:.2f} %, p90 {stats.p90_pct:.2f} %"
            )
    if outcome.power is not None:
        power = outcome.data["power"]
        console.print(f"power: static_mw = {power['static_mw']}; {outcome.power.method}")
    for warning in outcome.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)
    for skipped in outcome.inputs.skipped:
        console.print(f"[dim]skipped: {skipped}[/dim]", highlight=False)


def print_strategy(results: Sequence[StrategyResult], device: str, console: Console) -> None:
    if not results:
        return
    first = results[0]
    table = Table(
        title=f"{device}: idle vs power-off per request (break-even {first.break_even_ms:.4g} ms; "
        f"idle {first.idle_power_mw:.4g} mW, reconfiguration {first.config_energy_uj:.4g} µJ "
        f"in {first.config_time_ms:.4g} ms)"
    )
    for column in ("period ms", "idle µJ", "power-off µJ", "choice", "average mW"):
        table.add_column(column, justify="right")
    for r in results:
        off = "—" if r.off_energy_uj is None else f"{r.off_energy_uj:.4g}"
        table.add_row(f"{r.period_ms:g}", f"{r.idle_energy_uj:.4g}", off, r.choice, f"{r.average_power_mw:.4g}")
    console.print(table)
