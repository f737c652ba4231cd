#!/usr/bin/env bash
# Runs every Fuzz target of the module for a while each (default 10s).
# Usage: scripts/fuzz-all.sh [DURATION]   e.g. scripts/fuzz-all.sh 10m
# Minimization is off: on whole-pipeline targets it stalls short runs (a
# crasher is still saved, just unminimized).
set -euo pipefail
cd "$(dirname "$0")/.."
dur=${1:-10s}
# Each line of the listing: package dir and target name.
grep -rl --include='*_test.go' -E '^func Fuzz[A-Za-z0-9_]+\(f \*testing\.F\)' . | sort | while read -r file; do
  dir=$(dirname "$file")
  for target in $(grep -oE '^func Fuzz[A-Za-z0-9_]+' "$file" | sed 's/^func //'); do
    echo "-- $dir $target ($dur)"
    go test -run='^$' -fuzz="^${target}\$" -fuzztime="$dur" -fuzzminimizetime=0 "$dir" 2>&1 | tail -n 3
    test "${PIPESTATUS[0]}" -eq 0
  done
done
