"""A study read back from its results folder: the search file it ran, its Optuna storage, its Pareto table."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import optuna
import yaml
from rich.console import Console

from contract.design import AcceleratorDesign
from dse.config import ConfigError, SearchConfig, parse_config
from dse.report_table import print_table, write_rows
from dse.results import pareto_trials
from dse.storage import open_storage


def open_results(results_dir: Path) -> tuple[SearchConfig, optuna.Study]:
    snapshot = Path(results_dir) / "search.yaml"
    if not snapshot.is_file():
        raise ConfigError(f"{results_dir} is not a dse results folder (no search.yaml); run `dse run` first")
    config = parse_config(yaml.safe_load(snapshot.read_text()), str(snapshot))
    study = optuna.load_study(
        study_name=config.study.name, storage=open_storage(config.search.storage, Path(results_dir))
    )
    return config, study


def print_pareto(results_dir: Path, console: Console | None = None, fmt: str = "table") -> None:
    """The Pareto table: fitted to the terminal (`table`), or every column as csv, markdown or json."""
    if console is None:
        # Not a terminal (CI logs, pipes) and no COLUMNS: rich would assume 80 columns.
        width = None if sys.stdout.isatty() or "COLUMNS" in os.environ else 160
        console = Console(width=width)
    config, study = open_results(results_dir)
    names = [o.name for o in config.objectives]
    header = [
        "trial",
        *names,
        "layers",
        "bits a/w",
        "pe×simd",
        "storage",
        "device",
        "LUT",
        "DSP",
        "BRAM",
        "cycles",
        "bound",
    ]
    rows = []
    for trial in sorted(pareto_trials(study), key=lambda t: t.values[0]):
        # Through the contract, so that studies written before design format 2 (top-level "parallelism") still print.
        design = AcceleratorDesign.from_dict(trial.user_attrs["candidate"]["design"])
        estimate = trial.user_attrs["estimate"]
        layers = design.layers
        rows.append(
            [
                trial.number,
                *trial.values,
                "-".join(str(layer.out_size) for layer in layers),
                f"{layers[0].in_fmt.total_bits}/{layers[0].weight_fmt.total_bits}",
                ",".join(f"{layer.folding.pe}x{layer.folding.simd}" for layer in layers),
                ",".join(
                    layer.folding.weight_storage
                    + ("/lut-mult" if layer.folding.multiplier == "lut" else "")
                    + ("@mcu" if layer.placement == "mcu" else "")
                    for layer in layers
                ),
                design.device,
                estimate["lut"],
                estimate["dsp"],
                estimate["bram"],
                estimate["cycles"],
                estimate["bound_cycles"],
            ]
        )
    if fmt == "table":
        title = f"Pareto front of {config.study.name} ({len(study.trials)} trials)"
        print_table(title, header, rows, keep=1 + len(names), console=console)
    else:
        write_rows(fmt, header, rows, console.file)
