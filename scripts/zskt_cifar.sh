#!/usr/bin/env bash
# ZSKT baseline: online generator maximising the teacher-student KL. Same options as scripts/fast_cifar.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib/cifar_runs.sh
run_cifar zskt "" zskt
