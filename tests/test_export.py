"""`dse export` from a real (tiny) study: files and report (unit tier), verification in GHDL (sim), no silent
overwrite."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from contract.reference import load_weights, run_reference
from dse.cli import main
from dse.config import parse_config
from dse.search import run_search


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = parse_config(
        {
            "study": {"name": "export", "seed": 1},
            "dataset": {"kind": "digits"},
            "model": {"hidden_layers": 1, "width": 8},
            "quantization": {"activation_bits": 6, "weight_bits": 4},
            "hardware": {
                "pe": {"choices": [3, 8]},
                "simd": {"choices": [1, 4]},
                "multiplier": {"choices": ["dsp", "lut"]},
                "mcu_tail_layers": {"choices": [0, 1]},
            },
            "training": {"epochs": 2},
            "objectives": [{"name": "accuracy"}, {"name": "latency_us"}],
            "search": {"n_trials": 4, "sampler": "random"},
        }
    )
    results = tmp_path_factory.mktemp("study") / "export"
    run_search(config, results_dir=results)
    return results


def test_export_writes_files_and_a_report_of_the_folding(study_dir: Path, tmp_path: Path) -> None:
    from contract.design import AcceleratorDesign
    from dse.pick import exportable
    from dse.studies import open_results

    _, study = open_results(study_dir)
    trial = next(
        t
        for t in exportable(study)
        if any(layer["placement"] == "fpga" for layer in t.user_attrs["candidate"]["design"]["layers"])
    )
    out = tmp_path / "plain"
    assert main(["export", str(study_dir), "--trial", str(trial.number), "--out", str(out)]) == 0
    record = json.loads((out / "design.json").read_text())
    assert record["trial"] == trial.number and record["verified"] is False
    assert record["design"]["format"] == 2
    design = AcceleratorDesign.from_dict(record["design"])
    assert design == AcceleratorDesign.from_dict(trial.user_attrs["candidate"]["design"])
    assert record["estimate"]["cycles"] == design.latency_cycles
    for name in ("vhdl/compile_order.txt", "tb/tb_vectors.json", "weights/weights.npz", "report.md"):
        assert (out / name).is_file(), name
    report = (out / "report.md").read_text()
    assert "This design is **not verified**" in report
    assert f"- latency: {design.latency_cycles} cycles" in report
    for index, layer in enumerate(design.layers):
        folding = layer.folding
        row = next(line for line in report.splitlines() if line.startswith(f"| {index} | "))
        assert f"| {folding.pe} × {folding.simd} | {folding.multiplier} | {layer.rom_storage} |" in row
        cycles = layer.latency_cycles if layer.placement == "fpga" else "-"
        assert row.endswith(f"| {cycles} | {layer.bound_cycles:.1f} |")


def test_report_reads_format_1_designs(tmp_path: Path) -> None:
    """Export records written before design format 2 kept the knobs at the top level of each layer."""
    from dse.export import write_report

    fmt = {"total_bits": 8, "frac_bits": 4}
    layer = {"in_features": 16, "out_features": 10, "activation": "relu", "in_fmt": fmt, "out_fmt": fmt,
             "weight_fmt": {"total_bits": 8, "frac_bits": 6}, "parallelism": 5, "weight_storage": "bram",
             "placement": "fpga"}  # fmt: skip
    design = {"name": "old", "device": "xc7s15", "clock_mhz": 100.0, "layers": [layer]}
    from contract.design import AcceleratorDesign
    from estimators import estimate_design

    estimate = estimate_design(AcceleratorDesign.from_dict(design)).as_dict()  # what a real record holds
    record = {"study": "s", "trial": 3, "objectives": {"accuracy": 0.9}, "design": design, "estimate": estimate}
    write_report(tmp_path / "report.md", record)
    row = next(line for line in (tmp_path / "report.md").read_text().splitlines() if line.startswith("| 0 | "))
    # 2 groups of 5 outputs, 16 chunks each: L = 4 + 16 + 5; ROM 32 words in block RAM.
    assert row == "| 0 | 16 → 10 | relu | 8/8/8 | 5 × 1 | dsp | bram | fpga | 25 | 32.0 |"


@pytest.mark.sim
def test_export_verifies_and_keeps_existing_output(
    study_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "knee"
    assert main(["export", str(study_dir), "--pick", "knee", "--out", str(out), "--verify"]) == 0
    record = json.loads((out / "design.json").read_text())
    assert record["verified"] is True
    verification = record["verification"]
    assert verification["mismatches"] == 0 and verification["n_vectors"] >= 48
    assert verification["latency_cycles"] == verification["expected_latency_cycles"] == record["estimate"]["cycles"]
    assert verification["ii_cycles"] == record["estimate"]["ii_cycles"]
    report = (out / "report.md").read_text()
    assert "**verified**" in report and f"latency {record['estimate']['cycles']} cycles" in report
    for name in (
        "vhdl/compile_order.txt",
        "tb/tb_vectors.json",
        "weights/weights.npz",
        "weights/model.pt",
        "create_vivado_project.tcl",
        "dse_net.core",
    ):
        assert (out / name).is_file(), name
    # The testbench's expected outputs are the integer model's outputs for its inputs.
    vectors = json.loads((out / "tb" / "tb_vectors.json").read_text())
    weights = load_weights(out / "weights" / "weights.npz")
    from contract.design import AcceleratorDesign

    design = AcceleratorDesign.from_dict(record["design"])
    fpga = [i for i, layer in enumerate(design.layers) if layer.placement == "fpga"]
    expected = run_reference(design, weights, np.array(vectors["inputs"]), slice(fpga[0], fpga[-1] + 1))
    assert expected.tolist() == vectors["expected"]

    marker = out / "report.md"
    before = marker.read_text()
    assert main(["export", str(study_dir), "--pick", "knee", "--out", str(out)]) == 2
    assert "--force" in capsys.readouterr().err
    assert marker.read_text() == before
    assert main(["export", str(study_dir), "--pick", "max accuracy", "--out", str(out), "--force"]) == 0


def test_export_unknown_trial_is_a_clear_error(
    study_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", str(study_dir), "--trial", "99", "--out", str(tmp_path / "x")]) == 2
    assert "--trial 99: not a completed, trained trial" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_export_from_a_moved_study_reads_its_own_weights(
    study_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    from dse.pick import exportable
    from dse.studies import open_results

    copy = tmp_path / "copy"
    shutil.copytree(study_dir, copy)
    moved = tmp_path / "moved"
    copy.rename(moved)  # the copy's stored paths must not point at `copy` (gone) or at the original study
    number = exportable(open_results(moved)[1])[0].number
    assert main(["export", str(moved), "--trial", str(number), "--out", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "weights" / "weights.npz").read_bytes() == (
        moved / "trials" / f"{number:05d}" / "weights.npz"
    ).read_bytes()
    out = tmp_path / "out"
    marker = (out / ".dse-export").read_text().splitlines()
    written = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()} - {".dse-export"}
    assert marker[0].endswith("files:") and set(marker[1:]) == written and "weights/weights.npz" in written
    # --force replaces an earlier export (it carries the marker)
    assert main(["export", str(moved), "--trial", str(number), "--out", str(tmp_path / "out"), "--force"]) == 0
