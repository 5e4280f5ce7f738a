#!/usr/bin/env bash
# Shared by scripts/*_cifar.sh: run one data-free method over the paper's datasets and teacher/student pairs.
#   run_cifar METHOD TAG "FLAGS"   (uses $DATASETS, $ONLY, $PYTHON, $FLAGS, $DRY_RUN)
# Pair-specific adversarial/one-hot weights (upstream's fast_cifar.sh) fill {adv} and {oh} in FLAGS.
set -euo pipefail
DATASETS=${DATASETS:-"cifar10 cifar100"}
ONLY=${ONLY:-}
read -ra PY <<<"${PYTHON:-python}"   # e.g. PYTHON="torchrun --nproc_per_node 4"

source "$(dirname "${BASH_SOURCE[0]}")/pairs.sh"
source "$(dirname "${BASH_SOURCE[0]}")/methods.sh"

run_cifar() {
    local method=$1 tag=$2 flags=$3
    for dataset in $DATASETS; do
        for pair in "${PAIRS[@]}"; do
            read -r name teacher student adv oh <<<"$pair"
            if [ -n "$ONLY" ] && [ "$ONLY" != "$name" ]; then continue; fi
            local pair_flags=${flags//\{adv\}/$adv}
            pair_flags=${pair_flags//\{oh\}/$oh}
            pair_flags="$pair_flags ${DATASET_PAIR_FLAGS[$method:$dataset:$name]:-}"
            # shellcheck disable=SC2206
            local cmd=("${PY[@]}" datafree_kd.py --method "$method" --dataset "$dataset" --teacher "$teacher"
                       --student "$student" $pair_flags --seed 0
                       --save_dir "run/${method}_cifar/$dataset-$name$tag" --log_tag "$name$tag" --resume auto ${FLAGS:-})
            if [ -n "${DRY_RUN:-}" ]; then echo "${cmd[*]}"; else "${cmd[@]}"; fi
        done
    done
}
