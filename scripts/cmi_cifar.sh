#!/usr/bin/env bash
# Contrastive Model Inversion baseline (upstream scripts/cmi_cifar.sh settings; the paper's CMI-500 uses
# --g_steps 500). Same options as scripts/fast_cifar.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib/cifar_runs.sh
run_cifar cmi "" "${METHOD_FLAGS[cmi]}"
