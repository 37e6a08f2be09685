"""nextpnr-ice40 log and icetime report parsers against the real reports in ../shared/reference-reports."""

from __future__ import annotations

import pytest
from reference_reports import read_reference

from dse.reports import nextpnr


def reference_text(name: str) -> str:
    return read_reference("nextpnr-ice40up5k-env6mini/" + name)


def test_log_device_utilisation() -> None:
    log = nextpnr.parse_log(reference_text("TOP_MODULE_util_impl.rpt"), "impl.rpt")
    assert log.logic_cells == nextpnr.BelUsage(used=162, available=5280, percent=3)
    assert log.utilisation["ICESTORM_RAM"] == nextpnr.BelUsage(0, 30, 0)
    assert log.utilisation["SB_IO"] == nextpnr.BelUsage(11, 39, 28)
    assert log.utilisation["SB_GB"] == nextpnr.BelUsage(7, 8, 87)
    assert log.utilisation["ICESTORM_DSP"] == nextpnr.BelUsage(0, 8, 0)
    assert log.utilisation["ICESTORM_SPRAM"] == nextpnr.BelUsage(0, 4, 0)
    assert len(log.utilisation) == 15


def test_log_fmax_is_the_post_route_value() -> None:
    log = nextpnr.parse_log(reference_text("TOP_MODULE_util_impl.rpt"))
    # The log reports 44.69 MHz after placement and 60.47 MHz after routing.
    assert log.clocks == {"CLK_SYS": nextpnr.ClockFmax("CLK_SYS", 60.47, True, 20.0)}
    assert log.fmax_mhz == 60.47
    assert log.max_delays_ns == {
        "<async> -> <async>": 6.98,
        "<async> -> posedge CLK_SYS": 15.17,
        "posedge CLK_SYS -> <async>": 12.30,
    }


def test_log_critical_paths() -> None:
    log = nextpnr.parse_log(reference_text("TOP_MODULE_util_impl.rpt"))
    assert [path.path for path in log.critical_paths] == [
        "clock 'CLK_SYS' (posedge -> posedge)",
        "cross-domain path '<async>' -> '<async>'",
        "cross-domain path '<async>' -> 'posedge CLK_SYS'",
        "cross-domain path 'posedge CLK_SYS' -> '<async>'",
    ]
    clock_path = log.critical_paths[0]
    assert (clock_path.logic_ns, clock_path.routing_ns) == (5.49, 11.05)
    assert clock_path.total_ns == pytest.approx(16.54)  # 1000 / 16.54 ns = 60.46 MHz, the fmax line (rounded)


def test_failing_clock_is_reported() -> None:
    text = reference_text("TOP_MODULE_util_impl.rpt").replace(
        "Max frequency for clock 'CLK_SYS': 60.47 MHz (PASS at 20.00 MHz)",
        "Max frequency for clock 'CLK_SYS': 60.47 MHz (FAIL at 100.00 MHz)",
    )
    clock = nextpnr.parse_log(text).clocks["CLK_SYS"]
    assert (clock.passed, clock.target_mhz) == (False, 100.0)


def test_icetime_critical_path_report() -> None:
    report = nextpnr.parse_icetime_report(reference_text("TOP_MODULE_timing.rpt"), "timing.rpt")
    assert report.total_path_delay_ns == 17.00
    assert report.fmax_mhz == 58.82
    assert report.logic_levels == 3
    assert report.net_names == [
        "SPI_MOD.DFOR_MIDDLEWARE_SB_DFFESR_Q_E[1]",
        "SPI_CSN_SB_LUT4_I1_O[1]",
        "SPI_CSN_SB_LUT4_I1_O_SB_LUT4_I3_O",
    ]


def test_garbage_inputs() -> None:
    with pytest.raises(ValueError, match=r"x\.log: not a nextpnr log: expected an 'Info: Device utilisation:'"):
        nextpnr.parse_log("Info: Program finished normally.\n", "x.log")
    with pytest.raises(ValueError, match=r"x\.rpt: not an icetime critical-path report: expected 'Report for"):
        nextpnr.parse_icetime_report(reference_text("TOP_MODULE_util_sync.rpt"), "x.rpt")
