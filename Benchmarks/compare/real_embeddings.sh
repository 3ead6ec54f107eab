#!/usr/bin/env bash
# Deep retrieval on real embeddings: all-MiniLM-L6-v2 over English Debian package descriptions
# (the sample-corpus script's source, as many packages as asked), package synopses as held-out
# queries. Prints the neighbourhood statistics (`quarry bench stats`: neighbour cosines, lists
# holding a query's true top-10 / top-1000), then `quarry eval` at k = 10 and k = 1000 against
# the exact neighbours, beside the exact scan in the same run (one query at a time, one thread).
#   Benchmarks/compare/real_embeddings.sh [DOCS] [WORK_DIR] [MAX_TOKENS]
# DOCS defaults to 20000 (embedding takes about 4 minutes per 10,000 on two idle cores);
# MAX_TOKENS (default 128) truncates descriptions to keep embedding short.
set -euo pipefail
cd "$(dirname "$0")/../.."
docs=${1:-20000}
work=${2:-/tmp/quarry-real-$docs}
max_tokens=${3:-128}
model=data/models/all-MiniLM-L6-v2
[ -d "$model" ] || scripts/fetch-models.sh
swift build -c release --product quarry
quarry=.build/release/quarry
mkdir -p "$work"
if [ ! -f "$work/corpus/corpus.jsonl" ]; then
  scripts/make-sample-corpus.sh --out "$work/corpus" --docs "$docs" --queries 2000
fi
[ -f "$work/docs.npy" ] || "$quarry" embed --model "$model" --input "$work/corpus/corpus.jsonl" \
  --max-tokens "$max_tokens" --output "$work/docs.npy"
[ -f "$work/queries.npy" ] || "$quarry" embed --model "$model" --input "$work/corpus/queries.jsonl" \
  --output "$work/queries.npy"
"$quarry" bench stats --base "$work/docs.npy" --queries "$work/queries.npy" --limit 1000
if [ ! -f "$work/collection/data.mdb" ]; then
  "$quarry" create "$work/collection" --dims "$(python3 -c "import numpy; print(numpy.load('$work/docs.npy', mmap_mode='r').shape[1])")"
  "$quarry" ingest "$work/collection" --vectors "$work/docs.npy"
fi
"$quarry" stats "$work/collection"
lists=$("$quarry" stats "$work/collection" --json | python3 -c "import json,sys; print(json.load(sys.stdin)['lists'])")
export OPENBLAS_NUM_THREADS=1
probes() { python3 -c "import sys; l=$lists; print(' '.join(str(p) for p in sorted({min(p, l) for p in map(int, sys.argv[1:])})))" "$@"; }
"$quarry" eval "$work/collection" --queries "$work/queries.npy" --exact -k 10 --limit 1000 \
  --nprobe $(probes 4 8 16 32 64 128) --oversample 4 8 16 32 --prefilter asymmetric hamming --exact-queries 100 --json
"$quarry" eval "$work/collection" --queries "$work/queries.npy" --exact -k 1000 --limit 200 \
  --nprobe $(probes 32 64 128 192 256 384 512 768 1024) --oversample 1.5 2 3 4 --exact-queries 50 --json
