#!/usr/bin/env bash
# DFQ baseline: online generator with adversarial KL + BN statistics + one-hot + balance. Same options as
# scripts/fast_cifar.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib/cifar_runs.sh
run_cifar dfq "" "--batch_size 256 --lr 0.1 --epochs 200 --kd_steps 5 --ep_steps 400 --g_steps 1 --lr_g 1e-3
                  --adv 1 --bn 1 --oh 1 --act 0 --balance 20 --T 20"
