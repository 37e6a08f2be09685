"""Parsers for yosys `stat` output (text in the 0.23 and the newer 0.4x+ layout, and `stat -json`).

The mapping from yosys cell types to device resources is :func:`generator.cells.resources_from_cells`,
re-exported here."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from dse.reports._text import DEFAULT_SOURCE, ReportFormatError
from generator.cells import FAMILIES as FAMILIES  # re-exported: one cell-counting rule, shared with generator.synth
from generator.cells import resources_from_cells as resources_from_cells


@dataclass(frozen=True, slots=True)
class YosysStat:
    """Counts of one module, or of the whole design ('design hierarchy' totals) when yosys printed them.

    ``num_cells`` counts every instance with submodules expanded; newer yosys lists library primitives
    (SB_LUT4, LUT6, ...) as 'submodules', so they are included in both ``num_cells`` and ``cells``.
    """

    source: str
    top: str
    num_cells: int
    cells: dict[str, int]
    num_wires: int
    num_wire_bits: int
    num_public_wires: int
    num_public_wire_bits: int
    num_memories: int
    num_memory_bits: int
    num_processes: int
    is_design_total: bool  # True when taken from the 'design hierarchy' totals
    modules: dict[str, YosysStat] = field(default_factory=dict)  # per-module local counts


# Both layouts name the same quantities: 'Number of wire bits: 66' (0.23) and '66 wire bits' (0.4x+).
_COUNT_KEYS = (
    "wires",
    "wire bits",
    "public wires",
    "public wire bits",
    "ports",
    "port bits",
    "memories",
    "memory bits",
    "processes",
    "cells",
    "submodules",
)
_OLD_KEY = re.compile(r"^Number of (" + "|".join(_COUNT_KEYS) + r"):\s+(\d+)$")
_NEW_KEY = re.compile(r"^(\d+|-)\s+(" + "|".join(_COUNT_KEYS) + r")$")
_OLD_TYPE = re.compile(r"^(\S+)\s+(\d+)$")
_NEW_TYPE = re.compile(r"^(\d+|-)\s+(?:[0-9.eE+-]+\s+)?(\S+)$")  # an optional area column sits in between
_SECTION = re.compile(r"^=== (.+) ===$")
_NEXT_PASS = re.compile(r"^\d+(\.\d+)*\. \S")


@dataclass(slots=True)
class _SectionCounts:
    counts: dict[str, int] = field(default_factory=dict)
    cells: dict[str, int] = field(default_factory=dict)
    names_before_counts: list[str] = field(default_factory=list)  # the module list of 'design hierarchy'


def _parse_section(lines: list[str]) -> _SectionCounts:
    new_layout = not any(line.strip().startswith("Number of ") for line in lines)
    key_pattern, type_pattern = (_NEW_KEY, _NEW_TYPE) if new_layout else (_OLD_KEY, _OLD_TYPE)
    section = _SectionCounts()
    in_cell_list = False
    for line in lines:
        stripped = line.strip()
        if not stripped or stripped.startswith(("+", "|")):
            continue
        key = key_pattern.match(stripped)
        if key:
            number, name = (key.group(2), key.group(1)) if not new_layout else (key.group(1), key.group(2))
            section.counts[name] = 0 if number == "-" else int(number)
            in_cell_list = name in ("cells", "submodules")
            continue
        cell_type = type_pattern.match(stripped)
        if not cell_type:
            in_cell_list = False
            continue
        if new_layout:
            count_token, name = cell_type.group(1), cell_type.group(2)
        else:
            name, count_token = cell_type.group(1), cell_type.group(2)
        count = 0 if count_token == "-" else int(count_token)
        if in_cell_list:
            section.cells[name] = section.cells.get(name, 0) + count
        elif not section.counts:
            section.names_before_counts.append(name)
    return section


def _stat_block(text: str) -> list[str]:
    """Lines of the last `stat` output in a log: from its last 'Printing statistics.' to the next pass."""
    lines = text.splitlines()
    starts = [index for index, line in enumerate(lines) if line.rstrip().endswith("Printing statistics.")]
    start = starts[-1] + 1 if starts else 0
    end = start
    while end < len(lines) and not _NEXT_PASS.match(lines[end]) and not lines[end].startswith("End of script"):
        end += 1
    return lines[start:end]


def _to_stat(source: str, top: str, section: _SectionCounts, is_total: bool) -> YosysStat:
    counts = section.counts
    return YosysStat(
        source=source,
        top=top,
        num_cells=counts.get("cells", 0) + counts.get("submodules", 0),
        cells=dict(sorted(section.cells.items())),
        num_wires=counts.get("wires", 0),
        num_wire_bits=counts.get("wire bits", 0),
        num_public_wires=counts.get("public wires", 0),
        num_public_wire_bits=counts.get("public wire bits", 0),
        num_memories=counts.get("memories", 0),
        num_memory_bits=counts.get("memory bits", 0),
        num_processes=counts.get("processes", 0),
        is_design_total=is_total,
    )


def _choose(source: str, modules: dict[str, YosysStat], total: YosysStat | None, top: str | None) -> YosysStat:
    if top is not None:
        if total is not None and total.top == top:
            chosen = total
        elif top in modules:
            chosen = modules[top]
        else:
            raise ReportFormatError(source, f"yosys stat: no module {top!r} (found {sorted(modules)})")
    elif total is not None:
        chosen = total
    elif len(modules) == 1:
        chosen = next(iter(modules.values()))
    else:
        raise ReportFormatError(
            source,
            f"yosys stat: several modules {sorted(modules)} and no 'design hierarchy' totals; "
            "pass top=... or run `stat -top <module>`",
        )
    return replace(chosen, modules=modules)


def parse_stat(text: str, source: str = DEFAULT_SOURCE, top: str | None = None) -> YosysStat:
    """Parse the text of yosys `stat` (or a whole yosys log: its last `stat` output is used).

    Returns the 'design hierarchy' totals when present, else the only module, else the module named `top`.
    """
    lines = _stat_block(text)
    sections: dict[str, list[str]] = {}
    current: str | None = None
    for line in lines:
        header = _SECTION.match(line.strip())
        if header:
            current = header.group(1)
            sections[current] = []
        elif current is not None:
            sections[current].append(line)
    if not sections:
        raise ReportFormatError(source, "not yosys `stat` output: expected '=== <module> ===' sections")

    modules: dict[str, YosysStat] = {}
    total: YosysStat | None = None
    for name, section_lines in sections.items():
        section = _parse_section(section_lines)
        if "cells" not in section.counts and "submodules" not in section.counts:
            raise ReportFormatError(source, f"yosys stat: section '=== {name} ===' has no cell count line")
        if name == "design hierarchy":
            top_name = section.names_before_counts[0] if section.names_before_counts else ""
            total = _to_stat(source, top_name, section, is_total=True)
        else:
            modules[name] = _to_stat(source, name, section, is_total=False)
    return _choose(source, modules, total, top)


def _stat_from_json(source: str, top: str, entry: Mapping[str, object], is_total: bool) -> YosysStat:
    def count(key: str) -> int:
        value = entry.get(key, 0)
        if not isinstance(value, int):
            raise ReportFormatError(source, f"yosys stat -json: {key!r} of {top or 'design'} is not an integer")
        return value

    by_type = entry.get("num_cells_by_type", {})
    if not isinstance(by_type, dict):
        raise ReportFormatError(source, "yosys stat -json: 'num_cells_by_type' is not an object")
    return YosysStat(
        source=source,
        top=top,
        num_cells=count("num_cells") + count("num_submodules"),
        cells={str(name).lstrip("\\"): int(n) for name, n in sorted(by_type.items())},
        num_wires=count("num_wires"),
        num_wire_bits=count("num_wire_bits"),
        num_public_wires=count("num_pub_wires"),
        num_public_wire_bits=count("num_pub_wire_bits"),
        num_memories=count("num_memories"),
        num_memory_bits=count("num_memory_bits"),
        num_processes=count("num_processes"),
        is_design_total=is_total,
    )


def parse_stat_json(text: str, source: str = DEFAULT_SOURCE, top: str | None = None) -> YosysStat:
    """Parse yosys `stat -json` output; same selection rules as :func:`parse_stat`."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ReportFormatError(source, f"yosys stat -json: not JSON ({error})") from None
    if not isinstance(data, dict) or not isinstance(data.get("modules"), dict):
        raise ReportFormatError(source, "not yosys `stat -json` output: expected an object with 'modules'")
    modules = {
        str(name).lstrip("\\"): _stat_from_json(source, str(name).lstrip("\\"), entry, is_total=False)
        for name, entry in data["modules"].items()
    }
    total = None
    if isinstance(data.get("design"), dict):
        # yosys 0.23 does not name the top module here: it is the one no other module instantiates.
        instantiated = {cell for stat in modules.values() for cell in stat.cells}
        roots = [name for name in modules if name not in instantiated]
        total = _stat_from_json(source, roots[0] if len(roots) == 1 else "", data["design"], is_total=True)
    return _choose(source, modules, total, top)
