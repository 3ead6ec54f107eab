#!/usr/bin/env bash
# Runs fuzz targets in a release build: scripts/fuzz.sh TARGET [EXECUTIONS] [SEED]
#   TARGET: a name from `scripts/fuzz.sh --list`, or "all" (every target, one after another).
#   EXECUTIONS defaults to 1,000,000 a target; SEED to 1. Seeds come from
#   Benchmarks/fuzz/corpus/TARGET/; a crashing or hanging input is written to
#   Benchmarks/fuzz/crashes/ (reproduce: scripts/fuzz.sh TARGET --reproduce FILE).
# The release build lives in .build-fuzz so it does not disturb the usual .build.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --scratch-path .build-fuzz --product QuarryFuzzRunner >&2
runner=.build-fuzz/release/QuarryFuzzRunner
if [[ "${1:-}" == "--list" ]]; then exec "$runner" --list; fi
target=${1:?usage: scripts/fuzz.sh TARGET|all [EXECUTIONS] [SEED]}
if [[ "${2:-}" == "--reproduce" ]]; then exec "$runner" "$target" --reproduce "${3:?a crash file}"; fi
executions=${2:-1000000}
seed=${3:-1}
if [[ "$target" == all ]]; then
    status=0
    for name in $("$runner" --list | cut -f1); do
        "$runner" "$name" "$executions" --seed "$seed" || status=$?
    done
    exit $status
fi
exec "$runner" "$target" "$executions" --seed "$seed"
