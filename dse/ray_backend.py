"""Trials as Ray tasks: on a running cluster (`execution.address`) or on a private local one.

Each task asks for one CPU and returns a plain dict. Its ObjectRef becomes a concurrent future, so the driver
waits on Ray exactly as on local processes. A worker that dies is retried by Ray (`max_retries`); when the
retries are used up the trial fails with WorkerLost. The driver aborts a task (timeout) with ray.cancel(force).
"""

from __future__ import annotations

import os
import secrets
import socket
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError
from pathlib import Path
from typing import Any

import ray
import ray.exceptions

from dse.config import ExecutionSection
from dse.task_errors import RemoteError, TaskAborted, WorkerLost, sendable

DEFAULT_MAX_RETRIES = 1  # one retry after a lost worker; an exception raised by the trial itself is not retried
# Unix socket paths are limited to 107 bytes and Ray adds about 60 (session_<date>_<pid>/sockets/...).
_MAX_TEMP_DIR = 45
_AUTH_VARS = ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH")


def short_temp_dir(preferred: str) -> str:
    """`preferred` when short enough for Ray's sockets, else a fresh folder in the system temp dir (or /tmp)."""
    if len(str(Path(preferred).resolve())) <= _MAX_TEMP_DIR:
        Path(preferred).mkdir(parents=True, exist_ok=True)
        return str(Path(preferred).resolve())
    base = tempfile.gettempdir()
    if len(base) > _MAX_TEMP_DIR - 20:
        base = "/tmp"
    return tempfile.mkdtemp(prefix="dse-ray-", dir=base)


def start_local_ray(workers: int, temp_dir: str) -> None:
    """A private cluster of `workers` CPUs that writes nothing outside `temp_dir`.

    Ray's token authentication would otherwise save a token in ~/.ray; an in-memory token (inherited by the
    raylet and its workers through the environment) keeps the protection without touching the home directory.
    """
    if not any(os.environ.get(name) for name in _AUTH_VARS):
        os.environ["RAY_AUTH_MODE"] = "token"
        os.environ["RAY_AUTH_TOKEN"] = secrets.token_hex(32)
        from ray._raylet import Config

        Config.initialize("")  # Ray read its settings at import time; make this process see token mode too
    ray.init(
        num_cpus=workers,
        include_dashboard=False,
        _temp_dir=short_temp_dir(temp_dir),
        log_to_driver=False,  # worker output goes to the session logs; the driver shows a progress bar
        configure_logging=False,
    )


def _unwrap(error: BaseException, retries: int) -> BaseException:
    """Ray's wrappers -> the exceptions the driver knows (original type, WorkerLost, TaskAborted)."""
    if isinstance(error, ray.exceptions.TaskCancelledError):
        return TaskAborted("stopped by the driver (ray.cancel); its worker process was killed")
    if isinstance(error, ray.exceptions.WorkerCrashedError | ray.exceptions.NodeDiedError):
        return WorkerLost(f"Ray worker died running the task (after {retries} retr{'y' if retries == 1 else 'ies'})")
    if isinstance(error, ray.exceptions.RayTaskError):
        cause = error.cause
        if isinstance(cause, BaseException) and not isinstance(cause, ray.exceptions.RayError):
            return cause
        name = getattr(error, "cause_cls", type(cause)).__name__
        return RemoteError(name, str(cause) if cause is not None else str(error))
    return error


def _call(fn: Callable[..., Any], *args: Any) -> Any:
    """The one remote function: any picklable callable (a module function, a functools.partial) runs as a task."""
    try:
        return fn(*args)
    except Exception as error:  # e.g. TrainingDiverged does not unpickle; the driver would see only Ray's wrapper
        raise sendable(error) from None


def _settle(future: Future[Any], *, result: Any = None, error: BaseException | None = None) -> None:
    """First outcome wins: an abort and Ray's own answer may race."""
    try:
        if error is None:
            future.set_result(result)
        else:
            future.set_exception(error)
    except InvalidStateError:
        pass


CONNECT_TIMEOUT_S = 5.0


def check_reachable(address: str) -> None:
    """A wrong HOST:PORT is named at once: Ray itself retries it for minutes. "auto" is left to Ray."""
    host_port = address.removeprefix("ray://")
    host, sep, port = host_port.rpartition(":")
    if address == "auto" or not sep or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as error:
        raise ValueError(f"execution.address {address!r}: nothing answers at {host_port} ({error})") from None


class RayExecutor:
    """Connects to `address` (a cluster started with `ray start`) or starts a local cluster of `workers` CPUs.

    An existing Ray session in this process (e.g. a test's) is reused and left running at shutdown.
    """

    def __init__(self, section: ExecutionSection, temp_dir: str, *, max_retries: int | None = None) -> None:
        self._owns_ray = False
        if not ray.is_initialized():
            if section.address:
                check_reachable(section.address)
                try:
                    ray.init(address=section.address, log_to_driver=False, configure_logging=False)
                except (ConnectionError, RuntimeError, ValueError) as error:  # no cluster there, or no Ray client
                    message = " ".join(str(error).split())
                    raise ValueError(f"execution.address {section.address!r}: Ray cannot connect ({message})") from None
            else:
                start_local_ray(section.workers, temp_dir)
            self._owns_ray = True
        if max_retries is None:  # execution.max_retries, once the schema has it
            max_retries = int(getattr(section, "max_retries", DEFAULT_MAX_RETRIES))
        self._retries = max_retries
        self._call = ray.remote(num_cpus=1, max_retries=self._retries)(_call)
        self._refs: dict[Future[Any], ray.ObjectRef] = {}
        self._lock = threading.Lock()

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Future[Any]:
        ref = self._call.remote(fn, *args)
        outer: Future[Any] = Future()
        outer.set_running_or_notify_cancel()
        with self._lock:
            self._refs[outer] = ref

        def settle(inner: Future[Any]) -> None:
            with self._lock:
                self._refs.pop(outer, None)
            try:
                _settle(outer, result=inner.result())
            except BaseException as error:  # noqa: BLE001 - every failure goes to the driver as the trial's
                _settle(outer, error=_unwrap(error, self._retries))

        ref.future().add_done_callback(settle)
        return outer

    def abort(self, future: Future[Any]) -> None:
        with self._lock:
            ref = self._refs.pop(future, None)
        if ref is not None:
            ray.cancel(ref, force=True)  # force kills the worker process: a hung trial frees its CPU
        _settle(future, error=TaskAborted("stopped by the driver; its Ray worker was killed"))

    def shutdown(self) -> None:
        with self._lock:
            refs = list(self._refs.values())
            self._refs.clear()
        for ref in refs:
            ray.cancel(ref, force=True)
        if self._owns_ray:
            ray.shutdown()
