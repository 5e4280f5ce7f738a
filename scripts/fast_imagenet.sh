#!/usr/bin/env bash
# The paper's ImageNet runs (Fast-50): ResNet-50 teacher -> ResNet-50 / ResNet-18 / MobileNetV2 students, with
# upstream's settings (its ImageNet logs): 50 generator steps, 10 x (synthesis + 100 KD steps) per epoch,
# 400 epochs, batch 100, Reptile meta-gradient. Images are 224 px, made by the deep generator.
# Data: data/ILSVRC2012/{train,val}/<class>/<image> (only val is read). Teacher: torchvision's ResNet-50 weights
# at checkpoints/pretrained/imagenet_resnet50_imagenet.pth (datafree_kd.py says how to save them).
#   bash scripts/fast_imagenet.sh                     # the three runs, one after another (each resumes if cut)
#   ONLY=r18 bash scripts/fast_imagenet.sh            # one student (r50 r18 mbv2)
#   DRY_RUN=1 bash scripts/fast_imagenet.sh           # print the commands only
#   PYTHON="torchrun --nproc_per_node 8" FLAGS="--fp16 --channels_last --data_root /data" bash scripts/fast_imagenet.sh
# (FLAGS are set on every run, replacing a value the script gives.)
# Differences from upstream's ImageNet synthesizer: the latent code is re-drawn every synthesis (upstream
# meta-learns a spatial code and re-draws it every 50 epochs), the meta step size is lr_g * g_steps, and the
# whole image pool (150 KB per image) is held on the training device.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
read -ra PY <<<"${PYTHON:-python}"
source scripts/lib/flags.sh
ONLY=${ONLY:-}

# name student adv
STUDENTS=(
    "r50 resnet50_imagenet 0.1"
    "r18 resnet18_imagenet 1.0"
    "mbv2 mobilenetv2_imagenet 0.1"
)

for entry in "${STUDENTS[@]}"; do
    read -r name student adv <<<"$entry"
    if [ -n "$ONLY" ] && [ "$ONLY" != "$name" ]; then continue; fi
    cmd=("${PY[@]}" datafree_kd.py --method fast_meta --dataset imagenet --teacher resnet50_imagenet
         --student "$student" --batch_size 100 --lr 0.1 --T 5 --epochs 400 --warmup 0
         --g_steps 50 --kd_steps 100 --ep_steps 1000 --adv "$adv" --bn 0.1 --oh 0.1 --act 0 --balance 0
         --lr_g 2e-4 --lr_z 0.01 --bn_mmt 0.9 --is_maml 0 --reset_l0 0 --reset_bn 0 --seed 0
         --save_dir "run/fast_imagenet/r50-$name-50" --log_tag "$name-50" --resume auto)
    set_flag_words cmd "${FLAGS:-}"
    run_cmd "${cmd[@]}"
done
