"""Integer test accuracy of a study's best trial next to the same network trained in float.

    python benchmarks/float_gap.py results/timeseries_conv1d [--seeds 3]

Takes the trial with the best integer test accuracy (trials.csv), retrains its network (same layers, epochs,
learning rate, batch size) without fake quantization (QuantizedNet(..., quantized=False): plain float64, batch
norm unfolded in effect), keeping the best validation epoch, and prints both test accuracies. Goal (issue 9): the
integer accuracy is within 2 points of the float one.
"""

from __future__ import annotations

import argparse
import copy
import csv
import json
from pathlib import Path

import torch
from torch.nn import functional

from contract.design import AcceleratorDesign
from dse.config import load_config
from dse.evaluate import dataset_for
from dse.training.evaluation import compute_metrics
from dse.training.quant import QuantizedNet


def train_float(design: AcceleratorDesign, dataset: object, epochs: int, lr: float, batch: int, seed: int) -> float:
    torch.set_num_threads(1)
    generator = torch.Generator().manual_seed(seed)
    model = QuantizedNet(design)
    model.reset_parameters(generator)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    x_train, y_train = (torch.from_numpy(a) for a in dataset.split("train"))  # type: ignore[attr-defined]
    x_val, y_val = (torch.from_numpy(a) for a in dataset.split("val"))  # type: ignore[attr-defined]
    x_test, y_test = dataset.split("test")  # type: ignore[attr-defined]
    best, best_error = copy.deepcopy(model.state_dict()), float("inf")
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(x_train), generator=generator)
        for start in range(0, len(order), batch):
            index = order[start : start + batch]
            loss = functional.cross_entropy(model(x_train[index], quantized=False), y_train[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            error = compute_metrics(model(x_val, quantized=False).numpy(), y_val.numpy(), "classification")["error"]
        if error < best_error:
            best, best_error = copy.deepcopy(model.state_dict()), error
    model.load_state_dict(best)
    model.eval()
    with torch.no_grad():
        outputs = model(torch.from_numpy(x_test), quantized=False).numpy()
    return compute_metrics(outputs, y_test, "classification")["accuracy"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("results", type=Path)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    config = load_config(args.results / "search.yaml")
    with (args.results / "trials.csv").open() as handle:
        rows = [row for row in csv.DictReader(handle) if row.get("test_accuracy")]
    row = max(rows, key=lambda r: float(r["test_accuracy"]))
    trial = int(row["number"])
    candidate = json.loads((args.results / "trials" / f"{trial:05d}" / "design.json").read_text())
    design = AcceleratorDesign.from_dict(candidate.get("design", candidate))
    dataset = dataset_for(config.dataset, config.study.seed)
    epochs = int(row.get("param_epochs") or config.training.epochs)
    lr = float(row.get("param_learning_rate") or config.training.learning_rate)
    batch = int(row.get("param_batch_size") or config.training.batch_size)
    floats = [train_float(design, dataset, epochs, lr, batch, seed) for seed in range(args.seeds)]
    integer = float(row["test_accuracy"])
    best_float = max(floats)
    print(f"trial {trial}: {len(design.layers)} layers, {sum(layer.params for layer in design.layers)} params")
    print(f"integer test accuracy (QAT, folded batch norm): {integer:.4f}")
    print(f"float test accuracy, same network, {args.seeds} seeds: {', '.join(f'{a:.4f}' for a in floats)}")
    print(f"gap to the best float run: {100 * (best_float - integer):+.2f} points (goal: <= 2)")


if __name__ == "__main__":
    main()
