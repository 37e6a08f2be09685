"""`dse` command line: run, report, plot, export, dashboard, calibrate."""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.markup import escape  # messages quote user text such as `[and ...]`

from dse.arguments import whole_number
from dse.errors import ConfigError, SearchAborted, StorageFailed, VerificationFailed, not_a_file
from dse.report_table import FORMATS

console = Console(stderr=True, soft_wrap=True)  # never break messages into 80-column lines in logs


def describe_os_error(error: OSError) -> str:
    where = f"{error.filename}: " if error.filename else ""
    hint = {13: " (is the folder read-only?)", 28: " (free some space, then rerun the same command to resume)"}
    return f"{where}{error.strerror or error}{hint.get(error.errno or 0, '')}"


def _run(args: argparse.Namespace) -> int:
    from dse.config import load_config
    from dse.search import run_search

    config = load_config(args.search_file)
    if args.calibration is not None:
        if not args.calibration.is_file():
            raise ValueError(f"--calibration: {not_a_file(args.calibration)}")
        # A command-line path means the working directory; made absolute like the search file's paths.
        config = config.model_copy(update={"calibration": args.calibration.resolve()})
    summary = run_search(config, results_dir=args.results_dir, n_trials=args.n_trials, console=console)
    queued = f" (+{summary.accelerators} accelerator(s) of trained networks)" if summary.accelerators else ""
    console.print(
        f"[green]{summary.completed} completed{queued}, {summary.failed} failed, {summary.pareto_size} Pareto "
        f"point(s) -> {summary.results_dir}"
    )
    for note in summary.notes:
        console.print(f"[dim]{note}[/dim]", highlight=False)
    from dse.studies import print_pareto

    print_pareto(summary.results_dir)
    return 0


def _report(args: argparse.Namespace) -> int:
    from dse.studies import print_pareto

    print_pareto(args.results_dir, fmt=args.format)
    return 0


def _plot(args: argparse.Namespace) -> int:
    from dse.plots import write_plots
    from dse.studies import open_results

    config, study = open_results(args.results_dir)
    notes: list[str] = []
    written = write_plots(study, config, args.results_dir, notes)
    if args.exports:
        from dse.plots_synthesis import write_export_plot

        written.append(write_export_plot(args.exports, args.results_dir / "estimate_vs_synthesis.png"))
    for path in written:
        console.print(f"wrote {path}")
    for note in notes:
        console.print(f"[dim]{note}[/dim]", highlight=False)
    return 0


def _export(args: argparse.Namespace) -> int:
    from dse.export import export_design

    export_design(
        args.results_dir,
        trial=args.trial,
        pick=args.pick,
        out=args.out,
        verify=args.verify,
        synth=args.synth,
        force=args.force,
        console=console,
    )
    return 0


def _dashboard(args: argparse.Namespace) -> int:
    from dse.dashboard import serve

    try:
        serve(args.results_dir, args.port, console)
    except KeyboardInterrupt:  # Ctrl-C while starting: the normal way to stop it, not an interrupted search
        console.print("dashboard stopped")
    return 0


def _calibrate(args: argparse.Namespace) -> int:
    from dse.calibrate.cli import run_calibrate

    return run_calibrate(args, console)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dse", description="Joint DNN + FPGA accelerator design-space exploration")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run (or resume) a search")
    run.add_argument("search_file", type=Path)
    run.add_argument("--results-dir", type=Path, default=None, help="default: results/<study.name>")
    run.add_argument(
        "--n-trials", type=whole_number(1), default=None, help="total completed trials wanted (overrides the file)"
    )
    run.add_argument("--calibration", type=Path, default=None, help="calibration file for the estimators")
    run.set_defaults(handler=_run)

    report = commands.add_parser("report", help="print the Pareto front of a study")
    report.add_argument("results_dir", type=Path)
    report.add_argument(
        "--format",
        choices=FORMATS,
        default="table",
        help="table: fitted to the terminal, columns dropped by priority (said so); csv|markdown|json: every column",
    )
    report.set_defaults(handler=_report)

    plot = commands.add_parser("plot", help="regenerate the plots of a study")
    plot.add_argument("results_dir", type=Path)
    plot.add_argument(
        "--exports",
        type=Path,
        nargs="+",
        default=[],
        metavar="DIR",
        help="folders of `dse export --synth`: also draw their estimates against synthesis (estimate_vs_synthesis.png)",
    )
    plot.set_defaults(handler=_plot)

    export = commands.add_parser("export", help="VHDL, testbench, weights and report for one trial")
    export.add_argument("results_dir", type=Path)
    chosen = export.add_mutually_exclusive_group(required=True)
    chosen.add_argument("--trial", type=int, help="trial number")
    chosen.add_argument("--pick", help='"knee" or e.g. "max accuracy where energy_uj <= 2"')
    export.add_argument("--out", type=Path, required=True)
    export.add_argument("--verify", action="store_true", help="simulate in cocotb + GHDL (bit- and cycle-exact)")
    export.add_argument("--synth", action="store_true", help="open-source synthesis (ghdl synth + yosys)")
    export.add_argument("--force", action="store_true", help="overwrite an existing output folder")
    export.set_defaults(handler=_export)

    dashboard = commands.add_parser("dashboard", help="optuna-dashboard for a study, on 127.0.0.1 (Ctrl-C stops it)")
    dashboard.add_argument("results_dir", type=Path)
    dashboard.add_argument(
        "--port", type=whole_number(0, 65535, "a port number"), default=8080, help="default 8080; 0 picks a free port"
    )
    dashboard.set_defaults(handler=_dashboard)

    calibrate = commands.add_parser("calibrate", help="fit the estimators to synthesis and measurements")
    from dse.calibrate.cli import add_calibrate_arguments

    add_calibrate_arguments(calibrate)
    calibrate.set_defaults(handler=_calibrate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    warnings.filterwarnings("ignore", module="optuna")
    from optuna.exceptions import ExperimentalWarning

    warnings.filterwarnings("ignore", category=ExperimentalWarning)
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except ConfigError as error:
        console.print(f"[red]error:[/red] {escape(str(error))}", highlight=False)
        return 2
    except (ValueError, KeyError, FileNotFoundError, FileExistsError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        console.print(f"[red]error:[/red] {escape(str(message))}", highlight=False)
        return 2
    except (SearchAborted, VerificationFailed, StorageFailed) as error:
        console.print(f"[red]error:[/red] {escape(str(error))}", highlight=False)
        return 1
    except OSError as error:  # read-only folder, full disk, ...: the file and the system's reason, no traceback
        console.print(f"[red]error:[/red] {escape(describe_os_error(error))}", highlight=False)
        return 1
    except Exception as error:
        from dse.storage import storage_error_message

        message = storage_error_message(error)
        if message is None:
            raise
        console.print(f"[red]error:[/red] {escape(str(message))}", highlight=False)
        return 1
    except KeyboardInterrupt:
        console.print("[yellow]interrupted; completed trials are saved, rerun the same command to resume")
        return 130


if __name__ == "__main__":
    sys.exit(main())
