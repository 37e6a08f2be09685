"""`dse dashboard results/<study>`: optuna-dashboard for the study's storage, on loopback only."""

from __future__ import annotations

import errno
import signal
import socket
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, make_server

from rich.console import Console

from dse.storage import open_storage, redact, resolve_storage_url
from dse.studies import open_results

HOST = "127.0.0.1"  # never another interface: the dashboard has no authentication
DEFAULT_PORT = 8080


def free_port(host: str = HOST) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def check_port(port: int, host: str = HOST) -> None:
    """A clear error now rather than a traceback from the web server later."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                message = f"--port {port}: already in use on {host}; pick another, or --port 0 for a free one"
                raise ValueError(message) from None
            raise


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's signature
        """No access log on the terminal: the URL line is what the user needs."""


def serve(results_dir: Path, port: int, console: Console) -> None:
    """Blocks until Ctrl-C."""
    config, study = open_results(results_dir)  # also checks that this is a results folder
    url = resolve_storage_url(config.search.storage, Path(results_dir))
    port = free_port() if port == 0 else port
    check_port(port)
    console.print(
        f"optuna-dashboard for study {config.study.name} ({len(study.trials)} trials, storage {redact(url)})\n"
        f"open http://{HOST}:{port}/  (Ctrl-C stops it)",
        highlight=False,
    )
    from optuna_dashboard import wsgi

    app = wsgi(open_storage(config.search.storage, Path(results_dir)))
    # Ctrl-C and SIGTERM only set a flag: an exception raised inside a request would be swallowed by wsgiref's
    # error handler (and the server would keep running); the loop checks the flag at least every 0.5 s.
    stop: list[int] = []

    def request_stop(signum: int, frame: object) -> None:
        stop.append(signum)

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with make_server(HOST, port, app, handler_class=_QuietHandler) as server:
            server.timeout = 0.5
            while not stop:
                server.handle_request()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    console.print("dashboard stopped")
