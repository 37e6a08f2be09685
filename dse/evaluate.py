"""Work done per trial outside the driver: train the candidate and measure what the integer model computes."""

from __future__ import annotations

import json
import time
from functools import cache
from pathlib import Path
from typing import Any

from contract.reference import save_weights
from dse.config import DatasetSection
from dse.datasets import Dataset, load_dataset
from dse.space import Candidate


@cache
def _dataset_from_json(section_json: str, seed: int) -> Dataset:
    section = DatasetSection.model_validate_json(section_json)
    return load_dataset(
        section.kind,
        path=section.path,
        feature_columns=section.feature_columns,
        target_columns=section.target_columns,
        task=section.task,
        x_key=section.x_key,
        y_key=section.y_key,
        val_fraction=section.val_fraction,
        test_fraction=section.test_fraction,
        seed=seed,
        max_samples=section.max_samples,
        input_shape=section.input_shape,
    )


def dataset_for(section: DatasetSection, seed: int) -> Dataset:
    """Loaded once per process: workers train many candidates on the same data."""
    return _dataset_from_json(section.model_dump_json(), seed)


def train_candidate(
    dataset_section: dict[str, Any], study_seed: int, candidate: dict[str, Any], trial_number: int, artifact_dir: str
) -> dict[str, Any]:
    """Train with QAT, evaluate the integer model on val and test, save checkpoint and integer weights.

    Takes and returns plain data so it runs the same in-process, in a worker process or as a Ray task.
    """
    from dse.training import evaluate_integer, evaluate_model, save_checkpoint, train

    started = time.perf_counter()
    section = DatasetSection.model_validate(dataset_section)
    dataset = dataset_for(section, study_seed)
    chosen = Candidate.from_dict(candidate)
    trained = train(
        chosen.design,
        dataset,
        epochs=chosen.epochs,
        lr=chosen.learning_rate,
        batch_size=chosen.batch_size,
        seed=study_seed * 100_003 + trial_number,
    )
    metrics: dict[str, float] = {}
    for split in ("val", "test"):
        for key, value in evaluate_integer(chosen.design, trained.weights, dataset, split).items():
            metrics[f"{split}_{key}"] = value
    for key, value in evaluate_model(trained.model, dataset, "test", quantized=False).items():
        metrics[f"float_test_{key}"] = value
    folder = Path(artifact_dir)
    folder.mkdir(parents=True, exist_ok=True)
    save_checkpoint(folder / "model.pt", trained.model)
    save_weights(folder / "weights.npz", trained.weights)
    (folder / "design.json").write_text(json.dumps(chosen.to_dict(), indent=2))
    return {
        "metrics": metrics,
        "best_epoch": trained.best_epoch,
        "train_seconds": trained.seconds,
        "seconds": time.perf_counter() - started,
    }
