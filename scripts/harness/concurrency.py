#!/usr/bin/env python3
"""Concurrency harness: searches run without pause while one process ingests vectors and
another upserts documents into the same collection, and every result is checked to come from
one committed state.

    scripts/harness/concurrency.py                    # 1M vectors (384 dims), 4 HTTP search threads
    scripts/harness/concurrency.py --vectors 100000   # shorter

The vectors come in groups of `--group` identical copies of one random direction, and the
ingest's batch size is a multiple of the group, so each group commits in one transaction. A
search for a group's direction with k = group size ranks its copies (cosine 1, all tied)
above everything else: a result from one committed state holds all of them or none. The
counted check: for every search, the copies found are 0 or all (a torn read would give a part),
and a group once seen by a searcher is never missing later (no search goes back in time).

Searchers: `quarry serve` on 127.0.0.1 (which holds the collection open, in its own process)
with several client threads, and a second process running `quarry search` over a query file
in a loop. Writers: `quarry ingest --vectors` (the bulk load) and, once the index is trained,
`quarry ingest --docs` twice over a slice of the sample corpus (the second pass replaces every
document). Reports searches, groups seen, torn results, regressions and errors.
"""
import argparse
import http.client
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

from common import MODEL, corpus_subset, default_binary, run, write_npy_int8


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.searches = 0
        self.groups_found = 0
        self.groups_absent = 0
        self.torn = 0
        self.regressions = 0
        self.errors = []
        self.found_by = {}

    def record(self, found, group_size, was_seen, source):
        with self.lock:
            self.searches += 1
            if found == group_size:
                self.groups_found += 1
                self.found_by[source] = self.found_by.get(source, 0) + 1
            elif found == 0:
                self.groups_absent += 1
                if was_seen:
                    self.regressions += 1
            else:
                self.torn += 1

    def error(self, message):
        with self.lock:
            if len(self.errors) < 20:
                self.errors.append(message)
            else:
                self.errors[-1] = f"... and more (last: {message})"


def copies_found(hits, group, group_size):
    found = 0
    for hit in hits:
        key = hit["key"]
        if key.isdigit() and int(key) // group_size == group:
            found += 1
    return found


def http_searcher(port, collection, directions, group_size, nprobe, stop, tally, rng):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    seen = set()
    while not stop.is_set():
        group = rng.randrange(len(directions))
        vector = [(byte - 256 if byte > 127 else byte) / 127.0 for byte in directions[group]]
        body = json.dumps({"vector": vector, "k": group_size,
                           "nprobe": nprobe, "oversample": 4})
        try:
            connection.request("POST", f"/v1/collections/{collection}/search", body,
                               {"Content-Type": "application/json"})
            response = connection.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException) as error:
            tally.error(f"HTTP search: {error}")
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            time.sleep(0.1)
            continue
        if response.status != 200:
            tally.error(f"HTTP search: status {response.status}: {payload[:200]!r}")
            continue
        found = copies_found(json.loads(payload)["hits"], group, group_size)
        tally.record(found, group_size, group in seen, "server")
        if found == group_size:
            seen.add(group)


def cli_searcher(binary, directory, query_file, query_groups, group_size, nprobe, stop, tally):
    seen = set()
    rounds = 0
    while not stop.is_set():
        status, out, err = run(binary, "search", directory, "--vectors", query_file, "-k", str(group_size),
                               "--nprobe", str(nprobe), "--oversample", "4", "--json", check=False)
        if status != 0:
            tally.error(f"quarry search: status {status}: {err.strip()[-200:]}")
            time.sleep(0.2)
            continue
        rounds += 1
        for line in out.splitlines():
            result = json.loads(line)
            group = query_groups[result["query"]]
            found = copies_found(result["hits"], group, group_size)
            tally.record(found, group_size, group in seen, "second process")
            if found == group_size:
                seen.add(group)
    return rounds


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=default_binary())
    parser.add_argument("--vectors", type=int, default=1_000_000)
    parser.add_argument("--group", type=int, default=8, help="identical copies per group")
    parser.add_argument("--dims", type=int, default=384, help="384: the default model's, for the documents")
    parser.add_argument("--batch", type=int, default=8000, help="vectors per transaction (a multiple of --group)")
    parser.add_argument("--nlist", type=int, default=256)
    parser.add_argument("--nprobe", type=int, default=32)
    parser.add_argument("--threads", type=int, default=4, help="HTTP search threads")
    parser.add_argument("--documents", type=int, default=300)
    parser.add_argument("--no-documents", action="store_true")
    parser.add_argument("--seed", type=int, default=3)
    arguments = parser.parse_args()
    if arguments.batch % arguments.group or arguments.vectors % arguments.group:
        sys.exit("--batch and --vectors must be multiples of --group")
    binary = arguments.binary
    work = tempfile.mkdtemp(prefix="quarry-concurrency-")
    processes = []
    try:
        groups = arguments.vectors // arguments.group
        rng = random.Random(arguments.seed)
        # Each group's direction: random signed bytes other than -128.
        directions = [rng.randbytes(arguments.dims).replace(b"\x80", b"\x81") for _ in range(groups)]
        vector_file = os.path.join(work, "vectors.npy")
        write_npy_int8(vector_file, arguments.vectors, arguments.dims,
                       b"".join(direction * arguments.group for direction in directions))
        query_groups = [rng.randrange(groups) for _ in range(256)]
        query_file = os.path.join(work, "queries.npy")
        write_npy_int8(query_file, 256, arguments.dims, b"".join(directions[group] for group in query_groups))
        data = os.path.join(work, "data")
        directory = os.path.join(data, "c")
        run(binary, "create", directory, "--dims", str(arguments.dims), "--nlist", str(arguments.nlist))

        port = free_port()
        server = subprocess.Popen([binary, "serve", "--data", data, "--model", MODEL, "--port", str(port)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        processes.append(server)
        for _ in range(300):
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                connection.request("GET", "/healthz")
                if connection.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.1)
        else:
            sys.exit("the server did not come up")

        tally = Tally()
        stop = threading.Event()
        searchers = [threading.Thread(target=http_searcher, args=(
            port, "c", directions, arguments.group, arguments.nprobe, stop, tally, random.Random(index)))
            for index in range(arguments.threads)]
        cli_rounds = []
        searchers.append(threading.Thread(target=lambda: cli_rounds.append(cli_searcher(
            binary, directory, query_file, query_groups, arguments.group, arguments.nprobe, stop, tally))))
        for searcher in searchers:
            searcher.start()

        started = time.monotonic()
        ingest = subprocess.Popen([binary, "ingest", directory, "--vectors", vector_file,
                                   "--batch-size", str(arguments.batch)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        processes.append(ingest)
        ingest_lines = []
        trained = threading.Event()

        def follow_ingest():
            for line in ingest.stderr:
                ingest_lines.append(line)
                if line.startswith("ingest: "):
                    trained.set()
            trained.set()

        follower = threading.Thread(target=follow_ingest)
        follower.start()
        document_runs = []
        if not arguments.no_documents:
            trained.wait()
            corpus = os.path.join(work, "corpus.jsonl")
            corpus_subset(corpus, arguments.documents)
            changed = os.path.join(work, "corpus-v2.jsonl")
            with open(corpus) as source, open(changed, "w") as target:
                for line in source:
                    record = json.loads(line)
                    record["text"] += " (second version)"
                    target.write(json.dumps(record) + "\n")
            for path in (corpus, changed):
                status, _, err = run(binary, "ingest", directory, "--docs", path, "--model", MODEL,
                                     "--batch-size", "16", check=False)
                document_runs.append(status)
                if status != 0:
                    tally.error(f"document upsert: status {status}: {err.strip()[-300:]}")
        ingest.wait()
        follower.join()
        ingest_seconds = time.monotonic() - started
        if ingest.returncode != 0:
            tally.error(f"vector ingest: status {ingest.returncode}: {''.join(ingest_lines)[-300:]}")
        # A last stretch of searches on the final state.
        time.sleep(3)
        stop.set()
        for searcher in searchers:
            searcher.join()
        if server.poll() is not None:
            tally.error(f"the server exited ({server.returncode})")

        # On the final state every group is found.
        final_missing = 0
        status, out, _ = run(binary, "search", directory, "--vectors", query_file, "-k", str(arguments.group),
                             "--nprobe", str(arguments.nprobe), "--oversample", "4", "--json")
        for line in out.splitlines():
            result = json.loads(line)
            if copies_found(result["hits"], query_groups[result["query"]], arguments.group) != arguments.group:
                final_missing += 1
        check_status, check_out, _ = run(binary, "check", directory, "--json", check=False)
        integrity = json.loads(check_out)["integrity"] if check_out.strip() else {}

        print(f"vector ingest: {arguments.vectors} vectors in {ingest_seconds:.1f}s while searching; "
              f"document upserts: {len(document_runs)} runs of {arguments.documents} documents, statuses {document_runs}")
        print(f"searches: {tally.searches} ({arguments.threads} HTTP threads in the server, "
              f"{sum(cli_rounds)} rounds of 256 queries by a second process)")
        print(f"groups found whole: {tally.groups_found}, absent (not yet committed): {tally.groups_absent}, "
              f"torn: {tally.torn}, regressions: {tally.regressions}, errors: {len(tally.errors)}; "
              f"found whole by source: {tally.found_by}")
        print(f"final state: {256 - final_missing}/256 queried groups found; check: "
              f"{'consistent' if check_status == 0 else 'INCONSISTENT'}, {integrity.get('vectors')} vectors, "
              f"{integrity.get('documents')} documents")
        for error in tally.errors:
            print(f"  error: {error}")
        # The server saw the other process's commits without a restart.
        failed = (tally.torn or tally.regressions or tally.errors or final_missing or check_status != 0
                  or not tally.found_by.get("server"))
        print("summary: " + ("FAILED" if failed else "ok"))
        sys.exit(1 if failed else 0)
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
