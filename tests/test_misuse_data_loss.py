"""Misuse that used to lose data: --force on a study or foreign folder, a fit over its own input, an emptied
study.db over existing trial folders, and a second driver failing the first one's live trials."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
import yaml

from dse.cli import main
from dse.export import EXPORT_MARKER
from dse.leases import DRIVER_ATTR, PREFIX, Lease
from dse.search import INTERRUPTED, recover_interrupted

MINIMAL = {"study": {"name": "t"}, "dataset": {"kind": "digits"}, "objectives": [{"name": "accuracy"}]}


def _fake_study(folder: Path) -> dict[Path, bytes]:
    """A results folder's files (contents only matter for the check that nothing changed)."""
    files = {
        folder / "study.db": b"db",
        folder / "trials.csv": b"number\n",
        folder / "search.yaml": yaml.safe_dump(MINIMAL).encode(),
        folder / "trials" / "00001" / "weights.npz": b"w",
    }
    for path, data in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return files


def _unchanged(files: dict[Path, bytes]) -> bool:
    return all(path.is_file() and path.read_bytes() == data for path, data in files.items())


@pytest.mark.parametrize("inside", ["", "sub", "trials"])
def test_export_refuses_out_in_or_equal_to_the_study(
    tmp_path: Path, inside: str, capsys: pytest.CaptureFixture[str]
) -> None:
    study = tmp_path / "res"
    files = _fake_study(study)
    out = study / inside if inside else study
    assert main(["export", str(study), "--trial", "1", "--out", str(out), "--force"]) == 2
    assert "must be outside the study folder" in capsys.readouterr().err
    assert _unchanged(files)


def test_export_force_refuses_a_folder_it_did_not_write(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    study = tmp_path / "res"
    _fake_study(study)
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    assert main(["export", str(study), "--trial", "1", "--out", str(other), "--force"]) == 2
    assert "not written by `dse export`" in capsys.readouterr().err
    assert (other / "notes.txt").read_text() == "keep me"
    # A folder that contains the study is refused too, even when it is not a study itself.
    assert main(["export", str(study), "--trial", "1", "--out", str(tmp_path), "--force"]) == 2
    assert _unchanged({study / "study.db": b"db"})


def test_export_force_keeps_files_a_user_added_to_an_earlier_export(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study = tmp_path / "res"
    _fake_study(study)
    earlier = tmp_path / "export"
    (earlier / "vhdl").mkdir(parents=True)
    (earlier / "vhdl" / "top.vhd").write_text("-- exported")
    (earlier / EXPORT_MARKER).write_text("written by dse export of trial 1 from res; files:\nvhdl/top.vhd\n")
    (earlier / "vhdl" / "my_wrapper.vhd").write_text("-- the user's")
    assert main(["export", str(study), "--trial", "1", "--out", str(earlier), "--force"]) == 2
    err = capsys.readouterr().err
    assert "holds files the earlier export did not write (vhdl/my_wrapper.vhd)" in err
    assert (earlier / "vhdl" / "my_wrapper.vhd").read_text() == "-- the user's"
    assert (earlier / "vhdl" / "top.vhd").read_text() == "-- exported"
    # A marker that lists no files (an export killed while writing) cannot vouch for any of them.
    (earlier / "vhdl" / "my_wrapper.vhd").unlink()
    (earlier / EXPORT_MARKER).write_text("being written by dse export of trial 1 from res\n")
    assert main(["export", str(study), "--trial", "1", "--out", str(earlier), "--force"]) == 2
    assert ".dse-export lists no files" in " ".join(capsys.readouterr().err.split())
    assert (earlier / "vhdl" / "top.vhd").is_file()


def test_export_out_below_a_file_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    study = tmp_path / "res"
    _fake_study(study)
    (tmp_path / "file").write_text("x")
    assert main(["export", str(study), "--trial", "1", "--out", str(tmp_path / "file" / "out")]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err


def test_calibrate_fit_refuses_to_overwrite_its_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sweep = tmp_path / "sweep.csv"
    sweep.write_text("a,b\n1,2\n")
    assert main(["calibrate", "fit", str(sweep), "--family", "xc7", "--out", str(sweep)]) == 2
    assert "is also an input" in capsys.readouterr().err
    assert sweep.read_text() == "a,b\n1,2\n"


def test_emptied_study_db_over_trial_folders_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    search = tmp_path / "s.yaml"
    search.write_text(yaml.safe_dump({**MINIMAL, "search": {"n_trials": 1}}))
    results = tmp_path / "res"
    weights = results / "trials" / "00000" / "weights.npz"
    weights.parent.mkdir(parents=True)
    weights.write_bytes(b"trained weights")
    (results / "study.db").write_bytes(b"")  # `: > res/study.db`
    assert main(["run", str(search), "--results-dir", str(results)]) == 2
    err = capsys.readouterr().err
    assert "does not know" in err and "00000" in err and "Restore the database" in err
    assert weights.read_bytes() == b"trained weights"


def _study(tmp_path: Path) -> optuna.Study:
    return optuna.create_study(storage=f"sqlite:///{tmp_path / 's.db'}", study_name="s")


def _lease(study: optuna.Study, driver: str, **fields: object) -> None:
    study._storage.set_study_system_attr(study._study_id, PREFIX + driver, fields)


def _running(study: optuna.Study, driver: str | None) -> optuna.Trial:
    trial = study.ask()
    trial.suggest_int("x", 0, 10)
    if driver is not None:
        trial.set_user_attr(DRIVER_ATTR, driver)
    return trial


def test_only_trials_of_dead_drivers_are_recovered(tmp_path: Path) -> None:
    study = _study(tmp_path)
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    here, now = socket.gethostname(), time.time()
    with Lease(study) as live:
        mine = _running(study, live.id)
        _lease(study, "remote-live", host="elsewhere", pid=1, beat=now, ended=False)
        remote_live = _running(study, "remote-live")
        _lease(study, "remote-dead", host="elsewhere", pid=1, beat=now - 3600, ended=False)
        remote_dead = _running(study, "remote-dead")
        _lease(study, "local-dead", host=here, pid=int(gone.stdout), beat=now, ended=False)
        local_dead = _running(study, "local-dead")
        _lease(study, "ended", host=here, pid=os.getpid(), beat=now, ended=True)
        ended = _running(study, "ended")
        legacy = _running(study, None)  # written before leases existed
        assert recover_interrupted(study) == 4
        states = {t.number: t for t in study.get_trials(deepcopy=False)}
        for trial in (mine, remote_live):
            assert states[trial.number].state == optuna.trial.TrialState.RUNNING
        for trial in (remote_dead, local_dead, ended, legacy):
            assert states[trial.number].state == optuna.trial.TrialState.FAIL
            assert states[trial.number].user_attrs["fail_reason"] == INTERRUPTED
    # After a clean exit the lease is marked ended, so a later driver recovers what it left RUNNING.
    assert recover_interrupted(study) == 1


DRIVER = """
import sys
from pathlib import Path

import yaml

from dse.config import parse_config
from dse.search import run_search

if __name__ == "__main__":
    config = parse_config(yaml.safe_load(Path(sys.argv[1]).read_text()))
    print(run_search(config, results_dir=Path(sys.argv[2])))
"""


@pytest.mark.e2e
def test_two_drivers_on_one_study_do_not_fail_each_others_trials(tmp_path: Path) -> None:
    import scaleout_support as support

    from dse.faults import FAULT_ENV

    search = tmp_path / "search.yaml"
    search.write_text(yaml.safe_dump(support.tiny_config(4).model_dump(mode="json")))
    (tmp_path / "driver.py").write_text(DRIVER)
    command = [sys.executable, str(tmp_path / "driver.py"), str(search), str(tmp_path / "results")]
    env = {**os.environ, FAULT_ENV: "sleep:*=2"}  # trials overlap: each driver sees the other's RUNNING trial
    drivers = [subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    errors = [driver.communicate(timeout=600)[1] for driver in drivers]
    for driver, err in zip(drivers, errors, strict=True):
        assert driver.returncode == 0, err
        assert "interrupted by an earlier crash" not in err
    trials = support.load(tmp_path / "results").get_trials(deepcopy=False)
    assert {t.state for t in trials} == {optuna.trial.TrialState.COMPLETE}
    assert len(trials) >= 4
    assert len({t.user_attrs[DRIVER_ATTR] for t in trials}) == 2  # both drivers contributed


@pytest.mark.parametrize("command", ["sweep", "fit"])
def test_calibrate_out_below_a_file_is_refused_before_any_work(
    tmp_path: Path, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "file").write_text("x")
    out = str(tmp_path / "file" / "out.csv")
    inputs = ["--samples", "1"] if command == "sweep" else [str(tmp_path / "file")]
    assert main(["calibrate", command, *inputs, "--family", "xc7", "--out", out]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err


def test_a_reused_pid_does_not_keep_a_silent_drivers_trials_forever(tmp_path: Path) -> None:
    study = _study(tmp_path)
    _lease(study, "reused", host=socket.gethostname(), pid=os.getpid(), beat=time.time() - 10**6, ended=False)
    _running(study, "reused")
    assert recover_interrupted(study) == 1
