"""A small embedding server for testing Quarry's remote embedder against failures.

Answers POST /v1/embeddings (OpenAI shape, float or base64) and POST /embed (TEI shape) with
unit vectors derived from a hash of each text, so that equal texts always get equal vectors.
Prints the port it listens on (127.0.0.1) as its first line, then logs one line per request
to stderr: "request N: STATUS".

Options:
  --port P               listen on P (default: any free port)
  --dimension D          vector width (default 8; a request's "dimensions" overrides it)
  --statuses S,S,...     answer the first requests with these HTTP statuses, then normally
  --fail-after N         after N successful answers, answer every request with --fail-status
  --fail-status S        the status for --fail-after (default 500)
  --exit-after N         after N successful answers, exit (the port then refuses connections)
  --wrong-dimension-after N   after N successful answers, return vectors one dimension short
"""

import argparse
import base64
import hashlib
import json
import math
import os
import struct
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, default=0)
parser.add_argument("--dimension", type=int, default=8)
parser.add_argument("--statuses", default="")
parser.add_argument("--fail-after", type=int)
parser.add_argument("--fail-status", type=int, default=500)
parser.add_argument("--exit-after", type=int)
parser.add_argument("--wrong-dimension-after", type=int)
options = parser.parse_args()

scripted = [int(s) for s in options.statuses.split(",") if s]
lock = threading.Lock()
requests = 0
successes = 0


def vector(text, dimension):
    values = []
    counter = 0
    while len(values) < dimension:
        digest = hashlib.sha256(f"{counter}:{text}".encode()).digest()
        values += [b / 127.5 - 1 for b in digest]
        counter += 1
    values = values[:dimension]
    norm = math.sqrt(sum(v * v for v in values)) or 1
    return [v / norm for v in values]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if status == 429:
            self.send_header("Retry-After", "0")
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        global requests, successes
        length = int(self.headers.get("Content-Length", "0"))
        request = json.loads(self.rfile.read(length) or b"{}")
        with lock:
            requests += 1
            number = requests
            if scripted:
                status = scripted.pop(0)
            elif options.fail_after is not None and successes >= options.fail_after:
                status = options.fail_status
            else:
                status = 200
            short = options.wrong_dimension_after is not None and successes >= options.wrong_dimension_after
            if status == 200:
                successes += 1
            exiting = options.exit_after is not None and successes > options.exit_after
        if exiting:
            print(f"request {number}: exit", file=sys.stderr, flush=True)
            os._exit(0)
        print(f"request {number}: {status}", file=sys.stderr, flush=True)
        if status != 200:
            self.answer(status, {"error": f"scripted status {status}"})
            return
        dimension = request.get("dimensions") or options.dimension
        dimension -= 1 if short else 0
        if self.path == "/embed":
            self.answer(200, [vector(text, dimension) for text in request["inputs"]])
            return
        texts = request["input"]
        texts = [texts] if isinstance(texts, str) else texts
        data = []
        for index, text in enumerate(texts):
            values = vector(text, dimension)
            if request.get("encoding_format") == "base64":
                values = base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode()
            data.append({"object": "embedding", "index": index, "embedding": values})
        self.answer(200, {"object": "list", "data": data, "model": request.get("model", "fake")})


server = ThreadingHTTPServer(("127.0.0.1", options.port), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
