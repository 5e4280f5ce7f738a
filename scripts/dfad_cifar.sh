#!/usr/bin/env bash
# DFAD baseline: online generator, L1 on logits for generator (maximised) and student. Same options as
# scripts/fast_cifar.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib/cifar_runs.sh
run_cifar dfad "" dfad
