#!/usr/bin/env bash
# ZSKT baseline: online generator maximising the teacher-student KL. Same options as scripts/fast_cifar.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib/cifar_runs.sh
run_cifar zskt "" "--batch_size 256 --lr 0.1 --epochs 200 --kd_steps 5 --ep_steps 400 --g_steps 1 --lr_g 1e-3
                   --adv 1 --bn 0 --oh 0 --act 0 --balance 0 --T 1"
