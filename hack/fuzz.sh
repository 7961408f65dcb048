#!/usr/bin/env bash
# Runs every fuzz target in the module for the given time each (default 20s).
# Minimizing a new input is capped at 5s, because on a busy machine Go's
# minimizer can stall a short run.
set -euo pipefail
fuzztime="${1:-20s}"
cd "$(dirname "$0")/.."
for pkg in $(go list ./...); do
  for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
    echo "== $pkg $target"
    go test -run='^$' -fuzz="^${target}\$" -fuzztime="$fuzztime" -fuzzminimizetime=5s "$pkg"
  done
done
