#!/usr/bin/env bash
# The whole story on Fashion-MNIST, on a fresh machine: set up, train a teacher on real data, then distill a
# student with fast_meta from synthetic images only, and compare both on the real test split.
# About 8 minutes on 2 CPU cores from a fresh clone (venv included); uses a GPU when there is one. Extra arguments
# go to datafree_kd.py. Choices (README "Quickstart"): teacher WRN-16-1, 4 epochs on all 60,000 training images;
# student ResNet-8 (a KD step costs ~0.1 s at batch 128 on 2 cores); fast_meta (Fast-2) for 50 epochs of 20 KD steps at
# batch 128 with a 32-wide generator: its accuracy levels off after ~40 epochs on this data.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh

TEACHER=wrn16_1
STUDENT=resnet8
TEACHER_CKPT=checkpoints/pretrained/fmnist_${TEACHER}.pth
RUN_DIR=run/quickstart
START=$(date +%s)

if [ ! -f "$TEACHER_CKPT" ]; then
    echo "== 1/2 training the teacher ($TEACHER) on real Fashion-MNIST"
    "$PYTHON" train_scratch.py --model $TEACHER --dataset fmnist --epochs 4 --lr 0.1 -b 128 -j 0 --seed 0 \
        --save_dir checkpoints/pretrained --resume auto
else
    echo "== 1/2 teacher found at $TEACHER_CKPT"
fi

echo "== 2/2 data-free distillation (fast_meta): the student never sees a real training image"
"$PYTHON" datafree_kd.py --method fast_meta --dataset fmnist --teacher $TEACHER --student $STUDENT \
    --epochs 50 --warmup 2 --ep_steps 20 --kd_steps 20 --batch_size 128 --synthesis_batch_size 128 \
    --g_steps 2 --lr 0.1 --lr_g 5e-3 --lr_z 0.015 --T 20 --bn 10 --oh 0.4 --adv 1.1 --bn_mmt 0.9 \
    --is_maml 1 --reset_l0 1 --reset_l0_epoch 25 --ngf 32 -j 0 --seed 0 --eval_every 10 --channels_last \
    --save_dir $RUN_DIR --resume auto "$@"

"$PYTHON" - "$RUN_DIR" "$START" <<'PY'
import json, sys, time
run_dir, start = sys.argv[1], int(sys.argv[2])
s = json.load(open(f"{run_dir}/summary.json"))
print()
print(f"teacher {s['teacher']}: {s['teacher_acc1']:.2f}% top-1 on the real Fashion-MNIST test split")
print(f"student {s['student']} (data-free, {s['method']}): best {s['best_acc1']:.2f}%, last {s['last_acc1']:.2f}%")
print(f"synthesis {s['synthesis_seconds']:.0f}s, distillation {s['kd_seconds']:.0f}s, run {s['wall_seconds']:.0f}s "
      f"on {s['device']}; whole quickstart {time.time() - start:.0f}s")
print(f"synthetic images: {run_dir}/synthetic.png   log: {run_dir}/log.txt")
print(f"TensorBoard:      tensorboard --logdir {run_dir}/tb   checkpoints: {run_dir}/last.pth, {run_dir}/best.pth")
PY
