"""Checks before a study runs (or resumes): the results folder, the search space against the study's trials, the
calibration file and the trial folders. Each refuses with a ConfigError that says what to do, before any trial."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna
import yaml

from dse.config import ConfigError, SearchConfig, param_values
from dse.errors import file_in_the_way
from dse.space import sample_candidate
from estimators import get_device, load_calibration


def _snapshot(config: SearchConfig) -> str:
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=True)


# How much and with how many workers to search may change between runs of one study; the space and goals may not.
RESUMABLE_CHANGES = ("search.n_trials", "search.timeout_s", "search.max_failures", "execution")


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(data, dict):
        return {prefix: data}
    flat: dict[str, Any] = {}
    for key, value in data.items():
        flat |= _flatten(value, f"{prefix}.{key}" if prefix else str(key))
    return flat


def changed_fields(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Field paths that differ between two search-file snapshots, apart from RESUMABLE_CHANGES."""
    before, after = _flatten(old), _flatten(new)
    changed = [key for key in sorted(set(before) | set(after)) if before.get(key) != after.get(key)]
    return [key for key in changed if not any(key == r or key.startswith(r + ".") for r in RESUMABLE_CHANGES)]


def check_results_dir(config: SearchConfig, results_dir: Path) -> None:
    """Create the results folder; refuse a changed search file over an existing study (see RESUMABLE_CHANGES)."""
    if (blocking := file_in_the_way(results_dir)) is not None:
        raise ValueError(
            f"results folder {results_dir}: {blocking} is a file, not a folder; choose another folder "
            "(--results-dir or study.results_dir)"
        )
    results_dir.mkdir(parents=True, exist_ok=True)
    snapshot = results_dir / "search.yaml"
    if snapshot.exists():
        old_text = snapshot.read_text(errors="replace")
        if old_text == _snapshot(config):
            return
        try:
            old = yaml.safe_load(old_text) or {}
        except yaml.YAMLError as error:
            old = f"not valid YAML ({' '.join(str(error).split())})"
        if not isinstance(old, dict):
            problem = old if isinstance(old, str) else "not a mapping of sections"
            raise ConfigError(
                f"{snapshot}: {problem}, so the settings of the study in {results_dir} are unknown; restore the "
                "file that dse run wrote, or delete it to continue the old study with the new settings"
            )
        changed = changed_fields(old, config.model_dump(mode="json"))
        if changed:
            raise ConfigError(
                f"{results_dir} holds a study of a different search file (changed: {', '.join(changed)}); use "
                f"another study.name or --results-dir, or delete {snapshot} to continue the old study with the new "
                f"settings (only possible where the old trials' parameters fit them)"
            )


def write_snapshot(config: SearchConfig, results_dir: Path) -> None:
    """Keep the search file beside its study; an unchanged one is not rewritten (a read-only study still resumes)."""
    snapshot = results_dir / "search.yaml"
    text = _snapshot(config)
    if not snapshot.exists() or snapshot.read_text() != text:
        snapshot.write_text(text)


def prepare_results_dir(config: SearchConfig, results_dir: Path) -> None:
    check_results_dir(config, results_dir)
    write_snapshot(config, results_dir)


def check_space(
    config: SearchConfig,
    study: optuna.Study,
    n_inputs: int,
    n_outputs: int,
    input_shape: tuple[int, ...] | None = None,
) -> None:
    """Refuse a search space whose parameters cannot continue the study's trials (e.g. a changed choices list,
    which Optuna rejects in every trial) once, before any trial runs."""
    recorder = _Recorder()
    sample_candidate(recorder, config, n_inputs, n_outputs, input_shape)  # type: ignore[arg-type]
    seen: set[tuple[str, str]] = set()
    for trial in study.get_trials(deepcopy=False):
        for name, old in trial.distributions.items():
            new = recorder.distributions.get(name)
            key = (name, optuna.distributions.distribution_to_json(old))
            if new is None or key in seen:
                continue
            seen.add(key)
            try:
                optuna.distributions.check_distribution_compatibility(old, new)
            except ValueError:
                raise ConfigError(
                    f"parameter {name!r}: the study's trials used {_describe(old)}, the search file now gives "
                    f"{_describe(new)}; a study cannot continue with a changed choices list or parameter kind. "
                    "Restore the old values, or use another study.name or --results-dir"
                ) from None


def _describe(distribution: optuna.distributions.BaseDistribution) -> str:
    if isinstance(distribution, optuna.distributions.CategoricalDistribution):
        return f"choices {list(distribution.choices)}"
    return f"a {type(distribution).__name__.removesuffix('Distribution').lower()} range"


class _Recorder:
    """Stands in for an Optuna trial to learn which distributions a config samples (the largest network, so that
    every per-layer parameter appears)."""

    def __init__(self) -> None:
        self.distributions: dict[str, optuna.distributions.BaseDistribution] = {}

    def suggest_int(self, name: str, low: int, high: int, step: int = 1, log: bool = False) -> int:
        self.distributions[name] = optuna.distributions.IntDistribution(low, high, step=step, log=log)
        return high

    def suggest_float(self, name: str, low: float, high: float, log: bool = False) -> float:
        self.distributions[name] = optuna.distributions.FloatDistribution(low, high, log=log)
        return low

    def suggest_categorical(self, name: str, choices: list[Any]) -> Any:
        self.distributions[name] = optuna.distributions.CategoricalDistribution(choices)
        return max(choices, key=lambda c: (isinstance(c, int | float) and not isinstance(c, bool), c))


def check_calibration(config: SearchConfig) -> None:
    """Refuse, before any trial, a calibration file that cannot be read or fits none of the chosen devices."""
    if config.calibration is None:
        return
    try:
        custom = load_calibration(config.calibration)
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        raise ConfigError(f"calibration: {config.calibration} is not a calibration file: {error}") from None
    devices = param_values(config.hardware.device)
    families = sorted({get_device(name).family for name in devices})
    if custom.family not in families:
        raise ConfigError(
            f"calibration: {config.calibration} is for the {custom.family} family, but hardware.device "
            f"({', '.join(devices)}) uses {', '.join(families)}; give a calibration of that family"
        )


def check_trial_folders(study: optuna.Study, results_dir: Path) -> None:
    """Refuse to run a study that does not know the trial folders beside it (study.db emptied or replaced):
    new trials would reuse their numbers and overwrite their weights."""
    folders = results_dir / "trials"
    if not folders.is_dir():
        return
    # Folders first: a folder seen then belongs to a trial that exists by the time the trials are read, even
    # while another driver of the same study adds trials.
    numbered = sorted(p.name for p in folders.iterdir() if p.name.isdigit())
    known = {trial.number for trial in study.get_trials(deepcopy=False)}
    unknown = [name for name in numbered if int(name) not in known]
    if unknown:
        shown = ", ".join(unknown[:3]) + (", ..." if len(unknown) > 3 else "")
        raise ConfigError(
            f"{folders} holds {len(unknown)} trial folder(s) ({shown}) "
            f"that the study {study.study_name!r} in its storage does not know: the study database was emptied or "
            f"replaced. Restore the database, or use another --results-dir (or study.name) for a new study; "
            f"nothing was changed"
        )
