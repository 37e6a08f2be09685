"""Choosing the trial to export: by number, knee, and `max X where Y <= v`."""

from __future__ import annotations

import optuna
import pytest

from dse.pick import by_number, knee, pick_by_expression

NAMES = ["accuracy", "energy_uj"]


def make_study(points: list[tuple[float, float, float, bool]]) -> optuna.Study:
    """points: (accuracy, energy_uj, latency_us, feasible)."""
    study = optuna.create_study(directions=["maximize", "minimize"])
    for accuracy, energy, latency, feasible in points:
        study.add_trial(
            optuna.trial.create_trial(
                values=[accuracy, energy],
                user_attrs={
                    "trained": True,
                    "estimate": {"latency_us": latency, "energy_uj": energy, "lut": 100},
                    "metrics": {"test_accuracy": accuracy - 0.01},
                },
                system_attrs={"constraints:lut": -1.0 if feasible else 5.0},
            )
        )
    return study


POINTS = [
    (0.90, 1.0, 5.0, True),  # 0: cheap
    (0.95, 2.0, 4.0, True),  # 1: knee
    (0.97, 6.0, 3.0, True),  # 2: accurate but expensive
    (0.99, 0.5, 1.0, False),  # 3: dominates everything but infeasible
    (0.80, 3.0, 9.0, True),  # 4: dominated
]


def test_knee_is_the_balanced_feasible_point() -> None:
    assert knee(make_study(POINTS)).number == 1


@pytest.mark.parametrize(
    ("expression", "number"),
    [
        ("max accuracy", 2),
        ("max accuracy where energy_uj <= 2", 1),
        ("MAX accuracy WHERE energy_uj <= 2 and latency_us < 4.5", 1),
        ("min energy_uj", 0),
        ("min latency_us where accuracy >= 0.9", 2),
        ("max test_accuracy where energy_uj < 1.5", 0),
    ],
)
def test_expressions(expression: str, number: int) -> None:
    assert pick_by_expression(make_study(POINTS), expression, NAMES).number == number


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("best", 'use "knee" or "max|min'),
        ("max speed", "unknown metric 'speed'; allowed: "),
        ("max accuracy where energy_uj ~ 3", "cannot read condition 'energy_uj ~ 3'"),
        ("max accuracy where energy_uj <= 0.1", "no feasible trained trial satisfies the condition"),
    ],
)
def test_bad_expressions(expression: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("|", r"\|").replace("(", r"\(")):
        pick_by_expression(make_study(POINTS), expression, NAMES)


def test_by_number() -> None:
    study = make_study(POINTS)
    assert by_number(study, 4).number == 4
    with pytest.raises(ValueError, match=r"--trial 9: not a completed, trained trial.*\[0, 1, 2, 3, 4\]"):
        by_number(study, 9)


@pytest.mark.parametrize("expression", ["max lut", "min lut"])
def test_ties_go_to_the_lowest_trial_number(expression: str) -> None:
    # Every trial has lut = 100: for max and for min the first feasible trial wins (docs/results.md).
    assert pick_by_expression(make_study(POINTS), expression, NAMES).number == 0
