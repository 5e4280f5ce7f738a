#!/usr/bin/env bash
# Creates .venv with the project's dependencies and installs Debian's Fashion-MNIST when possible.
# Sourced by quickstart.sh and test.sh; safe to run again (does nothing when all is there).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
if ! .venv/bin/python -c "import torch, torchvision, numpy, scipy, tqdm, PIL, tensorboard, pytest, ruff" 2>/dev/null; then
    .venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
    .venv/bin/python -m pip install -q -r requirements-test.txt
fi

FMNIST=/usr/share/datasets/fashion-mnist
if [ ! -f "$FMNIST/train-images-idx3-ubyte.gz" ] && [ ! -d data/torchdata/FashionMNIST/raw ]; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist) >/dev/null \
            || echo "warning: could not install dataset-fashion-mnist; Fashion-MNIST will be downloaded by torchvision"
    else
        echo "note: Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist); torchvision will download it"
    fi
fi

# glibc malloc settings that make CPU backward passes 1.3-2.2x faster (no effect on GPU runs).
export MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=17179869184 MALLOC_TOP_PAD_=536870912
export PYTHON="$PWD/.venv/bin/python"
