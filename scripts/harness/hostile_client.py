#!/usr/bin/env python3
"""A hostile client against a real `quarry serve` on loopback.

Starts the server over a fresh data directory, seeds a collection ("keep") that no request of
the run may change, then sends every route malformed, oversized and out-of-range requests over
raw sockets: mutated JSON bodies, wrong types, numbers past every bound, huge strings, deep
nesting, invalid UTF-8, wrong or missing content types, bad Content-Length and chunked framing,
foreign Host headers, bad percent-encoding, long paths, unknown methods. After every request
the server must answer GET /healthz; at the end every seeded document must be there unchanged
and a fixed search must return what it returned before. Prints one JSON summary line and exits
non-zero on any failure (a crash, a missed health check, a 5xx, a lost or changed document).

    python3 scripts/harness/hostile_client.py --requests 20000          # the full run
    python3 scripts/harness/hostile_client.py --binary .build/debug/quarry --requests 200
"""

import argparse
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOPICS = ["compiler", "database", "garden", "violin", "volcano", "bicycle", "astronomy", "bread"]
INTERESTING_NUMBERS = [
    0, -1, 1, 2**31 - 1, 2**31, 2**32, 2**53, 2**63 - 1, 2**63, 2**64, -(2**63), 1e300, -1e300, 1e-300,
    0.5, 1.5, 1e39, 10**30, 65536, 65537, 1 << 20, 100000,
]


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def raw_request(port, data, timeout=10.0):
    """Sends bytes, reads the answer until the server closes; returns (status, body bytes)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
        connection.settimeout(0.5)
        try:
            connection.sendall(data)
            # The request is all there is: a server waiting for more body sees the end at once.
            connection.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered (413) and closed before the whole request went out
        except socket.timeout:
            pass  # the server stopped reading an oversized body; its answer is waiting
        connection.settimeout(timeout)
        chunks = []
        try:
            while True:
                chunk = connection.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        except (ConnectionResetError, socket.timeout):
            pass
    answer = b"".join(chunks)
    try:
        status = int(answer.split(b" ", 2)[1])
    except (IndexError, ValueError):
        status = 0
    body = answer.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in answer else b""
    return status, body


def request_bytes(method, path, body=b"", content_type="application/json", host="127.0.0.1", extra=()):
    head = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: close"]
    if content_type is not None:
        head.append(f"Content-Type: {content_type}")
    if body and not any(h.lower().startswith(("content-length", "transfer-encoding")) for h in extra):
        head.append(f"Content-Length: {len(body)}")
    head.extend(extra)
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1", "replace") + body


def call(port, method, path, value=None):
    body = b"" if value is None else json.dumps(value).encode()
    status, answer = raw_request(port, request_bytes(method, path, body))
    try:
        return status, json.loads(answer) if answer else None
    except ValueError:
        return status, None


def seed_records(count, prefix):
    return [
        {
            "id": f"{prefix}-{i}",
            "title": f"All about {TOPICS[i % len(TOPICS)]} {i}",
            "url": f"https://example.org/{prefix}/{i}",
            "text": f"Document {i} explains how a {TOPICS[i % len(TOPICS)]} works and why people care.",
            "metadata": {"rank": i},
        }
        for i in range(count)
    ]


class Mutator:
    """Hostile variations of valid request bodies and framings, deterministic for a seed."""

    def __init__(self, rng):
        self.rng = rng

    def value(self, depth=0):
        r = self.rng.random()
        if r < 0.25:
            return self.rng.choice(INTERESTING_NUMBERS)
        if r < 0.4:
            return self.rng.choice(["", " ", "\u0000", "\u001f", "💥" * self.rng.randint(1, 50), "a" * self.rng.choice([1, 512, 70000])])
        if r < 0.5:
            return None
        if r < 0.6:
            return self.rng.choice([True, False])
        if r < 0.75 and depth < 3:
            return [self.value(depth + 1) for _ in range(self.rng.randint(0, 5))]
        if depth < 3:
            return {self.rng.choice(["k", "query", "id", "text", "x", ""]): self.value(depth + 1) for _ in range(3)}
        return self.rng.random()

    def mutate_object(self, valid):
        body = json.loads(json.dumps(valid))
        targets = body if isinstance(body, list) else [body]
        for _ in range(self.rng.randint(1, 3)):
            target = self.rng.choice(targets) if targets else body
            if not isinstance(target, dict) or not target:
                continue
            key = self.rng.choice(list(target.keys()) + ["extra", "k", "nprobe", "oversample", "dims", "nlist"])
            choice = self.rng.random()
            if choice < 0.7:
                target[key] = self.value()
            elif choice < 0.85:
                target.pop(key, None)
            else:
                target[key] = [self.value() for _ in range(self.rng.choice([10, 1000, 5000]))]
        return json.dumps(body, allow_nan=False).encode()

    def mutate_bytes(self, data):
        data = bytearray(data)
        for _ in range(self.rng.randint(1, 8)):
            if not data:
                data += bytes([self.rng.randrange(256)])
                continue
            position = self.rng.randrange(len(data))
            choice = self.rng.random()
            if choice < 0.4:
                data[position] = self.rng.randrange(256)
            elif choice < 0.6:
                del data[position:position + self.rng.randint(1, 16)]
            elif choice < 0.8:
                data[position:position] = self.rng.choice([b"\xff\xfe", b"\x00", b"{", b"[", b"\"", b"1e999", b"-0", b"NaN", b"\xc3"])
            else:
                data = data[: position]
        return bytes(data)

    def deep(self):
        depth = self.rng.choice([100, 1000, 100000])
        return (b"[" * depth + b"]" * depth) if self.rng.random() < 0.5 else (b'{"a":' * depth + b"1" + b"}" * depth)


def hostile_requests(rng, collection_names, vector_dims):
    """Yields (description, request bytes) forever."""
    mutator = Mutator(rng)
    keep, scratch = collection_names
    valid_search = {"query": "volcano", "k": 5, "include": ["title", "url", "snippet"]}
    valid_vector = {"vector": [0.01] * vector_dims, "k": 5}
    routes = [
        ("POST", f"/v1/collections/{keep}/search", valid_search),
        ("POST", f"/v1/collections/{keep}/search", valid_vector),
        ("POST", f"/v1/collections/{keep}/search", {"key": "keep-1", "k": 3}),
        ("POST", f"/v1/collections/{scratch}/documents", seed_records(2, "s")),
        ("POST", "/v1/collections", {"name": "made-by-fuzz", "dims": 8, "nlist": 2}),
        ("POST", "/v1/embeddings", {"input": ["hello", "world"], "encoding_format": "float", "dimensions": 16}),
        ("POST", "/v1/contextualizedembeddings", {"input": [["a b", "c d"]], "encoding_format": "int8"}),
    ]
    paths = [
        "/healthz", "/metrics", "/", "/v1/collections", f"/v1/collections/{keep}",
        f"/v1/collections/{keep}/documents/keep-3", f"/v1/collections/{scratch}/documents/s-1",
    ]
    while True:
        method, path, valid = rng.choice(routes)
        kind = rng.random()
        if kind < 0.45:
            yield "mutated JSON", request_bytes(method, path, mutator.mutate_object(valid))
        elif kind < 0.6:
            yield "mutated bytes", request_bytes(method, path, mutator.mutate_bytes(json.dumps(valid).encode()))
        elif kind < 0.65:
            yield "deep nesting", request_bytes(method, path, mutator.deep())
        elif kind < 0.7:
            size = rng.choice([2 << 20, 600 << 10])
            yield "oversized body", request_bytes(method, path, b'{"query": "' + b"x" * size + b'"}')
        elif kind < 0.75:
            yield "content type", request_bytes(
                method, path, json.dumps(valid).encode(),
                content_type=rng.choice([None, "text/plain", "application/x-www-form-urlencoded", "", "json"]))
        elif kind < 0.8:
            body = json.dumps(valid).encode()
            length = rng.choice([-1, 0, len(body) // 2, 2**63, "abc", " 12", "1, 2"])
            yield "bad length", request_bytes(method, path, body, extra=[f"Content-Length: {length}"])
        elif kind < 0.85:
            body = json.dumps(valid).encode()
            framing = rng.choice([
                b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n",
                b"ffffffffffffffff\r\n" + body,
                b"zz\r\n" + body + b"\r\n0\r\n\r\n",
                b"%x\r\n" % (len(body) + 10) + body,
            ])
            yield "chunked framing", request_bytes(method, path, framing, extra=["Transfer-Encoding: chunked"])
        elif kind < 0.88:
            yield "foreign host", request_bytes(method, path, json.dumps(valid).encode(), host=rng.choice(["evil.example", "evil.example:80", "", "a" * 5000]))
        elif kind < 0.92:
            bad = rng.choice(["%zz", "%", "%00", "%2e%2e%2f%2e%2e", "%c3", "x" * 70000, "%FF%FE", "a/b/c", "..", "%2F"])
            route = rng.choice([f"/v1/collections/{bad}", f"/v1/collections/{keep}/documents/{bad}", f"/{bad}"])
            yield "bad path", request_bytes(rng.choice(["GET", "DELETE" if "documents" in route and keep not in route else "GET"]), route)
        elif kind < 0.95:
            yield "odd method", request_bytes(rng.choice(["PUT", "PATCH", "TRACE", "OPTIONS", "HEAD", "FOO"]), rng.choice(paths), json.dumps(valid).encode())
        elif kind < 0.97:
            yield "huge header", request_bytes("GET", "/healthz", extra=["X-Big: " + "h" * rng.choice([8000, 100000])])
        else:
            yield "garbage", bytes(rng.randrange(256) for _ in range(rng.randint(1, 2000)))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build/release/quarry"))
    parser.add_argument("--model", default=os.path.join(ROOT, "data/models/all-MiniLM-L6-v2"))
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--documents", type=int, default=40)
    args = parser.parse_args()

    data = tempfile.mkdtemp(prefix="quarry-hostile-")
    port = free_port()
    log = open(os.path.join(data, "server.log"), "w+")
    server = subprocess.Popen(
        [args.binary, "serve", "--data", os.path.join(data, "collections"), "--model", args.model,
         "--port", str(port), "--max-body-bytes", str(1 << 20), "--threads", "2", "--max-queue", "16"],
        stdout=log, stderr=subprocess.STDOUT)
    failures = []

    def healthy():
        try:
            status, _ = raw_request(port, request_bytes("GET", "/healthz", content_type=None), timeout=30)
            return status == 200
        except OSError:
            return False

    try:
        deadline = time.time() + 120
        while not healthy():
            if server.poll() is not None or time.time() > deadline:
                raise SystemExit("the server did not start")
            time.sleep(0.2)

        call(port, "POST", "/v1/collections", {"name": "keep"})
        call(port, "POST", "/v1/collections", {"name": "scratch"})
        status, _ = call(port, "POST", "/v1/collections/keep/documents", seed_records(args.documents, "keep"))
        assert status == 200, status
        call(port, "POST", "/v1/collections/scratch/documents", seed_records(4, "s"))
        before = {f"keep-{i}": call(port, "GET", f"/v1/collections/keep/documents/keep-{i}")[1] for i in range(args.documents)}
        probe = {"query": "how a volcano works", "k": 10, "exact": True}
        expected = call(port, "POST", "/v1/collections/keep/search", probe)[1]
        dims = call(port, "GET", "/v1/collections/keep")[1]["dimension"]

        rng = random.Random(args.seed)
        statuses = {}
        kinds = {}
        server_errors = []
        generator = hostile_requests(rng, ("keep", "scratch"), dims)
        for number in range(args.requests):
            kind, data_bytes = next(generator)
            try:
                status, body = raw_request(port, data_bytes)
            except OSError as error:
                status, body = -1, str(error).encode()
            statuses[status] = statuses.get(status, 0) + 1
            kinds[kind] = kinds.get(kind, 0) + 1
            if status >= 500 and status != 503:
                server_errors.append({"request": number, "kind": kind, "status": status, "body": body[:300].decode("utf-8", "replace")})
            if server.poll() is not None:
                failures.append(f"the server exited ({server.returncode}) after request {number} ({kind})")
                break
            if not healthy():
                failures.append(f"/healthz failed after request {number} ({kind})")
                break

        after = {key: call(port, "GET", f"/v1/collections/keep/documents/{key}")[1] for key in before}
        lost = [key for key in before if after[key] != before[key]]
        if lost:
            failures.append(f"{len(lost)} seeded documents lost or changed: {lost[:5]}")
        again = call(port, "POST", "/v1/collections/keep/search", probe)[1]
        if again != expected:
            failures.append("the probe search answers differently after the run")
        if server_errors:
            failures.append(f"{len(server_errors)} answers were 5xx: {server_errors[:3]}")
        log.seek(0)
        if "Fatal error" in log.read():
            failures.append("the server log shows a fatal error")
        print(json.dumps({
            "requests": sum(statuses.values()), "healthz_after_each": not any("healthz" in f or "exited" in f for f in failures),
            "statuses": {str(k): v for k, v in sorted(statuses.items())}, "kinds": kinds,
            "seeded_documents_intact": len(before) - len(lost), "of": len(before), "failures": failures,
        }, sort_keys=True))
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
        shutil.rmtree(data, ignore_errors=True)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
