#!/usr/bin/env bash
# Runs every fuzz target in the module for the given time each (default 20s).
set -euo pipefail
fuzztime="${1:-20s}"
cd "$(dirname "$0")/.."
for pkg in $(go list ./...); do
  for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
    echo "== $pkg $target"
    go test -run='^$' -fuzz="^${target}\$" -fuzztime="$fuzztime" "$pkg"
  done
done
