"""End to end on a tiny budget: trials.csv content, a non-dominated Pareto front, plots, resume."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest

from contract.reference import load_weights
from dse.config import ConfigError, SearchConfig, parse_config
from dse.search import run_search
from dse.space import Candidate
from estimators import estimate_design
from estimators.content import rom_contents

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def tiny_config(n_trials: int = 8, **search: object) -> SearchConfig:
    return parse_config(
        {
            "study": {"name": "tiny", "seed": 3},
            "dataset": {"kind": "digits"},
            "model": {"hidden_layers": 1, "width": {"choices": [8, 16, 32]}},
            "quantization": {"activation_bits": {"choices": [4, 8]}, "weight_bits": {"choices": [3, 8]}},
            # 32 lanes of 8x8-bit DSP multipliers need 32 DSP48E1 > 20 on the XC7S15: infeasible, never trained.
            "hardware": {
                "pe": {"choices": [1, 4, 32]},
                "simd": {"choices": [1, 3]},
                "multiplier": {"choices": ["dsp", "lut"]},
                "weight_storage": {"choices": ["lutrom", "bram"]},
            },
            "training": {"epochs": 3},
            "objectives": [{"name": "accuracy"}, {"name": "energy_uj"}, {"name": "latency_us"}],
            "search": {"n_trials": n_trials, "sampler": "random", **search},
        }
    )


def dominates(a: np.ndarray, b: np.ndarray) -> bool:
    """Values already oriented so that smaller is better."""
    return bool(np.all(a <= b) and np.any(a < b))


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    results = tmp_path_factory.mktemp("search") / "tiny"
    summary = run_search(tiny_config(), results_dir=results)
    assert summary.completed == 8
    return results, pd.read_csv(results / "trials.csv")


def test_results_folder(finished: tuple[Path, pd.DataFrame]) -> None:
    results, _ = finished
    for name in (
        "study.db",
        "trials.csv",
        "pareto.csv",
        "pareto.html",
        "hypervolume.png",
        "search.yaml",
        "objectives.png",
        "labels.json",
    ):
        assert (results / name).stat().st_size > 0, name
    # Pairs whose ranks move together (often energy and latency) get no plot of their own: tests/test_plots.py.
    assert list(results.glob("pareto_*_vs_*.png"))
    assert (results / "hypervolume.png").read_bytes()[:8] == PNG_MAGIC
    assert "plotly" in (results / "pareto.html").read_text()[:5000].lower()


def test_trials_csv_content(finished: tuple[Path, pd.DataFrame]) -> None:
    results, trials = finished
    sampled = trials[trials["variant_of"].isna()]
    # n_trials counts sampled networks; re-proposals of a trained network do not count (its accelerators were scored)
    fresh = sampled[~sampled["trained"] | (sampled["trained_by"] == sampled["number"])]
    assert len(fresh) == 8
    variants = trials[trials["variant_of"].notna()]  # the two-level search's accelerators of trained networks
    assert len(variants) and (variants["trained_by"] == variants["variant_of"]).all()
    assert set(trials["state"]) == {"COMPLETE"}
    for column in (
        "param_width_0",
        *(f"param_{knob}_{i}" for knob in ("pe", "simd", "multiplier", "weight_storage") for i in (0, 1)),
        "est_cycles",
        "est_lut",
        "est_energy_uj",
        "est_bound_cycles",
        "duration_s",
        "fail_reason",
    ):
        assert column in trials.columns, column
    trained = trials[trials["trained"]]
    untrained = trials[~trials["trained"]]
    assert len(trained) > 0
    # Reported accuracy is the integer model's validation accuracy.
    assert np.allclose(trained["accuracy"], trained["val_accuracy"])
    assert (trained["test_accuracy"] > 0.3).all()
    # Candidates over the device budget were recorded as infeasible and not trained.
    assert (~untrained["feasible"]).all()
    assert (untrained["accuracy"] == 0.0).all()
    assert "parallelism" not in " ".join(trials.columns)
    # The stored estimate is exactly what the estimator says for the stored candidate, and the candidate's folding
    # is what Optuna sampled (integer knobs capped by the layer's shape).
    study = optuna.load_study(study_name="tiny", storage=f"sqlite:///{results / 'study.db'}")
    by_number = trials.set_index("number")
    for trial in study.trials:
        design = Candidate.from_dict(trial.user_attrs["candidate"]).design
        before = estimate_design(design)  # what decided whether to train; a trained trial is re-estimated with
        again = before  # the ROM columns its trained weights keep (estimators.content)
        if trial.user_attrs.get("trained"):
            weights = load_weights(results / trial.user_attrs["artifacts"] / "weights.npz")
            again = estimate_design(design, contents=rom_contents(design, weights))
            assert before.energy_uj == pytest.approx(trial.user_attrs["estimate_pre_training"]["energy_uj"])
        assert again.cycles == trial.user_attrs["estimate"]["cycles"] == design.latency_cycles
        assert again.energy_uj == pytest.approx(trial.user_attrs["estimate"]["energy_uj"])
        assert by_number.loc[trial.number, "est_bound_cycles"] == pytest.approx(design.bound_cycles)
        assert max(layer.bound_cycles for layer in design.fpga_layers) <= design.latency_cycles
        for i, layer in enumerate(design.layers):
            folding = layer.folding
            assert folding.pe == min(trial.params[f"pe_{i}"], layer.out_features)
            assert folding.simd == min(trial.params[f"simd_{i}"], layer.in_features)
            assert folding.multiplier == trial.params[f"multiplier_{i}"]
            assert folding.weight_storage == trial.params[f"weight_storage_{i}"]
    # A trial whose network was trained already (same layers, formats, training) reuses that training's weights.
    for number, source in zip(trained["number"], trained["trained_by"], strict=True):
        assert source <= number and (results / "trials" / f"{int(source):05d}" / "weights.npz").is_file()
        assert trained.set_index("number").loc[int(source), "trained_by"] == source


def test_pareto_front_is_non_dominated_and_complete(finished: tuple[Path, pd.DataFrame]) -> None:
    results, trials = finished
    pareto = pd.read_csv(results / "pareto.csv")
    assert len(pareto) >= 1
    assert pareto["feasible"].all() and pareto["trained"].all()
    candidates = trials[trials["feasible"] & trials["trained"]]

    def oriented(frame: pd.DataFrame) -> np.ndarray:
        return np.column_stack([-frame["accuracy"], frame["energy_uj"], frame["latency_us"]])

    front, others = oriented(pareto), oriented(candidates)
    for point in front:
        assert not any(dominates(other, point) for other in others)
    off_front = candidates[~candidates["number"].isin(pareto["number"])]
    for point in oriented(off_front):
        assert any(dominates(p, point) or np.array_equal(p, point) for p in front)


@pytest.mark.e2e  # a whole search: in `make test`, not in `make test-fast`
def test_resume_keeps_trials_and_runs_up_to_total(tmp_path: Path) -> None:
    results = tmp_path / "tiny"
    run_search(tiny_config(4), results_dir=results)
    before = pd.read_csv(results / "trials.csv")
    summary = run_search(tiny_config(4), results_dir=results, n_trials=6)
    after = pd.read_csv(results / "trials.csv")
    sampled = after[after["variant_of"].isna()]  # n_trials counts sampled networks, not queued accelerators
    fresh = sampled[~sampled["trained"] | (sampled["trained_by"] == sampled["number"])]
    assert summary.completed == 6 and len(fresh) == 6
    pd.testing.assert_frame_equal(
        before[["number", "accuracy", "energy_uj", "param_width_0"]],
        after[["number", "accuracy", "energy_uj", "param_width_0"]].iloc[: len(before)],
    )
    run_search(tiny_config(4), results_dir=results, n_trials=6)
    assert len(pd.read_csv(results / "trials.csv")) == len(after)  # nothing left to do


def test_a_changed_search_file_does_not_mix_into_an_old_study(tmp_path: Path) -> None:
    results = tmp_path / "tiny"
    run_search(tiny_config(1), results_dir=results)
    changed = tiny_config(1).model_copy(update={"objectives": tiny_config(1).objectives[:2]})
    with pytest.raises(ConfigError, match="holds a study of a different search file"):
        run_search(changed, results_dir=results)


def test_report_and_plot_commands(finished: tuple[Path, pd.DataFrame], capsys: pytest.CaptureFixture[str]) -> None:
    from dse.cli import main

    results, _ = finished
    pareto = pd.read_csv(results / "pareto.csv")
    assert main(["report", str(results)]) == 0
    table = capsys.readouterr().out
    assert f"Pareto front of tiny ({len(pd.read_csv(results / 'trials.csv'))} trials)" in table
    for number in pareto["number"]:
        assert f"│ {number:>5} │" in table
    plot = results / "hypervolume.png"
    plot.unlink()
    assert main(["plot", str(results)]) == 0
    assert plot.read_bytes()[:8] == PNG_MAGIC
    assert main(["report", str(results.parent / "nothing")]) == 2
    assert "not a dse results folder" in capsys.readouterr().err


@pytest.mark.e2e  # a whole search: in `make test`, not in `make test-fast`
@pytest.mark.parametrize("sampler", ["nsga2", "tpe", "gp"])
def test_every_sampler_handles_the_conditional_space(sampler: str, tmp_path: Path) -> None:
    config = tiny_config(4, sampler=sampler, population_size=2, levels="flat")
    summary = run_search(config, results_dir=tmp_path / sampler)
    trials = pd.read_csv(tmp_path / sampler / "trials.csv")
    assert summary.completed == 4 and summary.failed == 0
    assert set(trials["state"]) == {"COMPLETE"}
    from dse.search import NetworkSampler, make_sampler

    expected = {"nsga2": "NSGAIISampler", "tpe": "TPESampler", "gp": "GPSampler"}[sampler]
    assert type(make_sampler(config)).__name__ == expected
    two_level = make_sampler(tiny_config(4, sampler=sampler))  # the default: the sampler proposes networks
    assert isinstance(two_level, NetworkSampler) and type(two_level.base).__name__ == expected
