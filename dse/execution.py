"""Where trial work runs: in the driver process, in local worker processes, or (dse.ray_backend) on Ray."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, Protocol

from dse.config import ExecutionSection


class Executor(Protocol):
    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Future[Any]: ...

    def shutdown(self) -> None: ...


class InlineExecutor:
    """One worker: run in the driver process (simplest, deterministic, debuggable)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args))
        except Exception as error:  # the driver records it as a failed trial
            future.set_exception(error)
        return future

    def shutdown(self) -> None:
        pass


class LocalProcessExecutor:
    """N worker processes on this machine (spawned, so torch and the driver do not share state)."""

    def __init__(self, workers: int) -> None:
        self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Future[Any]:
        return self._pool.submit(fn, *args)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def make_executor(section: ExecutionSection, temp_dir: str) -> Executor:
    if section.backend == "ray":
        from dse.ray_backend import RayExecutor

        return RayExecutor(section, temp_dir)
    if section.workers == 1:
        return InlineExecutor()
    return LocalProcessExecutor(section.workers)
