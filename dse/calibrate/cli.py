"""`dse calibrate sweep|fit|plot|strategy`: argument parsing and console output (the logic lives in sibling modules)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from dse.arguments import whole_number
from dse.calibrate.space import SPACES
from dse.errors import file_in_the_way

_FORCE_HELP = "replace an existing --out file"


def add_calibrate_arguments(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(dest="calibrate_command", required=True)

    sweep = commands.add_parser("sweep", help="synthesize single dense layers across the space -> CSV table")
    sweep.add_argument("--family", required=True, choices=("xc7", "ice40"))
    sweep.add_argument("--out", type=Path, required=True, help="CSV table to write")
    sweep.add_argument("--samples", type=int, default=200, help="number of configurations (default 200)")
    sweep.add_argument("--jobs", type=int, default=2, help="parallel synthesis processes (default 2)")
    sweep.add_argument("--seed", type=whole_number(0), default=0, help="configuration and weight seed (default 0)")
    sweep.add_argument("--cache-dir", type=Path, default=Path(".cache/dse-calibrate"), help="result cache")
    sweep.add_argument(
        "--fmax",
        action="store_true",
        help="also time the design: nextpnr place and route on iCE40 (fmax, logic cells; slower), yosys sta on xc7",
    )
    sweep.add_argument(
        "--space",
        default="dense",
        choices=tuple(SPACES),
        help="dense: the whole space (default); edge: tiny layers and deep BRAM ROMs; wide: 17-64 products per "
        "layer; deep: 33-256 output groups",
    )
    sweep.add_argument(
        "--weights",
        default="uniform",
        choices=("uniform", "trained"),
        help="full-range random codes (default) or trained-like ones",
    )
    sweep.add_argument("--kind", default="dense", help="layer kind to sweep (default dense; e.g. conv1d)")
    sweep.add_argument("--force", action="store_true", help=_FORCE_HELP)

    fit = commands.add_parser("fit", help="fit LUT/FF models to sweep tables; power from reports/measurements")
    fit.add_argument("inputs", nargs="+", type=Path, help="sweep CSVs, Vivado reports, measurement files or dirs")
    fit.add_argument("--family", required=True, choices=("xc7", "ice40"))
    fit.add_argument("--out", type=Path, required=True, help="calibration JSON to write")
    fit.add_argument("--base", type=Path, default=None, help="calibration to start from (default: shipped one)")
    fit.add_argument("--folds", type=int, default=5, help="cross-validation folds (default 5)")
    fit.add_argument("--version", default=None, help="version string for the file (default: fit-<date>)")
    fit.add_argument("--kind", default="dense", help="layer kind the tables hold (default dense; e.g. conv1d)")
    fit.add_argument("--force", action="store_true", help=_FORCE_HELP + " (with --kind: its entry for --family)")

    plot = commands.add_parser("plot", help="estimate vs synthesis of the sweep-table layers -> PNG")
    plot.add_argument("tables", nargs="+", type=Path, help="sweep CSVs (dse calibrate sweep)")
    plot.add_argument("--family", required=True, choices=("xc7", "ice40"))
    plot.add_argument("--out", type=Path, required=True, help="PNG to write")
    plot.add_argument("--folds", type=int, default=5, help="cross-validation folds for LUT/FF (default 5)")
    plot.add_argument("--force", action="store_true", help=_FORCE_HELP)

    strategy = commands.add_parser("strategy", help="idle-waiting vs power-off between requests")
    strategy.add_argument("--period-ms", type=float, nargs="+", required=True, help="request period(s) in ms")
    strategy.add_argument("--device", default="xc7s15")
    strategy.add_argument("--calibration", type=Path, default=None)
    strategy.add_argument("--design", type=Path, default=None, help="design JSON (default: a 16x8 8-bit layer)")


def check_out_file(path: Path, option: str = "--out", force: bool = True) -> None:
    """Refuse an output file that cannot be written as such, before any work: a folder, below a file, or (without
    ``force``) an existing file."""
    if path.is_dir():
        raise ValueError(f"{option} {path}: is a folder; give a file name")
    if (blocking := file_in_the_way(path.resolve().parent)) is not None:
        raise ValueError(f"{option} {path}: {blocking} is a file, not a folder")
    if not force and path.exists():
        raise FileExistsError(f"{option} {path}: exists; add --force to replace it")


def check_cache_dir(path: Path) -> None:
    if (blocking := file_in_the_way(path)) is not None:
        raise ValueError(f"--cache-dir {path}: {blocking} is a file, not a folder")


def run_calibrate(args: argparse.Namespace, console: Console) -> int:
    handlers = {"sweep": _sweep, "fit": _fit, "plot": _plot, "strategy": _strategy}
    return handlers[args.calibrate_command](args, console)


def _sweep(args: argparse.Namespace, console: Console) -> int:
    from dse.calibrate.sweep import run_sweep, write_table

    check_out_file(args.out, force=args.force)
    check_cache_dir(args.cache_dir)
    if args.kind != "dense":
        return _sweep_kind(args, console)
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, TimeRemainingColumn(), console=console) as bar:
        task = bar.add_task(f"sweep {args.family}", total=args.samples)
        summary = run_sweep(
            args.family,
            args.samples,
            seed=args.seed,
            jobs=args.jobs,
            cache_dir=args.cache_dir,
            fmax=args.fmax,
            space=args.space,
            weights=args.weights,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    write_table(summary.rows, args.out)
    console.print(
        f"{len(summary.rows)} point(s): {summary.synthesized} synthesized, {summary.cached} from cache, "
        f"{summary.failed} failed; {summary.wall_s:.0f} s wall, {summary.synth_s:.0f} s tool time -> {args.out}"
    )
    return 0


def _fit_command(args: argparse.Namespace) -> str:
    """The reproduction command stored in the file (relative paths as given)."""
    parts = ["dse calibrate fit", *map(str, args.inputs), f"--family {args.family}", f"--out {args.out}"]
    if args.base is not None:
        parts.append(f"--base {args.base}")
    if args.folds != 5:
        parts.append(f"--folds {args.folds}")
    if args.version:
        parts.append(f"--version {args.version}")
    return " ".join(parts)


def _sweep_kind(args: argparse.Namespace, console: Console) -> int:
    from dse.calibrate.kinds import run_kind_sweep, write_rows

    with console.status(f"sweep {args.kind} on {args.family} ({args.samples} points)"):
        summary = run_kind_sweep(args.kind, args.family, args.samples, args.seed, args.jobs, args.cache_dir)
    write_rows(summary.rows, args.out)
    console.print(
        f"{len(summary.rows)} {args.kind} point(s): {summary.synthesized} synthesized, {summary.failed} failed; "
        f"{summary.wall_s:.0f} s wall -> {args.out}"
    )
    return 0


def _fit_kind(args: argparse.Namespace, console: Console) -> int:
    from dse.calibrate.kinds import existing_kind_calibration, fit_kind, write_kind_calibration

    if args.family in existing_kind_calibration(args.out) and not args.force:  # refused before the fit, not after
        raise FileExistsError(f"--out {args.out}: already holds a {args.family} entry; add --force to replace it")
    fitted = fit_kind(args.inputs, args.kind, args.family, args.folds)
    for what in ("lut", "ff"):
        errors = fitted[f"{what}_errors"]
        console.print(
            f"{args.kind} {args.family} {what.upper()}: coefficients {fitted[what]}; held-out MAPE "
            f"{errors['heldout']['mape']:.1%} (max {errors['heldout']['max_rel']:.1%}), unfitted prior MAPE "
            f"{errors['prior']['mape']:.1%} over {fitted['n_samples']} layers"
        )
    write_kind_calibration(fitted, args.out)
    console.print(f"wrote {args.out} ({args.family} entry)")
    return 0


def _fit(args: argparse.Namespace, console: Console) -> int:
    from dse.calibrate.fitting import calibrate, write_calibration
    from dse.calibrate.tables import print_fit

    out = args.out.resolve()
    for given in [*args.inputs, *([args.base] if args.base else [])]:
        if given.resolve() == out:
            raise ValueError(f"--out {args.out}: is also an input ({given}); write the calibration to a new file")
    check_out_file(args.out, force=args.force or args.kind != "dense")  # a kind file takes one entry per family
    if args.kind != "dense":
        return _fit_kind(args, console)
    outcome = calibrate(
        args.inputs, args.family, base=args.base, folds=args.folds, version=args.version, command=_fit_command(args)
    )
    print_fit(outcome, console)
    write_calibration(outcome.data, args.out)
    console.print(f"wrote {args.out} (version {outcome.data['version']})")
    return 0


def _plot(args: argparse.Namespace, console: Console) -> int:
    from dse.plots_synthesis import write_calibration_plot

    if any(table.resolve() == args.out.resolve() for table in args.tables):
        raise ValueError(f"--out {args.out}: is also an input table; write the plot to a new file")
    check_out_file(args.out, force=args.force)
    console.print(f"wrote {write_calibration_plot(args.tables, args.family, args.out, args.folds)}")
    return 0


def _strategy(args: argparse.Namespace, console: Console) -> int:
    from contract.design import AcceleratorDesign
    from contract.fixedpoint import FixedFormat
    from contract.layers import DenseLayer
    from dse.calibrate.tables import print_strategy
    from estimators import default_calibration, estimate_design, get_device, load_calibration
    from estimators.strategy import between_requests

    try:
        device = get_device(args.device)
    except KeyError as error:
        raise ValueError(f"--device: {error.args[0]}") from None
    calibration = load_calibration(args.calibration) if args.calibration else default_calibration(device.family)
    if calibration.family != device.family:
        raise ValueError(
            f"--calibration {args.calibration}: is for the {calibration.family} family, but --device {device.name} "
            f"is {device.family}"
        )
    if args.design is None:
        q = FixedFormat(8, 4)
        design = AcceleratorDesign((DenseLayer(16, 8, "relu", q, FixedFormat(8, 6), q),), device.name, 32.0)
    else:
        try:
            data = json.loads(args.design.read_text())
            if isinstance(data, dict) and "layers" not in data and isinstance(data.get("design"), dict):
                data = data["design"]  # dse export's design.json: the record holds the design under "design"
            design = AcceleratorDesign.from_dict(data)
        except FileNotFoundError:
            raise ValueError(f"--design: file {str(args.design)!r} does not exist") from None
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise ValueError(f"--design: {str(args.design)!r} is not a design JSON ({error})") from None
    estimate = estimate_design(design, calibration, device)
    try:
        results = [between_requests(estimate, device, calibration, period) for period in args.period_ms]
    except ValueError as error:
        raise ValueError(f"--period-ms: {error}") from None
    print_strategy(results, device.name, console)
    return 0
