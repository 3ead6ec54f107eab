#!/usr/bin/env bash
# Index-core benchmark on synthetic pplx-embed-shaped vectors: generate N vectors (default
# 1,000,000 x 1024, tanh-INT8) with held-out queries and exact top-1000 ground truth, build a
# collection (timing train + assign + write), then sweep nprobe x oversample for k = 10 and
# k = 1000 beside exact search in the same run, one query at a time on one thread; then the
# parallel modes (one query on two threads, batches on one and two).
#   Benchmarks/ann/synthetic.sh [N] [WORK_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-1000000}
work=${2:-/tmp/quarry-synthetic-$n}
swift build -c release --product quarry
quarry=.build/release/quarry
mkdir -p "$work"
[ -f "$work/synth.gt.npy" ] || "$quarry" bench synth --n "$n" --dims 1024 --queries 1000 --out "$work/synth.npy"
if [ ! -f "$work/collection/data.mdb" ]; then
  "$quarry" create "$work/collection" --dims 1024
  /usr/bin/time -f "ingest wall %e s, max RSS %M KiB" "$quarry" ingest "$work/collection" --vectors "$work/synth.npy"
fi
"$quarry" stats "$work/collection"
export OPENBLAS_NUM_THREADS=1
"$quarry" eval "$work/collection" --queries "$work/synth.queries.npy" --ground-truth "$work/synth.gt.npy" \
  -k 10 --nprobe 8 16 32 --oversample 4 8 12 16 24 --prefilter asymmetric hamming --exact-queries 20 --json
"$quarry" eval "$work/collection" --queries "$work/synth.queries.npy" --ground-truth "$work/synth.gt.npy" \
  -k 1000 --nprobe 16 32 64 128 --oversample 1.5 2 3 4 --limit 200 --exact-queries 0 --json
# Parallel search in the same run: one top-1000 query split over 1 and 2 threads, then all the
# queries as one batch (lists read once per batch) on 1 and 2 threads beside one at a time.
for threads in 1 2; do
  "$quarry" eval "$work/collection" --queries "$work/synth.queries.npy" --ground-truth "$work/synth.gt.npy" \
    -k 1000 --nprobe 32 64 --oversample 2 3 --limit 200 --exact-queries 0 --threads "$threads" --json
done
"$quarry" eval "$work/collection" --queries "$work/synth.queries.npy" --ground-truth "$work/synth.gt.npy" \
  -k 10 --nprobe 8 16 --oversample 12 24 --exact-queries 0 --json
for threads in 1 2; do
  "$quarry" eval "$work/collection" --queries "$work/synth.queries.npy" --ground-truth "$work/synth.gt.npy" \
    -k 10 --nprobe 8 16 --oversample 12 24 --exact-queries 0 --batch --threads "$threads" --json
done
