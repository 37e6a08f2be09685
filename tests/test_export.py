"""`dse export` from a real (tiny) study: files, verification in GHDL, no silent overwrite."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dse.cli import main
from dse.config import parse_config
from contract.reference import load_weights, run_reference
from dse.search import run_search

pytestmark = pytest.mark.sim


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = parse_config(
        {
            "study": {"name": "export", "seed": 1},
            "dataset": {"kind": "digits"},
            "model": {"hidden_layers": 1, "width": 8},
            "quantization": {"activation_bits": 6, "weight_bits": 4},
            "hardware": {"parallelism": {"choices": [3, 8]}, "mcu_tail_layers": {"choices": [0, 1]}},
            "training": {"epochs": 2},
            "objectives": [{"name": "accuracy"}, {"name": "latency_us"}],
            "search": {"n_trials": 4, "sampler": "random"},
        }
    )
    results = tmp_path_factory.mktemp("study") / "export"
    run_search(config, results_dir=results)
    return results


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
