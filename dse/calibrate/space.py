"""The single-dense-layer configuration space the resource models are calibrated on."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dse.design import WEIGHT_STORAGES, AcceleratorDesign, DenseLayer
from dse.fixedpoint import ACTIVATIONS, FixedFormat

FAMILY_DEVICES = {"xc7": "xc7s15", "ice40": "ice40up5k"}
FAMILY_CLOCKS = {"xc7": 100.0, "ice40": 24.0}
TOP_NAME = "cal_dense"
MAX_IN, MAX_OUT, MIN_BITS, MAX_BITS = 64, 32, 2, 16
# Config columns of a sweep table, enough to rebuild the layer (estimators.fit recomputes features from them).
CONFIG_COLUMNS = (
    "in_features",
    "out_features",
    "activation",
    "in_bits",
    "in_frac",
    "weight_bits",
    "weight_frac",
    "out_bits",
    "out_frac",
    "parallelism",
    "weight_storage",
)


@dataclass(frozen=True)
class SweepPoint:
    index: int
    layer: DenseLayer

    def config(self) -> dict[str, object]:
        layer = self.layer
        return {
            "in_features": layer.in_features,
            "out_features": layer.out_features,
            "activation": layer.activation,
            "in_bits": layer.in_fmt.total_bits,
            "in_frac": layer.in_fmt.frac_bits,
            "weight_bits": layer.weight_fmt.total_bits,
            "weight_frac": layer.weight_fmt.frac_bits,
            "out_bits": layer.out_fmt.total_bits,
            "out_frac": layer.out_fmt.frac_bits,
            "parallelism": layer.parallelism,
            "weight_storage": layer.weight_storage,
        }


def layer_from_config(row: dict[str, object]) -> DenseLayer:
    """Rebuild the layer of one table row; raises ValueError on a malformed row."""

    def num(key: str) -> int:
        return int(float(row[key]))  # type: ignore[arg-type]

    return DenseLayer(
        in_features=num("in_features"),
        out_features=num("out_features"),
        activation=str(row["activation"]),
        in_fmt=FixedFormat(num("in_bits"), num("in_frac")),
        weight_fmt=FixedFormat(num("weight_bits"), num("weight_frac")),
        out_fmt=FixedFormat(num("out_bits"), num("out_frac")),
        parallelism=num("parallelism"),
        weight_storage=str(row["weight_storage"]),
    )


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
