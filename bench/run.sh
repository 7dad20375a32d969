#!/usr/bin/env bash
# The benchmarks with history: each run is saved (pytest-benchmark autosave) under bench/history/ and
# compared with the previous saved run on this machine, so a regression shows as a ratio.
#   bash bench/run.sh                 # everything
#   bash bench/run.sh -m 'not large'  # skip the long ones; any pytest arguments pass through
set -euo pipefail
cd "$(dirname "$0")/.."
storage="file://bench/history"
compare=()
# Compare only when a previous run exists (pytest-benchmark warns otherwise).
if compgen -G "bench/history/*/*.json" >/dev/null; then compare=(--benchmark-compare); fi
exec python -m pytest bench/ --benchmark-only --benchmark-autosave --benchmark-storage="$storage" \
  --benchmark-columns=min,median,max,rounds "${compare[@]}" "$@"
