#!/usr/bin/env bash
# Filtered search against unfiltered search in one run: N synthetic vectors of SHAPE (narrow or
# wide) with generated attributes (Benchmarks/filters/attributes.py), then `quarry eval` at
# filter selectivities of 50%, 10%, 1% and 0.1% (a keyword, a numeric range) and none, each
# against the exact filtered neighbours, one query at a time on one thread.
#
#   N=200000 DIMS=1024 SHAPE=wide NPROBE="32 64" K=10 Benchmarks/filters/run.sh /tmp/filters
set -euo pipefail
cd "$(dirname "$0")/../.."
work=${1:?usage: run.sh WORK_DIR}
n=${N:-200000}
dims=${DIMS:-1024}
shape=${SHAPE:-wide}
k=${K:-10}
read -r -a probes <<<"${NPROBE:-32 64}"
read -r -a factors <<<"${OVERSAMPLE:-4}"
quarry=${QUARRY:-.build/release/quarry}
mkdir -p "$work"
if [ ! -f "$work/base.npy" ]; then
  "$quarry" bench synth --n "$n" --dims "$dims" --queries 200 --gt-k 10 --shape "$shape" --out "$work/base.npy"
  python3 Benchmarks/filters/attributes.py --n "$n" > "$work/attributes.jsonl"
fi
if [ ! -d "$work/c" ]; then
  "$quarry" create "$work/c" --dims "$dims"
  "$quarry" ingest "$work/c" --vectors "$work/base.npy" --attributes "$work/attributes.jsonl"
fi
for condition in "" "lang = en" "metadata.bucket < 500" "lang = de" "metadata.bucket < 100" "lang = ja" \
  "metadata.bucket < 10" "metadata.bucket < 1" "site = site0.com AND metadata.bucket < 10"; do
  echo "# filter: ${condition:-none}"
  filter=()
  [ -n "$condition" ] && filter=(--where "$condition")
  "$quarry" eval "$work/c" --queries "$work/base.queries.npy" --exact -k "$k" --nprobe "${probes[@]}" \
    --oversample "${factors[@]}" --exact-queries 50 "${filter[@]}" 2>/dev/null
done
