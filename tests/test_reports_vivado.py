"""Vivado report parsers against the real Vivado 2024.2 xc7s15 reports in ../shared/reference-reports."""

from __future__ import annotations

import pytest
from reference_reports import read_reference

from dse.reports import vivado


def reference_text(name: str) -> str:
    return read_reference("vivado-xc7s15-env5/" + name)


def test_utilization_counts_and_availability() -> None:
    report = vivado.parse_utilization(reference_text("TOP_MODULE_utilization_placed.rpt"), "util.rpt")
    assert report.part == "xc7s15ftgb196-2"
    assert report.design == "TOP_MODULE"
    assert report.design_state == "Fully Placed"
    assert (report.slice_luts.used, report.slice_luts.available) == (589, 8000)
    assert (report.lut_as_logic.used, report.lut_as_logic.available) == (589, 8000)
    assert (report.lut_as_memory.used, report.lut_as_memory.available) == (0, 2400)
    assert (report.slice_registers.used, report.slice_registers.available) == (1174, 16000)
    assert report.register_as_flip_flop.used == 1174
    assert report.register_as_latch.used == 0
    assert (report.f7_muxes.used, report.f7_muxes.available) == (112, 4000)
    assert (report.f8_muxes.used, report.f8_muxes.available) == (16, 2000)
    assert (report.block_ram_tiles.used, report.block_ram_tiles.available) == (0, 10)
    assert (report.ramb36.available, report.ramb18.available) == (10, 20)
    assert report.bram36_equivalent == 0
    assert (report.dsps.used, report.dsps.available) == (0, 20)
    assert (report.bonded_iob.used, report.bonded_iob.available) == (11, 100)
    assert report.slice_luts.utilization == pytest.approx(589 / 8000)
    assert report.primitives["FDRE"] == 1170
    assert report.primitives["LUT6"] == 457
    assert report.primitives["FDSE"] == 4
    assert sum(report.primitives[f"LUT{k}"] for k in range(1, 7)) == 689  # before LUT combining (589 sites)
    assert report.as_resources() == {"lut": 589, "ff": 1174, "dsp": 0, "bram": 0, "carry": 0, "lutram": 0}


def test_utilization_bram_tiles_count_ramb18_as_half() -> None:
    text = reference_text("TOP_MODULE_utilization_placed.rpt")
    text = text.replace("| Block RAM Tile |    0 |", "| Block RAM Tile |  2.5 |")
    text = text.replace("|   RAMB36/FIFO* |    0 |", "|   RAMB36/FIFO* |    2 |")
    text = text.replace("|   RAMB18       |    0 |", "|   RAMB18       |    1 |")
    report = vivado.parse_utilization(text)
    assert report.block_ram_tiles.used == 2.5
    assert report.bram36_equivalent == 2.5


def test_power_summary_rails_and_components() -> None:
    report = vivado.parse_power(reference_text("TOP_MODULE_power_routed.rpt"), "power.rpt")
    assert report.part == "xc7s15ftgb196-2"
    assert report.total_on_chip_w == 0.033
    assert report.dynamic_w == 0.013
    assert report.device_static_w == 0.020
    assert report.junction_temperature_c == 25.1
    assert report.confidence_level == "Low"

    vccint = report.rails["Vccint"]
    assert (vccint.voltage_v, vccint.total_a, vccint.dynamic_a, vccint.static_a) == (1.0, 0.014, 0.010, 0.004)
    vccaux = report.rails["Vccaux"]
    assert (vccaux.voltage_v, vccaux.total_a, vccaux.dynamic_a, vccaux.static_a) == (1.8, 0.007, 0.0, 0.007)
    vcco33 = report.rails["Vcco33"]
    assert (vcco33.voltage_v, vcco33.total_a, vcco33.dynamic_a, vcco33.static_a) == (3.3, 0.002, 0.001, 0.001)
    assert len(report.rails) == 11
    assert report.rails["Vccbram"].total_a == 0.0

    components = report.components
    assert components["Clocks"].power_w == 0.005
    assert components["Signals"].power_w == 0.004
    assert (components["I/O"].power_w, components["I/O"].used, components["I/O"].available) == (
        0.003,
        11,
        100,
    )
    assert components["Static Power"].power_w == 0.020
    assert components["Total"].power_w == 0.033
    slice_logic = components["Slice Logic"]
    assert (slice_logic.power_w, slice_logic.is_upper_bound, slice_logic.used) == (0.001, True, 1999)
    luts = components["Slice Logic > LUT as Logic"]
    assert (luts.used, luts.available, luts.is_upper_bound) == (589, 8000, True)
    assert components["Slice Logic > F7/F8 Muxes"].used == 128
    assert components["Slice Logic > Others"].power_w == 0.0
    assert not components["Clocks"].is_upper_bound


def test_timing_summary_slack_clock_and_fmax() -> None:
    report = vivado.parse_timing_summary(reference_text("TOP_MODULE_timing_summary_routed.rpt"), "timing.rpt")
    assert report.part == "7s15-ftgb196"
    assert report.design_state == "Routed"
    assert report.wns_ns == 2.089
    assert report.tns_ns == 0.0
    assert (report.setup_failing_endpoints, report.setup_total_endpoints) == (0, 3378)
    assert report.whs_ns == 0.142
    assert report.ths_ns == 0.0
    assert report.hold_failing_endpoints == 0
    assert report.wpws_ns == 4.5
    assert report.pulse_width_failing_endpoints == 0
    assert list(report.clocks) == ["clk_100"]
    clock = report.clocks["clk_100"]
    assert (clock.period_ns, clock.frequency_mhz, clock.wns_ns, clock.whs_ns) == (10.0, 100.0, 2.089, 0.142)
    assert clock.setup_total_endpoints == 3378
    assert report.main_clock is clock
    assert report.fmax_mhz == pytest.approx(1000 / (10.0 - 2.089))
    assert report.fmax_mhz == pytest.approx(126.406, abs=1e-3)
    assert report.constraints_met and report.timing_met


def test_timing_summary_with_violation_is_not_met() -> None:
    text = reference_text("TOP_MODULE_timing_summary_routed.rpt")
    summary_row = "      2.089        0.000                      0                 3378"
    violated_row = "     -0.500       -3.250                     12                 3378"
    text = text.replace(summary_row, violated_row)  # the design summary and the intra-clock row
    text = text.replace("All user specified timing constraints are met.", "Timing constraints are not met.")
    report = vivado.parse_timing_summary(text)
    assert report.wns_ns == -0.5
    assert report.clocks["clk_100"].wns_ns == -0.5
    assert report.setup_failing_endpoints == 12
    assert not report.timing_met
    assert report.fmax_mhz == pytest.approx(1000 / 10.5)


def test_clock_utilization() -> None:
    report = vivado.parse_clock_utilization(reference_text("TOP_MODULE_clock_utilization_routed.rpt"), "clk.rpt")
    assert report.part == "7s15-ftgb196"
    assert (report.primitives["BUFGCTRL"].used, report.primitives["BUFGCTRL"].available) == (1, 16)
    assert (report.primitives["MMCM"].used, report.primitives["MMCM"].available) == (0, 2)
    assert len(report.global_clocks) == 1
    clock = report.global_clocks[0]
    assert (clock.global_id, clock.clock, clock.period_ns, clock.clock_loads) == ("g0", "clk_100", 10.0, 1174)
    assert clock.net == "CLK_100MHz_IBUF_BUFG"


@pytest.mark.parametrize(
    "parser",
    [
        vivado.parse_utilization,
        vivado.parse_power,
        vivado.parse_timing_summary,
        vivado.parse_clock_utilization,
    ],
)
def test_garbage_names_the_source_and_expectation(parser: object) -> None:
    with pytest.raises(ValueError, match=r"garbage\.rpt: not a Vivado report_\w+ report: expected"):
        parser("hello\nworld\n", "garbage.rpt")  # type: ignore[operator]


def test_wrong_vivado_report_kind_is_rejected() -> None:
    power_text = reference_text("TOP_MODULE_power_routed.rpt")
    with pytest.raises(ValueError, match=r"power\.rpt: expected report_utilization output, got a report_power"):
        vivado.parse_utilization(power_text, "power.rpt")
    with pytest.raises(ValueError, match=r"power\.rpt: expected report_timing_summary output"):
        vivado.parse_timing_summary(power_text, "power.rpt")
    util_text = reference_text("TOP_MODULE_utilization_placed.rpt")
    with pytest.raises(ValueError, match=r"util\.rpt: expected report_power output, got a report_utilization"):
        vivado.parse_power(util_text, "util.rpt")


def test_timing_summary_without_summary_block_names_it() -> None:
    text = reference_text("TOP_MODULE_timing_summary_routed.rpt").split("| Design Timing Summary")[0]
    with pytest.raises(ValueError, match=r"cut\.rpt: Vivado timing summary: expected a '\| Design Timing Summary'"):
        vivado.parse_timing_summary(text, "cut.rpt")


def test_truncated_utilization_names_the_missing_row() -> None:
    text = reference_text("TOP_MODULE_utilization_placed.rpt").split("3. Memory\n---")[0]
    with pytest.raises(ValueError, match=r"cut\.rpt: .*no 'Block RAM Tile' row in section 'Memory'"):
        vivado.parse_utilization(text, "cut.rpt")


def test_timing_summary_with_two_clocks_picks_the_busiest_as_main() -> None:
    text = reference_text("TOP_MODULE_timing_summary_routed.rpt")
    clock_row = "clk_100  {0.000 5.000}      10.000          100.000         \n"
    # Vivado indents generated clocks by two spaces.
    generated_clock_row = "  spi_clk  {0.000 8.065}      16.129          62.000          \n"
    text = text.replace(clock_row, clock_row + generated_clock_row)
    intra_row = next(line for line in text.splitlines() if line.startswith("clk_100             2.089"))
    spi_setup = "spi_clk             0.750        0.000                      0                   40"
    spi_row = spi_setup + intra_row[len(spi_setup) :]  # same hold and pulse-width columns as clk_100
    text = text.replace(intra_row, intra_row + "\n" + spi_row)
    report = vivado.parse_timing_summary(text)
    assert list(report.clocks) == ["clk_100", "spi_clk"]
    spi = report.clocks["spi_clk"]
    assert (spi.period_ns, spi.frequency_mhz) == (16.129, 62.0)
    assert (spi.wns_ns, spi.setup_total_endpoints) == (0.75, 40)
    assert spi.fmax_mhz == pytest.approx(1000 / (16.129 - 0.75))
    assert report.main_clock.name == "clk_100"
    assert report.fmax_mhz == pytest.approx(1000 / (10.0 - 2.089))
