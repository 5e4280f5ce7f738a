#!/usr/bin/env bash
# All eight data-free methods (and the Gaussian-noise control) on one Fashion-MNIST teacher/student pair, with
# the same budget of KD steps (EPOCHS x STEPS at batch BATCH), then a table of every summary.json.
#   bash scripts/fmnist_methods.sh                            # CPU-sized defaults (~60 min on 2 cores)
#   METHODS="dafl dfad" bash scripts/fmnist_methods.sh        # only some methods (the table still lists all runs)
#   TEACHER=wrn40_2 STUDENT=wrn16_1 EPOCHS=200 STEPS=400 BATCH=256 G_SLOW=1000 bash scripts/fmnist_methods.sh  # GPU
# The teacher is trained first when checkpoints/pretrained/fmnist_$TEACHER.pth is missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
read -ra PY <<<"${PYTHON:-python}"
source scripts/lib/teacher.sh
TEACHER=${TEACHER:-wrn16_1}
STUDENT=${STUDENT:-resnet8}
EPOCHS=${EPOCHS:-30}
STEPS=${STEPS:-20}            # KD steps per epoch, the same for every method
BATCH=${BATCH:-128}
G_SLOW=${G_SLOW:-40}          # g_steps of the per-batch optimisers (deepinv, cmi); upstream uses 1000 / 200
OUT=${OUT:-run/fmnist_methods}
TEACHER_EPOCHS=${TEACHER_EPOCHS:-3}

ensure_teacher fmnist "$TEACHER" "$TEACHER_EPOCHS" ${TEACHER_FLAGS:-}
COMMON=(--dataset fmnist --teacher "$TEACHER" --student "$STUDENT" --epochs "$EPOCHS" --batch_size "$BATCH"
        --synthesis_batch_size "$BATCH" --lr 0.1 --T 20 --seed 0 --eval_every 10 --resume auto ${FLAGS:-})
POOL=(--kd_steps "$STEPS" --ep_steps "$STEPS" --warmup 0)
ONLINE=(--kd_steps 5 --ep_steps "$STEPS" --g_steps 1 --lr_g 1e-3 --warmup 0)   # weights: scripts/lib/methods.sh

METHODS=${METHODS:-"fast_meta fast deepinv cmi dafl zskt dfq dfad noise"}   # a subset reruns only those
run() {
    local name=$1; shift
    [[ " $METHODS " == *" $name "* ]] || return 0
    "${PY[@]}" datafree_kd.py "${COMMON[@]}" --method "$@" --save_dir "$OUT/$name"
}

run fast_meta fast_meta "${POOL[@]}" --g_steps 2 --lr_g 5e-3 --lr_z 0.015 --bn 10 --oh 0.4 --adv 1.1 --bn_mmt 0.9 \
    --is_maml 1 --reset_l0 1 --reset_l0_epoch $((EPOCHS / 2))
run fast fast "${POOL[@]}" --g_steps 2 --lr_g 5e-3 --lr_z 0.015 --bn 10 --oh 0.4 --adv 1.1 --bn_mmt 0.9
run deepinv deepinv "${POOL[@]}" --g_steps "$G_SLOW" --lr_g 0.1 --bn 10 --oh 1 --adv 1
run cmi cmi "${POOL[@]}" --g_steps "$G_SLOW" --lr_g 1e-3 --bn 1 --oh 1 --adv 0.5 --cr 0.8 --cr_T 0.2
run dafl dafl "${ONLINE[@]}" --oh 1 --act 0.001 --balance 20
run zskt zskt "${ONLINE[@]}" --adv 1 --T 1
run dfq dfq "${ONLINE[@]}" --kd_steps 10 --adv 1 --bn 1 --oh 1 --balance 20
run dfad dfad "${ONLINE[@]}" --adv 1
run noise noise "${POOL[@]}"
"${PY[@]}" benchmarks/summarize.py "$OUT"/*/summary.json --out "${SUMMARY_OUT:-results/fmnist_methods}" --baseline deepinv
