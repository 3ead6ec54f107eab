#!/usr/bin/env python3
"""Failed map resize: `quarry serve` holds a collection open, another process grows the file
past the server's map, and the server cannot map the new size (its address space is capped
with prlimit). The server must stay up: searches of that collection answer a clear error,
never a crash, and /healthz answers throughout.

    scripts/harness/remapfail.py
"""
import argparse
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

from common import MODEL, ROOT, default_binary, run, write_int8_vectors


def request(port, method, path, body=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request(method, path, body, {"Content-Type": "application/json"} if body else {})
    response = connection.getresponse()
    return response.status, response.read().decode()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=default_binary())
    arguments = parser.parse_args()
    binary = arguments.binary
    work = tempfile.mkdtemp(prefix="quarry-remap-")
    server = None
    failures = []
    try:
        directory = os.path.join(work, "data", "c")
        capped = {"QUARRY_MAX_MAP_MB": "64"}  # a small map, so a modest write outgrows it
        run(binary, "create", directory, "--dims", "96", "--nlist", "8", env=capped)
        vectors = os.path.join(work, "v.npy")
        write_int8_vectors(vectors, 2000, 96, seed=1)
        run(binary, "ingest", directory, "--vectors", vectors, env=capped)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        server = subprocess.Popen(
            [binary, "serve", "--data", os.path.join(work, "data"), "--model", MODEL, "--port", str(port)],
            env={**os.environ, **capped}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for _ in range(300):
            try:
                if request(port, "GET", "/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        search = json.dumps({"vector": [0.1] * 96, "k": 3})
        status, _ = request(port, "POST", "/v1/collections/c/search", search)
        print(f"search before: {status}")
        failures += [] if status == 200 else ["the first search failed"]
        # Cap the server's address space just above what it maps now.
        with open(f"/proc/{server.pid}/status") as status_file:
            size_kb = next(int(line.split()[1]) for line in status_file if line.startswith("VmSize:"))
        subprocess.run(["prlimit", "--pid", str(server.pid), f"--as={(size_kb << 10) + (256 << 20)}"], check=True)
        grown = subprocess.run([sys.executable, os.path.join(ROOT, "scripts/harness/grow_map.py"), directory,
                                "2048", "128"], capture_output=True, text=True)
        print(f"another process grew the file: {grown.stdout.strip()}")
        for attempt in range(3):
            status, body = request(port, "POST", "/v1/collections/c/search", search)
            clear = status == 500 and ("failed map resize" in body or "Cannot allocate memory" in body)
            print(f"search after {attempt + 1}: {status} {body[:160]}")
            failures += [] if clear else [f"search {attempt + 1} after the failed remap: {status} {body[:200]}"]
            health = request(port, "GET", "/healthz")[0]
            failures += [] if health == 200 else [f"/healthz answered {health}"]
        if server.poll() is not None:
            failures.append(f"the server exited ({server.returncode})")
    except OSError as error:
        failures.append(f"the server stopped answering: {error}")
    finally:
        if server and server.poll() is None:
            server.kill()
            server.wait()
        shutil.rmtree(work, ignore_errors=True)
    for failure in failures:
        print(f"FAIL: {failure}")
    print(f"summary: {len(failures)} failures")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
