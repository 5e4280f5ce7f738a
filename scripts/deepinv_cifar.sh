#!/usr/bin/env bash
# DeepInversion baseline (upstream scripts/deepinv_cifar.sh settings). Same options as scripts/fast_cifar.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib/cifar_runs.sh
run_cifar deepinv "" deepinv
