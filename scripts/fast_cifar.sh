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

for g in 2 5 10; do
    run_cifar fast_meta "-$g" "fast_meta-$g"
done
