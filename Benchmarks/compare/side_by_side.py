#!/usr/bin/env python3
"""Quarry beside FAISS and usearch on the same vectors, in the same run.

Data: the files `quarry bench synth` writes (synth.npy: tanh-INT8 base [n, d]; synth.queries.npy:
held-out INT8 queries; synth.gt.npy: exact top-1000 by INT8 cosine), for each neighbourhood shape
asked for (--shapes): `narrow` keeps a query's top-1000 in a few IVF lists, `wide` spreads it over
a large share of them as real embeddings do. With --n, missing data is generated into
DATA/<shape>/; each shape's table is preceded by its `quarry bench stats` line (neighbour cosines,
lists holding the top-10 / top-1000). Every method searches one
query at a time on one thread; build (train + add) may use every core. For each method the script
sweeps its search knob(s) and prints, per target, the best QPS whose recall reaches it:
Recall@10 >= 0.90 / 0.95 / 0.99 and Recall@1000 >= 0.90 / 0.95, plus build time and bytes per
vector (index bytes over n; for methods that rescore INT8 vectors, those are counted too).

Methods
  quarry        `quarry eval` over a collection built by `quarry create` + `quarry ingest`
                (IVF, 1-bit codes, asymmetric or Hamming prefilter, INT8 cosine rescoring)
  quarry-spill  the same with `quarry create --spill`: each vector also in a second list
                (SOAR-style redundant assignment)
  faiss-bivf    faiss.IndexBinaryIVF over the sign bits (same nlist as Quarry), candidates
                rescored by INT8 cosine with numpy (the same two-stage design; numpy costs a few
                tens of microseconds a query, which matters at top-10 only)
  faiss-ivfsq8  faiss.IndexIVFScalarQuantizer, 8-bit, inner product on normalised floats
  faiss-hnsw    faiss.IndexHNSWFlat (M = 32), inner product on normalised floats
  usearch-i8    usearch HNSW over the INT8 vectors, cosine
  usearch-b1    usearch HNSW over the sign bits (Hamming), candidates rescored by INT8 cosine

Usage
  swift build -c release --product quarry
  python3 Benchmarks/compare/side_by_side.py --data DATA --n 1000000 [--shapes narrow,wide] [--queries 500]
      [--methods quarry,faiss-bivf,...]
  (or, for data made beforehand: `quarry bench synth ... --out DATA/synth.npy` and --shapes . )
Needs numpy, faiss-cpu and usearch (pip install faiss-cpu usearch numpy).
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
TARGETS = [(10, 0.90), (10, 0.95), (10, 0.99), (1000, 0.90), (1000, 0.95)]
ALL_METHODS = ["quarry", "quarry-spill", "faiss-bivf", "faiss-ivfsq8", "faiss-hnsw", "usearch-i8", "usearch-b1"]


def log(message):
    print(message, file=sys.stderr, flush=True)


def recall(found, truth, k):
    """Mean |found[:k] & truth[:k]| / k over queries."""
    total = 0
    for row, true_row in zip(found, truth):
        total += len(set(int(x) for x in row[:k]) & set(int(x) for x in true_row[:k]))
    return total / (k * len(truth))


def timed_queries(queries, search):
    """Runs search(i) for every query, one at a time; returns (results, qps)."""
    results = []
    started = time.perf_counter()
    for i in range(len(queries)):
        results.append(search(i))
    elapsed = time.perf_counter() - started
    return results, len(queries) / elapsed


class Rescorer:
    """Exact INT8 cosine over candidate rows, as Quarry's second stage does."""

    def __init__(self, base):
        self.base = base
        self.norms = np.sqrt(np.einsum("ij,ij->i", base, base, dtype=np.int64).astype(np.float64))

    def top(self, query, candidates, k):
        candidates = candidates[candidates >= 0]
        vectors = self.base[candidates].astype(np.int32)
        scores = vectors @ query.astype(np.int32) / np.maximum(self.norms[candidates], 1e-9)
        keep = np.argsort(-scores, kind="stable")[:k]
        return candidates[keep]


def sweep(name, build_seconds, bytes_per_vector, runs):
    """runs: list of (setting, k, recall, qps). Returns the summary row."""
    row = {"method": name, "build_s": build_seconds, "bytes_per_vector": bytes_per_vector,
           "exact": [run for run in runs if run[0] == "exact"]}
    for k, target in TARGETS:
        # The exact scan is a baseline, not a setting of the method.
        reached = [qps for setting, kk, r, qps in runs if kk == k and r >= target and setting != "exact"]
        row[f"R@{k}>={target:.2f}"] = max(reached) if reached else None
    for setting, k, r, qps in runs:
        log(f"  {name} {setting} k={k}: recall {r:.4f}, {qps:.0f} QPS")
    return row


def probe_grid(counts, lists):
    """The probe counts below the list count, as strings, plus the list count when one was cut."""
    kept = [str(c) for c in counts if c <= lists]
    return kept + ([str(lists)] if len(kept) < len(counts) else [])


def run_quarry(args, n, spill=False):
    """Quarry through its CLI; with spill, a collection created with --spill (each vector also
    kept in a second, SOAR-chosen list)."""
    quarry = args.quarry
    name = "quarry-spill" if spill else "quarry"
    collection = os.path.join(args.data, f"{name}-collection")
    build = None
    if not os.path.exists(os.path.join(collection, "data.mdb")):
        subprocess.run([quarry, "create", collection, "--dims", str(args.dims)] + (["--spill"] if spill else []),
                       check=True)
        started = time.perf_counter()
        subprocess.run([quarry, "ingest", collection, "--vectors", os.path.join(args.data, "synth.npy")],
                       check=True)
        build = time.perf_counter() - started
    else:
        log(f"{name}: reusing the existing collection (build time not measured in this run)")
    stats = json.loads(subprocess.run([quarry, "stats", collection, "--json"], check=True, capture_output=True,
                                      text=True).stdout)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    runs = []
    # Wide enough for wide neighbourhoods: deep targets there need a large share of the lists.
    lists = stats["lists"]
    sweeps = [
        (10, probe_grid([4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128], lists),
         ["2", "4", "8", "12", "16", "24", "32", "48"], args.queries),
        (1000, probe_grid([12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024], lists),
         ["1.5", "2", "3", "4"], min(args.queries, 200)),
    ]
    for k, probes, factors, limit in sweeps:
        out = subprocess.run(
            [quarry, "eval", collection, "--queries", os.path.join(args.data, "synth.queries.npy"),
             "--ground-truth", os.path.join(args.data, "synth.gt.npy"), "-k", str(k), "--nprobe", *probes,
             "--oversample", *factors, "--prefilter", "asymmetric", "hamming", "--limit", str(limit),
             "--exact-queries", "5", "--json"],
            check=True, capture_output=True, text=True, env=env).stdout
        for line in out.splitlines():
            result = json.loads(line)
            if result.get("mode") == "ivf":
                runs.append((f"{result['prefilter']} nprobe={result['nprobe']} oversample={result['oversample']}", k,
                             result["recall"], result["qps"]))
            elif result.get("mode") == "exact":
                runs.append(("exact", k, result["recall"], result["qps"]))
    return sweep(name, build, stats["bytesOnDisk"] / n, runs)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True)
    parser.add_argument("--quarry", default=os.path.join(ROOT, ".build", "release", "quarry"))
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--methods", default=",".join(ALL_METHODS))
    parser.add_argument("--nlist", type=int, default=0, help="IVF lists (default: Quarry's 4*sqrt(n))")
    parser.add_argument("--shapes", default="narrow,wide",
                        help="neighbourhood shapes, each in DATA/<shape>/ ('.' for DATA itself)")
    parser.add_argument("--n", type=int, default=0, help="generate missing data with this many base vectors")
    parser.add_argument("--dims", type=int, default=1024, help="dimensions of generated data")
    args = parser.parse_args()
    methods = args.methods.split(",")
    for method in methods:
        if method not in ALL_METHODS:
            parser.error(f"unknown method {method}; choose from {', '.join(ALL_METHODS)}")
    root = args.data
    for shape in args.shapes.split(","):
        args.data = root if shape == "." else os.path.join(root, shape)
        if not os.path.exists(os.path.join(args.data, "synth.gt.npy")):
            if not args.n or shape not in ("narrow", "wide"):
                parser.error(f"no data in {args.data}: give --n to generate it (shapes narrow, wide)")
            os.makedirs(args.data, exist_ok=True)
            subprocess.run([args.quarry, "bench", "synth", "--n", str(args.n), "--dims", str(args.dims),
                            "--queries", "1000", "--shape", shape, "--out", os.path.join(args.data, "synth.npy")],
                           check=True)
        compare(args, methods, shape)


def compare(args, methods, shape):
    """Every method on the data in args.data; prints the neighbourhood statistics and the table."""
    base = np.load(os.path.join(args.data, "synth.npy"), mmap_mode="r")
    queries = np.load(os.path.join(args.data, "synth.queries.npy"))[: args.queries]
    truth = np.load(os.path.join(args.data, "synth.gt.npy"))[: args.queries]
    n, args.dims = base.shape
    nlist = args.nlist or max(1, min(int(4 * np.sqrt(n)), n // 32))
    log(f"{n} base vectors x {args.dims}, {len(queries)} queries, nlist {nlist}")
    statistics = subprocess.run(
        [args.quarry, "bench", "stats", "--base", os.path.join(args.data, "synth.npy"),
         "--queries", os.path.join(args.data, "synth.queries.npy"),
         "--ground-truth", os.path.join(args.data, "synth.gt.npy"), "--limit", "200", "--lists", str(nlist)],
        check=True, capture_output=True, text=True).stdout
    print(f"\n### shape: {shape}\n")
    print("```\n" + statistics.strip() + "\n```\n")
    rows = []

    if "quarry" in methods:
        rows.append(run_quarry(args, n))
    if "quarry-spill" in methods:
        rows.append(run_quarry(args, n, spill=True))

    import faiss

    cores = os.cpu_count() or 1
    base_int8 = np.ascontiguousarray(base)
    need_rescorer = any(m in methods for m in ("faiss-bivf", "usearch-b1"))
    rescorer = Rescorer(base_int8) if need_rescorer else None
    training = np.random.default_rng(7).choice(n, size=min(n, max(nlist * 32, 20000)), replace=False)
    training.sort()

    if "faiss-bivf" in methods:
        faiss.omp_set_num_threads(cores)
        codes = np.packbits(base_int8 >= 0, axis=1)
        query_codes = np.packbits(queries >= 0, axis=1)
        started = time.perf_counter()
        index = faiss.IndexBinaryIVF(faiss.IndexBinaryFlat(args.dims), args.dims, nlist)
        index.train(codes[training])
        index.add(codes)
        build = time.perf_counter() - started
        faiss.omp_set_num_threads(1)
        runs = []
        for k, probes, factors, limit in [
                (10, [8, 12, 16, 24, 32, 48, 64, 96, 128], [4, 8, 16, 32, 64], len(queries)),
                (1000, [16, 32, 64, 128, 192, 256, 384, 512, 768, 1024], [1.5, 2, 3, 4, 6], min(len(queries), 200))]:
            for nprobe in (p for p in probes if p <= nlist):
                index.nprobe = nprobe
                for factor in factors:
                    wanted = int(k * factor)
                    results, qps = timed_queries(
                        queries[:limit],
                        lambda i: rescorer.top(queries[i], index.search(query_codes[i:i + 1], wanted)[1][0], k))
                    runs.append((f"nprobe={nprobe} oversample={factor}", k, recall(results, truth, k), qps))
        rows.append(sweep("faiss-bivf", build, (index.ntotal * (args.dims // 8 + 8) + n * args.dims) / n, runs))
        del index, codes

    normalised = None
    if any(m in methods for m in ("faiss-ivfsq8", "faiss-hnsw")):
        normalised = base_int8.astype(np.float32)
        normalised /= np.linalg.norm(normalised, axis=1, keepdims=True)
        query_floats = queries.astype(np.float32)
        query_floats /= np.linalg.norm(query_floats, axis=1, keepdims=True)

    if "faiss-ivfsq8" in methods:
        faiss.omp_set_num_threads(cores)
        started = time.perf_counter()
        index = faiss.IndexIVFScalarQuantizer(faiss.IndexFlatIP(args.dims), args.dims, nlist,
                                              faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT)
        index.train(normalised[training])
        index.add(normalised)
        build = time.perf_counter() - started
        faiss.omp_set_num_threads(1)
        runs = []
        for k, probes, limit in [(10, [4, 6, 8, 12, 16, 24, 32, 48, 64, 128, 256], len(queries)),
                                 (1000, [16, 32, 64, 128, 256, 512, 1024], min(len(queries), 200))]:
            for nprobe in (p for p in probes if p <= nlist):
                index.nprobe = nprobe
                results, qps = timed_queries(query_floats[:limit], lambda i: index.search(query_floats[i:i + 1], k)[1][0])
                runs.append((f"nprobe={nprobe}", k, recall(results, truth, k), qps))
        rows.append(sweep("faiss-ivfsq8", build, index.sa_code_size() + 8, runs))
        del index

    if "faiss-hnsw" in methods:
        faiss.omp_set_num_threads(cores)
        started = time.perf_counter()
        index = faiss.IndexHNSWFlat(args.dims, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        index.add(normalised)
        build = time.perf_counter() - started
        faiss.omp_set_num_threads(1)
        runs = []
        for k, efs, limit in [(10, [16, 32, 48, 64, 96, 128, 192, 256, 384, 512], len(queries)),
                              (1000, [1000, 1500, 2000, 3000], min(len(queries), 200))]:
            for ef in efs:
                index.hnsw.efSearch = ef
                results, qps = timed_queries(query_floats[:limit], lambda i: index.search(query_floats[i:i + 1], k)[1][0])
                runs.append((f"efSearch={ef}", k, recall(results, truth, k), qps))
        rows.append(sweep("faiss-hnsw", build, args.dims * 4 + 32 * 2 * 4, runs))
        del index
    del normalised

    if "usearch-i8" in methods or "usearch-b1" in methods:
        from usearch.index import Index

        keys = np.arange(n, dtype=np.uint64)
        for method in ("usearch-i8", "usearch-b1"):
            if method not in methods:
                continue
            binary = method == "usearch-b1"
            vectors = np.packbits(base_int8 >= 0, axis=1) if binary else base_int8
            query_vectors = np.packbits(queries >= 0, axis=1) if binary else queries
            index = Index(ndim=args.dims, metric="hamming" if binary else "cos", dtype="b1" if binary else "i8",
                          connectivity=16, expansion_add=128)
            started = time.perf_counter()
            index.add(keys, vectors, threads=cores)
            build = time.perf_counter() - started
            runs = []
            for k, expansions, factors, limit in [(10, [32, 48, 64, 96, 128, 192, 256, 384, 512], [1, 4, 16] if binary else [1],
                                                   len(queries)),
                                                  (1000, [1000, 2000, 3000], [1, 2, 4] if binary else [1],
                                                   min(len(queries), 200))]:
                for expansion in expansions:
                    index.expansion_search = expansion
                    for factor in factors:
                        wanted = int(k * factor)

                        def search(i):
                            found = index.search(query_vectors[i], wanted, threads=1).keys.astype(np.int64)
                            return rescorer.top(queries[i], found, k) if binary else found

                        results, qps = timed_queries(queries[:limit], search)
                        runs.append((f"expansion={expansion} oversample={factor}", k, recall(results, truth, k), qps))
            size = index.memory_usage + (n * args.dims if binary else 0)
            rows.append(sweep(method, build, size / n, runs))
            del index

    columns = ["method", "build_s", "bytes_per_vector"] + [f"R@{k}>={t:.2f}" for k, t in TARGETS]
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        cells = []
        for column in columns:
            value = row[column]
            if value is None:
                cells.append("(reused)" if column == "build_s" else "not reached")
            elif isinstance(value, float):
                cells.append(f"{value:.0f}" if column.startswith("R@") or column == "bytes_per_vector" else f"{value:.1f}")
            else:
                cells.append(str(value))
        print("| " + " | ".join(cells) + " |")
    print("(QPS at each recall target: one query at a time, one thread; build uses every core)")
    exact = [f"k={k}: {qps:.0f} QPS" for row in rows for setting, k, r, qps in row.get("exact", [])]
    if exact:
        print("Quarry's exact scan of the same collection, same run: " + ", ".join(exact))




if __name__ == "__main__":
    main()
