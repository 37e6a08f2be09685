"""The project's own simulation result JSON (written by the cocotb/GHDL test benches)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError, model_validator

from dse.reports._text import DEFAULT_SOURCE, ReportFormatError


class SimulationResult(BaseModel):
    """{"passed": bool, "n_vectors": int, "mismatches": int, "latency_cycles": int, "ii_cycles": int, ...}.

    Extra keys (simulator, seed, wall time, ...) are kept as extra attributes.
    """

    model_config = ConfigDict(extra="allow", frozen=True, strict=True)

    passed: StrictBool
    n_vectors: int = Field(ge=0)
    mismatches: int = Field(ge=0)
    latency_cycles: int = Field(ge=0)
    ii_cycles: int = Field(ge=1)

    @model_validator(mode="after")
    def _consistent(self) -> SimulationResult:
        if self.mismatches > self.n_vectors:
            raise ValueError(f"mismatches ({self.mismatches}) > n_vectors ({self.n_vectors})")
        if self.passed and (self.mismatches > 0 or self.n_vectors == 0):
            raise ValueError("passed is true but there are mismatches or no vectors")
        return self


def parse_simulation_result(text: str, source: str = DEFAULT_SOURCE) -> SimulationResult:
    try:
        return SimulationResult.model_validate_json(text)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc']) or '<root>'}: {item['msg']}" for item in error.errors()
        )
        raise ReportFormatError(source, f"not a valid simulation result JSON ({problems})") from None


def load_simulation_result(path: str | Path) -> SimulationResult:
    return parse_simulation_result(Path(path).read_text(encoding="utf-8"), str(path))
