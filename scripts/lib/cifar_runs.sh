#!/usr/bin/env bash
# Shared by scripts/*_cifar.sh: run one data-free method over the paper's datasets and teacher/student pairs.
#   run_cifar METHOD TAG ROW   (ROW: a row of scripts/lib/methods.sh; uses $DATASETS, $ONLY, $PYTHON, $FLAGS,
#                               $DRY_RUN)
# The row's {adv} and {oh} take the pair's adversarial/one-hot weights (upstream's fast_cifar.sh); the method's
# DATASET_FLAGS and DATASET_PAIR_FLAGS (scripts/lib/methods.sh) are set over the row.
set -euo pipefail
DATASETS=${DATASETS:-"cifar10 cifar100"}
ONLY=${ONLY:-}
read -ra PY <<<"${PYTHON:-python}"   # e.g. PYTHON="torchrun --nproc_per_node 4"

# shellcheck source=scripts/lib/pairs.sh
source "$(dirname "${BASH_SOURCE[0]}")/pairs.sh"
# shellcheck source=scripts/lib/methods.sh
source "$(dirname "${BASH_SOURCE[0]}")/methods.sh"

run_cifar() {
    local method=$1 tag=$2 row=$3 dataset pair name teacher student adv oh cmd
    for dataset in $DATASETS; do
        for pair in "${PAIRS[@]}"; do
            read -r name teacher student adv oh <<<"$pair"
            if [ -n "$ONLY" ] && [ "$ONLY" != "$name" ]; then continue; fi
            cmd=("${PY[@]}" datafree_kd.py --method "$method" --dataset "$dataset" --teacher "$teacher"
                 --student "$student")
            set_method_flags cmd "$row" "$adv" "$oh"
            set_dataset_flags cmd "$method" "$dataset" "$name"
            set_flags cmd --seed 0 --save_dir "run/${method}_cifar/$dataset-$name$tag" --log_tag "$name$tag" \
                --resume auto
            set_flag_words cmd "${FLAGS:-}"
            run_cmd "${cmd[@]}"
        done
    done
}
