#!/usr/bin/env bash
# Measure HEAD with the nqsbench installed in this environment and file the results on the shared
# asv series (docs/asv.md): records this machine (CPU, cores, RAM, OS, arch, GPUs) in
# ~/.asv-machine.json, then runs asv in this interpreter under the fixed environment name
# installed-py<X.Y> (never a local path). Extra arguments go to asv run, e.g. --quick, -b REGEX.
#   benchmarks/run_installed.sh
#   NQSBENCH_ASV_MATRIX=paper benchmarks/run_installed.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if ! git diff --quiet HEAD -- suite benchmarks pyproject.toml asv.conf.json; then
    echo "run_installed.sh: the measured code has uncommitted changes; the results would be" \
         "filed under HEAD ($(git rev-parse --short HEAD)): commit first" >&2
    exit 2
fi
machine="$(nqsbench machine-name --asv-machine)"
exec asv run -E installed:same --machine "$machine" --set-commit-hash "$(git rev-parse HEAD)" "$@"
