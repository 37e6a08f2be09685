"""`dse dashboard`: optuna-dashboard on 127.0.0.1 for a study's storage, answering HTTP, stopped by Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import optuna
import pytest

from dse.cli import main
from dse.config import parse_config
from dse.dashboard import free_port
from dse.search import open_study
from dse.study_checks import prepare_results_dir

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT_S = 90.0  # importing the dashboard on a loaded 2-core machine takes seconds


@pytest.fixture
def results(tmp_path: Path) -> Path:
    config = parse_config(
        {"study": {"name": "board"}, "dataset": {"kind": "digits"}, "objectives": [{"name": "accuracy"}]}
    )
    folder = tmp_path / "board"
    prepare_results_dir(config, folder)
    open_study(config, folder).add_trial(optuna.trial.create_trial(values=[0.9]))
    return folder


def get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read()


@pytest.mark.e2e
def test_dashboard_answers_on_loopback_and_stops_on_ctrl_c(results: Path) -> None:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "dse.cli", "dashboard", str(results), "--port", str(port)]
    server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        answer = None
        while answer is None and time.monotonic() < deadline and server.poll() is None:
            try:
                answer = get(f"http://127.0.0.1:{port}/api/studies")
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.5)
        assert answer is not None, f"no answer within {START_TIMEOUT_S} s; exit code {server.poll()}"
        status, body = answer
        assert status == 200
        assert [s["study_name"] for s in json.loads(body)["study_summaries"]] == ["board"]
        server.send_signal(signal.SIGINT)
        _, err = server.communicate(timeout=30)
        assert server.returncode == 0
        assert f"http://127.0.0.1:{port}/" in err and "dashboard stopped" in err
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate()


def test_port_in_use_is_a_clear_error(results: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["dashboard", str(results), "--port", str(port)]) == 2
    assert f"--port {port}: already in use" in capsys.readouterr().err


def test_not_a_results_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dashboard", str(tmp_path), "--port", "0"]) == 2
    assert "not a dse results folder" in capsys.readouterr().err


@pytest.mark.parametrize("port", ["99999", "-1", "http"])
def test_a_port_out_of_range_is_refused_by_the_parser(
    results: Path, port: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["dashboard", str(results), "--port", port])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "argument --port: must be a port number 0..65535" in err and "Traceback" not in err
