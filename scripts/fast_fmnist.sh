#!/usr/bin/env bash
# Fast-2/5/10 (fast_meta) on Fashion-MNIST with 1-channel teachers trained by train_scratch.py.
#   bash scripts/fast_fmnist.sh                          # SCHEDULE=full: the CIFAR settings of SPEC section 4 (GPU)
#   SCHEDULE=cpu ONLY=wrn VARIANTS=2 bash scripts/fast_fmnist.sh   # CPU-sized: WRN-40-2 -> WRN-16-1, Fast-2
#   DRY_RUN=1 bash scripts/fast_fmnist.sh                # print the commands only (teachers' included)
# ONLY picks a pair (r34 vgg wrn wrn401 wrn162), VARIANTS a subset of "2 5 10"; FLAGS are set on every run;
# PYTHON="torchrun --nproc_per_node 4" runs each job on 4 GPUs. Runs resume when restarted.
# Each run is the fast_meta-G row of scripts/lib/methods.sh with the schedule below set over it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
read -ra PY <<<"${PYTHON:-python}"
source scripts/lib/teacher.sh
source scripts/lib/pairs.sh
source scripts/lib/methods.sh
SCHEDULE=${SCHEDULE:-full}
ONLY=${ONLY:-}
VARIANTS=${VARIANTS:-"2 5 10"}

if [ "$SCHEDULE" = full ]; then
    TEACHER_EPOCHS=40
    TEACHER_FLAGS=()
    RUN=(--synthesis_batch_size 256)   # the row's schedule: batch 256, 220 epochs of 400 steps, warm-up 20
elif [ "$SCHEDULE" = cpu ]; then
    # ~20 minutes on 2 CPU cores for WRN-40-2 -> WRN-16-1 Fast-2, teacher (1 epoch) included.
    TEACHER_EPOCHS=1
    TEACHER_FLAGS=(-j 0 --channels_last)
    RUN=(--batch_size 128 --synthesis_batch_size 128 --lr 0.1 --kd_steps 20 --ep_steps 20 --warmup 2 --epochs 30
         --reset_l0_epoch 15 --eval_every 10 --ngf 32 -j 0 --channels_last)
else
    echo "SCHEDULE must be full or cpu, got '$SCHEDULE'" >&2; exit 2
fi

for pair in "${PAIRS[@]}"; do
    read -r name teacher student adv oh <<<"$pair"
    if [ -n "$ONLY" ] && [ "$ONLY" != "$name" ]; then continue; fi
    ensure_teacher fmnist "$teacher" "$TEACHER_EPOCHS" "${TEACHER_FLAGS[@]}"
    for g in $VARIANTS; do
        cmd=("${PY[@]}" datafree_kd.py --method fast_meta --dataset fmnist --teacher "$teacher" --student "$student")
        set_method_flags cmd "fast_meta-$g" "$adv" "$oh"
        set_flags cmd "${RUN[@]}" --seed 0 --save_dir "run/fast_fmnist_$SCHEDULE/$name-$g" --log_tag "$name-$g" \
            --resume auto
        set_flag_words cmd "${FLAGS:-}"
        run_cmd "${cmd[@]}"
    done
done
