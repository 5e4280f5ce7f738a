#!/usr/bin/env bash
# ensure_teacher DATASET MODEL EPOCHS [train_scratch flags]: train checkpoints/pretrained/{dataset}_{model}.pth
# with train_scratch.py unless it exists (the flags are set over the defaults below). Uses $PY (array) from the
# caller; with DRY_RUN set it prints the command whether or not the checkpoint exists.

# shellcheck source=scripts/lib/flags.sh
source "$(dirname "${BASH_SOURCE[0]}")/flags.sh"

ensure_teacher() {
    local dataset=$1 model=$2 epochs=$3 cmd
    shift 3
    local ckpt=checkpoints/pretrained/${dataset}_${model}.pth
    cmd=("${PY[@]}" train_scratch.py --model "$model" --dataset "$dataset" --epochs "$epochs" --lr 0.1 -b 128 --seed 0
         --save_dir checkpoints/pretrained --resume auto)
    set_flags cmd "$@"
    if [ -n "${DRY_RUN:-}" ]; then show_cmd "${cmd[@]}"; return; fi
    if [ -f "$ckpt" ]; then
        echo "== teacher $ckpt exists"
        return
    fi
    echo "== training teacher $model on $dataset ($epochs epochs)"
    "${cmd[@]}"
}
