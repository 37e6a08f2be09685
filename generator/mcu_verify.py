"""Compile the generated MCU code for the host (gcc) and run its check; cross-compile for the RP2040 when
arm-none-eabi-gcc is installed and report code and data size."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from generator.mcu_c import C_FLAGS

CROSS_FLAGS = ("-mcpu=cortex-m0plus", "-mthumb", "-Os", "-std=c99", "-Wall", "-Werror", "-ffp-contract=off")


def _run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300, check=False)


def verify_mcu(folder: Path) -> dict[str, Any]:
    """``folder`` holds dse_net.[ch] and host_check.c. Returns the verdict and what the compilers said."""
    folder = Path(folder).resolve()  # the programs run inside it: a relative path would point nowhere there
    gcc = shutil.which("gcc")
    if gcc is None:
        return {"verified": False, "error": "gcc not found"}
    build = _run(
        [gcc, *C_FLAGS, "-DDSE_HOST_EMULATE_FPGA", "dse_net.c", "host_check.c", "-lm", "-o", "host_check"], folder
    )
    if build.returncode != 0:
        return {"verified": False, "error": f"gcc failed: {build.stderr.strip()[:2000]}"}
    run = _run([str(folder / "host_check")], folder)
    match = re.search(r"vectors (\d+) mismatches (\d+)", run.stdout)
    result: dict[str, Any] = {
        "compiler": "gcc " + " ".join(C_FLAGS),
        "vectors": int(match.group(1)) if match else None,
        "mismatches": int(match.group(2)) if match else None,
    }
    result["verified"] = bool(match and run.returncode == 0 and result["mismatches"] == 0 and result["vectors"])
    result["cross"] = cross_compile(folder)
    return result


def cross_compile(folder: Path) -> dict[str, Any]:
    """Code and data size of dse_net.o for the RP2040's Cortex-M0+, or why it was not built."""
    cross, size = shutil.which("arm-none-eabi-gcc"), shutil.which("arm-none-eabi-size")
    if cross is None or size is None:
        return {"built": False, "reason": "arm-none-eabi-gcc not installed (Debian: gcc-arm-none-eabi)"}
    build = _run([cross, *CROSS_FLAGS, "-c", "dse_net.c", "-o", "dse_net_m0plus.o"], folder)
    if build.returncode != 0:
        return {"built": False, "reason": build.stderr.strip()[:2000]}
    report = _run([size, "dse_net_m0plus.o"], folder).stdout.splitlines()
    text, data, bss = (int(v) for v in report[1].split()[:3])
    return {"built": True, "flags": " ".join(CROSS_FLAGS), "text_bytes": text, "data_bytes": data, "bss_bytes": bss}
