"""A study read back from its results folder: the search file it ran, its Optuna storage, its Pareto table."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import optuna
from rich.console import Console

from contract.design import AcceleratorDesign
from dse.config import ConfigError, SearchConfig, parse_config, read_yaml
from dse.report_table import folding_label, print_table, weight_bits, write_rows
from dse.results import pareto_trials
from dse.storage import open_storage, redact, resolve_storage_url


def open_results(results_dir: Path) -> tuple[SearchConfig, optuna.Study]:
    snapshot = Path(results_dir) / "search.yaml"
    if not snapshot.is_file():
        raise ConfigError(f"{results_dir} is not a dse results folder (no search.yaml); run `dse run` first")
    config = parse_config(read_yaml(snapshot), str(snapshot))
    try:
        study = optuna.load_study(
            study_name=config.study.name, storage=open_storage(config.search.storage, Path(results_dir))
        )
    except KeyError:  # Optuna: "Record does not exist"
        raise ConfigError(
            f"{results_dir}: the study {config.study.name!r} is not in its storage "
            f"({redact(resolve_storage_url(config.search.storage, Path(results_dir)))}); was the database emptied or "
            "replaced? Restore it from a backup"
        ) from None
    return config, study


def artifacts_dir(results_dir: Path, trial: optuna.trial.FrozenTrial) -> Path:
    """A trial's checkpoint folder, inside ``results_dir`` so that a moved or copied study reads its own weights.

    Trials store it relative to the study folder; studies written before stored an absolute path, which is used
    only when the study folder holds no copy of that trial's folder.
    """
    stored = Path(trial.user_attrs.get("artifacts", Path("trials") / f"{trial.number:05d}"))
    if not stored.is_absolute():
        return Path(results_dir) / stored
    own = Path(results_dir) / "trials" / stored.name
    return own if own.is_dir() else stored


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
                f"{layers[0].in_fmt.total_bits}/{next(w for w in map(weight_bits, layers) if w)}",
                ",".join(folding_label(layer) for layer in layers),
                ",".join(
                    getattr(layer.folding, "weight_storage", "-")
                    + ("/lut-mult" if getattr(layer.folding, "multiplier", "") == "lut" else "")
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
