"""The training loop: Adam on the fake-quantized model, deterministic for a given seed."""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch.nn import functional

from contract.design import AcceleratorDesign
from contract.reference import LayerWeights
from dse.datasets import Dataset
from dse.training.evaluation import compute_metrics, export_integer_weights
from dse.training.quant import QuantizedMLP

# callback(epoch, record) after every epoch; returning True stops training (raising, e.g. optuna's
# TrialPruned, propagates to the caller).
EpochCallback = Callable[[int, dict[str, float]], bool | None]


class TrainingDiverged(RuntimeError):
    """The loss or a parameter became NaN/inf."""

    def __init__(self, epoch: int, detail: str) -> None:
        super().__init__(f"training diverged in epoch {epoch}: {detail}")
        self.epoch = epoch
        self.detail = detail

    def __reduce__(self) -> tuple[type[TrainingDiverged], tuple[int, str]]:
        # Rebuilt from its arguments, so it crosses process boundaries (worker -> driver) intact.
        return TrainingDiverged, (self.epoch, self.detail)


@dataclass
class TrainedModel:
    """``model`` holds the weights of ``best_epoch`` (best validation score); ``weights`` are their codes."""

    model: QuantizedMLP
    weights: list[LayerWeights]
    best_epoch: int
    seconds: float
    history: list[dict[str, float]] = field(default_factory=list)

    @property
    def design(self) -> AcceleratorDesign:
        return self.model.design


def check_compatible(design: AcceleratorDesign, dataset: Dataset) -> None:
    if design.layers[0].in_size != dataset.n_features:
        raise ValueError(
            f"design takes {design.layers[0].in_size} inputs but dataset "
            f"{dataset.name!r} has {dataset.n_features} features"
        )
    if design.layers[-1].out_size != dataset.n_outputs:
        what = "classes" if dataset.task == "classification" else "targets"
        raise ValueError(
            f"design has {design.layers[-1].out_size} outputs but dataset "
            f"{dataset.name!r} has {dataset.n_outputs} {what}"
        )


def _loss(outputs: torch.Tensor, y: torch.Tensor, task: str) -> torch.Tensor:
    if task == "classification":
        return functional.cross_entropy(outputs, y)
    return functional.mse_loss(outputs, y)


def _score(record: dict[str, float], task: str) -> tuple[float, float]:
    """Lower is better: validation error (ties broken by loss) or mse."""
    if task == "classification":
        return record["val_error"], record["val_loss"]
    return record["val_mse"], record["val_loss"]


def train(
    design: AcceleratorDesign,
    dataset: Dataset,
    *,
    epochs: int,
    lr: float,
    batch_size: int,
    seed: int,
    weight_decay: float = 0.0,
    callback: EpochCallback | None = None,
    initial: list[tuple[np.ndarray, np.ndarray]] | None = None,
) -> TrainedModel:
    """Quantization-aware training of every layer of ``design`` on ``dataset.x_train``.

    Sets torch to one intra-op thread for the whole process: parallel trial workers then do not
    oversubscribe the cores, and float summation order (so the result) does not depend on the machine.
    ``initial``: float (weight, bias) per layer of a pretrained model; with ``epochs`` = 0 it is only quantized
    (post-training quantization), otherwise QAT fine-tunes it.
    """
    check_compatible(design, dataset)
    if epochs < (0 if initial is not None else 1) or batch_size < 1:
        raise ValueError(f"epochs and batch_size must be >= 1, got {epochs} and {batch_size}")
    torch.set_num_threads(1)
    started = time.perf_counter()
    generator = torch.Generator().manual_seed(seed)  # local RNG: no global torch state is touched
    model = QuantizedMLP(design)
    model.reset_parameters(generator)
    if initial is not None:
        with torch.no_grad():
            for module, (weight, bias) in zip(model.layers, initial, strict=True):
                module.weight.copy_(torch.from_numpy(np.asarray(weight, dtype=np.float64)))
                module.bias.copy_(torch.from_numpy(np.asarray(bias, dtype=np.float64)))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    x_train, y_train = (torch.from_numpy(a) for a in dataset.split("train"))
    x_val, y_val = (torch.from_numpy(a) for a in dataset.split("val"))
    has_val = len(x_val) > 0
    history: list[dict[str, float]] = []
    best_state, best_epoch, best_score = copy.deepcopy(model.state_dict()), -1, (math.inf, math.inf)
    for epoch in range(epochs):
        order = torch.randperm(len(x_train), generator=generator)
        total = 0.0
        model.train()  # batch norms (conv1d) use batch statistics while training
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            loss = _loss(model(x_train[batch]), y_train[batch], dataset.task)
            if not torch.isfinite(loss):
                raise TrainingDiverged(epoch, f"loss is {loss.item()}")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        if not all(torch.isfinite(p).all() for p in model.parameters()):
            raise TrainingDiverged(epoch, "a parameter is NaN or infinite")
        record = {"epoch": float(epoch), "train_loss": total / len(x_train)}
        if has_val:
            # The fake-quantized forward pass equals the integer model, so these are integer metrics.
            model.eval()  # ... and their running statistics, folded into the integer weights, when evaluated
            with torch.no_grad():
                outputs = model(x_val)
                record["val_loss"] = _loss(outputs, y_val, dataset.task).item()
            metrics = compute_metrics(outputs.numpy(), y_val.numpy(), dataset.task)
            record.update({f"val_{k}": v for k, v in metrics.items()})
            if not math.isfinite(record["val_loss"]):
                raise TrainingDiverged(epoch, f"validation loss is {record['val_loss']}")
        history.append(record)
        score = _score(record, dataset.task) if has_val else (0.0, 0.0)
        if not has_val or score < best_score:  # without a validation split keep the last epoch
            best_state, best_epoch, best_score = copy.deepcopy(model.state_dict()), epoch, score
        if callback is not None and callback(epoch, record):
            break
    model.load_state_dict(best_state)
    model.eval()
    return TrainedModel(model, export_integer_weights(model), best_epoch, time.perf_counter() - started, history)
