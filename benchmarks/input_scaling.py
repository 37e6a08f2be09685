"""Input scaling and k-fold validation on scikit-learn's bundled wine data (178 rows, 13 unscaled features).

    python benchmarks/input_scaling.py [--trials 12] [--epochs 60]

Runs the same small MLP search three times: `dataset.scale: none`, `standard` (the default) and `standard` with
`training.folds: 5`. Prints the best integer test accuracy, how many trials tie at the best validation score
(the front collapses to the cheapest design when every trial scores 1.0 on 27 validation rows), and the spread
of the validation score. Last line: one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import io
import json
import tempfile
from pathlib import Path

import pandas as pd
from rich.console import Console
from sklearn.datasets import load_wine

from dse.config import parse_config
from dse.search import run_search


def wine_csv(folder: Path) -> Path:
    data = load_wine(as_frame=True)
    frame = data.frame.rename(columns={"target": "cultivar"})
    path = folder / "wine.csv"
    frame.to_csv(path, index=False)
    return path


def search(csv: Path, folder: Path, scale: str, folds: int, trials: int, epochs: int) -> dict[str, float]:
    config = parse_config(
        {
            "study": {"name": f"wine_{scale}_{folds}", "seed": 0, "results_dir": str(folder / f"{scale}_{folds}")},
            "dataset": {
                "kind": "csv",
                "path": str(csv),
                "target_columns": ["cultivar"],
                "task": "classification",
                "scale": scale,
            },
            "model": {"hidden_layers": 1, "width": {"choices": [8, 16]}},
            "quantization": {"activation_bits": 8, "activation_int_bits": 3, "weight_bits": 6, "weight_int_bits": 1},
            "training": {"epochs": epochs, "folds": folds},
            "objectives": [{"name": "accuracy"}, {"name": "energy_uj"}],
            "search": {"n_trials": trials, "sampler": "random"},
        }
    )
    run_search(config, console=Console(file=io.StringIO()))
    frame = pd.read_csv(folder / f"{scale}_{folds}" / "trials.csv")
    done = frame[frame["state"] == "COMPLETE"]
    best_val = done["accuracy"].max()
    return {
        "best_test_accuracy": round(float(done["test_accuracy"].max()), 4),
        "median_test_accuracy": round(float(done["test_accuracy"].median()), 4),
        "trials_at_best_val": int((done["accuracy"] == best_val).sum()),
        "val_spread": round(float(done["accuracy"].max() - done["accuracy"].min()), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--epochs", type=int, default=60)
    args = parser.parse_args()
    figures: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        csv = wine_csv(folder)
        for scale, folds in (("none", 1), ("standard", 1), ("standard", 5)):
            figures[f"{scale}_folds{folds}"] = search(csv, folder, scale, folds, args.trials, args.epochs)
            print(f"scale {scale:8s} folds {folds}: {figures[f'{scale}_folds{folds}']}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
