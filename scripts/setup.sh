#!/usr/bin/env bash
# Installs everything dse needs on a fresh Debian machine: the HDL toolchain from Debian packages and the
# Python environment (.venv). Re-running is cheap: each part is skipped when it is already in place.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(ghdl ghdl-llvm yosys nextpnr-ice40 fpga-icestorm iverilog postgresql)

missing=()
for package in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

stamp=.venv/.setup-stamp
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: creating the Python environment in .venv"
  python3 -m venv .venv
  .venv/bin/pip install -q --upgrade pip
  # torch is pinned to 2.13.0 in pyproject.toml: that resolves to the CPU wheel, not the CUDA stack.
  .venv/bin/pip install -q -e ".[dev]"
  echo "$want" > "$stamp"
fi
