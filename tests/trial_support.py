"""A stand-in for an Optuna trial in tests that build candidates by hand (dse.space samplers)."""

from __future__ import annotations

from typing import Any


class DefaultsTrial:
    """Answers every suggestion from ``params``, else with the first choice (or the low end) of the parameter."""

    def __init__(self, params: dict[str, Any]) -> None:
        self.params = params

    def suggest_int(self, name: str, low: int, high: int, step: int = 1, log: bool = False) -> int:
        return int(self.params.get(name, low))

    def suggest_float(self, name: str, low: float, high: float, log: bool = False) -> float:
        return float(self.params.get(name, low))

    def suggest_categorical(self, name: str, choices: list[Any]) -> Any:
        return self.params.get(name, choices[0])
