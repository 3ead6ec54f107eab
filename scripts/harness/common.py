"""Shared pieces of the crash and fault harnesses: running the quarry binary, writing INT8
vector files, reading `quarry check` and `quarry stats`."""
import json
import os
import random
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL = os.path.join(ROOT, "data/models/all-MiniLM-L6-v2")
CORPUS = os.path.join(ROOT, "data/debian-packages/corpus.jsonl")


def default_binary():
    return os.path.join(ROOT, ".build/release/quarry")


def run(binary, *arguments, env=None, check=True):
    """Runs quarry; returns (status, stdout, stderr)."""
    done = subprocess.run(
        [binary, *arguments], capture_output=True, text=True, env={**os.environ, **(env or {})}
    )
    if check and done.returncode != 0:
        sys.exit(f"quarry {' '.join(arguments)} failed ({done.returncode}):\n{done.stderr}")
    return done.returncode, done.stdout, done.stderr


def write_npy_int8(path, rows, dims, data):
    """Writes `data` (rows * dims signed bytes) as an INT8 .npy file (no numpy needed)."""
    header = f"{{'descr': '|i1', 'fortran_order': False, 'shape': ({rows}, {dims}), }}"
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    with open(path, "wb") as out:
        out.write(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode())
        out.write(data)


def write_int8_vectors(path, rows, dims, seed):
    """Random INT8 vectors in [-127, 127] as .npy."""
    generator = random.Random(seed)
    data = generator.randbytes(rows * dims).replace(b"\x80", b"\x81")  # no -128
    write_npy_int8(path, rows, dims, data)


def check(binary, directory, vectors=None, keys=None):
    """`quarry check --json` as a dict, with the exit status under "status"."""
    arguments = ["check", directory, "--json"] + (["--vectors", vectors] if vectors else [])
    arguments += ["--keys", keys] if keys else []
    status, out, err = run(binary, *arguments, check=False)
    if not out.strip():
        return {"status": status, "error": err.strip()}
    report = json.loads(out)
    report["status"] = status
    return report


def stats(binary, directory):
    return json.loads(run(binary, "stats", directory, "--json")[1])


def corpus_subset(path, count):
    """The first `count` records of the sample corpus, written to `path`."""
    with open(CORPUS) as source, open(path, "w") as target:
        for index, line in enumerate(source):
            if index == count:
                break
            target.write(line)
