#!/usr/bin/env bash
# Sourced by the sbatch files: run_job CMD... runs CMD (an entry script and its flags, under srun) in the run folder
# RUN_ROOT/JOB_NAME (RUN_ROOT: run/slurm unless set) with --resume auto, so every start of the job (the first, and
# each after a requeue) continues the same run. Two ways a job stops early, neither losing work:
# - the time limit: --signal=B:USR1@SECONDS sends USR1 to this shell; it passes SIGTERM to the run, which finishes
#   its step, saves and exits, and the job requeues itself;
# - preemption, `scontrol requeue` or scancel: Slurm sends SIGTERM to the run itself (and to this shell, which then
#   just waits); the run saves, and Slurm requeues the job (--requeue) unless it was cancelled.
# USR1, not TERM, marks the time limit because every other stop sends TERM too and must not requeue.
set -euo pipefail

run_job() {
    if [ -z "${SLURM_JOB_ID:-}" ]; then
        echo "error: run_job runs inside a Slurm job: submit a scripts/slurm/*.sbatch file with sbatch (README: Slurm)" >&2
        exit 2
    fi
    local dir="${RUN_ROOT:-run/slurm}/${SLURM_JOB_NAME}" status=0
    mkdir -p "$dir"
    echo "== $(date '+%F %T') job ${SLURM_JOB_ID} start ${SLURM_RESTART_COUNT:-0} on ${SLURM_JOB_NODELIST}: $dir"
    TIME_LIMIT=0
    trap 'TIME_LIMIT=1; echo "== time limit near: the run saves and the job requeues"; kill -TERM "$CHILD" || true' USR1
    trap 'echo "== SIGTERM: the run saves and stops"' TERM
    srun --kill-on-bad-exit=1 "$@" --save_dir "$dir" --resume auto &
    CHILD=$!
    while true; do   # `wait` returns early when the trap runs: wait again until the run has saved and left
        wait "$CHILD" && status=0 || status=$?
        kill -0 "$CHILD" 2>/dev/null || break
    done
    echo "== $(date '+%F %T') job ${SLURM_JOB_ID}: the run exited with status $status"
    if [ "$TIME_LIMIT" = 1 ]; then
        scontrol requeue "$SLURM_JOB_ID"
    fi
    exit "$status"
}
