"""Which trials the study plots draw where (data, not pixels), and that every picture is written."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from dse.config import SearchConfig, parse_config
from dse.plot_data import non_dominated_2d, objective_pairs, split_trials
from dse.plots import write_plots

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
NAMES = ["accuracy", "energy_uj", "latency_us"]


def config() -> SearchConfig:
    return parse_config(
        {
            "study": {"name": "plots"},
            "dataset": {"kind": "digits"},
            "objectives": [{"name": name} for name in NAMES],
        }
    )


def add(study: optuna.Study, values: list[float] | None, *, trained: bool = True, **constraints: float) -> None:
    state = optuna.trial.TrialState.COMPLETE if values is not None else optuna.trial.TrialState.FAIL
    study.add_trial(
        optuna.trial.create_trial(
            state=state,
            values=values,
            user_attrs={"trained": trained} if values is not None else {"fail_reason": "timeout: no result"},
            system_attrs={f"constraints:{name}": value for name, value in constraints.items()},
        )
    )


def make_study() -> optuna.Study:
    """Energy and latency move together (energy = latency / 10); accuracy trades off against both."""
    study = optuna.create_study(directions=["maximize", "minimize", "minimize"])
    for accuracy, latency in [(0.90, 5.0), (0.95, 8.0), (0.97, 12.0), (0.93, 9.0), (0.96, 20.0)]:
        add(study, [accuracy, latency / 10, latency], dsp=-1.0, lut=-100.0)  # 0..4 feasible
    add(study, [0.0, 0.3, 3.0], trained=False, dsp=12.0, lut=-5.0)  # 5: broke dsp, placeholder accuracy 0
    add(study, [0.0, 0.9, 9.0], trained=False, dsp=4.0, lut=300.0)  # 6: broke dsp and lut
    add(study, None)  # 7: failed
    study.add_trial(optuna.trial.create_trial(state=optuna.trial.TrialState.RUNNING))  # 8: left out
    return study


def test_every_finished_trial_is_in_exactly_one_group() -> None:
    groups = split_trials(make_study())
    assert [t.number for t in groups.feasible] == [0, 1, 2, 3, 4]
    assert [t.number for t in groups.infeasible] == [5, 6]
    assert [t.number for t in groups.failed] == [7]
    assert groups.broken == {5: ["dsp"], 6: ["dsp", "lut"]}
    # Trial 3 is dominated by 1 in all objectives; trial 4 is the most accurate-but-one and slowest: dominated by 2.
    assert groups.front_numbers == {0, 1, 2}


def test_infeasible_trials_never_reach_the_quality_axis() -> None:
    groups = split_trials(make_study())
    assert all(t.values[0] > 0.5 for t in groups.feasible)  # the placeholder 0.0 of trials 5 and 6 is not drawn
    assert 0.0 not in {t.values[0] for t in groups.feasible}


def test_redundant_pair_is_left_out_and_cost_goes_on_x() -> None:
    groups = split_trials(make_study())
    pairs = objective_pairs(NAMES, groups.feasible)
    assert pairs.shown == [(1, 0), (2, 0)]  # (x, y): energy and latency along x, accuracy up y
    assert [(i, j) for i, j, _ in pairs.redundant] == [(1, 2)]
    assert pairs.redundant[0][2] == pytest.approx(1.0)


def test_too_few_points_keep_every_pair() -> None:
    groups = split_trials(make_study())
    assert len(objective_pairs(NAMES, groups.feasible[:2]).shown) == 3


def test_non_dominated_2d() -> None:
    import numpy as np

    points = np.array([[5.0, 0.90], [8.0, 0.95], [9.0, 0.93], [12.0, 0.97]])  # (latency min, accuracy max)
    assert non_dominated_2d(points, (True, False)).tolist() == [0, 1, 3]


def test_write_plots(tmp_path: Path) -> None:
    (tmp_path / "pareto_energy_uj_vs_latency_us.png").write_bytes(b"stale")
    notes: list[str] = []
    written = write_plots(make_study(), config(), tmp_path, notes)
    assert {p.name for p in written} == {
        "pareto_accuracy_vs_energy_uj.png",
        "pareto_accuracy_vs_latency_us.png",
        "objectives.png",
        "pareto.html",
        "hypervolume.png",
    }
    assert not (tmp_path / "pareto_energy_uj_vs_latency_us.png").exists()
    assert any("energy_uj vs latency_us" in note for note in notes)
    for path in written:
        if path.suffix == ".png":
            assert path.read_bytes()[:8] == PNG_MAGIC
    page = (tmp_path / "pareto.html").read_text()
    assert "<script src=" not in page  # plotly.js inline: opens without network
    assert "1 infeasible, broke dsp</li>" in page and "1 failed: timeout</li>" in page
