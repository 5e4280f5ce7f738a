#!/usr/bin/env bash
# Contrastive Model Inversion baseline (the reference script's settings, --g_steps 200; the paper names its row
# CMI-500: G_STEPS=500 for that). Same options as scripts/fast_cifar.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib/cifar_runs.sh
run_cifar cmi "" cmi
