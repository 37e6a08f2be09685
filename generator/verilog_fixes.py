"""Repairs for GHDL 2.0's Verilog printer (see /work/shared/notes/toolchain.md) and memory style attributes.

GHDL prints (1) a signed ``shift_right`` as a logical ``>>``, (2) a ``case`` without its default branch (a full
case is completed; a partial one lost its default value, so we refuse it) and (3) a signed
multiply without ``$signed``. It marks memories with ``// memory``; yosys decides from a ``rom_style``
attribute whether such a ROM becomes block RAM or LUT logic.
"""

from __future__ import annotations

import re

# "assign n3_o = $signed(a) >> n2_o;" is a signed shift_right printed as a logical shift.
_SIGNED_SHIFT = re.compile(r"(\$signed\([^()]*\)\s*)>>(?!>)")
# "assign n181_o = n179_o * n180_o; // smul": operands are already sign-extended to the result width.
_SIGNED_MUL = re.compile(r"^(\s*assign\s+\S+\s*=\s*)(\S+)\s*\*\s*(\S+?)\s*;(\s*//\s*smul.*)$")
_MODULE = re.compile(r"^\s*module\s+(\w+)")
_MEMORY = re.compile(r"^(\s*)reg\s*\[(\d+):0\]\s*(\w+)\s*\[(\d+):0\]\s*;\s*//\s*memory")

# yosys memory_libmap attribute values: "logic" keeps a ROM in LUTs, "block" forces block RAM.
YOSYS_ROM_STYLE = {"lutrom": "logic", "bram": "block"}
YOSYS_RAM_STYLE = {"lutram": "distributed", "bram": "block", "registers": "logic"}


class UnsafeVerilogError(ValueError):
    """GHDL printed a construct whose meaning cannot be recovered from the Verilog text."""


def fix_signed_shifts(verilog: str) -> str:
    return _SIGNED_SHIFT.sub(r"\1>>>", verilog)


def fix_signed_multiplies(verilog: str) -> str:
    lines = []
    for line in verilog.splitlines():
        match = _SIGNED_MUL.match(line)
        if match:
            head, a, b, tail = match.groups()
            line = f"{head}$signed({a}) * $signed({b});{tail}"
        lines.append(line)
    return "\n".join(lines) + "\n"


_CASE = re.compile(r"\bcase\s*\((.*?)\)(.*?)\bendcase\b", flags=re.DOTALL)
_CASE_LABEL = re.compile(r"^(\s*)(\d+)'b([01]+)\s*:", flags=re.MULTILINE)


def complete_full_cases(verilog: str) -> str:
    """Turn the last label of a *full* case (every selector value listed) into ``default``; refuse partial ones.

    GHDL prints a ``case`` without ``default``. When the labels cover all 2**width selector values nothing was
    lost and the rewrite only lets yosys see the case is full (no latch). Otherwise GHDL dropped a ``when
    others`` value that cannot be recovered from the text.
    """

    def repair(match: re.Match[str]) -> str:
        body = match.group(2)
        if re.search(r"\bdefault\s*:", body):
            return match.group(0)
        labels = _CASE_LABEL.findall(body)
        widths = {int(width) for _, width, _ in labels}
        values = {int(bits, 2) for _, _, bits in labels}
        if len(widths) == 1 and len(values) == len(labels) == 2 ** widths.pop():
            last = list(_CASE_LABEL.finditer(body))[-1]
            body = body[: last.start()] + f"{last.group(1)}default:" + body[last.end() :]
            return match.group(0).replace(match.group(2), body, 1)
        line = verilog.count("\n", 0, match.start()) + 1
        raise UnsafeVerilogError(
            f"line {line}: GHDL printed 'case ({match.group(1)})' without a default branch and its labels do not "
            "cover every selector value; the 'when others' value is lost. Rewrite the VHDL without case/when-others."
        )

    return _CASE.sub(repair, verilog)


# Memory styles of one module: weight ROMs by (word width, depth); RAMs (input buffer banks) by one style.
MemoryStyles = dict[str, dict[tuple[int, int] | str, str]]
RAM_KEY = "ram"


def annotate_memories(verilog: str, styles: MemoryStyles, default_style: str = "logic") -> str:
    """Put a yosys style attribute on every memory GHDL printed.

    ROMs are matched per module by (word width, depth) and get ``rom_style`` (others: ``default_style``); the
    input-buffer banks (GHDL names them after the VHDL signal ``bank``) get ``ram_style`` from ``styles[m]["ram"]``.
    """
    module = ""
    lines = []
    for line in verilog.splitlines():
        module_match = _MODULE.match(line)
        if module_match:
            module = module_match.group(1)
        memory = _MEMORY.match(line)
        if memory:
            width, name, depth = int(memory.group(2)) + 1, memory.group(3), int(memory.group(4)) + 1
            module_styles = styles.get(module, {})
            if name.endswith("bank"):
                line = f'{memory.group(1)}(* ram_style = "{module_styles.get(RAM_KEY, "distributed")}" *)\n{line}'
            else:
                style = module_styles.get((width, depth), default_style)
                line = f'{memory.group(1)}(* rom_style = "{style}" *)\n{line}'
        lines.append(line)
    return "\n".join(lines) + "\n"


def fix_ghdl_verilog(verilog: str, rom_styles: MemoryStyles | None = None) -> str:
    """All repairs in order; raises UnsafeVerilogError for constructs that cannot be repaired."""
    fixed = fix_signed_multiplies(fix_signed_shifts(complete_full_cases(verilog)))
    return annotate_memories(fixed, rom_styles or {})
