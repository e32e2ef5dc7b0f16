#!/usr/bin/env bash
# The prepared GPU check (issue 17): one command, at most 8 minutes, on a machine with an NVIDIA
# GPU and JAX for CUDA already installed. Installs this checkout without dependencies (the GPU
# machine reaches no package registry; see docs/gpu.md for wheels that travel), then runs
# `python -m suite.perf.gpu_check`: the device and versions, the 10x10 and 6x6 paper cells and a
# float32-sampling variant, each within its share of the budget, as standard records in
# results/runs/ (matrix gpu-check), and a summary table. Then files the records' costs at this
# commit as an asv results file under this GPU machine's name (python -m benchmarks.records_to_asv:
# results/asv/<machine>/<commit>-installed-pyX.Y.json, the paper profile's parameters); with
# --dry-run into a temporary directory, matching the tiny cells by their axis values only.
#   benchmarks/gpu_check.sh              # on the GPU
#   benchmarks/gpu_check.sh --dry-run    # tiny sizes on a CPU (CI runs this)
set -euo pipefail
cd "$(dirname "$0")/.."
if ! python -c "import suite" 2>/dev/null; then
    python -m pip install --quiet --no-deps --no-build-isolation -e . || python -m pip install --quiet --no-deps -e .
fi
results=results dry_run=
previous=
for arg in "$@"; do
    case "$arg" in
        -h|--help) exec python -m suite.perf.gpu_check "$@" ;;
        --dry-run) dry_run=1 ;;
        --results=*) results="${arg#--results=}" ;;
    esac
    if [ "$previous" = --results ]; then results="$arg"; fi
    previous="$arg"
done
python -m suite.perf.gpu_check "$@"
if [ -n "$dry_run" ]; then  # never into results/asv: the tiny cells measure no paper cell
    to_asv=(--dry-run --asv-results "$(mktemp -d)")
else
    to_asv=()
fi
python -m benchmarks.records_to_asv --results "$results" --matrix gpu-check --profile paper \
    ${to_asv[@]+"${to_asv[@]}"} || {
    status=$?
    echo "gpu_check.sh: the records are in $results/runs, but no asv results file was written" >&2
    exit "$status"
}
