#!/usr/bin/env bash
# Search QPS of two quarry binaries on one synthetic collection, interleaved (A B A B ...) so
# that drift of a shared machine falls on both: `quarry eval` one query at a time on one thread
# at a top-10 setting and a top-100 one, ROUNDS rounds; prints each run's QPS and the medians.
# Makes the data and the collection (with binary A) when WORK holds none.
#   Benchmarks/lists/search-ab.sh QUARRY_A QUARRY_B [N] [ROUNDS] [WORK]
set -euo pipefail
a=$1
b=$2
n=${3:-200000}
rounds=${4:-5}
work=${5:-/tmp/quarry-search-ab-$n}
mkdir -p "$work"
[ -f "$work/synth.gt.npy" ] || "$a" bench synth --n "$n" --dims 1024 --queries 1000 --gt-k 100 --out "$work/synth.npy"
if [ ! -f "$work/collection/data.mdb" ]; then
  "$a" create "$work/collection" --dims 1024
  "$a" ingest "$work/collection" --vectors "$work/synth.npy" >/dev/null
fi
export OPENBLAS_NUM_THREADS=1
qps() { # binary k nprobe oversample limit
  "$1" eval "$work/collection" --queries "$work/synth.queries.npy" --ground-truth "$work/synth.gt.npy" \
    -k "$2" --nprobe "$3" --oversample "$4" --limit "$5" --exact-queries 0 --json |
    python3 -c 'import json,sys; r = [d for d in map(json.loads, sys.stdin) if "qps" in d][0]; print("%.1f,%.4f" % (r["qps"], r["p50_ms"]))'
}
for setting in "10 8 12 1000" "100 16 4 500"; do
  A=()
  B=()
  for round in $(seq "$rounds"); do
    A+=("$(qps "$a" $setting)")
    B+=("$(qps "$b" $setting)")
  done
  python3 - "$setting" "${A[*]}" "${B[*]}" <<'PY'
import statistics, sys
setting = sys.argv[1]
runs = {side: [tuple(map(float, run.split(","))) for run in arg.split()] for side, arg in zip("AB", sys.argv[2:4])}
for figure, index in (("QPS", 0), ("p50 ms", 1)):
    a, b = ([run[index] for run in runs[side]] for side in "AB")
    ratios = [x / y for x, y in zip(a, b)]
    print(f"k nprobe oversample limit = {setting}, {figure}: A {a} median {statistics.median(a)}; "
          f"B {b} median {statistics.median(b)}; A/B pairwise median {statistics.median(ratios):.3f} "
          f"(min {min(ratios):.3f}, max {max(ratios):.3f})")
PY
done
