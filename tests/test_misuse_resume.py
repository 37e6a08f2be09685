"""Resume and move: changing only how long to search resumes; a changed space is refused once, naming the parameter
(also when search.yaml was deleted); trials find their weights inside the study folder wherever it is."""

from __future__ import annotations

import os
from pathlib import Path

import optuna
import pytest

from dse.config import ConfigError, parse_config
from dse.studies import artifacts_dir
from dse.study_checks import check_space, prepare_results_dir

BASE = {
    "study": {"name": "t"},
    "dataset": {"kind": "digits"},
    "hardware": {"pe": {"choices": [1, 2, 4]}},
    "objectives": [{"name": "accuracy"}, {"name": "lut"}],
    "search": {"n_trials": 4},
}


def config(**changes: dict) -> object:
    return parse_config({**BASE, **changes})


def test_changing_only_n_trials_resumes(tmp_path: Path) -> None:
    prepare_results_dir(config(), tmp_path)
    prepare_results_dir(config(search={"n_trials": 9}, execution={"workers": 2}), tmp_path)
    assert "n_trials: 9" in (tmp_path / "search.yaml").read_text()


def test_changing_the_space_names_the_changed_field(tmp_path: Path) -> None:
    prepare_results_dir(config(), tmp_path)
    with pytest.raises(ConfigError, match=r"different search file \(changed: hardware\.pe\.choices\)"):
        prepare_results_dir(config(hardware={"pe": {"choices": [1, 8]}}), tmp_path)


def test_unchanged_search_yaml_is_not_rewritten(tmp_path: Path) -> None:
    prepare_results_dir(config(), tmp_path)
    snapshot = tmp_path / "search.yaml"
    stamp = snapshot.stat().st_mtime_ns - 10**9

    os.utime(snapshot, ns=(stamp, stamp))
    prepare_results_dir(config(), tmp_path)
    assert snapshot.stat().st_mtime_ns == stamp


def _study_with_trial(tmp_path: Path) -> optuna.Study:
    study = optuna.create_study(storage=f"sqlite:///{tmp_path / 's.db'}", study_name="t")
    trial = study.ask()
    trial.suggest_categorical("pe_0", [1, 2, 4])
    trial.suggest_int("width_0", 4, 16)
    study.tell(trial, state=optuna.trial.TrialState.FAIL)
    return study


def test_a_changed_choices_list_is_refused_before_any_trial(tmp_path: Path) -> None:
    study = _study_with_trial(tmp_path)
    check_space(config(), study, 64, 10)  # the same space continues
    check_space(config(model={"width": {"low": 2, "high": 32}}), study, 64, 10)  # a wider range is fine in Optuna
    with pytest.raises(ConfigError, match=r"parameter 'pe_0': the study's trials used choices \[1, 2, 4\]"):
        check_space(config(hardware={"pe": {"choices": [1, 8]}}), study, 64, 10)


def _trial(number: int, artifacts: str | None) -> optuna.trial.FrozenTrial:
    trial = optuna.trial.create_trial(value=1.0, user_attrs={} if artifacts is None else {"artifacts": artifacts})
    trial.number = number
    return trial


def test_artifacts_are_found_inside_the_study_folder(tmp_path: Path) -> None:
    moved = tmp_path / "moved"
    (moved / "trials" / "00003").mkdir(parents=True)
    assert artifacts_dir(moved, _trial(3, "trials/00003")) == moved / "trials" / "00003"
    # old studies stored absolute paths: a copied folder reads its own copy, not the original's weights
    original = tmp_path / "original" / "trials" / "00003"
    assert artifacts_dir(moved, _trial(3, str(original))) == moved / "trials" / "00003"
    assert artifacts_dir(tmp_path / "elsewhere", _trial(3, str(original))) == original


@pytest.mark.parametrize(("text", "problem"), [("garbage: [\n", "not valid YAML"), ("- 1\n", "not a mapping")])
def test_a_damaged_search_yaml_in_the_study_is_named_and_kept(tmp_path: Path, text: str, problem: str) -> None:
    (tmp_path / "search.yaml").write_text(text)
    with pytest.raises(ConfigError, match=rf"search\.yaml: {problem}.*settings of the study .* are unknown"):
        prepare_results_dir(config(), tmp_path)
    assert (tmp_path / "search.yaml").read_text() == text
