#!/usr/bin/env bash
# Fast-2/5/10 (fast_meta) on Fashion-MNIST with 1-channel teachers trained by train_scratch.py.
#   bash scripts/fast_fmnist.sh                          # SCHEDULE=full: the CIFAR settings of SPEC section 4 (GPU)
#   SCHEDULE=cpu ONLY=wrn VARIANTS=2 bash scripts/fast_fmnist.sh   # CPU-sized: WRN-40-2 -> WRN-16-1, Fast-2
# ONLY picks a pair (r34 vgg wrn wrn401 wrn162), VARIANTS a subset of "2 5 10"; FLAGS are added to every run;
# PYTHON="torchrun --nproc_per_node 4" runs each job on 4 GPUs. Runs resume when restarted.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
read -ra PY <<<"${PYTHON:-python}"
source scripts/lib/teacher.sh
SCHEDULE=${SCHEDULE:-full}
ONLY=${ONLY:-}
VARIANTS=${VARIANTS:-"2 5 10"}

if [ "$SCHEDULE" = full ]; then
    TEACHER_EPOCHS=40
    RUN="--batch_size 256 --synthesis_batch_size 256 --lr 0.2 --kd_steps 400 --ep_steps 400 --warmup 20 --epochs 220"
elif [ "$SCHEDULE" = cpu ]; then
    # ~20 minutes on 2 CPU cores for WRN-40-2 -> WRN-16-1 Fast-2, teacher (1 epoch) included.
    TEACHER_EPOCHS=1
    RUN="--batch_size 128 --synthesis_batch_size 128 --lr 0.1 --kd_steps 20 --ep_steps 20 --warmup 2 --epochs 30
         --reset_l0_epoch 15 --eval_every 10 --ngf 32 -j 0 --channels_last"
else
    echo "SCHEDULE must be full or cpu, got '$SCHEDULE'" >&2; exit 2
fi

source scripts/lib/pairs.sh
declare -A LR_Z=([2]=0.015 [5]=0.01 [10]=0.01)
declare -A LR_G=([2]=5e-3 [5]=3e-3 [10]=2e-3)

for pair in "${PAIRS[@]}"; do
    read -r name teacher student adv oh <<<"$pair"
    if [ -n "$ONLY" ] && [ "$ONLY" != "$name" ]; then continue; fi
    if [ -z "${DRY_RUN:-}" ]; then
        ensure_teacher fmnist "$teacher" "$TEACHER_EPOCHS" $([ "$SCHEDULE" = cpu ] && echo "-j 0 --channels_last")
    fi
    for g in $VARIANTS; do
        # shellcheck disable=SC2206
        cmd=("${PY[@]}" datafree_kd.py --method fast_meta --dataset fmnist --teacher "$teacher" --student "$student"
             $RUN --adv "$adv" --bn 10 --oh "$oh" --act 0 --balance 0 --T 20 --seed 0 --bn_mmt 0.9 --is_maml 1
             --reset_l0 1 --reset_bn 0 --g_steps "$g" --lr_z "${LR_Z[$g]}" --lr_g "${LR_G[$g]}"
             --save_dir "run/fast_fmnist_$SCHEDULE/$name-$g" --log_tag "$name-$g" --resume auto ${FLAGS:-})
        if [ -n "${DRY_RUN:-}" ]; then echo "${cmd[*]}"; else "${cmd[@]}"; fi
    done
done
