"""Device names used in designs -> vendor part numbers and synthesis families."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Part:
    device: str  # the name used in AcceleratorDesign.device
    family: str  # "xc7" or "ice40"
    part: str  # full part number (Vivado) or nextpnr device
    package: str  # package (nextpnr-ice40 --package; part of the part number for xc7)


PARTS: dict[str, Part] = {
    "xc7s15": Part("xc7s15", "xc7", "xc7s15ftgb196-2", "ftgb196"),
    "xc7s25": Part("xc7s25", "xc7", "xc7s25csga324-1", "csga324"),
    "xc7s50": Part("xc7s50", "xc7", "xc7s50csga324-1", "csga324"),
    "xc7a35t": Part("xc7a35t", "xc7", "xc7a35tcpg236-1", "cpg236"),
    "xc7z020": Part("xc7z020", "xc7", "xc7z020clg400-1", "clg400"),
    "ice40up5k": Part("ice40up5k", "ice40", "up5k", "sg48"),
}


def part_for(device: str) -> Part:
    try:
        return PARTS[device.lower()]
    except KeyError:
        raise ValueError(f"unknown device {device!r}; known: {', '.join(PARTS)}") from None
