"""Kill -9 and rerun: finished trials survive unchanged, interrupted ones are failed and retried once."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
import scaleout_support as support

from dse.faults import FAULT_ENV
from dse.search import INTERRUPTED, make_sampler, open_study, recover_interrupted

N_TRIALS = 6
DRIVER = """
import sys
from pathlib import Path

import yaml

from dse.config import parse_config
from dse.search import run_search

if __name__ == "__main__":
    config = parse_config(yaml.safe_load(Path(sys.argv[1]).read_text()))
    print(run_search(config, results_dir=Path(sys.argv[2])))
"""


def _states(results: Path) -> dict[str, list[optuna.trial.FrozenTrial]]:
    study = support.load(results)
    out: dict[str, list[optuna.trial.FrozenTrial]] = {}
    for trial in study.get_trials(deepcopy=False):
        out.setdefault(trial.state.name, []).append(trial)
    return out


def _counts_while_running(db: Path) -> dict[str, int]:
    """Read-only SQL: opening the study with Optuna could create its tables and race the driver doing so.

    "SAMPLED": RUNNING trials whose candidate is complete (the driver stores it after the last suggest), so that a
    kill does not land between ask and the parameters, where the retry would have nothing to repeat.
    """
    if not db.exists():
        return {}
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as connection:
            counts = dict(connection.execute("SELECT state, COUNT(*) FROM trials GROUP BY state").fetchall())
            (sampled,) = connection.execute(
                "SELECT COUNT(*) FROM trials JOIN trial_user_attributes USING (trial_id) "
                "WHERE state = 'RUNNING' AND key = 'candidate'"
            ).fetchone()
            return {**counts, "SAMPLED": sampled}
    except sqlite3.OperationalError:  # tables not created yet, or locked for a moment
        return {}


@pytest.mark.e2e  # a whole search: in `make test`, not in `make test-fast`
def test_kill_and_rerun(tmp_path: Path) -> None:
    import yaml

    results = tmp_path / "results"
    search = tmp_path / "search.yaml"
    search.write_text(yaml.safe_dump(support.tiny_config(N_TRIALS).model_dump(mode="json")))
    (tmp_path / "driver.py").write_text(DRIVER)
    command = [sys.executable, str(tmp_path / "driver.py"), str(search), str(results)]
    # Every trial sleeps 1 s first, so the kill lands while one is RUNNING.
    env = {**os.environ, FAULT_ENV: "sleep:*=1"}
    first = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while True:
        assert first.poll() is None, first.stderr.read().decode() if first.stderr else "driver exited"
        assert time.monotonic() < deadline, "no 2 completed trials within 120 s"
        counts = _counts_while_running(results / "study.db")
        if counts.get("COMPLETE", 0) >= 2 and counts.get("SAMPLED", 0):
            break
        time.sleep(0.1)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    before = _states(results)
    complete_before = {t.number: t.values for t in before["COMPLETE"]}
    running_before = {t.number: t for t in before["RUNNING"]}
    assert len(complete_before) >= 2 and running_before

    second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr
    assert "interrupted by an earlier crash" in second.stderr

    after = support.load(results).get_trials(deepcopy=False)
    by_number = {t.number: t for t in after}
    for number, values in complete_before.items():  # unchanged, not re-run
        assert by_number[number].state == optuna.trial.TrialState.COMPLETE
        assert by_number[number].values == values
    for number, interrupted in running_before.items():
        assert by_number[number].state == optuna.trial.TrialState.FAIL
        assert by_number[number].user_attrs["fail_reason"] == INTERRUPTED
        retries = [t for t in after if t.user_attrs.get("retry_of") == number]
        assert len(retries) == 1
        assert retries[0].state == optuna.trial.TrialState.COMPLETE
        if "candidate" in interrupted.user_attrs:  # all parameters were recorded: the retry reruns the same candidate
            assert retries[0].params == interrupted.params
        else:  # the trial that finished just before the kill had a successor still sampling: the retry keeps
            # the parameters recorded so far and samples the rest
            assert interrupted.params.items() <= retries[0].params.items()
    complete = [t for t in after if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(complete) == N_TRIALS
    # No candidate twice, except a retry of an interrupted trial (whose first attempt is FAIL, not COMPLETE).
    keys = [support.param_key(t.params) for t in complete]
    assert len(set(keys)) == len(keys)
    frame = support.trials(results)
    assert list(frame.loc[frame["state"] == "FAIL", "fail_reason"]) == [INTERRUPTED] * len(running_before)


def _running_trial(study: optuna.Study) -> optuna.Trial:
    trial = study.ask()
    trial.suggest_int("width_0", 4, 24)
    trial.suggest_categorical("weight_bits", [3, 4, 8])
    return trial


def test_recover_interrupted_is_idempotent(tmp_path: Path) -> None:
    study = optuna.create_study(storage=f"sqlite:///{tmp_path / 's.db'}", study_name="s")
    trial = _running_trial(study)
    assert recover_interrupted(study) == 1
    assert recover_interrupted(study) == 0
    trials = study.get_trials(deepcopy=False)
    assert [t.state.name for t in trials] == ["FAIL", "WAITING"]
    assert trials[0].user_attrs["fail_reason"] == INTERRUPTED
    assert trials[1].user_attrs["retry_of"] == trial.number
    retry = study.ask()  # the queued trial comes first and gets the interrupted trial's parameters
    assert retry.number == 1
    assert retry.suggest_int("width_0", 4, 24) == trial.params["width_0"]
    assert retry.suggest_categorical("weight_bits", [3, 4, 8]) == trial.params["weight_bits"]


def test_resumed_random_sampler_does_not_replay(tmp_path: Path) -> None:
    config = support.tiny_config(4)
    assert make_sampler(config, 0)._rng.rng.randint(1 << 30) == make_sampler(config, 0)._rng.rng.randint(1 << 30)
    study = open_study(config, tmp_path)
    first = [_running_trial(study).params for _ in range(3)]
    resumed = open_study(config, tmp_path)  # 3 trials exist: a different, still reproducible seed
    again = [_running_trial(resumed).params for _ in range(3)]
    assert first != again


@pytest.mark.parametrize("count", [1, 5])
def test_make_sampler_seed_depends_on_existing_trials(count: int) -> None:
    config = support.tiny_config(4)
    draws = [make_sampler(config, n)._rng.rng.randint(1 << 30) for n in (0, count, count)]
    assert draws[0] != draws[1] == draws[2]
