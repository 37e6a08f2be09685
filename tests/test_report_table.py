"""`dse report`: the Pareto table fits 80 and 200 columns without a cut number; csv/json/markdown parse back."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import optuna
import pytest
from rich.console import Console

from dse.config import parse_config
from dse.report_table import cell_text, fit_columns, table_width
from dse.search import open_study
from dse.studies import print_pareto
from dse.study_checks import prepare_results_dir

# Long, distinct numbers: any truncation to "0.…" or rounding away of a digit shows.
VALUES = [(0.987654321, 0.123456789, 12.3456789), (0.912345678, 0.0456789123, 98765.4321)]
DESIGN_LAYER = {
    "kind": "dense",
    "in_features": 64,
    "out_features": 10,
    "activation": "relu",
    "in_fmt": {"total_bits": 8, "frac_bits": 4},
    "weight_fmt": {"total_bits": 4, "frac_bits": 2},
    "out_fmt": {"total_bits": 8, "frac_bits": 4},
    "folding": {"pe": 8, "simd": 4, "multiplier": "dsp", "weight_storage": "lutrom"},
    "placement": "fpga",
}


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = parse_config(
        {
            "study": {"name": "widths"},
            "dataset": {"kind": "digits"},
            "objectives": [{"name": "accuracy"}, {"name": "energy_uj"}, {"name": "latency_us"}],
        }
    )
    folder = tmp_path_factory.mktemp("report") / "widths"
    prepare_results_dir(config, folder)
    study = open_study(config, folder)
    for accuracy, energy, latency in VALUES:
        second = {**DESIGN_LAYER, "in_features": 10, "out_features": 32}
        design = {"layers": [DESIGN_LAYER, second], "device": "xc7s15", "clock_mhz": 100.0}
        estimate = {"lut": 1234.567, "dsp": 3, "bram": 0.5, "cycles": 4567, "bound_cycles": 1234.5}
        study.add_trial(
            optuna.trial.create_trial(
                values=[accuracy, energy, latency],
                user_attrs={"trained": True, "candidate": {"design": design}, "estimate": estimate},
                system_attrs={"constraints:dsp": -17.0},
            )
        )
    return folder


def render(results: Path, width: int, fmt: str = "table") -> str:
    out = io.StringIO()
    print_pareto(results, Console(file=out, width=width, color_system=None), fmt=fmt)
    return out.getvalue()


@pytest.mark.parametrize("width", [80, 200])
def test_no_number_is_cut(results: Path, width: int) -> None:
    text = render(results, width)
    assert "…" not in text
    assert all(len(line) <= width for line in text.splitlines())
    for row in VALUES:
        for value in row:
            assert cell_text(value) in text  # 0.9877, 0.1235, 12.35, 98765
    assert "98765" in text and "0.9877" in text


def test_narrow_terminal_drops_columns_and_says_so(results: Path) -> None:
    text = render(results, 80)
    assert "80 columns: left out" in text
    assert "--format csv|markdown|json" in text
    header = next(line for line in text.splitlines() if "trial" in line and "accuracy" in line)
    assert "storage" not in header and "bound" not in header  # dropped first
    assert "LUT" in header and "latency_us" in header  # kept: objectives always, resources late


def test_wide_terminal_shows_every_column(results: Path) -> None:
    text = render(results, 200)
    assert "left out" not in text
    for column in ("storage", "pe×simd", "bits a/w", "device", "bound", "BRAM"):
        assert column in text
    assert "0.5" in text  # half a BRAM is not rounded to 0


def test_too_narrow_for_any_table_wraps_one_line_per_trial(results: Path) -> None:
    text = render(results, 40)
    assert all(len(line) <= 40 for line in text.splitlines())
    assert "one line per trial" in " ".join(text.split())
    assert "accuracy=0.9877," in text.split()


def test_fit_columns_keeps_trial_and_objectives() -> None:
    header = ["trial", "a", "b", "extra", "storage", "LUT"]
    rows = [[1, 0.5, 0.25, "x" * 30, "lutrom,bram", 1000]]
    kept = fit_columns(header, rows, 10, keep=3)
    assert kept == [0, 1, 2]  # everything optional dropped, unknown 'extra' first
    assert fit_columns(header, rows, table_width(range(6), header, rows), keep=3) == list(range(6))
    assert fit_columns(header, rows, table_width([0, 1, 2, 5], header, rows), keep=3) == [0, 1, 2, 5]


def test_csv_parses_back(results: Path) -> None:
    rows = list(csv.DictReader(io.StringIO(render(results, 80, "csv"))))
    assert [float(r["accuracy"]) for r in rows] == [0.912345678, 0.987654321]  # sorted by the first objective
    assert float(rows[0]["latency_us"]) == 98765.4321 and rows[0]["storage"] == "lutrom,lutrom"
    assert float(rows[0]["BRAM"]) == 0.5


def test_json_parses_back(results: Path) -> None:
    rows = json.loads(render(results, 80, "json"))
    assert rows[1]["energy_uj"] == 0.123456789 and rows[1]["LUT"] == 1234.567 and rows[1]["trial"] == 0


def test_markdown_parses_back(results: Path) -> None:
    lines = render(results, 80, "markdown").splitlines()
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    assert lines[1].startswith("|---:|")
    row = dict(zip(header, [cell.strip() for cell in lines[2].strip("|").split("|")], strict=True))
    assert float(row["accuracy"]) == pytest.approx(0.912345678, rel=1e-6)
    assert float(row["latency_us"]) == pytest.approx(98765.4321, rel=1e-6)
    assert len(lines) == 4


def test_report_command_format(results: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from dse.cli import main

    assert main(["report", str(results), "--format", "json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 2
