#!/usr/bin/env bash
# The main job on embedded defaults: build Quarry, generate a synthetic embedding set shaped
# like pplx-embed output (20,000 vectors of 1024 dimensions, tanh-INT8, with held-out queries
# and exact ground truth), index it in a collection, search it and evaluate recall and speed.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build -c release --product quarry
quarry=.build/release/quarry
work=${QUARRY_DEMO_DIR:-.demo}
rm -rf "$work" && mkdir -p "$work"
"$quarry" bench synth --n 20000 --dims 1024 --queries 200 --gt-k 100 --out "$work/synth.npy"
"$quarry" create "$work/collection" --dims 1024
"$quarry" ingest "$work/collection" --vectors "$work/synth.npy"
"$quarry" stats "$work/collection"
"$quarry" search "$work/collection" --vectors "$work/synth.queries.npy" -k 5 --nprobe 8 | head -7
"$quarry" eval "$work/collection" --queries "$work/synth.queries.npy" --ground-truth "$work/synth.gt.npy" \
  -k 10 -k 100 --nprobe 4 8 16 --oversample 4 8 --target 0.95 --json
