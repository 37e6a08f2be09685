"""Local worker processes: results, errors, lost workers, aborts; 2 workers evaluate what 1 worker does."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import scaleout_support as support

from dse.config import ExecutionSection
from dse.execution import (
    InlineExecutor,
    LocalProcessExecutor,
    RemoteError,
    TaskAborted,
    WorkerLost,
    describe,
    make_executor,
)
from dse.search import run_search


@pytest.fixture(scope="module")
def pool() -> LocalProcessExecutor:
    executor = LocalProcessExecutor(2)
    yield executor
    executor.shutdown()


def test_results_and_parallelism(pool: LocalProcessExecutor) -> None:
    assert [pool.submit(support.double, i).result(timeout=60) for i in range(4)] == [0, 2, 4, 6]
    futures = [pool.submit(support.sleep_then, 1.0, i) for i in range(2)]
    started = time.monotonic()
    assert [f.result(timeout=60) for f in futures] == [0, 1]
    assert time.monotonic() - started < 1.9  # both ran at once


def test_unpicklable_exception_keeps_its_type_name(pool: LocalProcessExecutor) -> None:
    error = pool.submit(support.raise_unpicklable).exception(timeout=60)
    assert isinstance(error, RemoteError)
    assert describe(error) == "NotPicklable: failed in epoch 3: loss is nan"


def test_dead_worker_fails_only_its_task(pool: LocalProcessExecutor) -> None:
    error = pool.submit(support.exit_always).exception(timeout=60)
    assert isinstance(error, WorkerLost) and "exit code 67" in str(error)
    assert pool.submit(support.double, 21).result(timeout=60) == 42  # replaced worker


def test_abort_kills_a_running_task(pool: LocalProcessExecutor) -> None:
    future = pool.submit(support.sleep_then, 600.0, 1)
    time.sleep(0.5)
    started = time.monotonic()
    pool.abort(future)
    assert isinstance(future.exception(timeout=10), TaskAborted)
    assert time.monotonic() - started < 5
    assert pool.submit(support.double, 5).result(timeout=60) == 10


def test_make_executor_choices() -> None:
    assert isinstance(make_executor(ExecutionSection(workers=1), "/tmp"), InlineExecutor)
    timed = make_executor(ExecutionSection(workers=1, trial_timeout_s=5), "/tmp")
    try:
        assert isinstance(timed, LocalProcessExecutor)  # a timeout needs a killable process
    finally:
        timed.shutdown()


@pytest.mark.e2e
def test_two_workers_evaluate_the_same_candidates_as_one(tmp_path: Path) -> None:
    """Random sampler, fixed seed: asks happen in the same order whatever the parallelism."""
    one = run_search(support.tiny_config(6), results_dir=tmp_path / "one")
    two = run_search(support.tiny_config(6, execution={"workers": 2}), results_dir=tmp_path / "two")
    assert one.completed == two.completed == 6
    a, b = support.load(tmp_path / "one"), support.load(tmp_path / "two")
    by_params_a = {support.param_key(t.params): t.values for t in a.trials}
    by_params_b = {support.param_key(t.params): t.values for t in b.trials}
    assert set(by_params_a) == set(by_params_b) and len(by_params_a) == 6
    for key, values in by_params_a.items():
        np.testing.assert_allclose(by_params_b[key], values, rtol=1e-9)  # training is seeded per trial
