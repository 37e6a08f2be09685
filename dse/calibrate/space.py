"""The single-dense-layer configuration space the resource models are calibrated on."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dse.design import WEIGHT_STORAGES, AcceleratorDesign, DenseLayer
from dse.fixedpoint import ACTIVATIONS, FixedFormat
from estimators.fit import layer_config

FAMILY_DEVICES = {"xc7": "xc7s15", "ice40": "ice40up5k"}
FAMILY_CLOCKS = {"xc7": 100.0, "ice40": 24.0}
TOP_NAME = "cal_dense"
MAX_IN, MAX_OUT, MIN_BITS, MAX_BITS = 64, 32, 2, 16


@dataclass(frozen=True)
class SweepPoint:
    index: int
    layer: DenseLayer

    def config(self) -> dict[str, object]:
        return layer_config(self.layer)


def _log_uniform_int(rng: np.random.Generator, high: int) -> int:
    # Log-uniform: small layers (where the constant terms matter) are as well covered as large ones.
    return min(high, max(1, int(round(math.exp(rng.uniform(0.0, math.log(high + 0.5)))))))


def sample_layer(rng: np.random.Generator) -> DenseLayer:
    in_features = int(rng.integers(1, MAX_IN + 1)) if rng.random() < 0.5 else _log_uniform_int(rng, MAX_IN)
    out_features = int(rng.integers(1, MAX_OUT + 1)) if rng.random() < 0.5 else _log_uniform_int(rng, MAX_OUT)
    # P from 1 to OUT including non-divisors; log-uniform so that few-lane designs are not rare.
    parallelism = _log_uniform_int(rng, out_features)
    bx, bw, by = (int(b) for b in rng.integers(MIN_BITS, MAX_BITS + 1, size=3))
    fx, fw = int(rng.integers(0, bx)), int(rng.integers(0, bw))
    fy = int(rng.integers(0, min(by - 1, fx + fw) + 1))
    return DenseLayer(
        in_features,
        out_features,
        str(rng.choice(ACTIVATIONS)),
        FixedFormat(bx, fx),
        FixedFormat(bw, fw),
        FixedFormat(by, fy),
        parallelism=parallelism,
        weight_storage=str(rng.choice(WEIGHT_STORAGES)),
    )


def sample_points(samples: int, seed: int) -> list[SweepPoint]:
    """The first ``samples`` points of the seed's sequence: a larger --samples extends a sweep, never reshuffles it."""
    rng = np.random.default_rng(seed)
    return [SweepPoint(index, sample_layer(rng)) for index in range(samples)]


def single_layer_design(layer: DenseLayer, family: str) -> AcceleratorDesign:
    return AcceleratorDesign((layer,), FAMILY_DEVICES[family], FAMILY_CLOCKS[family], name=TOP_NAME)


def weights_seed(seed: int, index: int) -> int:
    return seed * 1_000_003 + index
