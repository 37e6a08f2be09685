# The two commands of the README. Each one sets the machine up first (idempotent, see scripts/setup.sh).
.PHONY: setup quickstart test test-fast lint bench

setup:
	bash scripts/setup.sh

quickstart: setup
	.venv/bin/dse run search_spaces/quickstart.yaml

# All tiers: unit, simulation (GHDL/cocotb) and the few synthesis tests. Two workers for 2 cores.
test: setup
	.venv/bin/ruff check .
	.venv/bin/python -m pytest -n 2 --dist loadgroup -q

# Unit tier only: no GHDL/yosys (sim, synth), no PostgreSQL, no end-to-end searches (e2e); aimed at < 1 min on 2 cores.
test-fast: setup
	.venv/bin/ruff check .
	.venv/bin/python -m pytest -n 2 --dist loadgroup -q -m "not sim and not synth and not postgres and not e2e"

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

bench: setup
	.venv/bin/python benchmarks/estimator_speed.py
	.venv/bin/python benchmarks/estimator_accuracy.py
	.venv/bin/python benchmarks/trial_throughput.py
	.venv/bin/python benchmarks/peer_area.py --quick
	.venv/bin/python benchmarks/variant_speed.py
