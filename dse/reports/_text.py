"""Small text helpers shared by the report parsers (error type, number parsing, pipe tables)."""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_SOURCE = "<text>"


class ReportFormatError(ValueError):
    """The input is not the report the parser expects; the message names the source and what was expected."""

    def __init__(self, source: str, problem: str) -> None:
        super().__init__(f"{source}: {problem}")
        self.source = source
        self.problem = problem


def parse_number(token: str, source: str, what: str) -> float:
    """A number as the tools print it: '1.5', '-0.2', '12%' or 'inf'."""
    cleaned = token.strip().rstrip("%").strip()
    try:
        return float(cleaned)
    except ValueError:
        raise ReportFormatError(source, f"expected a number for {what}, got {token.strip()!r}") from None


_HEADER_FIELD = re.compile(r"^\|\s*([A-Za-z][A-Za-z ]*?)\s*:\s*(.*?)\s*$")


def header_fields(text: str) -> dict[str, str]:
    """The '| Key : value' lines of a Vivado report header (first occurrence of each key wins)."""
    fields: dict[str, str] = {}
    for line in text.splitlines()[:40]:
        match = _HEADER_FIELD.match(line)
        if match and match.group(1) not in fields:
            fields[match.group(1)] = match.group(2)
    return fields


@dataclass(frozen=True, slots=True)
class PipeTable:
    """One '+---+' bordered table: the header cells and the data rows (cells keep their leading spaces)."""

    header: list[str]
    rows: list[list[str]]

    def column(self, name: str) -> int | None:
        for index, cell in enumerate(self.header):
            if cell.strip() == name:
                return index
        return None


_SECTION_TITLE = re.compile(r"^(\d+(?:\.\d+)*)\.?\s+(\S.*?)\s*$")


def sectioned_pipe_tables(text: str) -> dict[str, list[PipeTable]]:
    """Pipe tables grouped by the numbered section title above them ('1. Slice Logic' -> 'Slice Logic').

    Vivado prints the table of contents with the same titles, so a title only counts when the next line is
    a dashed underline; tables before the first section are grouped under ''.
    """
    lines = text.splitlines()
    tables: dict[str, list[PipeTable]] = {}
    section = ""
    index = 0
    while index < len(lines):
        line = lines[index]
        title = _SECTION_TITLE.match(line)
        next_line = lines[index + 1] if index + 1 < len(lines) else ""
        if title and next_line.startswith("---") and set(next_line.strip()) == {"-"}:
            section = title.group(2)
            index += 2
            continue
        if line.startswith("+-"):
            table, index = _read_pipe_table(lines, index)
            tables.setdefault(section, []).append(table)
            continue
        index += 1
    return tables


def _read_pipe_table(lines: list[str], start: int) -> tuple[PipeTable, int]:
    # Borders split a table into segments: [header rows], [data rows]. A table without a header separator
    # (Vivado's power summary) is a single segment of data; multi-row headers keep their last row.
    segments: list[list[list[str]]] = [[]]
    index = start
    while index < len(lines):
        line = lines[index].rstrip()
        if line.startswith("+-") or line.startswith("+="):
            if segments[-1]:
                segments.append([])
        elif line.startswith("|"):
            segments[-1].append(line.split("|")[1:-1] if line.endswith("|") else line.split("|")[1:])
        else:
            break
        index += 1
    filled = [segment for segment in segments if segment]
    if len(filled) < 2:
        return PipeTable(header=[], rows=filled[0] if filled else []), index
    header = [cell.strip() for cell in filled[-2][-1]]
    return PipeTable(header=header, rows=filled[-1]), index
