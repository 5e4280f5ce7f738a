#!/usr/bin/env bash
# DAFL baseline: online generator (nz 512), one-hot + activation + class balance. Same options as fast_cifar.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib/cifar_runs.sh
run_cifar dafl "" "--batch_size 256 --lr 0.1 --epochs 200 --kd_steps 5 --ep_steps 400 --g_steps 1 --lr_g 1e-3
                   --oh 1 --act 0.1 --balance 5 --adv 0 --bn 0 --T 20"
