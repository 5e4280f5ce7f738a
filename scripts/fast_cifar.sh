#!/usr/bin/env bash
# The paper's 30 CIFAR runs: {CIFAR-10, CIFAR-100} x 5 teacher/student pairs x {Fast-2, Fast-5, Fast-10},
# with upstream's settings (SPEC section 4). Teachers: checkpoints/pretrained/{dataset}_{teacher}.pth.
#   bash scripts/fast_cifar.sh                        # all 30 runs, one after another (each resumes if cut)
#   DATASETS=cifar100 ONLY=wrn bash scripts/fast_cifar.sh   # one dataset / one pair (r34 vgg wrn wrn401 wrn162)
#   DRY_RUN=1 bash scripts/fast_cifar.sh              # print the commands only
#   FLAGS="--gpu 1" or PYTHON="torchrun --nproc_per_node 4" bash scripts/fast_cifar.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib/cifar_runs.sh

COMMON="--batch_size 256 --lr 0.2 --kd_steps 400 --ep_steps 400 --adv {adv} --bn 10.0 --oh {oh} --act 0 --balance 0
        --T 20 --bn_mmt 0.9 --warmup 20 --epochs 220 --is_maml 1 --reset_l0 1 --reset_bn 0"
run_cifar fast_meta -2 "$COMMON --g_steps 2 --lr_z 0.015 --lr_g 5e-3"
run_cifar fast_meta -5 "$COMMON --g_steps 5 --lr_z 0.01 --lr_g 3e-3"
run_cifar fast_meta -10 "$COMMON --g_steps 10 --lr_z 0.01 --lr_g 2e-3"
