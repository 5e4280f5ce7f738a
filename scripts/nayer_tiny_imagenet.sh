#!/usr/bin/env bash
# NAYER (CVPR-24) on Tiny-ImageNet: ResNet-34 teacher -> ResNet-18 student (NAYER's tir34r18) for NAYER-100, -200 and
# -300 (120 / 220 / 320 epochs), with the settings of tmtuan1307/NAYER scripts/nayer_{100,200,300}.sh: the rows
# nayer-100/200/300 of scripts/lib/methods.sh with their Tiny-ImageNet settings (batch 256, synthesis batch 200,
# lr 0.1, g_steps 60, g_loops 4, gwp_loops 20, 1000 KD steps per epoch). Class embeddings: the shipped CLIP vectors
# (--label_emb auto). Data: the official tiny-imagenet-200 folder under --data_root (only val is read). Teacher:
# checkpoints/pretrained/tiny_imagenet_resnet34.pth.
#   bash scripts/nayer_tiny_imagenet.sh               # the three runs, one after another (each resumes if cut)
#   VARIANTS=100 bash scripts/nayer_tiny_imagenet.sh  # one length (100 200 300)
#   DRY_RUN=1 bash scripts/nayer_tiny_imagenet.sh     # print the commands only
#   FLAGS="--gpu 1 --data_root /data" or PYTHON="torchrun --nproc_per_node 4" bash scripts/nayer_tiny_imagenet.sh
# (FLAGS are set on every run, replacing a value the script gives.)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
read -ra PY <<<"${PYTHON:-python}"
source scripts/lib/methods.sh

for v in ${VARIANTS:-100 200 300}; do
    cmd=("${PY[@]}" datafree_kd.py --method nayer --dataset tiny_imagenet --teacher resnet34 --student resnet18)
    set_method_flags cmd "nayer-$v"
    set_dataset_flags cmd nayer tiny_imagenet
    set_flags cmd --seed 0 --save_dir "run/nayer_tiny_imagenet/r34-$v" --log_tag "r34-$v" --resume auto
    set_flag_words cmd "${FLAGS:-}"
    run_cmd "${cmd[@]}"
done
