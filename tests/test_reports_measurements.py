"""Measurement format (docs/measurement-format.md): reader, writer and energy-per-inference analysis."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dse.reports.measurements import (
    FPGA_RAILS,
    AccumulatedEnergy,
    Marker,
    MeasurementMetadata,
    Sample,
    energy_per_inference,
    load_measurement,
    write_measurement,
)

EXAMPLE = Path(__file__).resolve().parent / "data" / "reports" / "elastic_node_measurement.csv"
META = MeasurementMetadata(
    board="elastic-node-v5",
    fpga_part="xc7s15ftgb196-2",
    design_id="test-design",
    sample_rate_hz=1024,
    firmware_version="1.0.0",
)
RATE = 1024


def sample_times(duration_s: float) -> np.ndarray:
    return np.arange(int(duration_s * RATE) + 1) / RATE


def constant_rows(rail: str, voltage: float, current: float, duration_s: float) -> list[Sample]:
    return [Sample(float(t), rail, voltage, current) for t in sample_times(duration_s)]


def window(start: float, stop: float, count: int) -> list[Marker]:
    return [Marker(start, "inference_start", count), Marker(stop, "inference_stop", count)]


def test_example_file_numbers() -> None:
    measurement = load_measurement(EXAMPLE)
    assert measurement.metadata.board == "elastic-node-v5"
    assert measurement.metadata.sample_rate_hz == 10
    assert measurement.metadata.sense_resistor_ohm == 0.82
    assert measurement.metadata.monitor_addresses == (0x11, 0x12)
    assert measurement.metadata.extra["note"].startswith("example for docs/measurement-format.md")
    assert [(w.start_s, w.stop_s, w.count) for w in measurement.windows] == [(0.3, 0.7, 1000)]
    assert set(measurement.samples) == {"fpga_vcco", "fpga_vccaux", "fpga_vccint", "mcu"}

    result = energy_per_inference(measurement)
    assert result.rails == FPGA_RAILS
    assert (result.n_windows, result.n_inferences) == (1, 1000)
    assert result.time_per_inference_s == pytest.approx(400e-6)
    # vccint: 30 mA at 1.0 V for 0.4 s over 1000 inferences = 12 uJ; idle 10 mW -> 8 uJ above idle.
    assert result.energy_per_inference_uj["fpga_vccint"] == pytest.approx(12.0)
    assert result.above_idle_energy_per_inference_uj["fpga_vccint"] == pytest.approx(8.0)
    assert result.active_power_mw["fpga_vccint"] == pytest.approx(30.0)
    assert result.idle_power_mw["fpga_vccint"] == pytest.approx(10.0)
    # vccaux: constant 1.8 V * 7 mA = 12.6 mW -> 5.04 uJ, nothing above idle.
    assert result.energy_per_inference_uj["fpga_vccaux"] == pytest.approx(5.04)
    assert result.above_idle_energy_per_inference_uj["fpga_vccaux"] == pytest.approx(0.0, abs=1e-12)
    # vcco: 3.3 V * 3 mA = 9.9 mW active, 6.6 mW idle.
    assert result.energy_per_inference_uj["fpga_vcco"] == pytest.approx(3.96)
    assert result.above_idle_energy_per_inference_uj["fpga_vcco"] == pytest.approx(1.32)
    assert result.total_energy_per_inference_uj == pytest.approx(12.0 + 5.04 + 3.96)
    assert result.total_above_idle_energy_per_inference_uj == pytest.approx(8.0 + 1.32)
    assert result.method == {rail: "samples" for rail in FPGA_RAILS}

    mcu = energy_per_inference(measurement, rails=("mcu",))
    assert mcu.energy_per_inference_uj == {"mcu": pytest.approx(3.3 * 0.020 * 0.4 / 1000 * 1e6)}


def test_constant_power_gives_exact_energy_with_unaligned_markers(tmp_path: Path) -> None:
    rows = [*constant_rows("fpga_vccint", 1.0, 0.025, 1.0), *window(0.2503, 0.7511, 500)]
    result = energy_per_inference(
        load_measurement(write_measurement(tmp_path / "m.csv", META, rows)), rails=("fpga_vccint",)
    )
    expected_j = 0.025 * (0.7511 - 0.2503)
    assert result.energy_per_inference_uj["fpga_vccint"] == pytest.approx(expected_j / 500 * 1e6, rel=1e-12)
    assert result.active_power_mw["fpga_vccint"] == pytest.approx(25.0, rel=1e-12)
    assert result.time_per_inference_s == pytest.approx((0.7511 - 0.2503) / 500, rel=1e-12)


def test_linear_power_ramp_is_integrated_exactly(tmp_path: Path) -> None:
    # Trapezoids with interpolated window edges are exact for piecewise-linear power.
    rows = [Sample(float(t), "fpga_vccint", 1.0, 0.010 + 0.020 * float(t)) for t in sample_times(1.0)]
    rows += window(0.1001, 0.9003, 1)
    result = energy_per_inference(
        load_measurement(write_measurement(tmp_path / "m.csv", META, rows)), rails=("fpga_vccint",)
    )
    t0, t1 = 0.1001, 0.9003
    expected_j = 0.010 * (t1 - t0) + 0.020 / 2 * (t1**2 - t0**2)
    assert result.energy_per_inference_uj["fpga_vccint"] == pytest.approx(expected_j * 1e6, rel=1e-9)


def test_step_profile_idle_and_above_idle(tmp_path: Path) -> None:
    # 5 mW idle, 45 mW between the markers (which sit on sample times); windows of 100 and 300 inferences.
    windows = [(256 / RATE, 512 / RATE, 100), (768 / RATE, 1024 / RATE, 300)]
    rows: list[Sample | Marker] = []
    for t in sample_times(1.5):
        active = any(start <= t <= stop for start, stop, _ in windows)
        rows.append(Sample(float(t), "fpga_vccint", 1.0, 0.045 if active else 0.005))
    for start, stop, count in windows:
        rows += window(start, stop, count)
    result = energy_per_inference(
        load_measurement(write_measurement(tmp_path / "m.csv", META, rows)), rails=("fpga_vccint",)
    )
    assert (result.n_windows, result.n_inferences) == (2, 400)
    assert result.active_time_s == pytest.approx(0.5)
    assert result.energy_per_inference_uj["fpga_vccint"] == pytest.approx(0.045 * 0.5 / 400 * 1e6)
    assert result.idle_power_mw["fpga_vccint"] == pytest.approx(5.0)
    assert result.above_idle_energy_per_inference_uj["fpga_vccint"] == pytest.approx(0.040 * 0.5 / 400 * 1e6)


def test_accumulated_energy_mode(tmp_path: Path) -> None:
    # Accumulator readings at the stop marker; samples only before the window give the idle power.
    rows: list[Sample | Marker | AccumulatedEnergy] = [
        *constant_rows("fpga_vccint", 1.0, 0.004, 0.1),
        *constant_rows("fpga_vccaux", 1.8, 0.005, 0.1),
        *constant_rows("fpga_vcco", 3.3, 0.001, 0.1),
        *window(0.5, 2.5, 10_000),
        AccumulatedEnergy(2.5, "fpga_vccint", 0.060, 10_000),
        AccumulatedEnergy(2.5, "fpga_vccaux", 0.018),
        AccumulatedEnergy(2.5, "fpga_vcco", 0.0066),
    ]
    result = energy_per_inference(load_measurement(write_measurement(tmp_path / "m.csv", META, rows)))
    assert result.method == {rail: "accumulator" for rail in FPGA_RAILS}
    assert result.energy_per_inference_uj == pytest.approx({"fpga_vccint": 6.0, "fpga_vccaux": 1.8, "fpga_vcco": 0.66})
    assert result.active_power_mw["fpga_vccint"] == pytest.approx(30.0)
    assert result.idle_power_mw["fpga_vccint"] == pytest.approx(4.0)
    assert result.above_idle_energy_per_inference_uj["fpga_vccint"] == pytest.approx((0.060 - 0.004 * 2) / 1e4 * 1e6)
    assert result.total_energy_per_inference_uj == pytest.approx(8.46)


def test_accumulator_without_idle_samples_leaves_above_idle_unknown(tmp_path: Path) -> None:
    rows = [*window(0.0, 1.0, 10), AccumulatedEnergy(1.0, "fpga_vccint", 0.001)]
    result = energy_per_inference(
        load_measurement(write_measurement(tmp_path / "m.csv", META, rows)), rails=("fpga_vccint",)
    )
    assert result.energy_per_inference_uj["fpga_vccint"] == pytest.approx(100.0)
    assert result.idle_power_mw["fpga_vccint"] is None
    assert result.total_above_idle_energy_per_inference_uj is None


def test_round_trip_keeps_metadata_and_samples(tmp_path: Path) -> None:
    rows = [Sample(0.0, "mcu", 3.3, 0.02, 0.0661), Sample(0.5, "mcu", 3.3, 0.03), *window(0.1, 0.4, 3)]
    measurement = load_measurement(write_measurement(tmp_path / "m.csv", META, rows))
    assert measurement.metadata == META
    samples = measurement.samples["mcu"]
    assert samples.time_s.tolist() == [0.0, 0.5]
    assert samples.power_w.tolist() == [0.0661, 3.3 * 0.03]  # given power wins; empty means V * I


# ------------------------------------------------------------------------------------------- errors

HEADER = """# format: elastic-node-power/1
# board: elastic-node-v5
# fpga_part: xc7s15ftgb196-2
# design_id: d
# sample_rate_hz: 1024
# sense_resistor_ohm: 0.82
timestamp_s,monitor,channel,rail,voltage_v,current_a,power_w,event,count,energy_j
"""
GOOD_ROW = "0.0,0x12,3,fpga_vccint,1.0,0.01,,,,\n"


def load_text(tmp_path: Path, text: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    load_measurement(path)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "0.0,0x12,3,fpga_core,1.0,0.01,,,,\n",
            r"line 8: column 'rail': unknown rail 'fpga_core'; allowed are \[",
        ),
        (GOOD_ROW + "-0.5,0x12,3,fpga_vccint,1.0,0.01,,,,\n", r"line 9: timestamp_s -0.5 is earlier than"),
        (GOOD_ROW + GOOD_ROW, r"line 9: two samples of rail 'fpga_vccint' at t = 0.0 s"),
        ("0.1,,,marker,,,,inference_stop,,\n", r"line 8: inference_stop without a preceding inference_start"),
        ("0.1,,,marker,,,,inference_start,5,\n", r"line 8: inference_start never followed by inference_stop"),
        ("0.1,,,marker,,,,inference_start,,\n", r"line 8: inference_start needs 'count'"),
        (
            "0.1,,,marker,,,,begin,1,\n",
            r"line 8: column 'event': marker rows need one of \('inference_start'",
        ),
        (
            "0.1,,,marker,,,,inference_start,5,\n0.2,,,marker,,,,inference_stop,4,\n",
            r"line 9: inference_stop count 4 differs from count 5 of its start \(line 8\)",
        ),
        (
            "0.0,0x11,3,fpga_vccint,1.0,0.01,,,,\n",
            r"line 8: column 'monitor': rail 'fpga_vccint' is on monitor 0x12",
        ),
        (
            "0.0,0x12,7,fpga_vccint,1.0,0.01,,,,\n",
            r"line 8: column 'channel': expected a PAC1934 channel 1..4",
        ),
        (
            "0.0,0x12,3,fpga_vccint,1.0,abc,,,,\n",
            r"line 8: column 'current_a': expected a finite number, got 'abc'",
        ),
        ("0.0,0x12,3,fpga_vccint,,0.01,,,,\n", r"line 8: column 'voltage_v' must hold a number"),
        ("0.0,0x12,3,fpga_vccint,1.0\n", r"line 8: 5 fields, header has 10"),
        (
            "1.0,0x12,3,fpga_vccint,,,,,,0.5\n",
            r"line 8: accumulated-energy row outside every inference window",
        ),
        (
            "0.0,,,marker,,,,inference_start,2,\n1.0,,,marker,,,,inference_stop,2,\n1.0,0x12,3,fpga_vccint,,,,,3,0.5\n",
            r"line 10: count 3 differs from count 2 of its window \(line 8\)",
        ),
        (
            "0.0,0x12,3,fpga_vccint,1.0,0.01,,,2,\n",
            r"line 8: column 'count' belongs on marker or accumulated",
        ),
        (
            GOOD_ROW + "0.0,0x12,3,fpga_vccaux,1.8,0.01,,,,\n",
            r"line 9: monitor 0x12 channel 3 already carries 'fpga_vccint' \(line 8\)",
        ),
        (GOOD_ROW + "0.1,0x12,2,fpga_vccint,1.0,0.01,,,,\n", r"line 9: rail 'fpga_vccint' was on channel 3"),
        (
            "0.2,,,marker,,,,inference_start,2,\n0.2,,,marker,,,,inference_stop,,\n",
            r"line 9: window of line 8 has zero length",
        ),
        (
            "0.0,,,marker,,,,inference_start,2,\n1.0,,,marker,,,,inference_stop,2,\n"
            "1.0,0x12,3,fpga_vccint,1.0,,,,,0.5\n",
            r"line 10: accumulated-energy \(energy_j\) rows leave \['voltage_v'\] empty",
        ),
        (
            "0.0,,,marker,,,,inference_start,2,\n1.0,,,marker,,,,inference_stop,2,\n"
            "1.0,0x12,3,fpga_vccint,,,,,,0.5\n1.0,0x12,3,fpga_vccint,,,,,,0.6\n",
            r"line 11: second accumulated reading of 'fpga_vccint' in one window",
        ),
    ],
)
def test_bad_rows_name_file_line_and_rule(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(ValueError, match=r"bad\.csv, " + message):
        load_text(tmp_path, HEADER + body)


def test_missing_and_unknown_columns(tmp_path: Path) -> None:
    text = HEADER.replace(",current_a,", ",current_mA,")
    with pytest.raises(ValueError, match=r"line 7: missing columns \['current_a'\], unknown columns \['current_mA'\]"):
        load_text(tmp_path, text)


def test_missing_metadata_and_wrong_format(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"bad\.csv: missing metadata \['design_id'\]"):
        load_text(tmp_path, HEADER.replace("# design_id: d\n", "") + GOOD_ROW)
    with pytest.raises(ValueError, match=r"line 1: format must be 'elastic-node-power/1', got 'pac-log'"):
        load_text(tmp_path, HEADER.replace("elastic-node-power/1", "pac-log") + GOOD_ROW)
    with pytest.raises(ValueError, match=r"line 5: sample_rate_hz must be a positive number, got 'fast'"):
        load_text(tmp_path, HEADER.replace("1024", "fast") + GOOD_ROW)


def test_header_lines_need_key_and_value(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"bad\.csv, line 2: header lines are '# key: value', got 'recorded by"):
        load_text(tmp_path, "# format: elastic-node-power/1\n# recorded by hand\n" + HEADER + GOOD_ROW)


def test_comment_rows_after_the_header_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "ok.csv"
    path.write_text(HEADER + GOOD_ROW + "# firmware: monitor restarted\n" + "0.1,0x12,3,fpga_vccint,1.0,0.02,,,,\n")
    assert load_measurement(path).samples["fpga_vccint"].power_w.tolist() == [0.01, 0.02]


def test_garbage_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"bad\.csv: missing metadata \['format', 'board'"):
        load_text(tmp_path, "\x00\x01 not a measurement at all\n")


def test_window_not_covered_by_samples(tmp_path: Path) -> None:
    rows = [*constant_rows("fpga_vccint", 1.0, 0.01, 0.5), *window(0.4, 0.9, 1)]
    measurement = load_measurement(write_measurement(tmp_path / "m.csv", META, rows))
    with pytest.raises(ValueError, match=r"window 0.4..0.9 s is not covered by the samples of 'fpga_vccint'"):
        energy_per_inference(measurement, rails=("fpga_vccint",))
    with pytest.raises(ValueError, match=r"rail 'fpga_vccaux' has neither samples nor an accumulated reading"):
        energy_per_inference(measurement, rails=("fpga_vccaux",))
    with pytest.raises(ValueError, match=r"unknown rails \['vccint'\]"):
        energy_per_inference(measurement, rails=("vccint",))


def test_no_windows(tmp_path: Path) -> None:
    measurement = load_measurement(write_measurement(tmp_path / "m.csv", META, constant_rows("mcu", 3.3, 0.01, 0.1)))
    with pytest.raises(ValueError, match=r"m\.csv: no inference_start/inference_stop windows"):
        energy_per_inference(measurement)
