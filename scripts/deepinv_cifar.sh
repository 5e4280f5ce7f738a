#!/usr/bin/env bash
# DeepInversion baseline (upstream scripts/deepinv_cifar.sh settings). Same options as scripts/fast_cifar.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib/cifar_runs.sh
run_cifar deepinv "" "--batch_size 256 --lr 0.1 --epochs 200 --kd_steps 400 --ep_steps 400 --g_steps 1000
                      --lr_g 0.1 --adv 1 --bn 10 --oh 1 --T 20 --act 0 --balance 0"
