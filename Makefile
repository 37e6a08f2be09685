# The two commands of the README. Each one sets the machine up first (idempotent, see scripts/setup.sh).
.PHONY: setup quickstart test lint bench

setup:
	bash scripts/setup.sh

quickstart: setup
	.venv/bin/dse run search_spaces/quickstart.yaml

# All tiers: unit, simulation (GHDL/cocotb) and the few synthesis tests. Two workers for 2 cores.
test: setup
	.venv/bin/ruff check .
	.venv/bin/python -m pytest -n 2 --dist loadgroup -q

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

bench: setup
	.venv/bin/python benchmarks/estimator_speed.py
	.venv/bin/python benchmarks/estimator_accuracy.py
	.venv/bin/python benchmarks/trial_throughput.py
