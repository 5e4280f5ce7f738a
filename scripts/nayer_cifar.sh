#!/usr/bin/env bash
# NAYER (CVPR-24) on CIFAR: {CIFAR-10, CIFAR-100} x the 5 teacher/student pairs x {NAYER-100, NAYER-200, NAYER-300}
# (120 / 220 / 320 epochs), with the settings of tmtuan1307/NAYER scripts/nayer_{100,200,300}.sh (rows nayer-100/200/300
# of scripts/lib/methods.sh; g_steps 30 on CIFAR-10, 40 on CIFAR-100). Teachers: checkpoints/pretrained/
# {dataset}_{teacher}.pth. Class embeddings: the shipped CLIP vectors of the dataset (--label_emb auto).
#   bash scripts/nayer_cifar.sh                       # all 30 runs, one after another (each resumes if cut)
#   DATASETS=cifar100 ONLY=wrn VARIANTS=100 bash scripts/nayer_cifar.sh   # one dataset / pair / length
#   DRY_RUN=1 bash scripts/nayer_cifar.sh             # print the commands only
#   FLAGS="--gpu 1" or PYTHON="torchrun --nproc_per_node 4" bash scripts/nayer_cifar.sh
# Tiny-ImageNet (NAYER's tir34r18): scripts/nayer_tiny_imagenet.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib/cifar_runs.sh

for v in ${VARIANTS:-100 200 300}; do
    run_cifar nayer "-$v" "nayer-$v"
done
