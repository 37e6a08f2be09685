"""How a task failed, as every executor reports it.

Both dse.execution and dse.ray_backend import this module; it imports neither, so the two do not import each other
(dse.execution imports dse.ray_backend only when the Ray backend is chosen).
"""

from __future__ import annotations

import pickle
import traceback


class WorkerLost(RuntimeError):
    """The process running a trial died (killed, out of memory, os._exit); the trial fails, the search goes on."""


class TaskAborted(RuntimeError):
    """The driver stopped the task (timeout or shutdown) and killed the process running it."""


class RemoteError(RuntimeError):
    """An exception from a worker that could not be sent back as itself (e.g. it does not pickle)."""

    def __init__(self, type_name: str, message: str, remote_traceback: str = "") -> None:
        super().__init__(type_name, message, remote_traceback)
        self.type_name = type_name
        self.message = message
        self.remote_traceback = remote_traceback

    def __str__(self) -> str:
        return self.message


def describe(error: BaseException) -> str:
    """`Type: message`, the original type even if the exception was wrapped on its way from a worker."""
    if isinstance(error, RemoteError):
        return f"{error.type_name}: {error.message}"
    return f"{type(error).__name__}: {error}"


def sendable(error: BaseException) -> BaseException:
    """The exception itself if it survives pickling (many custom exceptions do not), else a RemoteError."""
    text = "".join(traceback.format_exception(error))
    try:
        copy = pickle.loads(pickle.dumps(error))
        if type(copy) is type(error) and str(copy) == str(error):
            return error
    except Exception:  # noqa: S110 - any pickling problem means: send a plain description instead
        pass
    return RemoteError(type(error).__name__, str(error), text)
