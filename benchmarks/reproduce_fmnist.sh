#!/usr/bin/env bash
# The paper's comparison on Fashion-MNIST: 1-channel teachers trained by train_scratch.py, then for each pair
# a student from scratch, vanilla KD on real data, every data-free method and Fast-2/5/10, then the table and
# plot (results/fmnist_table.{md,json,png}) built from every summary.json by benchmarks/fmnist_report.py.
#   bash benchmarks/reproduce_fmnist.sh            # full: upstream's CIFAR settings (SPEC sections 4, 6), GPU
#   bash benchmarks/reproduce_fmnist.sh --quick    # CPU-sized schedule (below): 76 minutes on 2 CPU cores
# Env: ONLY="wrn r34" (pairs: wrn wrn162 vgg r34 wrn401), ROWS="scratch fast_meta-2" (a subset of the rows), FLAGS
# (added to every run, e.g. "--gpu 1"), PYTHON="torchrun --nproc_per_node 4", DRY_RUN=1 (print the commands).
# Restarting the script skips finished runs and resumes the data-free ones.
#
# Quick schedule (numbers from it are labelled "quick"): teachers train 1 epoch on a fixed 10,000-image subset
# of the train split (batch 64); every student row takes 50 optimiser steps at batch 32 (data-free: 5 epochs x
# 10 steps, no warm-up; scratch and vanilla KD: one pass over a fixed 1,600-image train subset); DeepInv and
# CMI run 10 g-steps per batch instead of 1000 / 500; top-1 is measured on a fixed 1,000-image test subset.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
read -ra PY <<<"${PYTHON:-python}"
source scripts/lib/pairs.sh
source scripts/lib/methods.sh

SCHEDULE=full
case "${1:-}" in
    --quick) SCHEDULE=quick ;;
    "") ;;
    *) echo "usage: bash benchmarks/reproduce_fmnist.sh [--quick]  (got '$1')" >&2; exit 2 ;;
esac
ONLY=${ONLY:-"wrn wrn162 vgg r34"}   # cheapest first
ROWS=${ROWS:-"scratch vanilla_kd deepinv cmi dafl zskt dfq dfad fast fast_meta-2 fast_meta-5 fast_meta-10"}
OUT=${OUT:-run/reproduce_fmnist_$SCHEDULE}

if [ "$SCHEDULE" = quick ]; then
    TEACHER_DIR=$OUT/teachers
    TEACHER_RUN="--epochs 1 -b 64 --lr 0.05 --train_subset 10000 --val_subset 1000 -j 0"
    REAL_RUN="--epochs 1 -b 32 --lr 0.05 --train_subset 1600 --val_subset 1000 -j 0"
    DATAFREE_RUN="--batch_size 32 --synthesis_batch_size 32 --epochs 5 --ep_steps 10 --warmup 0 --eval_every 5
                  --val_subset 1000 -j 0"
    POOL_RUN="--kd_steps 10"
    SLOW_RUN="--g_steps 10"      # deepinv, cmi
else
    TEACHER_DIR=checkpoints/pretrained
    TEACHER_RUN="--epochs 200 -b 128 --lr 0.1"
    REAL_RUN="--epochs 200 -b 128 --lr 0.1"
    DATAFREE_RUN="" POOL_RUN="" SLOW_RUN=""
fi

is_done() {   # a run's summary.json says every epoch ran
    [ -f "$1/summary.json" ] && "${PY[0]/torchrun/python}" -c "import json,sys; s=json.load(open(sys.argv[1]));
sys.exit(0 if s.get('epochs_done', s['epochs']) >= s['epochs'] else 1)" "$1/summary.json"
}

launch() {   # launch DIR CMD...: skip a finished run, else run (or print) it
    local dir=$1; shift
    if [ -n "${DRY_RUN:-}" ]; then echo "$*"; return; fi
    if is_done "$dir"; then echo "== done: $dir"; return; fi
    echo "== $dir"
    "$@"
}

teacher_ckpt() {
    if [ "$SCHEDULE" = quick ]; then echo "$TEACHER_DIR/$1/fmnist_$1.pth"; else echo "$TEACHER_DIR/fmnist_$1.pth"; fi
}

resume_from() {   # --resume LAST when an interrupted run left LAST behind
    if [ -z "${DRY_RUN:-}" ] && [ -f "$1" ]; then echo "--resume $1"; fi
}

train_teacher() {
    local model=$1 dir=$TEACHER_DIR ckpt
    ckpt=$(teacher_ckpt "$model")
    [ "$SCHEDULE" = quick ] && dir=$TEACHER_DIR/$model
    if [ -z "${DRY_RUN:-}" ] && [ -f "$ckpt" ]; then echo "== teacher $ckpt exists"; return; fi
    # shellcheck disable=SC2086,SC2046
    local cmd=("${PY[@]}" train_scratch.py --model "$model" --dataset fmnist $TEACHER_RUN --seed 0 --save_dir "$dir"
               $(resume_from "${ckpt%.pth}-last.pth") ${FLAGS:-})
    if [ -n "${DRY_RUN:-}" ]; then echo "${cmd[*]}"; else echo "== teacher $ckpt"; "${cmd[@]}"; fi
}

declare -A TRAINED=()
for only in $ONLY; do
    pair=$(printf '%s\n' "${PAIRS[@]}" | awk -v n="$only" '$1 == n')
    [ -n "$pair" ] || { echo "ONLY: unknown pair '$only' (wrn wrn162 r34 vgg wrn401)" >&2; exit 2; }
    read -r name teacher student adv oh <<<"$pair"
    if [ -z "${TRAINED[$teacher]:-}" ]; then train_teacher "$teacher"; TRAINED[$teacher]=1; fi
    ckpt=$(teacher_ckpt "$teacher")
    for row in $ROWS; do
        dir=$OUT/$name/$row
        case $row in
            scratch)
                # shellcheck disable=SC2086
                launch "$dir" "${PY[@]}" train_scratch.py --model "$student" --dataset fmnist $REAL_RUN --seed 0 \
                    --save_dir "$dir" $(resume_from "$dir/fmnist_$student-last.pth") ${FLAGS:-} ;;
            vanilla_kd)
                # shellcheck disable=SC2086
                launch "$dir" "${PY[@]}" vanilla_kd.py --teacher "$teacher" --student "$student" --dataset fmnist \
                    --teacher_ckpt "$ckpt" $REAL_RUN --seed 0 --save_dir "$dir" $(resume_from "$dir/last.pth") ${FLAGS:-} ;;
            *)
                method=${row%%-*}
                flags=${METHOD_FLAGS[$row]:?unknown row $row}
                flags=${flags//\{adv\}/$adv}
                flags=${flags//\{oh\}/$oh}
                extra=$DATAFREE_RUN
                [[ "$ONLINE_METHODS" == *" $method "* ]] || extra="$extra $POOL_RUN"
                [[ " deepinv cmi " == *" $method "* ]] && extra="$extra $SLOW_RUN"
                # shellcheck disable=SC2086
                launch "$dir" "${PY[@]}" datafree_kd.py --method "$method" --dataset fmnist --teacher "$teacher" \
                    --student "$student" --teacher_ckpt "$ckpt" $flags $extra --seed 0 --save_dir "$dir" \
                    --log_tag "$name-$row" --resume auto ${FLAGS:-} ;;
        esac
    done
done

if [ -z "${DRY_RUN:-}" ]; then
    "${PY[0]/torchrun/python}" benchmarks/fmnist_report.py "$OUT" --schedule "$SCHEDULE" --out "${REPORT:-results/fmnist_table}"
fi
