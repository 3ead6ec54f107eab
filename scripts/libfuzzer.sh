#!/usr/bin/env bash
# Coverage-guided fuzzing with libFuzzer of the readers that build without the package's C
# libraries (.npy, .fvecs, .bvecs): scripts/libfuzzer.sh [EXECUTIONS] [libFuzzer options...]
# The targets are Sources/QuarryFuzz/VectorFileTargets.swift, compiled with -sanitize=fuzzer
# together with the QuarryIndex files they read through; seeds are the committed corpora,
# prefixed with the byte that picks the target. The other targets need SwiftPM's whole
# dependency graph instrumented; they run under scripts/fuzz.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
executions=${1:-1000000}
shift || true
out=.build-libfuzzer
mkdir -p "$out/corpus"
index=Sources/QuarryIndex
swiftc -O -sanitize=fuzzer -parse-as-library -module-name QuarryIndex -emit-module -emit-module-path "$out/QuarryIndex.swiftmodule" \
    -emit-library -static -o "$out/libQuarryIndex.a" \
    "$index/NPY.swift" "$index/NPYWriter.swift" "$index/VectorFile.swift" "$index/Layout.swift"
swiftc -O -sanitize=fuzzer -parse-as-library -module-name QuarryFuzzVectors -I "$out" -L "$out" -lQuarryIndex \
    -o "$out/fuzz-vectors" Benchmarks/fuzz/libfuzzer/main.swift \
    Sources/QuarryFuzz/FuzzTarget.swift Sources/QuarryFuzz/VectorFileTargets.swift
number=0
for target in npy fvecs bvecs; do
    for seed in Benchmarks/fuzz/corpus/$target/*; do
        { printf "\\x$(printf %02x $number)"; cat "$seed"; } > "$out/corpus/$target-$(basename "$seed")"
    done
    number=$((number + 1))
done
mkdir -p Benchmarks/fuzz/crashes
SWIFT_BACKTRACE=enable=no "$out/fuzz-vectors" -runs="$executions" -artifact_prefix=Benchmarks/fuzz/crashes/ "$@" "$out/corpus"
