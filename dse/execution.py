"""Where trial work runs: in the driver process, in local worker processes, or (dse.ray_backend) on Ray.

Every executor returns concurrent futures, so the driver waits on all backends the same way. A failed task sets
an exception on its future; the driver turns it into a FAIL trial with `describe(error)` as the reason.
"""

from __future__ import annotations

import importlib
import math
import multiprocessing
import os
import pickle
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from multiprocessing.connection import Connection, wait
from queue import SimpleQueue
from typing import Any, Protocol

from dse.config import ExecutionSection

# Re-exported: the task errors live in dse.task_errors so that dse.ray_backend does not import this module.
from dse.task_errors import RemoteError as RemoteError
from dse.task_errors import TaskAborted as TaskAborted
from dse.task_errors import WorkerLost as WorkerLost
from dse.task_errors import describe as describe
from dse.task_errors import sendable


def mark_started(future: Future[Any], when: float | None) -> None:
    """Executors that can tell when a worker begins a task record it (None: queued or worker still starting)."""
    future.dse_started_at = when  # type: ignore[attr-defined]


def started_at(future: Future[Any], default: float) -> float:
    """When a worker began the task (monotonic); math.inf while it waits for a worker; `default` if unknown."""
    when = getattr(future, "dse_started_at", default)
    return math.inf if when is None else when


class Executor(Protocol):
    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Future[Any]: ...

    def abort(self, future: Future[Any]) -> None:
        """Stop the work behind `future` (kill its worker if it is running); the future ends with an error."""
        ...

    def shutdown(self) -> None: ...


class InlineExecutor:
    """One worker: run in the driver process (simplest, deterministic, debuggable; no timeouts)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args))
        except Exception as error:  # the driver records it as a failed trial
            future.set_exception(error)
        return future

    def abort(self, future: Future[Any]) -> None:
        pass  # already finished: inline work cannot be interrupted

    def shutdown(self) -> None:
        pass


def _exit_with_parent(parent: int) -> None:
    """A worker whose driver was killed (SIGKILL leaves no chance to clean up) stops within a second."""
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            os._exit(0)


def _worker_main(conn: Connection, parent: int, preload: tuple[str, ...]) -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core per worker; workers are the parallelism
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's business; it stops workers itself
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    for module in preload:  # heavy imports (torch: ~3 s) happen while the driver is still preparing trials
        try:
            importlib.import_module(module)
        except Exception:  # noqa: S112 - a task that needs the module reports the error itself
            continue
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        fn, args = message
        conn.send(("started", None))  # the driver's trial timeout counts from here, not from worker start-up
        try:
            reply: tuple[str, Any] = ("ok", fn(*args))
        except BaseException as error:  # noqa: BLE001 - everything is reported, the worker lives on
            reply = ("error", sendable(error))
        try:
            conn.send(reply)
        except Exception as error:  # an unpicklable result
            conn.send(("error", RemoteError(type(error).__name__, f"cannot send the result back: {error}")))


class _Slot:
    """One worker process, started on first use and again after it died or was killed."""

    def __init__(self, context: multiprocessing.context.SpawnContext, preload: tuple[str, ...]) -> None:
        self._context = context
        self._preload = preload
        self.process: multiprocessing.process.BaseProcess | None = None
        self.conn: Connection | None = None

    def ensure_started(self) -> tuple[multiprocessing.process.BaseProcess, Connection]:
        if self.process is None or not self.process.is_alive() or self.conn is None:
            self.kill()
            ours, theirs = self._context.Pipe()
            process = self._context.Process(target=_worker_main, args=(theirs, os.getpid(), self._preload), daemon=True)
            process.start()
            theirs.close()
            self.process, self.conn = process, ours
        return self.process, self.conn

    def kill(self) -> int | None:
        code = None
        if self.process is not None:
            if self.process.is_alive():
                self.process.kill()
            self.process.join(timeout=5)
            code = self.process.exitcode
        if self.conn is not None:
            self.conn.close()
        self.process, self.conn = None, None
        return code

    def stop(self) -> None:
        """Ask an idle worker to exit; kill it if it does not."""
        if self.process is not None and self.conn is not None and self.process.is_alive():
            try:
                self.conn.send(None)
                self.process.join(timeout=2)
            except OSError:
                pass
        self.kill()


class LocalProcessExecutor:
    """N worker processes on this machine (spawned, so torch and the driver do not share state).

    Unlike ProcessPoolExecutor, a worker that dies fails only its own task (WorkerLost) and is replaced, and a
    running task can be aborted (its worker is killed), which is what makes execution.trial_timeout_s real.
    """

    _POLL_S = 0.25  # how soon an abort request is noticed

    def __init__(self, workers: int, preload: tuple[str, ...] = ()) -> None:
        context = multiprocessing.get_context("spawn")
        self._tasks: SimpleQueue[tuple[Future[Any], Callable[..., Any], tuple[Any, ...]] | None] = SimpleQueue()
        self._lock = threading.Lock()
        self._aborted: set[Future[Any]] = set()
        self._current: dict[int, Future[Any]] = {}  # slot index -> its running task
        self._slots = [_Slot(context, preload) for _ in range(workers)]
        for slot in self._slots:  # start now: workers warm up while the driver asks for the first trials
            slot.ensure_started()
        self._threads = [
            threading.Thread(target=self._serve, args=(index, slot), name=f"dse-worker-{index}", daemon=True)
            for index, slot in enumerate(self._slots)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Future[Any]:
        future: Future[Any] = Future()
        mark_started(future, None)  # a trial timeout starts when a warmed-up worker takes the task
        self._tasks.put((future, fn, args))
        return future

    def abort(self, future: Future[Any]) -> None:
        if future.cancel():  # not started yet
            return
        with self._lock:
            self._aborted.add(future)

    def shutdown(self) -> None:
        for _ in self._threads:
            self._tasks.put(None)
        with self._lock:  # whatever still runs is abandoned by the driver: stop it now
            self._aborted.update(self._running())
        for thread in self._threads:
            thread.join(timeout=10)
        for slot in self._slots:
            slot.stop()

    def _running(self) -> set[Future[Any]]:
        return {future for future in self._current.values() if not future.done()}

    def _serve(self, index: int, slot: _Slot) -> None:
        while (item := self._tasks.get()) is not None:
            future, fn, args = item
            if not future.set_running_or_notify_cancel():
                continue
            with self._lock:
                self._current[index] = future
            try:
                self._run(slot, future, fn, args)
            except BaseException as error:  # noqa: BLE001 - never leave a future pending
                if not future.done():
                    future.set_exception(error)
            finally:
                with self._lock:
                    self._current.pop(index, None)
                    self._aborted.discard(future)
        slot.stop()

    def _run(self, slot: _Slot, future: Future[Any], fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        process, conn = slot.ensure_started()
        try:
            conn.send((fn, args))
        except (pickle.PicklingError, TypeError, AttributeError) as error:
            future.set_exception(RemoteError(type(error).__name__, f"cannot send the task to a worker: {error}"))
            return
        while True:
            ready = wait([conn, process.sentinel], timeout=self._POLL_S)
            if conn in ready:
                try:
                    status, value = conn.recv()
                except (EOFError, OSError):
                    pass  # died while answering: handled as a lost worker below
                else:
                    if status == "started":
                        mark_started(future, time.monotonic())
                        continue
                    if status == "ok":
                        future.set_result(value)
                    else:
                        future.set_exception(value)
                    return
            with self._lock:
                aborted = future in self._aborted
            if aborted:
                slot.kill()
                future.set_exception(TaskAborted("stopped by the driver; its worker process was killed"))
                return
            if not process.is_alive() or conn in ready:
                code = slot.kill()
                future.set_exception(WorkerLost(f"worker process died (exit code {code}) while running the task"))
                return


# Lazy imports of a worker's first trial, preloaded so they do not count against its execution.trial_timeout_s:
# torch.optim imports torch._dynamo on its first optimizer, the digits dataset imports scikit-learn (each 2 s on an
# idle machine, 4-7 s on a loaded one).
WORKER_PRELOAD = ("dse.evaluate", "dse.training", "torch._dynamo", "sklearn.datasets")


def make_executor(section: ExecutionSection, temp_dir: str) -> Executor:
    if section.backend == "ray":
        from dse.ray_backend import RayExecutor

        return RayExecutor(section, temp_dir)
    # A timeout needs a process that can be killed, so even one worker runs out of process then.
    if section.workers == 1 and section.trial_timeout_s is None:
        return InlineExecutor()
    return LocalProcessExecutor(section.workers, preload=WORKER_PRELOAD)
