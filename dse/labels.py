"""labels.json: which class each network output stands for (string or numeric labels are sorted, then numbered)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dse.config import DatasetSection
from dse.datasets import Dataset

LABELS_FILE = "labels.json"
RULE = (
    "Class labels are sorted (as text when they are strings) and numbered 0..K-1; output i of the network scores "
    "class outputs[i]. The predicted class is the output with the largest value; on a tie the lowest index wins."
)


def label_mapping(dataset: Dataset, section: DatasetSection) -> dict[str, Any] | None:
    """The mapping for a classification data set; None for regression (outputs are the target columns)."""
    if dataset.task != "classification":
        return None
    return {
        "dataset": dataset.name,
        "target_column": section.target_columns[0] if section.target_columns else None,
        "outputs": list(dataset.output_names),
        "index": {name: index for index, name in enumerate(dataset.output_names)},
        "rule": RULE,
    }


def write_labels(folder: Path, dataset: Dataset, section: DatasetSection) -> Path | None:
    mapping = label_mapping(dataset, section)
    if mapping is None:
        return None
    path = Path(folder) / LABELS_FILE
    path.write_text(json.dumps(mapping, indent=2, ensure_ascii=False) + "\n")
    return path
