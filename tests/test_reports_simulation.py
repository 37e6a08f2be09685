"""SimulationResult: the project's simulation JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dse.reports.simulation import SimulationResult, load_simulation_result, parse_simulation_result

VALID = {"passed": True, "n_vectors": 1000, "mismatches": 0, "latency_cycles": 364, "ii_cycles": 121}


def test_valid_result_with_extra_keys(tmp_path: Path) -> None:
    path = tmp_path / "sim.json"
    path.write_text(json.dumps({**VALID, "simulator": "ghdl-llvm", "seed": 7}))
    result = load_simulation_result(path)
    assert result.passed is True
    assert (result.n_vectors, result.mismatches, result.latency_cycles, result.ii_cycles) == (
        1000,
        0,
        364,
        121,
    )
    assert result.model_extra == {"simulator": "ghdl-llvm", "seed": 7}


def test_failed_run_with_mismatches() -> None:
    result = parse_simulation_result(json.dumps({**VALID, "passed": False, "mismatches": 3}))
    assert (result.passed, result.mismatches) == (False, 3)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"passed": "yes"}, r"passed: Input should be a valid boolean"),
        ({"n_vectors": -1}, r"n_vectors: Input should be greater than or equal to 0"),
        ({"ii_cycles": 0}, r"ii_cycles: Input should be greater than or equal to 1"),
        ({"latency_cycles": "364"}, r"latency_cycles: Input should be a valid integer"),
        ({"mismatches": 2}, r"passed is true but there are mismatches"),
        ({"passed": False, "mismatches": 1001}, r"mismatches \(1001\) > n_vectors \(1000\)"),
    ],
)
def test_invalid_values_are_named(change: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=rf"sim\.json: not a valid simulation result JSON \(.*{message}"):
        parse_simulation_result(json.dumps({**VALID, **change}), "sim.json")


def test_missing_key_and_garbage() -> None:
    without_ii = {key: value for key, value in VALID.items() if key != "ii_cycles"}
    with pytest.raises(ValueError, match=r"ii_cycles: Field required"):
        parse_simulation_result(json.dumps(without_ii), "sim.json")
    with pytest.raises(ValueError, match=r"sim\.json: not a valid simulation result JSON \(<root>: Invalid JSON"):
        parse_simulation_result("PASS 1000 vectors", "sim.json")


def test_model_is_frozen() -> None:
    result = SimulationResult(**VALID)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        result.passed = False  # type: ignore[misc]
