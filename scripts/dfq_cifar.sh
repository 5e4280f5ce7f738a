#!/usr/bin/env bash
# DFQ baseline: online generator with adversarial KL + BN statistics + one-hot + balance. Same options as
# scripts/fast_cifar.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib/cifar_runs.sh
run_cifar dfq "" dfq
