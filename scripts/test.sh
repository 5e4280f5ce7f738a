#!/usr/bin/env bash
# The whole test suite (sets up .venv first). Extra arguments go to pytest, e.g. -k fast_meta.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
exec "$PYTHON" -m pytest tests -q -rs -p no:cacheprovider "$@"   # -rs: the reason of each skip
