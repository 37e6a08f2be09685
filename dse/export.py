"""`dse export`: one trial -> VHDL, testbench, weights, design.json, report.md; optionally verified and synthesized."""

from __future__ import annotations

import functools
import json
import shutil
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import numpy as np
from rich.console import Console

from contract.design import AcceleratorDesign
from contract.reference import LayerWeights, load_weights, run_reference
from dse.config import SearchConfig
from dse.errors import VerificationFailed, file_in_the_way
from dse.evaluate import dataset_for
from dse.labels import LABELS_FILE, label_mapping
from dse.pick import by_number, pick_by_expression, selection_warning
from dse.report_md import write_report
from dse.scaling import SCALER_FILE
from dse.space import Candidate
from dse.studies import artifacts_dir, open_results
from generator.board import SPI_VECTORS, emit_board, simulate_board, spi_vectors
from generator.testbench import expected_outputs

# Written into every export folder: --force clears only folders carrying it (never a study or anything else).
EXPORT_MARKER = ".dse-export"
N_TEST_VECTORS = 48
N_RANDOM_VECTORS = 24
BOARD_VECTORS = 6  # through SPI: each costs about 64 clocks per byte in simulation


def fpga_input_vectors(config: SearchConfig, design: Any, weights: list[LayerWeights], seed: int) -> np.ndarray:
    """Test-set inputs as they reach the first FPGA layer (after any MCU layers before it), plus random codes."""
    from generator.testbench import stimulus_vectors

    dataset = dataset_for(config.dataset, config.study.seed)
    x_test, _ = dataset.split("test")
    codes = design.layers[0].in_fmt.quantize(x_test[:N_TEST_VECTORS])
    first_fpga = next(i for i, layer in enumerate(design.layers) if layer.placement == "fpga")
    codes = run_reference(design, weights, codes, slice(0, first_fpga))
    random = stimulus_vectors(design, N_RANDOM_VECTORS, np.random.default_rng(seed))
    return np.concatenate([codes, random]).astype(np.int64)


def raw_test_inputs(config: SearchConfig, design: Any) -> dict[str, Any] | None:
    """Unscaled test features for the testbench's scaling check; None without a scaler or with MCU layers first."""
    dataset = dataset_for(config.dataset, config.study.seed)
    if dataset.scaler is None or design.layers[0].placement != "fpga":
        return None
    raw = dataset_for(config.dataset.model_copy(update={"scale": "none"}), config.study.seed)
    return {"scaler": dataset.scaler.to_dict(), "values": raw.split("test")[0][:N_TEST_VECTORS].tolist()}


def mcu_files(config: SearchConfig, design: Any, weights: list[LayerWeights]) -> tuple[dict[str, str], str | None]:
    """``mcu/``: the RP2040's C code with a host check on the test vectors (raw features -> reference outputs);
    or no files and the reason (a kind the C generator does not support)."""
    from generator.mcu_c import emit_mcu_c

    dataset = dataset_for(config.dataset, config.study.seed)
    unscaled = config.dataset.model_copy(update={"scale": "none"})
    raw_data = dataset if dataset.scaler is None else dataset_for(unscaled, config.study.seed)
    raw = raw_data.split("test")[0][:N_TEST_VECTORS]
    codes = design.layers[0].in_fmt.quantize(dataset.split("test")[0][:N_TEST_VECTORS])
    expected = run_reference(design, weights, codes)
    scaler = dataset.scaler.to_dict() if dataset.scaler is not None else None
    try:
        files = emit_mcu_c(design, weights, scaler, raw, expected)
    except ValueError as error:
        return {}, str(error)
    return {f"mcu/{name}": text for name, text in files.items()}, None


def energy_record(
    config: SearchConfig, design: AcceleratorDesign, estimate: dict[str, Any], synthesis: dict[str, Any] | None
) -> dict[str, Any]:
    """The energy terms of the estimate with their sources, under the calibration the study used."""
    from dse.search import calibration_for
    from estimators import get_device
    from estimators.breakdown import dynamic_mw, energy_terms

    calibration = calibration_for(config, get_device(design.device).family)
    energy: dict[str, Any] = {
        "terms": [term.as_dict() for term in energy_terms(estimate, calibration)],
        "calibration": calibration.path,
        "calibration_version": calibration.version,
        "power_source": calibration.power_source,
        "board_source": calibration.board_source,
    }
    if synthesis is not None:
        resources = [float(synthesis[key]) for key in ("lut", "ff", "dsp", "bram")]
        energy["synthesized_dynamic_mw"] = dynamic_mw(
            calibration.power, design.clock_mhz, *resources, config.hardware.activity
        )
    return energy


def prepare_out(out: Path, results_dir: Path, force: bool) -> None:
    """Refuse an --out that is or holds the study, or sits under a file; with --force clear an earlier export only."""
    target, study = out.resolve(), results_dir.resolve()
    if target == study or study in target.parents or target in study.parents:
        raise ValueError(f"--out {out}: must be outside the study folder {results_dir} (and not contain it)")
    if (blocking := file_in_the_way(target.parent)) is not None:
        raise ValueError(f"--out {out}: {blocking} is a file, not a folder")
    if not target.exists():
        return
    if not target.is_dir():
        raise ValueError(f"--out {out}: exists and is not a folder")
    if not any(target.iterdir()):
        return
    if not force:
        raise FileExistsError(f"--out {out}: folder exists and is not empty; use --force to replace an earlier export")
    if not (target / EXPORT_MARKER).is_file():
        raise ValueError(
            f"--out {out}: not written by `dse export` (no {EXPORT_MARKER} file); --force replaces only earlier "
            "exports, so choose a new folder or empty this one yourself"
        )
    listed = exported_files(target)
    if listed is None:
        raise ValueError(
            f"--out {out}: its {EXPORT_MARKER} lists no files (an export by an older dse, or one that was killed "
            "while writing), so --force cannot tell its files from yours; remove the folder yourself or choose a "
            "new one"
        )
    if foreign := [name for name in _files_under(target) if name != EXPORT_MARKER and name not in listed]:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise ValueError(
            f"--out {out}: holds files the earlier export did not write ({shown}); --force replaces only what "
            "`dse export` wrote, so move them away first or choose a new folder"
        )
    shutil.rmtree(target)


def _files_under(folder: Path) -> list[str]:
    return sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*") if not path.is_dir())


def exported_files(out: Path) -> set[str] | None:
    """The files an export's marker lists as written by it; None when it lists none (an older dse, a killed export)."""
    head, _, listing = (out / EXPORT_MARKER).read_text(errors="replace").partition("\n")
    return set(listing.splitlines()) if head.endswith("files:") else None


_BEING_WRITTEN = "being written by dse export of"
P = ParamSpec("P")
R = TypeVar("R")


def _marker_lists_written_files(export: Callable[P, R]) -> Callable[P, R]:
    """Whether the export succeeds or fails, its marker then lists every file written in ``out``: all that a later
    --force may remove."""

    @functools.wraps(export)
    def listed(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return export(*args, **kwargs)
        finally:
            out = Path(kwargs["out"])  # type: ignore[arg-type]
            marker = out / EXPORT_MARKER
            head = marker.read_text(errors="replace").partition("\n")[0] if marker.is_file() else ""
            if head.startswith(_BEING_WRITTEN):  # this run's own marker
                written = [name for name in _files_under(out) if name != EXPORT_MARKER]
                head = head.replace(_BEING_WRITTEN, "written by dse export of")
                marker.write_text(f"{head}; files:\n" + "".join(f"{name}\n" for name in written))

    return listed


@_marker_lists_written_files
def export_design(
    results_dir: Path,
    *,
    trial: int | None,
    pick: str | None,
    out: Path,
    verify: bool,
    synth: bool,
    force: bool,
    console: Console,
) -> dict[str, Any]:
    from generator.project_files import emit_project_files
    from generator.testbench import emit_testbench
    from generator.vhdl import compile_order, emit_vhdl
    from generator.writer import write_files

    prepare_out(Path(out), Path(results_dir), force)
    config, study = open_results(results_dir)
    names = [o.name for o in config.objectives]
    if pick and (warning := selection_warning(pick)):
        console.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)
    chosen = by_number(study, trial) if trial is not None else pick_by_expression(study, pick or "", names)
    candidate = Candidate.from_dict(chosen.user_attrs["candidate"])
    design = candidate.design
    if not design.fpga_layers:
        raise ValueError(f"trial {chosen.number} runs every layer on the MCU; there is no FPGA design to export")
    artifacts = artifacts_dir(Path(results_dir), chosen)
    if not (artifacts / "weights.npz").is_file():
        raise ValueError(f"trial {chosen.number}: its weights are missing from {artifacts}")
    weights = load_weights(artifacts / "weights.npz")
    vectors = fpga_input_vectors(config, design, weights, seed=chosen.number)

    hdl = emit_vhdl(design, weights)
    order = compile_order(hdl)
    files = {f"vhdl/{name}": text for name, text in hdl.items()}
    raw_inputs = raw_test_inputs(config, design)
    testbench = emit_testbench(design, weights, vectors, raw_inputs=raw_inputs)
    files |= {f"tb/{name}": text for name, text in testbench.items()}
    if raw_inputs is not None:
        files[SCALER_FILE] = json.dumps(raw_inputs["scaler"], indent=2) + "\n"
    files |= emit_project_files(design, [f"vhdl/{name}" for name in order])
    mcu, mcu_skipped = mcu_files(config, design, weights)
    files |= mcu
    board_inputs = vectors[:BOARD_VECTORS]
    files |= emit_board(design)
    files[f"board/{SPI_VECTORS}"] = spi_vectors(design, board_inputs, expected_outputs(design, weights, board_inputs))
    prepare_out(Path(out), Path(results_dir), force)  # again: the folder may have appeared while we computed
    files[EXPORT_MARKER] = f"{_BEING_WRITTEN} trial {chosen.number} from {Path(results_dir).resolve()}\n"
    write_files(files, out)
    (out / "weights").mkdir()
    for name in ("weights.npz", "model.pt"):
        shutil.copy2(artifacts / name, out / "weights" / name)

    record: dict[str, Any] = {
        "study": config.study.name,
        "trial": chosen.number,
        "objectives": dict(zip(names, chosen.values, strict=True)),
        "metrics": chosen.user_attrs.get("metrics", {}),
        "candidate": candidate.to_dict(),
        "design": design.to_dict(),
        "estimate": chosen.user_attrs["estimate"],
        "estimate_pre_training": chosen.user_attrs.get("estimate_pre_training"),
        "verified": False,
        "scaler": SCALER_FILE if raw_inputs is not None else None,
        "mcu_code": "mcu/" if mcu else f"not generated: {mcu_skipped}",
    }
    labels = label_mapping(dataset_for(config.dataset, config.study.seed), config.dataset)
    if labels is not None:
        (out / LABELS_FILE).write_text(json.dumps(labels, indent=2, ensure_ascii=False) + "\n")
        record["labels"] = {"file": LABELS_FILE, "outputs": labels["outputs"]}
    if verify:
        from generator.verify import run_cocotb

        console.print(f"simulating {len(vectors)} vectors in GHDL ...")
        result = run_cocotb(
            "ghdl", [out / "vhdl" / name for name in order], design.name, out / "tb", out / "sim_ghdl", design
        )
        record["verification"] = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(result).items()}
        record["verified"] = bool(result.verified)
        style = "green" if result.verified else "red"
        console.print(
            f"[{style}]verification: {'verified' if result.verified else 'FAILED'} "
            f"({result.n_vectors} vectors, {result.mismatches} mismatches, latency {result.latency_cycles}"
            f"/{result.expected_latency_cycles}, II {result.ii_cycles}/{result.expected_ii_cycles})"
        )
    if verify:
        console.print(f"simulating the SPI board top ({len(board_inputs)} vectors over SPI) ...")
        sources = [out / "vhdl" / name for name in order]
        record["board_verification"] = simulate_board(sources, out / "board", out / "sim_board")
        board = record["board_verification"]
        style = "green" if board["verified"] else "red"
        console.print(
            f"[{style}]SPI board top: {'verified' if board['verified'] else 'FAILED'} "
            f"({board.get('vectors')} vectors, {board.get('mismatches')} mismatches) {board.get('error') or ''}"
        )
    if verify and mcu:
        from generator.mcu_verify import verify_mcu

        record["mcu_verification"] = verify_mcu(out / "mcu")
        check = record["mcu_verification"]
        style = "green" if check["verified"] else "red"
        console.print(
            f"[{style}]MCU code (host gcc, FPGA emulated): {'verified' if check['verified'] else 'FAILED'} "
            f"({check.get('vectors')} vectors, {check.get('mismatches')} mismatches) {check.get('error', '')}"
        )
    if synth:
        from generator.synth import synthesize

        console.print(f"synthesizing for {design.device} (ghdl synth + yosys) ...")
        result_synth = synthesize(design, weights, out / "synth")
        record["synthesis"] = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(result_synth).items()}
        console.print(
            f"synthesis: LUT {result_synth.lut}, FF {result_synth.ff}, DSP {result_synth.dsp}, "
            f"BRAM {result_synth.bram:g}"
        )
        if result_synth.fmax_mhz:
            estimated = record["estimate"].get("fmax_mhz")
            versus = f" (estimate {estimated:.1f} MHz)" if estimated else ""
            console.print(f"fmax {result_synth.fmax_mhz:.1f} MHz{versus}: {result_synth.fmax_source}")
        if result_synth.logic_cells is not None:
            verdict = "placed" if result_synth.placed else "[red]did not place[/red]"
            console.print(f"nextpnr: {result_synth.logic_cells} logic cells, {verdict}")
    record["energy"] = energy_record(config, design, record["estimate"], record.get("synthesis"))
    (out / "design.json").write_text(json.dumps(record, indent=2, default=str) + "\n")
    if synth:
        from dse.plots_synthesis import write_export_plot

        record["synthesis_plot"] = write_export_plot([out], out / "estimate_vs_synthesis.png").name
    write_report(out / "report.md", record)
    console.print(f"exported trial {chosen.number} to {out}")
    if verify and not record["board_verification"]["verified"]:
        raise VerificationFailed(f"trial {chosen.number}: the SPI board top did not verify; see design.json")
    if verify and mcu and not record["mcu_verification"]["verified"]:
        raise VerificationFailed(f"trial {chosen.number}: the MCU code did not verify on the host; see design.json")
    if verify and not record["verified"]:
        raise VerificationFailed(f"trial {chosen.number}: simulation did not verify; see {out / 'report.md'}")
    return record
