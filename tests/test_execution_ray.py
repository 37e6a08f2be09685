"""The Ray backend on one private local cluster shared by this module (ray.init costs 3-7 s)."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import ray
import scaleout_support as support

from dse.config import ExecutionSection
from dse.execution import RemoteError, TaskAborted, WorkerLost, describe
from dse.faults import FAULT_ENV
from dse.ray_backend import RayExecutor, short_temp_dir, start_local_ray
from dse.search import run_search

pytestmark = pytest.mark.e2e  # starting Ray alone takes 3-8 s; the searches on it take tens of seconds

_AUTH = ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH")


def _tree(root: Path) -> dict[str, tuple[int, int]] | None:
    """Every entry under `root` (itself included) with its size and mtime; None if `root` does not exist."""
    if not root.exists():
        return None
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in [root, *root.rglob("*")]}


@pytest.fixture(scope="module", autouse=True)
def ray_session() -> Iterator[Path]:
    saved = {name: os.environ.get(name) for name in _AUTH}
    temp = Path(tempfile.mkdtemp(prefix="dse-ray-test-"))
    home_ray = Path.home() / ".ray"
    # Compare contents, not existence: a ~/.ray left by another Ray user must not make the check pass by itself.
    before = _tree(home_ray)
    start_local_ray(2, str(temp))
    # Ray workers do not have tests/ on sys.path (dse itself is installed): ship the helpers by value.
    ray.cloudpickle.register_pickle_by_value(support)
    yield temp
    ray.cloudpickle.unregister_pickle_by_value(support)
    ray.shutdown()
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    shutil.rmtree(temp, ignore_errors=True)
    assert _tree(home_ray) == before, f"Ray wrote into {home_ray}"


@pytest.fixture()
def executor() -> Iterator[RayExecutor]:
    yield (made := RayExecutor(ExecutionSection(backend="ray", workers=2), "unused"))
    made.shutdown()


def test_short_temp_dir_respects_the_socket_limit(tmp_path: Path) -> None:
    assert short_temp_dir("/tmp/r") == "/tmp/r"
    long = tmp_path / ("x" * 60)
    chosen = short_temp_dir(str(long))
    assert len(chosen) <= 45 and Path(chosen).is_dir()
    os.rmdir(chosen)
    shutil.rmtree("/tmp/r", ignore_errors=True)


def test_results_errors_and_aborts(executor: RayExecutor) -> None:
    assert executor.submit(support.double, 21).result(timeout=60) == 42
    error = executor.submit(support.raise_unpicklable).exception(timeout=60)
    assert isinstance(error, RemoteError) and describe(error) == "NotPicklable: failed in epoch 3: loss is nan"
    future = executor.submit(support.sleep_then, 600.0, 1)
    time.sleep(1.0)
    started = time.monotonic()
    executor.abort(future)
    assert isinstance(future.exception(timeout=10), TaskAborted)
    assert time.monotonic() - started < 5
    # The CPU is free again: two more tasks finish together.
    futures = [executor.submit(support.sleep_then, 0.5, i) for i in range(2)]
    assert [f.result(timeout=60) for f in futures] == [0, 1]


def test_lost_worker_is_retried_then_recorded(executor: RayExecutor, tmp_path: Path) -> None:
    assert executor.submit(support.exit_on_first_attempt, str(tmp_path / "m1")).result(timeout=120) == "second attempt"
    no_retry = RayExecutor(ExecutionSection(backend="ray", workers=2), "unused", max_retries=0)
    error = no_retry.submit(support.exit_on_first_attempt, str(tmp_path / "m2")).exception(timeout=120)
    assert isinstance(error, WorkerLost) and "after 0 retries" in str(error)


def test_two_ray_workers_match_one_inline_worker(tmp_path: Path) -> None:
    one = run_search(support.tiny_config(6), results_dir=tmp_path / "one")
    two = run_search(support.tiny_config(6, execution={"backend": "ray", "workers": 2}), results_dir=tmp_path / "two")
    assert one.completed == two.completed == 6 and two.failed == 0
    a = {support.param_key(t.params): t.values for t in support.load(tmp_path / "one").trials}
    b = {support.param_key(t.params): t.values for t in support.load(tmp_path / "two").trials}
    assert set(a) == set(b) and len(a) == 6
    for key, values in a.items():
        np.testing.assert_allclose(b[key], values, rtol=1e-9)
    assert ray.is_initialized()  # the module's session was reused, not shut down by the search


def test_search_on_ray_survives_a_lost_worker_and_a_diverged_trial(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(FAULT_ENV, "exit:0,nan:1")
    config = support.tiny_config(3, execution={"backend": "ray", "workers": 2, "trial_timeout_s": 120})
    summary = run_search(config, results_dir=tmp_path)
    frame = support.trials(tmp_path).set_index("number")
    assert frame.loc[0, "state"] == "COMPLETE"  # the worker died on the first attempt; Ray's retry finished it
    assert (tmp_path / "trials" / "00000" / ".injected-exit").exists()
    assert frame.loc[1, "state"] == "FAIL"
    assert frame.loc[1, "fail_reason"].startswith("TrainingDiverged: training diverged in epoch 0")
    assert summary.completed == 3 and summary.failed == 1


def test_an_address_where_nothing_answers_is_named_at_once() -> None:
    import socket

    from dse.ray_backend import check_reachable

    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there now
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    for address in (f"127.0.0.1:{port}", f"ray://127.0.0.1:{port}"):
        with pytest.raises(ValueError, match=rf"execution.address '{address}': nothing answers at 127.0.0.1:{port}"):
            check_reachable(address)
    check_reachable("auto")  # left to Ray
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        check_reachable(f"127.0.0.1:{server.getsockname()[1]}")  # something answers: no error
