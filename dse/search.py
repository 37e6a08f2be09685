"""The search driver: Optuna asks, estimators prune, workers train, Optuna is told. Resumable."""

from __future__ import annotations

import contextlib
import errno
import math
import signal
import threading
import time
import warnings
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import sqlalchemy.exc
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from contract.devices import Device
from contract.reference import load_weights
from dse import faults
from dse.config import QUALITY_OBJECTIVES, PretrainedSection, SearchConfig, check_mcu_layers, param_values
from dse.designs import append_designs, design_row
from dse.errors import SearchAborted, StorageFailed
from dse.evaluate import dataset_for, train_candidate, validation_splits
from dse.execution import describe, make_executor, started_at
from dse.hardware_space import hardware_pareto, is_hardware_param, variants
from dse.labels import write_labels
from dse.leases import DRIVER_ATTR, LEASE_INTERVAL_S, Lease, creation_lock, driver_alive
from dse.results import infeasibility_note, write_results
from dse.scaling import saturation_warning, write_scaler
from dse.space import Candidate, ParamsTrial, pretrained_layers, sample_candidate
from dse.storage import open_storage, resolve_storage_url
from dse.study_checks import (
    check_calibration,
    check_results_dir,
    check_space,
    check_trial_folders,
    write_snapshot,
)
from estimators import Calibration, DesignEstimate, default_calibration, estimate_design, get_device, load_calibration
from estimators.application import period_energy
from estimators.content import RomContent, rom_contents

# A failed write with these stops the search (every later trial would fail the same way) instead of failing trials.
ENVIRONMENT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM}
INTERRUPTED = "interrupted: the driver stopped while this trial was running; retried"

# set_metric_names and the matplotlib plots are "experimental" in Optuna 5; they work as documented.
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


@dataclass
class SearchSummary:
    results_dir: Path
    completed: int
    failed: int
    pareto_size: int
    notes: list[str] = field(default_factory=list)  # plots left out, and why
    accelerators: int = 0  # two-level search: queued accelerator trials, on top of ``completed`` (n_trials counts)


class NetworkSampler(optuna.samplers.BaseSampler):
    """The two-level search's outer sampler: ``base`` proposes networks; the accelerators queued for a trained
    network (trials with ``variant_of``) have fixed parameters and stay out of the base sampler's bookkeeping, so
    they do not fill NSGA-II's generations (a generation of one network's accelerators breeds only that network)."""

    def __init__(self, base: optuna.samplers.BaseSampler) -> None:
        self.base = base

    def infer_relative_search_space(
        self, study: optuna.Study, trial: optuna.trial.FrozenTrial
    ) -> dict[str, optuna.distributions.BaseDistribution]:
        if "variant_of" in trial.user_attrs:
            return {}
        return self.base.infer_relative_search_space(study, trial)

    def sample_relative(
        self, study: optuna.Study, trial: optuna.trial.FrozenTrial, search_space: dict[str, Any]
    ) -> dict[str, Any]:
        if "variant_of" in trial.user_attrs:
            return {}
        proposal = self.base.sample_relative(study, trial, search_space)
        network = {k: v for k, v in proposal.items() if not is_hardware_param(k)}
        if network and any(
            all(done.params.get(k) == v for k, v in network.items())
            for done in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
            if done.user_attrs.get("trained") and "variant_of" not in done.user_attrs
        ):
            # All accelerators of that network were scored when it was trained: propose afresh (independently,
            # i.e. at random for NSGA-II) instead of spending a trial on it.
            return {}
        return proposal

    def sample_independent(
        self, study: optuna.Study, trial: optuna.trial.FrozenTrial, name: str, distribution: Any
    ) -> Any:
        return self.base.sample_independent(study, trial, name, distribution)

    def before_trial(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        self.base.before_trial(study, trial)

    def after_trial(
        self, study: optuna.Study, trial: optuna.trial.FrozenTrial, state: optuna.trial.TrialState, values: Any
    ) -> None:
        self.base.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        self.base.reseed_rng()


def make_sampler(config: SearchConfig, n_existing: int = 0) -> optuna.samplers.BaseSampler:
    """The study's sampler; `n_existing` > 0 (a resumed study) derives a fresh, reproducible seed."""
    base = _base_sampler(config, n_existing)
    return NetworkSampler(base) if config.search.levels == "two" else base


def _base_sampler(config: SearchConfig, n_existing: int = 0) -> optuna.samplers.BaseSampler:
    seed = config.study.seed
    if n_existing:
        seed = int(np.random.SeedSequence([seed, n_existing]).generate_state(1)[0])
    match config.search.sampler:
        case "nsga2":
            return optuna.samplers.NSGAIISampler(population_size=config.search.population_size, seed=seed)
        case "tpe":
            return optuna.samplers.TPESampler(seed=seed, multivariate=True)
        case "gp":
            return optuna.samplers.GPSampler(seed=seed)
        case _:
            return optuna.samplers.RandomSampler(seed=seed)


def storage_url(config: SearchConfig, results_dir: Path) -> str:
    """The resolved storage URL (default SQLite in the results folder; `env:VAR` looked up); see dse.storage."""
    return resolve_storage_url(config.search.storage, Path(results_dir))


def calibration_for(config: SearchConfig, family: str) -> Calibration:
    if config.calibration is not None:
        custom = load_calibration(config.calibration)
        if custom.family == family:
            return custom
    return default_calibration(family)


def application_numbers(
    config: SearchConfig, estimate: DesignEstimate, device: Device, calibration: Calibration
) -> dict[str, object]:
    """Energy per request period and the strategy between requests (empty without an application section)."""
    if config.application is None:
        return {}
    app = config.application
    return period_energy(estimate, device, calibration, app.period_ms, app.strategy).as_dict()


def limit_violations(config: SearchConfig, estimate: DesignEstimate, numbers: dict[str, object]) -> list[str]:
    """The search file's limits a design breaks, as text for the violations column (the device's are the estimate's)."""
    limits, found = config.constraints, []
    for name, limit, value, unit in (
        ("max_latency_us", limits.max_latency_us, estimate.latency_us, "µs"),
        ("max_power_mw", limits.max_power_mw, estimate.power_mw, "mW"),
        ("max_energy_uj", limits.max_energy_uj, estimate.energy_uj, "µJ"),
    ):
        if limit is not None and value > limit:
            found.append(f"constraints.{name}: {value:.4g} {unit} > {limit:g} {unit}")
    if config.application is not None:
        app, latency_ms = config.application, estimate.latency_us / 1000.0
        if latency_ms > app.deadline:
            found.append(f"application.deadline_ms: latency {latency_ms:.4g} ms > {app.deadline:g} ms")
        power = float(numbers["period_power_mw"])  # type: ignore[arg-type]
        if app.power_budget_mw is not None and power > app.power_budget_mw:
            found.append(f"application.power_budget_mw: {power:.4g} mW > {app.power_budget_mw:g} mW")
        if not math.isfinite(power) and latency_ms <= app.deadline:
            found.append(f"application.strategy: {numbers['strategy_reason']}")
    return found


def constraint_values(
    config: SearchConfig,
    design_device: str,
    estimate: DesignEstimate,
    clock: float,
    numbers: dict[str, object] | None = None,
) -> dict[str, float]:
    """Optuna's convention: feasible when every value <= 0. ``numbers``: the application's (application_numbers)."""
    values: dict[str, float] = {}
    limits = config.constraints
    if limits.fit_device and estimate.cycles > 0:
        device = get_device(design_device)
        values.update(
            lut=estimate.lut - device.lut,
            ff=estimate.ff - device.ff,
            dsp=estimate.dsp - device.dsp,
            bram=estimate.bram - device.bram,
            clock=clock - device.max_clock_mhz,
            logic_cells=estimate.logic_cells - device.lut,  # iCE40: one LUT4 + one FF per cell (0 elsewhere)
            fmax=clock - estimate.fmax_mhz,
        )
    if limits.max_latency_us is not None:
        values["latency_us"] = estimate.latency_us - limits.max_latency_us
    if limits.max_power_mw is not None:
        values["power_mw"] = estimate.power_mw - limits.max_power_mw
    if limits.max_energy_uj is not None:
        values["energy_uj"] = estimate.energy_uj - limits.max_energy_uj
    if config.application is not None and numbers:
        app = config.application
        values["deadline_ms"] = estimate.latency_us / 1000.0 - app.deadline
        power = float(numbers["period_power_mw"])  # type: ignore[arg-type]
        budget = app.power_budget_mw if app.power_budget_mw is not None else math.inf
        values["power_budget_mw"] = power - budget if math.isfinite(power) else 1e30  # inf: the period is unservable
    return values


_WORST = {"accuracy": 0.0, "error": 1.0, "mse": math.inf}


def objective_values(
    config: SearchConfig,
    estimate: DesignEstimate,
    metrics: dict[str, float] | None,
    numbers: dict[str, object] | None = None,
) -> list[float]:
    """Quality comes from the validation split of the integer model; untrained candidates get the worst value.
    ``numbers``: the application's (energy_per_period_uj)."""
    values = []
    for objective in config.objectives:
        name = objective.name
        if name in QUALITY_OBJECTIVES:
            values.append(_WORST[name] if metrics is None else float(metrics[f"val_{name}"]))
        elif numbers and name in numbers:
            values.append(min(float(numbers[name]), 1e30))  # type: ignore[arg-type]  # optuna refuses inf
        else:
            values.append(float(getattr(estimate, name)))
    return values


def _creation_race(error: Exception) -> bool:
    """Drivers started together both create the schema or the study; the loser sees one of these."""
    text = str(error).lower()
    return isinstance(error, sqlalchemy.exc.IntegrityError) or "already exists" in text or "locked" in text


def open_study(config: SearchConfig, results_dir: Path, attempts: int = 8) -> optuna.Study:
    for attempt in range(attempts):
        try:
            with creation_lock(results_dir):
                storage = open_storage(config.search.storage, results_dir)
                study = optuna.create_study(
                    study_name=config.study.name,
                    storage=storage,
                    directions=[o.resolved_direction for o in config.objectives],
                    load_if_exists=True,
                )
            break
        except sqlalchemy.exc.DBAPIError as error:  # a server database shared by machines: no common file lock
            if attempt == attempts - 1 or not _creation_race(error):
                raise
            time.sleep(0.25 * (attempt + 1))
    # A resumed study must not replay the sampler's random sequence from the start (it would propose the
    # candidates of the first run again), so the seed also depends on how many trials exist already.
    study.sampler = make_sampler(config, len(study.get_trials(deepcopy=False)))
    study.set_metric_names([o.name for o in config.objectives])
    return study


def requeue(study: optuna.Study, trial: optuna.trial.FrozenTrial | optuna.Trial) -> None:
    """Queue the parameters of an interrupted trial again; the new trial records `retry_of`. Idempotent."""
    number = trial.number
    for other in study.get_trials(deepcopy=False):
        if other.user_attrs.get("retry_of") == number:
            return
    params = trial.params
    study.enqueue_trial(params, user_attrs={"retry_of": number})


def recover_interrupted(study: optuna.Study) -> int:
    """Trials left RUNNING by a dead driver become FAIL, and their parameters are queued again.

    Trials of live drivers (this one included; several may share a study, see dse.leases) are left alone.
    """
    now = time.time()
    stale = [
        trial
        for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
        if not driver_alive(study, trial.user_attrs.get(DRIVER_ATTR), now)
    ]
    for trial in stale:
        requeue(study, trial)  # first: a crash between the two steps leaves RUNNING + queued, not FAIL + lost
        try:
            study._storage.set_trial_user_attr(trial._trial_id, "fail_reason", INTERRUPTED)
            study._storage.set_trial_state_values(trial._trial_id, optuna.trial.TrialState.FAIL)
        except optuna.exceptions.UpdateFinishedTrialError:  # another driver recovered it at the same moment
            continue
    return len(stale)


def _complete_count(study: optuna.Study) -> int:
    return len(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)))


def _outer_count(study: optuna.Study, two_level: bool = False) -> int:
    """COMPLETE trials the sampler proposed (what n_trials counts): the two-level search's queued accelerators
    come on top. Two-level: a proposed network that was trained already does not count either, since all its
    accelerators were scored when it was trained (bounded by ``_proposals_exhausted``)."""
    done = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    return sum(
        "variant_of" not in trial.user_attrs and not (two_level and "trained_by" in trial.user_attrs) for trial in done
    )


REPROPOSALS_PER_TRIAL = 1  # two-level: proposals of already trained networks allowed per n_trials ...
MIN_REPROPOSALS = 25  # ... and at least this many: a small space must not end after a few unlucky random draws


def _proposals_exhausted(study: optuna.Study, target: int) -> bool:
    """Two-level: the sampler keeps proposing trained networks (a small or exhausted space): stop asking."""
    done = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    repeats = sum("variant_of" not in trial.user_attrs and "trained_by" in trial.user_attrs for trial in done)
    return repeats >= max(REPROPOSALS_PER_TRIAL * target, MIN_REPROPOSALS)


def _variants_waiting(study: optuna.Study) -> bool:
    return any(
        "variant_of" in trial.user_attrs
        for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.WAITING,))
    )


@dataclass
class _InFlight:
    trial: optuna.Trial
    estimate: DesignEstimate
    submitted: float  # monotonic
    numbers: dict[str, object] = field(default_factory=dict)  # the application's (application_numbers)

    def deadline(self, future: Future[Any], timeout_s: float | None) -> float:
        """Counted from when a worker began the trial (local workers tell), else from submission (Ray)."""
        return math.inf if timeout_s is None else started_at(future, self.submitted) + timeout_s


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """`kill PID` (SIGTERM) unwinds like Ctrl-C, so running trials are marked interrupted and workers stopped."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_search(
    config: SearchConfig,
    *,
    results_dir: Path | None = None,
    n_trials: int | None = None,
    console: Console | None = None,
) -> SearchSummary:
    console = console or Console(stderr=True)
    results_dir = Path(results_dir or config.results_dir)
    check_calibration(config)
    dataset = dataset_for(config.dataset, config.study.seed)  # fails early on a bad dataset
    if isinstance(config.model, PretrainedSection):  # and on a bad model file, before the study is created
        layers = pretrained_layers(config.model, dataset.n_features, dataset.n_outputs)
        check_mcu_layers(config.hardware, len(layers), f"the model '{config.model.path.name}'")  # now known
    check_results_dir(config, results_dir)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = open_study(config, results_dir)
    check_trial_folders(study, results_dir)
    check_space(config, study, dataset.n_features, dataset.n_outputs, dataset.input_shape)
    write_snapshot(config, results_dir)  # only now: a refused space must not replace the study's search.yaml
    write_labels(results_dir, dataset, config.dataset)  # which output is which class, for whoever uses the model
    write_scaler(results_dir, dataset.scaler)  # what the MCU applies to raw inputs before quantizing them
    validation_splits(dataset, config.training.folds, config.study.seed)  # too few rows: refused once, not per trial
    int_bits = min(param_values(config.quantization.activation_int_bits))
    if warning := saturation_warning(dataset.x_train, int_bits, config.dataset.scale):
        console.print(f"[yellow]{warning}")
    retried = recover_interrupted(study)
    trained: dict[str, optuna.trial.FrozenTrial] = {}  # training_key -> the trial that trained that network
    for done in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
        if done.user_attrs.get("trained") and "trained_by" not in done.user_attrs and "training_key" in done.user_attrs:
            trained.setdefault(done.user_attrs["training_key"], done)
    if retried:
        console.print(f"[yellow]{retried} trial(s) interrupted by an earlier crash are marked FAIL and queued again")
    target = n_trials or config.search.n_trials
    # Two levels: n_trials counts networks (a re-proposed trained network does not count), except in hardware
    # mode, where the one network is fixed and the trials are its accelerators.
    two_level = config.search.levels == "two" and config.search.mode != "hardware"
    timeout_s = config.execution.trial_timeout_s
    work = faults.wrap(train_candidate, faults.faults_from_env())
    in_flight: dict[Future[Any], _InFlight] = {}
    failures = 0
    started = time.monotonic()
    dataset_json = config.dataset.model_dump(mode="json")

    def out_of_time() -> bool:
        return config.search.timeout_s is not None and time.monotonic() - started > config.search.timeout_s

    def fail(trial: optuna.Trial, reason: str) -> None:
        nonlocal failures
        failures += 1
        trial.set_user_attr("fail_reason", reason)
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
        console.print(f"[red]trial {trial.number} failed: {reason}")
        if failures >= config.search.max_failures:
            raise SearchAborted(
                f"stopped after {failures} failed trials (search.max_failures = {config.search.max_failures}); "
                f"last reason: {reason}. Completed trials are kept in {results_dir}."
            )

    def interrupt(trial: optuna.Trial, reason: str = INTERRUPTED) -> None:
        trial.set_user_attr("fail_reason", reason)
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
        requeue(study, trial)

    def start_trial() -> None:
        """Ask, estimate, and either finish at once (infeasible, untrained) or hand the training to a worker."""
        trial = study.ask()
        try:
            lease.claim(trial)
            candidate, estimate, numbers, constraints = assess(trial)
            trial.set_user_attr("candidate", candidate.to_dict())
            trial.set_user_attr("estimate", estimate.as_dict() | numbers)
            infeasible = any(value > 0 for value in constraints.values())
            # Two levels: an infeasible sampled accelerator does not condemn the network; it is trained when any of
            # its accelerators is feasible (those are queued after the training).
            if (
                infeasible
                and not config.constraints.train_infeasible
                and not (two_level and feasible_accelerator(trial))
            ):
                trial.set_user_attr("trained", False)
                for name, value in constraints.items():  # Optuna keeps a constraint's first value: set once
                    trial.set_constraint(name, value)
                study.tell(trial, objective_values(config, estimate, None, numbers))
                return
            key = candidate.training_key()
            trial.set_user_attr("training_key", key)
            source = trained.get(key) if config.search.reuse_training else None
            if source is not None:  # the same network, trained already: only the accelerator differs
                metrics = source.user_attrs["metrics"]
                reuse(trial, source, retrained_values(trial, source.user_attrs["artifacts"], metrics))
                return
            artifacts = results_dir / "trials" / f"{trial.number:05d}"
            future = executor.submit(
                work, dataset_json, config.study.seed, candidate.to_dict(), trial.number, str(artifacts)
            )
        except Exception as error:  # a bad candidate or a broken executor fails this trial, not the study
            fail(trial, describe(error))
            return
        except BaseException:  # Ctrl-C / SIGTERM between ask and submit
            interrupt(trial)
            raise
        in_flight[future] = _InFlight(trial, estimate, time.monotonic(), numbers)

    def collect(future: Future[Any]) -> None:
        item = in_flight.pop(future)
        trial = item.trial
        try:
            outcome = future.result()
        except OSError as error:
            if error.errno not in ENVIRONMENT_ERRNOS:
                fail(trial, describe(error))
                return
            # A full disk or read-only folder fails every later trial too: stop, and queue this one again.
            interrupt(trial, f"{describe(error)}; retried")
            raise StorageFailed(
                f"trial {trial.number} could not save its results: {describe(error)}. Completed trials are kept and "
                f"trial {trial.number} is queued again; fix the folder (space, permissions) and rerun the same command"
            ) from None
        except Exception as error:  # any training error is a failed trial, not a failed study
            fail(trial, describe(error))
            return
        values = objective_values(config, item.estimate, outcome["metrics"], item.numbers)
        if not all(math.isfinite(value) for value in values):  # Optuna would fail it silently, without a reason
            fail(trial, f"non-finite objective values {values} (e.g. an empty validation split)")
            return
        artifacts = f"trials/{trial.number:05d}"
        try:
            values = retrained_values(trial, artifacts, outcome["metrics"])
        except (OSError, ValueError, KeyError) as error:
            fail(trial, f"the trained weights in {artifacts} could not be read: {describe(error)}")
            return
        trial.set_user_attr("trained", True)
        trial.set_user_attr("metrics", outcome["metrics"])
        trial.set_user_attr("train_seconds", outcome["seconds"])
        trial.set_user_attr("artifacts", artifacts)  # relative: the study folder may move
        study.tell(trial, values)
        frozen = study.get_trials(deepcopy=False)[trial.number]
        trained.setdefault(trial.user_attrs["training_key"], frozen)
        if config.search.levels == "two":
            queue_accelerators(frozen)

    def assess(
        trial: Any, weights: list[Any] | None = None
    ) -> tuple[Candidate, DesignEstimate, dict[str, object], dict[str, float]]:
        """The candidate a trial (or ParamsTrial) describes, its estimate with the application's numbers and limit
        violations, and its constraint values (<= 0: met): every level of the search scores designs this way.
        With the network's trained ``weights``, the estimate counts the ROM columns they really keep."""
        candidate = sample_candidate(trial, config, dataset.n_features, dataset.n_outputs, dataset.input_shape)
        device = get_device(candidate.design.device)
        calibration = calibration_for(config, device.family)
        columns = None if weights is None else rom_contents(candidate.design, weights, rom_memo)
        estimate = estimate_design(
            candidate.design, calibration, device, activity=config.hardware.activity, contents=columns
        )
        numbers = application_numbers(config, estimate, device, calibration)
        estimate.violations.extend(limit_violations(config, estimate, numbers))
        constraints = constraint_values(config, device.name, estimate, candidate.design.clock_mhz, numbers)
        return candidate, estimate, numbers, constraints

    trained_weights: dict[str, list[Any]] = {}  # artifacts folder -> the network's integer weights
    rom_memo: dict[tuple[Any, ...], RomContent] = {}  # ROM content per (weights, layer, folding)

    def network_weights(artifacts: str) -> list[Any]:
        """A trained network's integer weights, read once per network."""
        if artifacts not in trained_weights:
            trained_weights[artifacts] = load_weights(results_dir / artifacts / "weights.npz")
        return trained_weights[artifacts]

    def retrained_values(trial: Any, artifacts: str, metrics: dict[str, float]) -> list[float]:
        """Re-estimate ``trial`` with the trained weights in ``artifacts``: the post-training estimate becomes the
        trial's estimate, constraints and objective values; the pre-training one (which decided to train it) is
        kept beside. A trained trial's constraints are set here only: Optuna keeps a constraint's first value."""
        _, estimate, numbers, constraints = assess(ParamsTrial(trial.params), network_weights(artifacts))
        trial.set_user_attr("estimate_pre_training", trial.user_attrs["estimate"])
        trial.set_user_attr("estimate", estimate.as_dict() | numbers)
        for key, value in constraints.items():
            trial.set_constraint(key, value)
        return objective_values(config, estimate, metrics, numbers)

    def feasible_accelerator(trial: optuna.Trial) -> bool:
        """Whether any accelerator of the trial's network meets the constraints (estimates only)."""
        return any(
            all(value <= 0 for value in assess(ParamsTrial(params))[3].values())
            for params in variants(trial, seed=trial.number)  # type: ignore[arg-type]
        )

    def queue_accelerators(source: optuna.trial.FrozenTrial) -> None:
        """The inner level: every accelerator of the network is scored (and logged in designs.csv); the estimator
        Pareto set is queued as trials that reuse its training."""
        rows: dict[tuple[tuple[str, Any], ...], dict[str, Any]] = {}
        weights = network_weights(source.user_attrs["artifacts"])

        def key(params: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
            return tuple(sorted((k, v) for k, v in params.items() if is_hardware_param(k)))

        def score(params: dict[str, Any]) -> list[float] | None:
            """Cost objectives (to minimize) of one accelerator; None when infeasible."""
            _, estimate, numbers, constraints = assess(ParamsTrial(params), weights)
            feasible = not any(v > 0 for v in constraints.values())
            values = objective_values(config, estimate, source.user_attrs["metrics"], numbers)
            names = [objective.name for objective in config.objectives]
            hardware = {k: v for k, v in params.items() if is_hardware_param(k)}
            rows[key(params)] = design_row(
                source.number, hardware, dict(zip(names, values, strict=True)), estimate.as_dict(), feasible
            )
            if not feasible:
                return None
            return [
                value if objective.resolved_direction == "minimize" else -value
                for objective, value in zip(config.objectives, values, strict=True)
                if objective.name not in QUALITY_OBJECTIVES
            ]

        for params in hardware_pareto(source, score, config.search.variants_per_model, seed=source.number):
            study.enqueue_trial(params, user_attrs={"variant_of": source.number}, skip_if_exists=True)
            rows[key(params)]["queued"] = True
        append_designs(results_dir, list(rows.values()))

    def reuse(trial: optuna.Trial, source: optuna.trial.FrozenTrial, values: list[float]) -> None:
        """Complete ``trial`` with the metrics and weights of ``source``, which trained the same network."""
        for name in ("metrics", "artifacts", "train_seconds"):
            trial.set_user_attr(name, source.user_attrs[name])
        trial.set_user_attr("trained", True)
        trial.set_user_attr("trained_by", source.number)
        study.tell(trial, values)

    def expire() -> None:
        now = time.monotonic()
        for future, item in list(in_flight.items()):
            if item.deadline(future, timeout_s) <= now and not future.done():
                executor.abort(future)
                del in_flight[future]
                fail(item.trial, f"timeout: no result within execution.trial_timeout_s = {timeout_s} s")

    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )
    lease = Lease(study).__enter__()
    try:
        executor = make_executor(config.execution, str(results_dir / "tmp"))
    except BaseException:
        lease.release()
        raise
    last_recovery = time.monotonic()
    notes: list[str] = []  # plots left out, and why
    written = (study, config, results_dir, notes)

    def stop_in_flight() -> None:
        for future, item in list(in_flight.items()):
            executor.abort(future)
            del in_flight[future]
            with contextlib.suppress(Exception):
                interrupt(item.trial)

    try:
        with _sigterm_as_interrupt(), progress:
            bar = progress.add_task(
                config.study.name, total=target, completed=min(target, _outer_count(study, two_level))
            )
            while True:
                done = _outer_count(study, two_level)
                progress.update(bar, completed=min(done, target))
                # Accelerators queued by the two-level search run even once n_trials networks are done: they
                # complete at once by reusing a training.
                more = done + len(in_flight) < target and not (two_level and _proposals_exhausted(study, target))
                can_ask = (more or _variants_waiting(study)) and not out_of_time()
                if can_ask and len(in_flight) < config.execution.workers:
                    start_trial()
                    continue
                if not in_flight:
                    break
                # With a timeout, wake at least every second: a deadline appears only once a worker starts a trial.
                deadline = min(item.deadline(future, timeout_s) for future, item in in_flight.items())
                wait_s = LEASE_INTERVAL_S if timeout_s is None else min(1.0, max(0.0, deadline - time.monotonic()))
                finished, _ = wait(in_flight, return_when=FIRST_COMPLETED, timeout=wait_s)
                for future in finished:
                    collect(future)
                expire()
                if time.monotonic() - last_recovery > LEASE_INTERVAL_S:  # trials of drivers that died meanwhile
                    last_recovery = time.monotonic()
                    recover_interrupted(study)
    except BaseException:
        # A second failure while cleaning up (often the same full disk or broken storage) must not hide the first;
        # a trial that cannot be marked stays RUNNING and is recovered by the next run (its driver is gone).
        for step in (stop_in_flight, executor.shutdown, lease.release, lambda: write_results(*written)):
            with contextlib.suppress(Exception):
                step()
        raise
    stop_in_flight()
    executor.shutdown()
    lease.release()
    pareto = write_results(*written)
    if note := infeasibility_note(study):
        notes.append(note)
    failed = len(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.FAIL,)))
    outer = _outer_count(study, two_level)
    return SearchSummary(results_dir, outer, failed, pareto, notes, _complete_count(study) - outer)
