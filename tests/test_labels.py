"""labels.json for class labels, the argmax tie rule, and the warning for choosing by the test split."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dse.config import DatasetSection
from dse.datasets import load_dataset
from dse.labels import label_mapping, write_labels
from dse.pick import selection_warning
from dse.training.evaluation import compute_metrics


def csv_file(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    names = ["walk", "run", "idle"]
    lines = ["a,b,activity"] + [f"{x:.3f},{y:.3f},{names[i % 3]}" for i, (x, y) in enumerate(rng.random((60, 2)))]
    path = tmp_path / "motion.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_string_labels_are_saved_with_their_output_index(tmp_path: Path) -> None:
    path = csv_file(tmp_path)
    section = DatasetSection(kind="csv", path=path, target_columns=["activity"], task="classification")
    dataset = load_dataset("csv", path=path, target_columns=["activity"], task="classification")
    written = write_labels(tmp_path, dataset, section)
    assert written == tmp_path / "labels.json"
    labels = json.loads(written.read_text())
    assert labels["outputs"] == ["idle", "run", "walk"]  # sorted, then numbered
    assert labels["index"] == {"idle": 0, "run": 1, "walk": 2}
    assert labels["target_column"] == "activity"
    # The mapping is the one the data set uses: every 'run' row has label 1.
    raw = [line.split(",")[2] for line in path.read_text().splitlines()[1:]]
    assert sorted(set(raw)) == labels["outputs"]
    assert np.isin(dataset.y_train, [0, 1, 2]).all()


def test_regression_has_no_label_file(tmp_path: Path) -> None:
    section = DatasetSection(kind="sensor")
    assert label_mapping(load_dataset("sensor"), section) is None
    assert write_labels(tmp_path, load_dataset("sensor"), section) is None


def test_argmax_ties_go_to_the_lowest_index() -> None:
    outputs = np.array([[2.0, 2.0, 0.0], [0.0, 1.5, 1.5], [1.0, 1.0, 1.0]])
    assert compute_metrics(outputs, np.array([0, 1, 0]), "classification")["accuracy"] == 1.0
    assert compute_metrics(outputs, np.array([1, 2, 2]), "classification")["accuracy"] == 0.0


@pytest.mark.parametrize(
    ("expression", "warned"),
    [
        ("max test_accuracy where energy_uj <= 2", True),
        ("max accuracy where float_test_error < 0.1", True),
        ("max accuracy where energy_uj <= 2", False),
        ("max val_accuracy", False),
        ("knee", False),
    ],
)
def test_choosing_by_the_test_split_warns(expression: str, warned: bool) -> None:
    warning = selection_warning(expression)
    assert (warning is not None) == warned
    if warning:
        assert "test split" in warning and "val_" in warning
