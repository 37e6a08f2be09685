"""Test-only fault injection for the search driver, switched on explicitly by an environment variable.

DSE_FAULT_INJECT is a comma-separated list of `KIND:TRIAL[=VALUE]`; TRIAL is a trial number or `*` (every trial):

- `raise:3`       trial 3 raises RuntimeError("injected fault ...")
- `nan:5`         trial 5 trains with an infinite learning rate, so training really diverges (TrainingDiverged)
- `sleep:2=30`    trial 2 sleeps 30 s before training (exercises execution.trial_timeout_s)
- `exit:4`        trial 4's worker process dies (os._exit) on the first attempt only; a retry succeeds
- `sleep:*=0.5`   every trial is 0.5 s slower (makes kill-and-resume tests deterministic enough)

The driver reads the variable once per run and, when it is set, wraps the trial function with `run_with_faults`;
unset, nothing changes. The spec travels with each task, so it works for worker processes and Ray alike.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

FAULT_ENV = "DSE_FAULT_INJECT"
KINDS = ("raise", "nan", "sleep", "exit")


@dataclass(frozen=True)
class Fault:
    kind: str
    trial: int | None  # None: every trial
    value: float | None = None


def parse_faults(spec: str) -> tuple[Fault, ...]:
    faults = []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        kind, sep, rest = item.partition(":")
        target, _, value = rest.partition("=")
        if not sep or kind not in KINDS or not target:
            raise ValueError(f"{FAULT_ENV}: bad entry {item!r}; expected KIND:TRIAL[=VALUE], KIND in {KINDS}")
        faults.append(Fault(kind, None if target == "*" else int(target), float(value) if value else None))
    return tuple(faults)


def faults_from_env() -> tuple[Fault, ...]:
    return parse_faults(os.environ.get(FAULT_ENV, ""))


def run_with_faults(
    faults: tuple[Fault, ...],
    fn: Callable[..., dict[str, Any]],
    dataset_section: dict[str, Any],
    study_seed: int,
    candidate: dict[str, Any],
    trial_number: int,
    artifact_dir: str,
) -> dict[str, Any]:
    """Call `fn` (dse.evaluate.train_candidate's signature) after applying the faults meant for this trial."""
    for fault in faults:
        if fault.trial is not None and fault.trial != trial_number:
            continue
        if fault.kind == "raise":
            raise RuntimeError(f"injected fault in trial {trial_number} ({FAULT_ENV})")
        if fault.kind == "sleep":
            time.sleep(fault.value if fault.value is not None else 3600.0)
        elif fault.kind == "nan":
            candidate = {**candidate, "learning_rate": float("inf")}
        elif fault.kind == "exit":
            marker = Path(artifact_dir) / ".injected-exit"
            if not marker.exists():  # first attempt only, so a retry can succeed
                marker.parent.mkdir(parents=True, exist_ok=True)
                marker.touch()
                os._exit(70)
    return fn(dataset_section, study_seed, candidate, trial_number, artifact_dir)


def wrap(fn: Callable[..., dict[str, Any]], faults: tuple[Fault, ...]) -> Callable[..., dict[str, Any]]:
    """`fn` itself when there are no faults; a picklable wrapper otherwise."""
    return partial(run_with_faults, faults, fn) if faults else fn
