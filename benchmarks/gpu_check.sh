#!/usr/bin/env bash
# The prepared GPU check (issue 17): one command, at most 8 minutes, on a machine with an NVIDIA
# GPU and JAX for CUDA already installed. Installs this checkout without dependencies (the GPU
# machine reaches no package registry; see docs/gpu.md for wheels that travel), then runs
# `python -m suite.perf.gpu_check`: the device and versions, the 10x10 and 6x6 paper cells and a
# float32-sampling variant, each within its share of the budget, as standard records in
# results/runs/ (matrix gpu-check), and a summary table.
#   benchmarks/gpu_check.sh              # on the GPU
#   benchmarks/gpu_check.sh --dry-run    # tiny sizes on a CPU (CI runs this)
set -euo pipefail
cd "$(dirname "$0")/.."
if ! python -c "import suite" 2>/dev/null; then
    python -m pip install --quiet --no-deps --no-build-isolation -e . || python -m pip install --quiet --no-deps -e .
fi
exec python -m suite.perf.gpu_check "$@"
