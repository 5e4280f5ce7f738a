#!/usr/bin/env bash
# Proves the GPU path in one command, on a CUDA machine whose python3 already has torch and torchvision (no package
# registry needed). Every step runs alone in under 9 minutes on one H100; results go to results/gpu/<step>.json and
# results/gpu/SUMMARY.md (device, torch/CUDA versions, date, commit, each step's result). A step that fails is
# recorded as failed and the suite goes on with the next one; it exits 1 when any step it ran did not end ok.
#
#   bash benchmarks/gpu_suite.sh --step all        # every step in order, skipping those already finished
#   bash benchmarks/gpu_suite.sh --step tests      # one step: tests | ddp | epoch_time | real_run | reproduce
#   bash benchmarks/gpu_suite.sh --dry_run --step all   # print the commands only (tested on CPU)
#
# Fashion-MNIST travels in a git-ignored folder: copy the four idx .gz files (Debian: /usr/share/datasets/
# fashion-mnist) to data/fashion-mnist/ and carry data/ to the GPU machine. PYTHON overrides the interpreter.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
STEPS="tests ddp epoch_time real_run reproduce"
STEP="" DRY=""
while [ $# -gt 0 ]; do
    case $1 in
        --step) STEP=${2:-}; shift 2 ;;
        --dry_run) DRY=1; shift ;;
        *) echo "usage: bash benchmarks/gpu_suite.sh [--dry_run] --step all|${STEPS// /|}" >&2; exit 2 ;;
    esac
done
if [ -z "$STEP" ] || { [ "$STEP" != all ] && [[ " $STEPS " != *" $STEP "* ]]; }; then
    echo "usage: bash benchmarks/gpu_suite.sh [--dry_run] --step all|${STEPS// /|}" >&2
    exit 2
fi
PY=${PYTHON:-python3}
OUT=${GPU_SUITE_OUT:-results/gpu}
RUN=run/gpu_suite
export CUBLAS_WORKSPACE_CONFIG=:4096:8   # deterministic cuBLAS for the resume-equality test
[ -n "$DRY" ] || mkdir -p "$OUT"

source scripts/lib/flags.sh
run() {   # run CMD... (under --dry_run: printed, quoted for the shell)
    if [ -n "$DRY" ]; then show_cmd "$@"; else "$@"; fi
}

step_tests() {
    local rc=0 cpu=0
    run "$PY" -m pytest tests -m cuda -q -p no:cacheprovider -rs || rc=1
    # the whole CPU suite on the GPU machine's CPU, as far as the step's time allows (the GPU is hidden from it):
    # running out of that time is not a failure, a failing test is
    run env CUDA_VISIBLE_DEVICES= timeout 420 "$PY" -m pytest tests -q -p no:cacheprovider -x -m "not cuda" || cpu=$?
    if [ "$cpu" = 124 ]; then echo "note: the CPU suite ran out of this step's time (no failure before that)"; fi
    if [ "$cpu" != 0 ] && [ "$cpu" != 124 ]; then rc=1; fi
    return $rc
}

step_ddp() {
    local gpus
    gpus=$( { [ -n "$DRY" ] && echo 1; } || "$PY" -c "import torch; print(max(torch.cuda.device_count(), 1))")
    run "$PY" train_scratch.py --model wrn16_1 --dataset fmnist --epochs 1 --train_subset 4096 --val_subset 1000 \
        -b 256 -j 4 --seed 0 --save_dir "$RUN/ddp_teacher" --resume auto &&
    run "$PY" -m torch.distributed.run --standalone --nproc_per_node "$gpus" datafree_kd.py --method fast_meta \
        --dataset fmnist --teacher wrn16_1 --student wrn16_1 --teacher_ckpt "$RUN/ddp_teacher/fmnist_wrn16_1.pth" \
        --epochs 2 --batch_size 256 --synthesis_batch_size 256 --kd_steps 50 --ep_steps 50 --g_steps 2 --lr_g 5e-3 \
        --lr_z 0.015 --adv 1.1 --bn 10 --oh 0.4 --bn_mmt 0.9 --T 20 --val_subset 1000 --seed 0 --dist_backend nccl \
        --save_dir "$RUN/ddp_fast_meta" --resume auto
}

step_epoch_time() {
    # each run: old (fp32 eager, the previous default), new (frozen teacher + the flags), compiled (new + compile)
    run "$PY" -m benchmarks.epoch_time --paths old,new --methods fast_meta,nayer --name gpu/epoch_time_fp32 &&
    run "$PY" -m benchmarks.epoch_time --paths old,new,compiled --fp16 --channels_last --name gpu/epoch_time_fp16_cl &&
    run "$PY" -m benchmarks.epoch_time --paths old,new,compiled --fp16 --bf16 --channels_last --name gpu/epoch_time_bf16_cl
}

step_real_run() {   # the CPU table's budget and settings (scripts/fmnist_methods.sh; cmi at 20 steps per batch)
    local common=(PYTHON="$PY" OUT="$RUN/fmnist_methods" SUMMARY_OUT="$OUT/fmnist_methods" TEACHER_FLAGS="-j 4"
                  FLAGS="-j 4 --channels_last")
    run env "${common[@]}" METHODS="fast_meta fast deepinv dafl zskt dfq dfad noise" bash scripts/fmnist_methods.sh &&
    run env "${common[@]}" METHODS=cmi G_SLOW=20 bash scripts/fmnist_methods.sh
}

step_reproduce() {   # the rest of the time: the full GPU schedule, resumable (a later GPU session continues it)
    local rc=0
    run timeout 500 env PYTHON="$PY" bash benchmarks/reproduce_fmnist.sh || rc=$?
    # not finished in its time: not ok (a later --step all runs it again and it resumes), and said so
    if [ "$rc" = 124 ]; then echo "note: reproduce ran out of this step's time; run the step again to continue"; fi
    return $rc
}

finished() { [ -f "$OUT/$1.json" ] && grep -q '"status": "ok"' "$OUT/$1.json"; }

record() {   # record STEP STATUS SECONDS
    [ -n "$DRY" ] && return 0
    "$PY" -m benchmarks.gpu_summary --step "$1" --status "$2" --seconds "$3" --out "$OUT"
}

failed=""
for name in $STEPS; do
    if [ "$STEP" != all ] && [ "$STEP" != "$name" ]; then continue; fi
    if [ "$STEP" = all ] && finished "$name"; then echo "== $name: finished earlier, skipped"; continue; fi
    echo "== $name"
    start=$(date +%s)
    if "step_$name"; then status=ok; else status=failed; failed="$failed $name"; fi
    record "$name" "$status" $(( $(date +%s) - start ))
done
if [ -n "$failed" ]; then
    echo "== failed:$failed (results in $OUT)" >&2
    exit 1
fi
