#!/usr/bin/env bash
# Load test of `quarry serve` on loopback with top-k VECTOR searches ({"vector": [...]}) over a
# 100,000-vector collection of synthetic 384-dimensional embeddings (`quarry bench synth`:
# clustered, tanh-INT8, shaped like real model output). Embedding 100k real documents with
# MiniLM would take hours on this machine, so the collection holds vectors, not documents,
# and the load measures search + HTTP, not query embedding.
#
# Prints one JSON line from the load client (requests/s, p50/p99 ms, errors, server RSS before
# and after) and the in-process search rate of the same queries and settings (`quarry eval`,
# one query at a time on one thread) for the ratio. Bounded: SECONDS of load (default 20).
#   Benchmarks/server/load.sh [SECONDS] [CONCURRENCY] [WORK_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-20}
concurrency=${2:-4}
work=${3:-/tmp/quarry-server-load}
n=100000
k=10
nprobe=16
oversample=4

swift build -c release --product quarry
quarry=.build/release/quarry
[ -f data/models/all-MiniLM-L6-v2/config.json ] || scripts/setup.sh
mkdir -p "$work/data"
[ -f "$work/synth.gt.npy" ] ||
  "$quarry" bench synth --n "$n" --dims 384 --queries 1000 --gt-k 10 --out "$work/synth.npy"
if [ ! -f "$work/data/vectors/data.mdb" ]; then
  rm -rf "$work/data/vectors"
  "$quarry" create "$work/data/vectors" --dims 384
  "$quarry" ingest "$work/data/vectors" --vectors "$work/synth.npy"
fi

. Benchmarks/server/start-server.sh
start_server "$quarry" "$work/data" "$work/serve.log"
curl -fs "http://127.0.0.1:$port/v1/collections/vectors" && echo

echo "load: $seconds s, $concurrency connections, top-$k vector searches (nprobe $nprobe, oversample $oversample)"
served=$(python3 Benchmarks/server/load.py --port "$port" --collection vectors --queries "$work/synth.queries.npy" \
  --pid "$server" --seconds "$seconds" --concurrency "$concurrency" -k "$k" --nprobe "$nprobe" \
  --oversample "$oversample")
echo "$served"
kill "$server"
wait "$server" 2> /dev/null || true
trap - EXIT

echo "in-process (quarry eval, one thread, same queries and settings):"
in_process=$(OPENBLAS_NUM_THREADS=1 "$quarry" eval "$work/data/vectors" --queries "$work/synth.queries.npy" \
  --ground-truth "$work/synth.gt.npy" -k "$k" --nprobe "$nprobe" --oversample "$oversample" --exact-queries 0 \
  --json)
in_process=${in_process%%$'\n'*}
echo "$in_process"
python3 - "$served" "$in_process" <<'EOF'
import json, sys
served, in_process = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"served / in-process one-thread rate: {served['qps'] / in_process['qps']:.2f}")
EOF
