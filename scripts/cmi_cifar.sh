#!/usr/bin/env bash
# Contrastive Model Inversion baseline (upstream scripts/cmi_cifar.sh settings; the paper's CMI-500 uses
# --g_steps 500). Same options as scripts/fast_cifar.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib/cifar_runs.sh
run_cifar cmi "" "--batch_size 256 --lr 0.1 --epochs 200 --kd_steps 400 --ep_steps 400 --g_steps ${G_STEPS:-500}
                  --lr_g 1e-3 --adv 0.5 --bn 1.0 --oh 1.0 --cr 0.8 --cr_T 0.2 --act 0 --balance 0 --T 20"
