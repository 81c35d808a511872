#!/usr/bin/env bash
# Builds gmr and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/web-deps.sh
bash scripts/build.sh
cd build
ctest --output-on-failure -j "$(nproc)" --timeout 300
