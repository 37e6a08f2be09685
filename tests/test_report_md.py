"""report.md: exact figures next to synthesis, and a power and energy breakdown that adds up, with sources."""

from __future__ import annotations

from pathlib import Path

import pytest

from contract.design import AcceleratorDesign
from contract.fixedpoint import FixedFormat
from contract.layers import DenseFolding, DenseLayer
from dse.report_md import exact, write_report
from estimators import default_calibration, estimate_design
from estimators.breakdown import ASSUMED, CALIBRATED, energy_terms

Q = FixedFormat(8, 4)
W = FixedFormat(4, 2)


def design(device: str = "xc7s15", mcu_tail: bool = True) -> AcceleratorDesign:
    layers = [DenseLayer(64, 16, "relu", Q, W, Q, folding=DenseFolding(pe=4, simd=2))]
    layers.append(DenseLayer(16, 10, "identity", Q, W, Q, placement="mcu" if mcu_tail else "fpga"))
    return AcceleratorDesign(tuple(layers), device, 100.0 if device != "ice40up5k" else 24.0)


@pytest.mark.parametrize(
    ("device", "mcu_tail", "activity"),
    [("xc7s15", True, None), ("xc7s15", False, 0.5), ("ice40up5k", True, None), ("ice40up5k", False, 0.3)],
)
def test_terms_add_up_to_the_estimated_energy(device: str, mcu_tail: bool, activity: float | None) -> None:
    chosen = design(device, mcu_tail)
    calibration = default_calibration("ice40" if device == "ice40up5k" else "xc7")
    estimate = estimate_design(chosen, calibration, activity=activity)
    terms = energy_terms(estimate.as_dict(), calibration)
    assert sum(t.energy_nj for t in terms) / 1000 == pytest.approx(estimate.energy_uj, rel=1e-12)
    assert {t.kind for t in terms} <= {CALIBRATED, ASSUMED}
    board = {t.name: t for t in terms}
    assert board["MCU (RP2040) active"].kind == ASSUMED and board["SPI link"].kind == ASSUMED
    if device == "ice40up5k":  # no fitted power yet: prior coefficients and the device table's static power
        assert board["FPGA dynamic"].kind == ASSUMED and "devices.yaml" in board["FPGA static"].source


def record(synthesis_bram: float = 0.5) -> dict[str, object]:
    chosen = design(mcu_tail=False)
    calibration = default_calibration("xc7")
    estimate = estimate_design(chosen, calibration).as_dict()
    estimate.update(lut=523.71, ff=301.0, dsp=4, bram=0.5)  # a half BRAM, as RAMB18 counts
    terms = [t.as_dict() for t in energy_terms(estimate, calibration)]
    return {
        "study": "s",
        "trial": 3,
        "objectives": {"accuracy": 0.9, "energy_uj": estimate["energy_uj"]},
        "metrics": {"val_accuracy": 0.9, "test_accuracy": 0.88},
        "design": chosen.to_dict(),
        "estimate": estimate,
        "energy": {"terms": terms, "calibration": "xc7.json", "power_source": "fit", "board_source": "board doc"},
        "synthesis": {"lut": 530, "ff": 301, "dsp": 4, "bram": synthesis_bram, "fmax_mhz": None, "tool_versions": {}},
        "labels": {"file": "labels.json", "outputs": ["cat", "dog"]},
    }


def test_exact_figures() -> None:
    assert exact(0.5) == "0.5" and exact(4.0) == "4" and exact(523.714) == "523.714" and exact(12) == "12"


def test_report_prints_exact_figures_and_an_energy_sum(tmp_path: Path) -> None:
    path = tmp_path / "report.md"
    write_report(path, record())
    text = path.read_text()
    assert "| BRAM | 0.5 | 0.5 | exact |" in text
    assert "| LUT | 523.71 | 530 | -1.2 % |" in text
    write_report(path, record(synthesis_bram=1.0))
    assert "| BRAM | 0.5 | 1 | -50.0 % |" in path.read_text()
    rows = [line for line in text.splitlines() if line.startswith("| FPGA") or line.startswith("| MCU")]
    rows += [line for line in text.splitlines() if line.startswith("| SPI")]
    energies = [float(line.split("|")[5]) for line in rows]
    total = next(line for line in text.splitlines() if line.startswith("| **total**"))
    assert sum(energies) == pytest.approx(float(total.split("|")[5].strip(" *")), abs=1e-3)
    assert "assumed: xc7.json board.mcu_active_mw" in text and "calibrated: xc7.json power.static_mw" in text
    assert "0 → 'cat', 1 → 'dog'" in text and "lowest index wins" in text
    assert "test_accuracy = 0.88" in text


def test_report_sets_measured_fmax_and_logic_cells_against_the_estimate(tmp_path: Path) -> None:
    data = record()
    data["estimate"] |= {"fmax_mhz": 120.0, "logic_cells": 0.0}
    data["estimate_pre_training"] = {**data["estimate"], "lut": 600.0}
    data["synthesis"] |= {"fmax_mhz": 150.0, "fmax_source": "yosys sta (open flow)", "logic_cells": None}
    path = tmp_path / "report.md"
    write_report(path, data)
    text = path.read_text()
    assert "| fmax | 120.0 MHz | 150.0 MHz | -20.0 %; meets the target (100.0 MHz) |" in text
    assert "Measured fmax: yosys sta (open flow)." in text
    assert "| LUT before training | 600 | 530 | +13.2 % |" in text
    assert "logic cells" not in text  # xc7: no packing figure
    data["estimate"] |= {"logic_cells": 5000.0}
    data["synthesis"] |= {"logic_cells": 5400, "placed": False}
    write_report(path, data)
    assert "| logic cells | 5000 | 5400 (**did not place**) | -7.4 % |" in path.read_text()
