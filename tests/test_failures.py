"""A failing trial is recorded (FAIL + fail_reason in trials.csv), not fatal; max_failures stops the study."""

from __future__ import annotations

from pathlib import Path

import pytest
import scaleout_support as support

from dse.faults import FAULT_ENV, Fault, parse_faults
from dse.search import SearchAborted, run_search


def test_parse_faults() -> None:
    assert parse_faults("raise:3, nan:5,sleep:*=0.5") == (
        Fault("raise", 3),
        Fault("nan", 5),
        Fault("sleep", None, 0.5),
    )
    with pytest.raises(ValueError, match="KIND:TRIAL"):
        parse_faults("explode:1")


@pytest.mark.e2e  # waits out a 12 s trial timeout
def test_exception_nan_timeout_and_lost_worker_fail_single_trials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(FAULT_ENV, "raise:1,nan:2,sleep:3=600,exit:4")
    config = support.tiny_config(5, execution={"workers": 2, "trial_timeout_s": 12})
    summary = run_search(config, results_dir=tmp_path)
    frame = support.trials(tmp_path).set_index("number")
    reasons = frame["fail_reason"].fillna("")
    assert reasons[1] == "RuntimeError: injected fault in trial 1 (DSE_FAULT_INJECT)"
    # A real divergence: the infinite learning rate makes the loss NaN inside dse.training's loop.
    assert reasons[2].startswith("TrainingDiverged: training diverged in epoch 0")
    assert reasons[3] == "timeout: no result within execution.trial_timeout_s = 12.0 s"
    assert reasons[4].startswith("WorkerLost: worker process died (exit code 70)")
    assert list(frame.loc[[1, 2, 3, 4], "state"]) == ["FAIL"] * 4
    # The study went on: 5 COMPLETE in the end, all with a quality value and no reason.
    complete = frame[frame["state"] == "COMPLETE"]
    assert len(complete) == summary.completed == 5 and summary.failed == 4
    assert complete["accuracy"].between(0, 1).all() and (complete["fail_reason"].isna()).all()


def test_max_failures_stops_with_a_clear_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(FAULT_ENV, "raise:*")
    config = support.tiny_config(6, max_failures=3)
    with pytest.raises(
        SearchAborted,
        match=r"stopped after 3 failed trials \(search.max_failures = 3\); last "
        r"reason: RuntimeError: injected fault in trial 2",
    ):
        run_search(config, results_dir=tmp_path)
    frame = support.trials(tmp_path)  # written even though the search stopped
    assert list(frame["state"]) == ["FAIL"] * 3
