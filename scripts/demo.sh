#!/usr/bin/env bash
# Builds gmr and runs the demo service in the foreground. Extra arguments go to
# the demo, e.g. scripts/demo.sh --demo.workers=1000
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
exec build/bin/gmr-demo --config-file examples/demo.conf "$@"
