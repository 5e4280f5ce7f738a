#!/usr/bin/env bash
# DAFL baseline: online generator (nz 512), one-hot + activation + class balance. Same options as fast_cifar.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib/cifar_runs.sh
run_cifar dafl "" dafl
