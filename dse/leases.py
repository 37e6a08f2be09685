"""Per-driver leases: several drivers may share one study (scale-out), and only trials of dead drivers are recovered.

Each driver writes a lease (host, pid, time of the last beat) into the study's system attributes and renews it from a
thread; every trial it starts records the driver's id. A RUNNING trial is stale when its driver ended, when the driver
ran on this host and its process is gone, or when its lease has not been renewed for LEASE_GRACE_S (another host;
wall clocks of the hosts must agree to well within that) or for 10 x LEASE_GRACE_S (this host: a reused pid).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import optuna

LEASE_INTERVAL_S = 10.0
LEASE_GRACE_S = 90.0  # a driver on another host counts as dead after missing this many seconds of beats
PREFIX = "dse_driver:"
DRIVER_ATTR = "driver"


@contextlib.contextmanager
def creation_lock(results_dir: Path) -> Iterator[None]:
    """Serializes schema and study creation among drivers sharing a results folder (one machine or a shared FS)."""
    results_dir.mkdir(parents=True, exist_ok=True)
    with (results_dir / ".study.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    return True


def driver_alive(study: optuna.Study, driver: str | None, now: float | None = None) -> bool:
    """Whether the driver that started a trial still runs (False for trials of drivers without a lease)."""
    if driver is None:
        return False
    lease: dict[str, Any] | None = study._storage.get_study_system_attrs(study._study_id).get(PREFIX + driver)
    if not lease or lease.get("ended"):
        return False
    silent_s = (now or time.time()) - float(lease.get("beat", 0.0))
    if lease.get("host") == socket.gethostname():
        # The process tells at once; the long silence bound covers a dead driver's pid reused by another process.
        return _pid_alive(int(lease.get("pid", -1))) and silent_s < 10 * LEASE_GRACE_S
    return silent_s < LEASE_GRACE_S


class Lease:
    """This driver's lease on a study; a context manager that renews it in the background until exit."""

    def __init__(self, study: optuna.Study, interval_s: float = LEASE_INTERVAL_S) -> None:
        self.study = study
        self.id = uuid.uuid4().hex
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="dse-lease", daemon=True)

    def _write(self, ended: bool = False) -> None:
        value = {"host": socket.gethostname(), "pid": os.getpid(), "beat": time.time(), "ended": ended}
        self.study._storage.set_study_system_attr(self.study._study_id, PREFIX + self.id, value)

    def _beat(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self._write()
            except Exception:  # noqa: S112 - a missed beat is retried; the grace period covers several
                continue

    def claim(self, trial: optuna.Trial) -> None:
        trial.set_user_attr(DRIVER_ATTR, self.id)

    def __enter__(self) -> Lease:
        self._write()
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.release()

    def release(self) -> None:
        """Stop renewing and mark the lease ended: trials this driver left RUNNING are recoverable at once."""
        self._stop.set()
        self._thread.join(timeout=5)
        with contextlib.suppress(Exception):  # the storage may be what failed; the lease then expires by itself
            self._write(ended=True)
