#!/usr/bin/env python3
"""Closed-loop HTTP load on a running `quarry serve`: C client threads, each on one keep-alive
connection, send top-k searches back to back for a fixed time, and the script prints
requests/s, p50/p99 latency, the error count and the server's memory before and after.

Queries are either INT8 vectors from an .npy file (as `quarry bench synth` writes them), sent as
{"vector": [...]} holding the floats that the server's tanh quantization maps back to the same
INT8 values, or texts from a BEIR queries.jsonl, sent as {"query": text, "by_document": true}
(the server embeds each one).

    load.py --port P --collection NAME (--queries Q.npy | --texts queries.jsonl) [--pid SERVER_PID]
            [--seconds 20] [--concurrency 4] [-k 10] [--nprobe 16] [--oversample 4]
"""

import argparse
import ast
import http.client
import json
import math
import struct
import threading
import time


def read_int8_npy(path):
    """Rows of a C-order int8 .npy file (no numpy needed)."""
    with open(path, "rb") as f:
        if f.read(6) != b"\x93NUMPY":
            raise SystemExit(f"{path}: not an .npy file")
        major = f.read(2)[0]
        header_length = struct.unpack("<H" if major == 1 else "<I", f.read(2 if major == 1 else 4))[0]
        header = ast.literal_eval(f.read(header_length).decode("latin1"))
        if header["descr"] not in ("|i1", "i1") or header["fortran_order"]:
            raise SystemExit(f"{path}: expected C-order int8, found {header['descr']}")
        rows, columns = header["shape"]
        data = f.read(rows * columns)
    return [struct.unpack(f"{columns}b", data[r * columns:(r + 1) * columns]) for r in range(rows)]


def float_for(q):
    """A float whose tanh-INT8 quantization, clamp(round(tanh(x) * 127)), is q."""
    target = max(-126.75, min(126.75, float(q)))
    return round(math.atanh(target / 127.0), 6)


def rss_kib(pid, field="VmRSS"):
    """A memory figure of the server from /proc: VmRSS (all resident memory) or RssAnon (heap
    and stacks: what a leak grows; RssFile, the mapped collection, grows as pages are touched)."""
    if pid is None:
        return None
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return None


def percentile(sorted_values, fraction):
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, math.ceil(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--collection", required=True)
    parser.add_argument("--queries", help="INT8 .npy query vectors, sent as {\"vector\": ...}")
    parser.add_argument("--texts", help="BEIR queries.jsonl, sent as {\"query\": text} (embedded by the server)")
    parser.add_argument("--pid", type=int)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("-k", type=int, default=10)
    parser.add_argument("--nprobe", type=int, default=16)
    parser.add_argument("--oversample", type=float, default=4)
    parser.add_argument("--api-key")
    args = parser.parse_args()
    if not 0 < args.seconds <= 600:
        raise SystemExit("--seconds must be in (0, 600]")

    if (args.queries is None) == (args.texts is None):
        raise SystemExit("give exactly one of --queries or --texts")
    settings = {"k": args.k, "nprobe": args.nprobe, "oversample": args.oversample}
    if args.texts:
        with open(args.texts) as f:
            bodies = [json.dumps(dict(settings, query=json.loads(line)["text"], by_document=True)).encode()
                      for line in f if line.strip()]
    else:
        bodies = [json.dumps(dict(settings, vector=[float_for(q) for q in row])).encode()
                  for row in read_int8_npy(args.queries)]
    path = f"/v1/collections/{args.collection}/search"
    headers = {"Content-Type": "application/json"}
    if args.api_key:
        headers["Authorization"] = f"Bearer {args.api_key}"

    latencies = [[] for _ in range(args.concurrency)]
    errors = [0] * args.concurrency
    rss_before = rss_kib(args.pid)
    start = time.perf_counter()
    deadline = start + args.seconds
    # Heap after the first quarter of the run (warm: caches, pools and buffers sized) and at the
    # end; a leak shows as growth between the two.
    anon_warm = []
    sampler = threading.Timer(args.seconds / 4, lambda: anon_warm.append(rss_kib(args.pid, "RssAnon")))
    sampler.start()

    def client(worker):
        connection = http.client.HTTPConnection(args.host, args.port, timeout=30)
        index = worker
        while time.perf_counter() < deadline:
            body = bodies[index % len(bodies)]
            index += args.concurrency
            sent = time.perf_counter()
            try:
                connection.request("POST", path, body=body, headers=headers)
                response = connection.getresponse()
                payload = response.read()
                if response.status != 200 or b'"hits"' not in payload:
                    errors[worker] += 1
                    continue
            except (OSError, http.client.HTTPException):
                errors[worker] += 1
                connection.close()
                connection = http.client.HTTPConnection(args.host, args.port, timeout=30)
                continue
            latencies[worker].append(time.perf_counter() - sent)
        connection.close()

    threads = [threading.Thread(target=client, args=(w,)) for w in range(args.concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    rss_after = rss_kib(args.pid)
    anon_end = rss_kib(args.pid, "RssAnon")
    sampler.cancel()

    done = sorted(latency for worker in latencies for latency in worker)
    result = {
        "requests": len(done),
        "errors": sum(errors),
        "seconds": round(elapsed, 2),
        "concurrency": args.concurrency,
        "qps": round(len(done) / elapsed, 1),
        "p50_ms": round(percentile(done, 0.50) * 1000, 3),
        "p99_ms": round(percentile(done, 0.99) * 1000, 3),
        "rss_before_mib": rss_before and round(rss_before / 1024, 1),
        "rss_after_mib": rss_after and round(rss_after / 1024, 1),
        "heap_warm_mib": anon_warm[0] and round(anon_warm[0] / 1024, 1) if anon_warm else None,
        "heap_end_mib": anon_end and round(anon_end / 1024, 1),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
