#!/usr/bin/env bash
# ensure_teacher DATASET MODEL EPOCHS [extra train_scratch flags]: train checkpoints/pretrained/{dataset}_{model}.pth
# with train_scratch.py unless it exists. Uses $PY (array) from the caller.
ensure_teacher() {
    local dataset=$1 model=$2 epochs=$3
    shift 3
    if [ -f "checkpoints/pretrained/${dataset}_${model}.pth" ]; then
        echo "== teacher checkpoints/pretrained/${dataset}_${model}.pth exists"
        return
    fi
    echo "== training teacher $model on $dataset ($epochs epochs)"
    "${PY[@]}" train_scratch.py --model "$model" --dataset "$dataset" --epochs "$epochs" --lr 0.1 -b 128 --seed 0 \
        --save_dir checkpoints/pretrained --resume auto "$@"
}
