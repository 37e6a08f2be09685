"""Time-series data: the built-in series sets and the stream order every series model and the hardware share.

A series sample has the logical shape (channels, length), as torch's Conv1d sees it. Datasets store it flat in
**stream order**, time-major: element ``t * C + c`` is channel ``c`` at time ``t``. That is the order in which the
accelerator receives elements, so the integer reference and the VHDL consume the flat vector unchanged.

The real sets are UCR/UEA archives shipped inside the pinned ``sktime`` wheel (``sktime/datasets/data``); they
are read from disk, never downloaded.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

# name -> (sktime loader name, divisor). The divisor is a fixed unit per data set (about its largest |value|),
# so the series fit a Q(B, B-1) input without a fitted scaler.
UCR_SETS: dict[str, tuple[str, float]] = {
    "italy_power_demand": ("load_italy_power_demand", 4.0),
    "gunpoint": ("load_gunpoint", 4.0),
    "basic_motions": ("load_basic_motions", 40.0),
}
ACTIVITY_CHANNELS = 3
ACTIVITY_LENGTH = 32
ACTIVITY_SAMPLES = 1200
ACTIVITY_CLASSES = ("idle", "walk", "run", "shake")


def ncl_to_stream(x: np.ndarray) -> np.ndarray:
    """(N, C, L) -> (N, L*C) flat in stream order (element t*C + c)."""
    return np.ascontiguousarray(np.transpose(x, (0, 2, 1)).reshape(len(x), -1))


def stream_to_ncl(x: np.ndarray, input_shape: tuple[int, ...]) -> np.ndarray:
    """(N, L*C) in stream order -> (N, C, L) for torch's Conv1d (the inverse of ``ncl_to_stream``)."""
    channels, length = input_shape
    return np.ascontiguousarray(np.transpose(x.reshape(len(x), length, channels), (0, 2, 1)))


def stream_feature_names(channels: int, length: int) -> tuple[str, ...]:
    return tuple(f"c{c}_t{t}" for t in range(length) for c in range(channels))


def load_ucr(name: str) -> tuple[np.ndarray, np.ndarray]:
    """A UCR/UEA set from the sktime wheel: x (N, C, L) float64 scaled by its fixed unit, raw labels (N,)."""
    import sktime.datasets as sktime_datasets  # imported late: it takes about 2 s

    loader_name, divisor = UCR_SETS[name]
    loader: Callable[..., tuple[np.ndarray, np.ndarray]] = getattr(sktime_datasets, loader_name)
    x, y = loader(return_type="numpy3D")
    return np.asarray(x, dtype=np.float64) / divisor, np.asarray(y)


def make_activity(
    n_samples: int = ACTIVITY_SAMPLES,
    channels: int = ACTIVITY_CHANNELS,
    length: int = ACTIVITY_LENGTH,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """A generated 3-axis accelerometer task: x (N, C, L) in [-0.95, 0.95], labels 0..3 (``ACTIVITY_CLASSES``).

    idle: noise around a gravity offset; walk: slow periodic motion; run: faster, larger motion with a harmonic;
    shake: short bursts. Frequency, amplitude, phase, axis mix and noise vary per sample, so the classes overlap
    a little and the task is not trivial.
    """
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, len(ACTIVITY_CLASSES), size=n_samples)
    t = np.arange(length, dtype=np.float64)
    x = np.empty((n_samples, channels, length))
    for n, label in enumerate(labels):
        gravity = rng.normal(0.0, 0.3, size=(channels, 1))
        mix = rng.uniform(0.2, 1.0, size=(channels, 1))
        phase = rng.uniform(0, 2 * np.pi, size=(channels, 1))
        if label == 0:
            motion = np.zeros((channels, length))
        elif label in (1, 2):
            freq = rng.uniform(0.04, 0.08) if label == 1 else rng.uniform(0.1, 0.18)
            amp = rng.uniform(0.2, 0.4) if label == 1 else rng.uniform(0.35, 0.6)
            motion = amp * mix * np.sin(2 * np.pi * freq * t + phase)
            if label == 2:
                motion += 0.3 * amp * mix * np.sin(4 * np.pi * freq * t + 2 * phase)
        else:
            start = rng.integers(0, length - 8)
            burst = np.zeros(length)
            burst[start : start + 8] = rng.uniform(0.4, 0.7) * np.sin(np.pi * np.arange(8) / 2)
            motion = mix * burst
        x[n] = gravity + motion + rng.normal(0.0, 0.08, size=(channels, length))
    return np.clip(x, -0.95, 0.95), labels.astype(np.int64)
