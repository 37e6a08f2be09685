"""Broken surroundings give a message and an exit code, not a traceback: a damaged study.db, a full disk, a
read-only results folder."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import optuna
import pytest
import yaml

from dse.cli import main
from dse.config import parse_config
from dse.study_checks import _snapshot

SEARCH = {
    "study": {"name": "tb", "seed": 1},
    "dataset": {"kind": "digits"},
    "model": {"hidden_layers": 1, "width": {"choices": [4, 8]}},
    "training": {"epochs": 1},
    "objectives": [{"name": "accuracy"}, {"name": "lut"}],
    "search": {"n_trials": 1, "sampler": "random"},
}


def _results_with_db(tmp_path: Path) -> Path:
    """A results folder whose study.db is a real SQLite file with some trials (no training needed)."""
    results = tmp_path / "res"
    results.mkdir()
    (results / "search.yaml").write_text(_snapshot(parse_config(SEARCH)))  # as `dse run` writes it
    study = optuna.create_study(
        storage=f"sqlite:///{results / 'study.db'}", study_name="tb", directions=["maximize", "minimize"]
    )
    for index in range(30):
        study.add_trial(
            optuna.trial.create_trial(values=[index / 30, 100 - index], user_attrs={"pad": "x" * 2000, "trained": True})
        )
    return results


def _clean(err: str) -> None:
    assert "Traceback" not in err


@pytest.mark.parametrize("command", ["report", "plot"])
def test_random_study_db_is_refused(tmp_path: Path, command: str, capsys: pytest.CaptureFixture[str]) -> None:
    results = _results_with_db(tmp_path)
    (results / "study.db").write_bytes(os.urandom(4096))
    assert main([command, str(results)]) == 2
    err = capsys.readouterr().err
    assert "study.db: not an SQLite database" in err
    _clean(err)


def test_truncated_study_db_gives_a_storage_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    results = _results_with_db(tmp_path)
    db = results / "study.db"
    db.write_bytes(db.read_bytes()[:8192])
    assert main(["report", str(results)]) == 1
    err = capsys.readouterr().err
    assert "the study storage failed" in err
    _clean(err)


def test_run_over_a_random_study_db_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    search = tmp_path / "s.yaml"
    search.write_text(yaml.safe_dump(SEARCH))
    results = tmp_path / "res"
    results.mkdir()
    (results / "study.db").write_bytes(b"garbage" * 200)
    assert main(["run", str(search), "--results-dir", str(results)]) == 2
    assert "not an SQLite database" in capsys.readouterr().err
    assert (results / "study.db").read_bytes() == b"garbage" * 200


def test_unwritable_results_folder_is_a_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Runs as root too (unlike the chmod test below): creating the folder is refused by the 'file system'."""
    search = tmp_path / "s.yaml"
    search.write_text(yaml.safe_dump(SEARCH))
    results = tmp_path / "res"

    def refuse(self: Path, *args: object, **kwargs: object) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", str(self))

    monkeypatch.setattr(Path, "mkdir", refuse)
    assert main(["run", str(search), "--results-dir", str(results)]) == 1
    err = capsys.readouterr().err
    assert f"{results}: Permission denied (is the folder read-only?)" in err
    _clean(err)


def _root_ignores_permissions() -> bool:
    """True for root with CAP_DAC_OVERRIDE (as in CI): chmod cannot make a folder read-only for it."""
    if os.geteuid() != 0:
        return False
    with tempfile.TemporaryDirectory() as folder:
        os.chmod(folder, 0o555)
        try:
            Path(folder, "probe").touch()
        except PermissionError:
            return False
        finally:
            os.chmod(folder, 0o755)
    return True


def _dse_bound_by_permissions() -> list[str]:
    """The dse command as a process that file permissions bind. Root (as in CI) ignores them through
    CAP_DAC_OVERRIDE, so there it runs without that capability (setpriv, from util-linux)."""
    dse = [sys.executable, "-c", "import sys; from dse.cli import main; sys.exit(main())"]
    if not _root_ignores_permissions():
        return dse
    drop = [shutil.which("setpriv") or "setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"]
    try:
        probe = subprocess.run([*drop, "true"], capture_output=True, check=False).returncode
    except OSError:
        probe = 1
    if probe != 0:
        pytest.skip("root that cannot drop CAP_DAC_OVERRIDE: chmod cannot make a folder read-only for it")
    return [*drop, *dse]


def _run(command: list[str]) -> tuple[int, str]:
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=300)
    return done.returncode, done.stderr


def test_read_only_results_folder(tmp_path: Path) -> None:
    dse = _dse_bound_by_permissions()
    search = tmp_path / "s.yaml"
    search.write_text(yaml.safe_dump(SEARCH))
    parent = tmp_path / "ro"
    parent.mkdir()
    parent.chmod(0o555)
    try:
        code, err = _run([*dse, "run", str(search), "--results-dir", str(parent / "res")])  # a new study
        assert code == 1, err
        assert f"{parent / 'res'}: Permission denied (is the folder read-only?)" in err
        _clean(err)
        assert not (parent / "res").exists()
        results = _results_with_db(tmp_path)
        for path in [results / "study.db", results]:
            path.chmod(0o555)
        code, err = _run([*dse, "plot", str(results)])
        assert code == 1, err
        assert "Permission denied" in err
        _clean(err)
        before = (results / "search.yaml").stat().st_mtime_ns
        code, err = _run([*dse, "run", str(search), "--results-dir", str(results)])  # resume
        assert code == 1, err
        assert "readonly database" in err or "Permission denied" in err
        _clean(err)
        assert (results / "search.yaml").stat().st_mtime_ns == before
        assert len(optuna.load_study(study_name="tb", storage=f"sqlite:///{results / 'study.db'}").trials) == 30
    finally:
        parent.chmod(0o755)
        for path in [tmp_path / "res", tmp_path / "res" / "study.db"]:
            if path.exists():
                path.chmod(0o755)


@pytest.mark.e2e
def test_full_disk_stops_cleanly_and_leaves_nothing_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import dse.evaluate

    def full(path: Path, weights: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(dse.evaluate, "save_weights", full)
    search = tmp_path / "s.yaml"
    search.write_text(yaml.safe_dump(SEARCH))
    results = tmp_path / "res"
    assert main(["run", str(search), "--results-dir", str(results)]) == 1
    err = capsys.readouterr().err
    assert "No space left on device" in err and "rerun the same command" in err
    _clean(err)
    study = optuna.load_study(study_name="tb", storage=f"sqlite:///{results / 'study.db'}")
    states = [t.state for t in study.get_trials(deepcopy=False)]
    assert optuna.trial.TrialState.RUNNING not in states
    assert states == [optuna.trial.TrialState.FAIL, optuna.trial.TrialState.WAITING]  # failed and queued again
    assert "No space left on device" in study.trials[0].user_attrs["fail_reason"]


def test_report_on_an_emptied_study_db_names_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    results = _results_with_db(tmp_path)
    (results / "study.db").write_bytes(b"")  # `: > res/study.db`
    assert main(["report", str(results)]) == 2
    err = capsys.readouterr().err
    assert "the study 'tb' is not in its storage" in err and "study.db" in err
    _clean(err)


def test_plot_into_an_unwritable_folder_is_a_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Runs as root too: the figure write is refused as a read-only folder would refuse it."""
    import matplotlib.figure

    def refuse(self: object, path: object, *args: object, **kwargs: object) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", refuse)
    results = _results_with_db(tmp_path)
    assert main(["plot", str(results)]) == 1
    err = capsys.readouterr().err
    assert ".png: Permission denied (is the folder read-only?)" in err  # the first plot written names itself
    _clean(err)


@pytest.mark.parametrize("below", ["", "x/y"])
def test_results_folder_where_a_file_is_names_the_file(
    tmp_path: Path, below: str, capsys: pytest.CaptureFixture[str]
) -> None:
    search = tmp_path / "s.yaml"
    search.write_text(yaml.safe_dump(SEARCH))
    blocking = tmp_path / "results"
    blocking.write_text("a user's file")
    assert main(["run", str(search), "--results-dir", str(blocking / below if below else blocking)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"{blocking} is a file, not a folder" in err
    _clean(err)
    assert blocking.read_text() == "a user's file"
