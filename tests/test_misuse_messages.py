"""Messages that name the file, line or field: --pick numbers, sweep-table cells, measurement signs, binary files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import optuna
import pytest

from contract.layers.dense import DENSE_KNOBS
from dse.pick import pick_by_expression
from dse.reports.measurements import load_measurement
from estimators.fit import CONFIG_COLUMNS, FITTED, RULES, read_tables


@pytest.mark.parametrize("number", ["1.2.3", "1e", "--5"])
def test_pick_malformed_number_names_it(number: str) -> None:
    study = optuna.create_study()
    with pytest.raises(ValueError, match=rf"--pick: '{number}' in condition 'lut <= {number}' is not a number"):
        pick_by_expression(study, f"max accuracy where lut <= {number}", ["accuracy"])


def test_sweep_table_non_numeric_cell_names_file_line_and_column(tmp_path: Path) -> None:
    text = {knob.name: knob.default for knob in DENSE_KNOBS if not knob.is_int}
    columns = (*CONFIG_COLUMNS, *FITTED, *RULES)
    good = {c: text.get(c, "relu" if c == "activation" else "4") for c in columns}
    bad = {**good, "lut": "12k"}
    table = tmp_path / "sweep.csv"
    table.write_text(
        ",".join(columns) + "\n" + "\n".join(",".join(str(row[c]) for c in columns) for row in (good, bad)) + "\n"
    )
    with pytest.raises(ValueError, match=r"sweep\.csv', line 3, column 'lut': '12k' is not a number"):
        read_tables([table])
    content = tmp_path / "content.csv"
    header = (*columns, "rom_columns")
    rows = ({**good, "rom_columns": ""}, {**good, "rom_columns": "x"})  # empty: a table made before the column
    content.write_text(",".join(header) + "\n" + "\n".join(",".join(r[c] for c in header) for r in rows) + "\n")
    with pytest.raises(ValueError, match=r"content\.csv', line 3, column 'rom_columns': 'x' is not a number"):
        read_tables([content])


HEADER = """# format: elastic-node-power/1
# board: elastic-node-v5
# fpga_part: xc7s15ftgb196-2
# design_id: d
# sample_rate_hz: 1024
# sense_resistor_ohm: 0.82
timestamp_s,monitor,channel,rail,voltage_v,current_a,power_w,event,count,energy_j
"""


@pytest.mark.parametrize(
    ("row", "column"),
    [("0.0,0x12,3,fpga_vccint,1.0,-0.01,,,,", "current_a"), ("0.0,0x12,3,fpga_vccint,1.0,0.01,-0.2,,,", "power_w")],
)
def test_negative_current_or_power_is_refused(tmp_path: Path, row: str, column: str) -> None:
    path = tmp_path / "m.csv"
    path.write_text(HEADER + row + "\n")
    with pytest.raises(ValueError, match=rf"m\.csv, line 8: column '{column}' must be >= 0"):
        load_measurement(path)


def test_cli_binary_search_file_names_the_file(tmp_path: Path) -> None:
    search = tmp_path / "weights.bin"
    search.write_bytes(bytes(range(256)) * 4)
    result = subprocess.run(
        [sys.executable, "-m", "dse.cli", "run", str(search)], capture_output=True, text=True, cwd=tmp_path
    )
    assert result.returncode == 2
    assert "weights.bin: not a text (UTF-8) file" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_pick_message_keeps_its_brackets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from dse.cli import main
    from dse.config import parse_config
    from dse.study_checks import _snapshot

    search = {"study": {"name": "p"}, "dataset": {"kind": "digits"}, "objectives": [{"name": "accuracy"}]}
    results = tmp_path / "res"
    results.mkdir()
    (results / "search.yaml").write_text(_snapshot(parse_config(search)))
    optuna.create_study(storage=f"sqlite:///{results / 'study.db'}", study_name="p", direction="maximize")
    assert main(["export", str(results), "--pick", "max accuracy where lut <= 1..2", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "'1..2' in condition 'lut <= 1..2' is not a number" in err
    assert "[and ...]" in err  # user-facing text is not eaten as console markup


CONV_TABLE = Path(__file__).resolve().parents[1] / "estimators" / "calibration" / "data" / "sweep_conv1d_xc7.csv"
DENSE_TABLE = CONV_TABLE.with_name("xc7_sweep_edge.csv")


def _calibrate(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    from dse.cli import main

    code = main(["calibrate", *args])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, " ".join((captured.out + captured.err).split())  # the console wraps long messages


def test_kind_fit_messages_name_the_option_or_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import csv

    out = str(tmp_path / "k.json")
    fit = ["fit", "--family", "xc7", "--out"]
    code, err = _calibrate([*fit, out, "--kind", "transformer", str(CONV_TABLE)], capsys)
    assert code == 2 and "--kind: unknown layer kind 'transformer'; allowed: dense, conv1d" in err
    code, err = _calibrate([*fit, out, "--kind", "conv1d", str(DENSE_TABLE)], capsys)
    assert code == 2 and "missing columns ['kind', 'layer'] for a table of `dse calibrate sweep --kind conv1d`" in err
    rows = list(csv.DictReader(CONV_TABLE.open(newline="")))
    rows[3]["lut"] = "12k"
    bad = tmp_path / "bad.csv"
    with bad.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    code, err = _calibrate([*fit, out, "--kind", "conv1d", str(bad)], capsys)
    assert code == 2 and "bad.csv', line 5, column 'lut': '12k' is not a number" in err
    before = bad.read_bytes()
    code, err = _calibrate([*fit, str(bad), "--kind", "conv1d", str(bad)], capsys)
    assert code == 2 and "is also an input" in err and bad.read_bytes() == before
    notes = tmp_path / "notes.txt"
    notes.write_text("mine")
    code, err = _calibrate([*fit, str(notes), "--kind", "conv1d", str(CONV_TABLE)], capsys)
    assert code == 2 and "exists and is not a kind calibration" in err and notes.read_text() == "mine"
    assert "coefficients" not in err  # refused before the fit (which prints them)
    code, err = _calibrate([*fit, out, "--kind", "conv1d", str(CONV_TABLE)], capsys)
    assert code == 0 and "coefficients" in err and set(json.loads(Path(out).read_text())) == {"xc7"}


def test_calibration_plot_does_not_overwrite_its_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    table = tmp_path / "t.csv"
    table.write_bytes(DENSE_TABLE.read_bytes())
    code, err = _calibrate(["plot", str(table), "--family", "xc7", "--out", str(table)], capsys)
    assert code == 2 and "is also an input table" in err and table.read_bytes() == DENSE_TABLE.read_bytes()
    (tmp_path / "file").write_text("x")
    code, err = _calibrate(["plot", str(table), "--family", "xc7", "--out", str(tmp_path / "file" / "p.png")], capsys)
    assert code == 2 and "is a file, not a folder" in err


def test_fit_of_a_folder_without_any_known_input_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "readme.txt").write_text("not a report")
    out = tmp_path / "cal.json"
    code, err = _calibrate(["fit", str(folder), "--family", "xc7", "--out", str(out)], capsys)
    assert code == 2 and f"nothing to fit for --family xc7 in {folder}: no sweep table, power report or" in err
    assert not out.exists()


def test_calibrate_outputs_are_replaced_only_with_force(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    table = tmp_path / "sweep.csv"
    table.write_text("hours of synthesis\n")
    for args in (["sweep", "--family", "xc7", "--samples", "1"], ["plot", str(DENSE_TABLE), "--family", "xc7"]):
        code, err = _calibrate([*args, "--out", str(table)], capsys)
        assert code == 2 and f"--out {table}: exists; add --force to replace it" in err
    assert table.read_text() == "hours of synthesis\n"
    calibration = tmp_path / "cal.json"
    calibration.write_text("{}")
    fit = ["fit", str(DENSE_TABLE), "--family", "xc7", "--out", str(calibration)]
    code, err = _calibrate(fit, capsys)
    assert code == 2 and "exists; add --force" in err and calibration.read_text() == "{}"
    code, err = _calibrate([*fit, "--force"], capsys)
    assert code == 0 and json.loads(calibration.read_text())["family"] == "xc7"
    kinds = tmp_path / "conv1d.json"
    kinds.write_text(json.dumps({"ice40": {"kind": "conv1d"}}))
    kind_fit = ["fit", str(CONV_TABLE), "--kind", "conv1d", "--family", "xc7", "--out", str(kinds)]
    assert _calibrate(kind_fit, capsys)[0] == 0  # another family's entry: merged into
    assert set(json.loads(kinds.read_text())) == {"ice40", "xc7"}
    code, err = _calibrate(kind_fit, capsys)
    assert code == 2 and "already holds a xc7 entry; add --force to replace it" in err
    assert _calibrate([*kind_fit, "--force"], capsys)[0] == 0


def test_calibrate_sweep_names_a_bad_seed_or_cache_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sweep = ["sweep", "--family", "xc7", "--samples", "1", "--out", str(tmp_path / "s.csv")]
    with pytest.raises(SystemExit) as stopped:
        _calibrate([*sweep, "--seed", "-1"], capsys)
    assert stopped.value.code == 2
    assert "argument --seed: must be a whole number >= 0, got -1" in capsys.readouterr().err
    (tmp_path / "file").write_text("x")
    code, err = _calibrate([*sweep, "--cache-dir", str(tmp_path / "file")], capsys)
    assert code == 2 and "--cache-dir" in err and "is a file, not a folder" in err
    assert not (tmp_path / "s.csv").exists()
