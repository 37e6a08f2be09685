"""Work done per trial outside the driver: train the candidate and measure what the integer model computes."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

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
        scale=section.scale,
    )


def dataset_for(section: DatasetSection, seed: int) -> Dataset:
    """Loaded once per process: workers train many candidates on the same data."""
    return _dataset_from_json(section.model_dump_json(), seed)


def validation_splits(dataset: Dataset, folds: int, seed: int) -> list[Dataset]:
    """``folds`` = 1: the data set as split. Otherwise k (train, val) re-splits of train + val, stratified for
    classification; the test split is never touched, and the input scaler stays the one fitted on the train split."""
    if folds == 1:
        return [dataset]
    from sklearn.model_selection import KFold, StratifiedKFold

    x = np.concatenate([dataset.x_train, dataset.x_val])
    y = np.concatenate([dataset.y_train, dataset.y_val])
    if len(x) < folds:
        raise ValueError(f"training.folds: {folds} folds need at least {folds} train + val rows, got {len(x)}")
    if dataset.task == "classification" and np.bincount(y).min() >= folds:
        splitter: KFold | StratifiedKFold = StratifiedKFold(folds, shuffle=True, random_state=seed)
    else:
        splitter = KFold(folds, shuffle=True, random_state=seed)
    return [
        replace(dataset, x_train=x[fit], y_train=y[fit], x_val=x[held], y_val=y[held])
        for fit, held in splitter.split(x, y)
    ]


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
    initial = None
    if chosen.pretrained is not None:
        from dse.pretrained import load_pretrained

        file_layers = load_pretrained(Path(chosen.pretrained["path"]), chosen.pretrained["activation"])
        initial = [(layer.weight, layer.bias) for layer in file_layers]
    runs = []
    # The network (its training key), not the trial number, seeds the training: the same network gets the same
    # weights whichever trial trains it, so a study's results do not depend on the order networks were sampled in.
    network = int(chosen.training_key(), 16) % 1_000_003
    for run, split in enumerate(validation_splits(dataset, chosen.folds, study_seed)):
        for repeat in range(chosen.repeats):
            seed = study_seed * 100_003 + network + 7_919 * (run * chosen.repeats + repeat)
            trained = train(
                chosen.design,
                split,
                epochs=chosen.epochs,
                lr=chosen.learning_rate,
                batch_size=chosen.batch_size,
                seed=seed,
                initial=initial,
            )
            runs.append((trained, evaluate_integer(chosen.design, trained.weights, split, "val")))
    trained = runs[0][0]  # the first run's model is the one saved, tested and exported
    metrics: dict[str, float] = {}
    for key in runs[0][1]:
        values = [run_metrics[key] for _, run_metrics in runs]
        metrics[f"val_{key}"] = float(np.mean(values))
        if len(runs) > 1:
            metrics[f"val_{key}_std"] = float(np.std(values))
    for key, value in evaluate_integer(chosen.design, trained.weights, dataset, "test").items():
        metrics[f"test_{key}"] = value
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
