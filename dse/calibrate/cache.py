"""Content-addressed result cache: one JSON file per synthesized point, so sweeps resume where they stopped."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from contract.design import AcceleratorDesign
from contract.reference import LayerWeights


def weights_hash(weights: list[LayerWeights]) -> str:
    digest = hashlib.sha256()
    for layer in weights:
        for array in (layer.weight, layer.bias):
            digest.update(np.ascontiguousarray(array, dtype=np.int64).tobytes())
            digest.update(str(array.shape).encode())
    return digest.hexdigest()


def point_key(
    design: AcceleratorDesign, weights: list[LayerWeights], tools: dict[str, str], extra: dict[str, Any]
) -> str:
    """Everything that can change a synthesis result: design, weights, tool and generator versions, flags."""
    payload = {"design": design.to_dict(), "weights": weights_hash(weights), "tools": tools, **extra}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:24]


class ResultCache:
    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.directory / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        path = self._path(key)
        if not path.exists():
            return None
        try:
            return json.loads(path.read_text())
        except json.JSONDecodeError:
            return None  # a half-written entry from a killed run: synthesize again

    def put(self, key: str, row: dict[str, Any]) -> None:
        tmp = self._path(key).with_suffix(".tmp")
        tmp.write_text(json.dumps(row, sort_keys=True))
        tmp.replace(self._path(key))  # atomic: a killed sweep never leaves a truncated entry
