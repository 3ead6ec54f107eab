#!/usr/bin/env bash
# Ingest of many small batches into few, long posting lists: the case where appending used to
# copy a list's whole block chain per batch. Times one fresh ingest (create, train, write) of N
# synthetic 1024-dimensional vectors into LISTS lists, BATCH vectors a write transaction, with
# farm-bench (median of RUNS runs); with BASELINE (another quarry binary), the two interleaved
# and their ratio taken pair by pair. QUARRY names the binary to time (default: this checkout's
# release build, built first).
#   [QUARRY=BIN] Benchmarks/lists/small-batches.sh [N] [LISTS] [BATCH] [RUNS] [BASELINE]
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-40000}
lists=${2:-8}
batch=${3:-100}
runs=${4:-3}
baseline=${5:-}
work=/tmp/quarry-small-batches-$n
quarry=${QUARRY:-}
if [ -z "$quarry" ]; then
  swift build -c release --product quarry
  quarry=$PWD/.build/release/quarry
fi
mkdir -p "$work"
[ -f "$work/synth.npy" ] || "$quarry" bench synth --n "$n" --dims 1024 --queries 10 --gt-k 10 --out "$work/synth.npy"
# One fresh ingest with binary $1 into its own directory $2.
once="rm -rf \$2 && \$1 create \$2 --dims 1024 --nlist $lists >/dev/null && \$1 ingest \$2 --vectors $work/synth.npy --batch-size $batch --json >/dev/null 2>&1"
export OPENBLAS_NUM_THREADS=1
if [ -n "$baseline" ]; then
  farm-bench -n "$runs" --timeout 3600 --vs "sh -c '$once' _ $baseline $work/b" \
    -- sh -c "$once" _ "$quarry" "$work/a"
else
  farm-bench -n "$runs" --timeout 3600 -- sh -c "$once" _ "$quarry" "$work/a"
fi
"$quarry" stats "$work/a"
