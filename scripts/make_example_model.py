"""Train a small float MLP on digits in PyTorch and save it the two ways `model.family: pretrained` reads.

    .venv/bin/python scripts/make_example_model.py [--out search_spaces/models]

Writes `digits_mlp.onnx` (torch.onnx.export) and `digits_mlp.pt` (the nn.Sequential's state_dict). The inputs
are the digits features after dse's default `dataset.scale: standard`, so the model sees what dse will feed it.
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import torch
from torch import nn

from dse.datasets import load_dataset


def train_mlp(epochs: int = 60, seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    data = load_dataset("digits", scale="standard", seed=0)
    x, y = torch.from_numpy(data.x_train).float(), torch.from_numpy(data.y_train)
    model = nn.Sequential(nn.Linear(64, 24), nn.ReLU(), nn.Linear(24, 10))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(epochs):
        for batch in torch.randperm(len(x)).split(64):
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x[batch]), y[batch]).backward()
            optimizer.step()
    return model


def save(model: nn.Sequential, out: Path) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    onnx_path, state_path = out / "digits_mlp.onnx", out / "digits_mlp.pt"
    with warnings.catch_warnings():  # the TorchScript exporter needs no onnxscript; torch marks it deprecated
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(model, (torch.zeros(1, 64),), str(onnx_path), dynamo=False)
    torch.save(model.state_dict(), state_path)
    return onnx_path, state_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("search_spaces/models"))
    args = parser.parse_args()
    for path in save(train_mlp(), args.out):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
