#!/usr/bin/env bash
# All eight data-free methods (and the Gaussian-noise control) on one Fashion-MNIST teacher/student pair, with
# the same budget of KD steps (EPOCHS x STEPS at batch BATCH), then a table of every summary.json.
#   bash scripts/fmnist_methods.sh                            # CPU-sized defaults (~60 min on 2 cores)
#   METHODS="dafl dfad" bash scripts/fmnist_methods.sh        # only some methods (the table still lists all runs)
#   TEACHER=wrn40_2 STUDENT=wrn16_1 EPOCHS=200 STEPS=400 BATCH=256 G_SLOW=1000 bash scripts/fmnist_methods.sh  # GPU
#   DRY_RUN=1 bash scripts/fmnist_methods.sh                  # print the commands only
# The teacher is trained first when checkpoints/pretrained/fmnist_$TEACHER.pth is missing. Each run is its row of
# scripts/lib/methods.sh with this table's budget set over it; FLAGS are set on every run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
read -ra PY <<<"${PYTHON:-python}"
source scripts/lib/teacher.sh
source scripts/lib/methods.sh
TEACHER=${TEACHER:-wrn16_1}
STUDENT=${STUDENT:-resnet8}
EPOCHS=${EPOCHS:-30}
STEPS=${STEPS:-20}            # KD steps per epoch, the same for every method
BATCH=${BATCH:-128}
G_SLOW=${G_SLOW:-40}          # g_steps of the per-batch optimisers (deepinv, cmi); upstream uses 1000 / 200
ADV=${ADV:-1.1} OH=${OH:-0.4} # {adv} and {oh} of the fast rows: the WRN teachers' weights (scripts/lib/pairs.sh)
OUT=${OUT:-run/fmnist_methods}
TEACHER_EPOCHS=${TEACHER_EPOCHS:-3}
read -ra TEACHER_FLAGS <<<"${TEACHER_FLAGS:-}"

ensure_teacher fmnist "$TEACHER" "$TEACHER_EPOCHS" "${TEACHER_FLAGS[@]}"

# The budget every row runs with: EPOCHS x STEPS KD steps at batch BATCH, lr 0.1, no warm-up. Online methods keep
# their rows' kd_steps (a generator step every 5 or 10 KD steps).
BUDGET=(--epochs "$EPOCHS" --batch_size "$BATCH" --synthesis_batch_size "$BATCH" --lr 0.1 --ep_steps "$STEPS"
        --warmup 0)
# Where this table's runs differ from their rows (beyond the budget): fast_meta resets l0 half-way, the
# per-batch optimisers take G_SLOW steps; fast runs without the l0 reset, zskt at T 1 and dfad at T 20 (the rows,
# from the reference scripts, say reset_l0 1, T 20 and T 1: results/fmnist_methods was made with these).
declare -A DIFFERS=(
    [fast_meta-2]="--reset_l0_epoch $((EPOCHS / 2))"
    [fast]="--reset_l0 0"
    [deepinv]="--g_steps $G_SLOW"
    [cmi]="--g_steps $G_SLOW"
    [zskt]="--T 1"
    [dfad]="--T 20"
)

METHODS=${METHODS:-"fast_meta fast deepinv cmi dafl zskt dfq dfad noise"}   # a subset reruns only those
for name in fast_meta fast deepinv cmi dafl zskt dfq dfad noise; do
    [[ " $METHODS " == *" $name "* ]] || continue
    row=$name
    [ "$name" != fast_meta ] || row=fast_meta-2
    cmd=("${PY[@]}" datafree_kd.py --method "$name" --dataset fmnist --teacher "$TEACHER" --student "$STUDENT")
    set_method_flags cmd "$row" "$ADV" "$OH"
    set_flags cmd "${BUDGET[@]}"
    [[ "$ONLINE_METHODS" == *" $name "* ]] || set_flags cmd --kd_steps "$STEPS"
    set_flag_words cmd "${DIFFERS[$row]:-}"
    set_flags cmd --seed 0 --eval_every 10 --save_dir "$OUT/$name" --resume auto
    set_flag_words cmd "${FLAGS:-}"
    run_cmd "${cmd[@]}"
done
run_cmd "${PY[@]}" -m benchmarks.summarize "$OUT"/*/summary.json --out "${SUMMARY_OUT:-results/fmnist_methods}" \
    --baseline deepinv
