#!/bin/bash
# The paper matrix across a cluster: one SLURM array task per slice of cells, every task writing
# into one shared results directory (records have unique names and are created atomically, so
# tasks never overwrite each other). Edit the #SBATCH lines and the three variables, then
#     sbatch examples/slurm_matrix.sh
# Re-submitting is safe: cells with a record are skipped, interrupted cells resume from their
# checkpoint (SLURM sends SIGTERM before the time limit; nqsbench saves and exits with 130).
#
#SBATCH --job-name=nqsbench-paper
#SBATCH --array=0-5                # TASKS array tasks: 0 .. TASKS-1 (18 cells / 6 = 3 cells each)
#SBATCH --nodes=1
#SBATCH --ntasks-per-node=1        # one process per node; it uses every GPU of the node
#SBATCH --gpus-per-node=1          # more GPUs per run: raise this (the samples are split over them)
#SBATCH --cpus-per-task=8
#SBATCH --time=48:00:00
#SBATCH --signal=TERM@300          # 5 minutes' notice to checkpoint before the time limit
#SBATCH --output=logs/%x-%A_%a.out

set -euo pipefail
MATRIX=paper                       # or paper-extended, or a TOML file of your own
RESULTS=/shared/nqsbench/results   # one directory for every task (a shared filesystem)
TASKS=6                            # must equal the size of --array

source "$HOME/nqsbench/.venv/bin/activate"   # pip install -e . and "jax[cuda12]" in it
mkdir -p logs "$RESULTS"
# every task takes cells K, K+TASKS, K+2*TASKS, ... of the matrix (0-based)
srun nqsbench run --matrix "$MATRIX" --results "$RESULTS" \
    --shard "${SLURM_ARRAY_TASK_ID}/${TASKS}" --devices all --no-progress

# One run across several nodes instead (more GPUs per cell): drop --array, ask for
#   --nodes=4 --ntasks-per-node=1 --gpus-per-node=4
# and keep the srun line with --shard 0/1. With SLURM_NTASKS > 1, nqsbench calls
# jax.distributed.initialize() in every task, the mesh spans all 16 GPUs, and only process 0
# writes records and checkpoints. Outside SLURM set NQSBENCH_COORDINATOR_ADDRESS=host:port,
# NQSBENCH_NUM_PROCESSES and NQSBENCH_PROCESS_ID in each process instead.
