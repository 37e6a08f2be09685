"""Checkpoints: torch state_dict + the design it belongs to (as JSON, so torch.load can stay weights_only)."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from contract.design import AcceleratorDesign
from dse.training.quant import QuantizedMLP

FORMAT = "dse.training.checkpoint/2"  # 2: one QAT module per layer kind


def save_checkpoint(path: Path | str, model: QuantizedMLP) -> None:
    torch.save({"format": FORMAT, "design": model.design.to_json(), "state_dict": model.state_dict()}, Path(path))


def load_checkpoint(path: Path | str) -> QuantizedMLP:
    data = torch.load(Path(path), weights_only=True)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"{path}: not a {FORMAT} checkpoint")
    model = QuantizedMLP(AcceleratorDesign.from_dict(json.loads(data["design"])))
    model.load_state_dict(data["state_dict"])
    return model
