#!/usr/bin/env python3
"""SIGKILL harness: kills `quarry ingest` at random points, over and over, and checks the
collection after every kill.

    scripts/harness/sigkill.py                      # 20 kills of a vector ingest, 20 of a document ingest
    scripts/harness/sigkill.py --mode vectors --kills 50 --rows 200000

After each kill: the collection opens and is internally consistent (`quarry check`: every key
has an id, a record and exactly one list entry, or two with spilling; list entries equal the
vector count; every document's chunk vectors are present); every vector the ingest reported
committed (its progress lines come after each committed batch) is there with its exact
values, and nothing past the committed batches is visible. The next run resumes the same
ingest (and is killed in turn); when a run completes, the final counts must equal an
uninterrupted run's, and the collection starts afresh. Prints kills survived of kills made.
Needs the release binary (swift build -c release --product quarry) and, for documents, the
default model and sample corpus (scripts/setup.sh).
"""
import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

from common import MODEL, check, corpus_subset, default_binary, run, stats, write_int8_vectors

VECTOR_PROGRESS = re.compile(r"ingest: (\d+)/(\d+) vectors")
DOCUMENT_PROGRESS = re.compile(r"ingest: (\d+) documents")


def ingest_with_kill(binary, arguments, delay, progress):
    """Runs `quarry ingest ARGS`, SIGKILLs it after `delay` seconds unless it ended first.
    Returns (killed, committed, status, stderr): `committed` is the largest count a progress
    line reported (each is printed after its batch committed)."""
    process = subprocess.Popen(
        [binary, "ingest", *arguments], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(process.stderr), daemon=True)
    reader.start()
    try:
        process.wait(timeout=delay)
        killed = False
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        killed = True
    reader.join()
    committed = 0
    for line in lines:
        match = progress.search(line)
        if match:
            committed = max(committed, int(match.group(1)))
    return killed, committed, process.returncode, "".join(lines)


class Scenario:
    """One kind of ingest, run to completion once for reference and then killed repeatedly."""

    def __init__(self, binary, work, name):
        self.binary = binary
        self.work = work
        self.name = name
        self.directory = os.path.join(work, name)
        self.kills = 0
        self.survived = 0
        self.completed_runs = 0
        self.failures = []

    def fail(self, message):
        self.failures.append(message)
        print(f"  FAIL ({self.name}): {message}", flush=True)

    def reference(self):
        """An uninterrupted run: its duration and final stats."""
        directory = self.directory + "-reference"
        self.create(directory)
        started = time.monotonic()
        status, _, errors = run(self.binary, "ingest", directory, *self.arguments(), check=False)
        if status != 0:
            sys.exit(f"the reference {self.name} ingest failed:\n{errors}")
        seconds = time.monotonic() - started
        final = stats(self.binary, directory)
        shutil.rmtree(directory)
        return seconds, final

    def run(self, kills, rng):
        seconds, reference = self.reference()
        print(f"{self.name}: reference run {seconds:.1f}s, {reference['vectors']} vectors, "
              f"{reference['documents']} documents", flush=True)
        while self.kills < kills:
            if not os.path.exists(os.path.join(self.directory, "data.mdb")):
                self.create(self.directory)
            delay = rng.uniform(0.05, seconds * 1.05)
            killed, committed, status, errors = ingest_with_kill(
                self.binary, [self.directory, *self.arguments()], delay, self.progress)
            if killed:
                self.kills += 1
                ok = self.verify_after_kill(committed)
                self.survived += ok
                print(f"  kill {self.kills} after {delay:.2f}s: {committed} committed, "
                      f"{'ok' if ok else 'FAILED'}", flush=True)
            else:
                if status != 0:
                    self.fail(f"a run ended with status {status}: {errors[-500:]}")
                self.verify_complete(reference)
                shutil.rmtree(self.directory)
        # Finish the last interrupted ingest: it must end where the uninterrupted one did.
        if os.path.exists(self.directory):
            status, _, errors = run(self.binary, "ingest", self.directory, *self.arguments(), check=False)
            if status != 0:
                self.fail(f"the resumed ingest failed: {errors[-500:]}")
            self.verify_complete(reference)
        print(f"{self.name}: {self.survived} kills survived of {self.kills} made; "
              f"{self.completed_runs} resumed runs completed with the reference's counts", flush=True)

    def verify_complete(self, reference):
        report = check(self.binary, self.directory)
        final = stats(self.binary, self.directory)
        same = all(final[field] == reference[field] for field in ("vectors", "documents", "listEntries"))
        if report.get("status") != 0 or not same:
            self.fail(f"the completed ingest differs from the reference: {final} vs {reference}; {report}")
        else:
            self.completed_runs += 1


class VectorScenario(Scenario):
    def __init__(self, binary, work, rows, dims, batch, spill):
        super().__init__(binary, work, "vectors" + ("-spill" if spill else ""))
        self.rows, self.dims, self.batch, self.spill = rows, dims, batch, spill
        self.progress = VECTOR_PROGRESS
        self.file = os.path.join(work, f"vectors-{rows}x{dims}.npy")
        if not os.path.exists(self.file):
            write_int8_vectors(self.file, rows, dims, seed=7)

    def create(self, directory):
        run(self.binary, "create", directory, "--dims", str(self.dims), "--nlist", "64",
            *(["--spill"] if self.spill else []))

    def arguments(self):
        return ["--vectors", self.file, "--batch-size", str(self.batch)]

    def verify_after_kill(self, committed):
        report = check(self.binary, self.directory, vectors=self.file)
        problems = []
        if report.get("status") != 0:
            problems.append(f"check failed: {report}")
        else:
            prefix, present = report["completePrefix"], report["rowsPresent"]
            if prefix < committed:
                problems.append(f"{committed} rows reported committed, only {prefix} stored intact")
            if present != prefix:
                problems.append(f"{present} rows stored but only rows 0..<{prefix} complete")
            if prefix % self.batch != 0 and prefix != self.rows:
                problems.append(f"{prefix} rows stored: not whole batches of {self.batch}")
        for problem in problems:
            self.fail(problem)
        return not problems


class DocumentScenario(Scenario):
    def __init__(self, binary, work, documents, batch):
        super().__init__(binary, work, "documents")
        self.documents, self.batch = documents, batch
        self.progress = DOCUMENT_PROGRESS
        self.file = os.path.join(work, f"corpus-{documents}.jsonl")
        corpus_subset(self.file, documents)

    def create(self, directory):
        run(self.binary, "create", directory, "--dims", "384")

    def arguments(self):
        return ["--docs", self.file, "--model", MODEL, "--batch-size", str(self.batch),
                "--training-documents", str(4 * self.batch)]

    def verify_after_kill(self, committed):
        report = check(self.binary, self.directory)
        problems = []
        if report.get("status") != 0:
            problems.append(f"check failed: {report}")
        elif report["integrity"]["documents"] < committed:
            problems.append(f"{committed} documents reported committed, {report['integrity']['documents']} stored")
        for problem in problems:
            self.fail(problem)
        return not problems


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=default_binary())
    parser.add_argument("--mode", choices=["vectors", "documents", "both"], default="both")
    parser.add_argument("--kills", type=int, default=20, help="kills per scenario")
    parser.add_argument("--rows", type=int, default=100_000, help="vectors in the vector ingest")
    parser.add_argument("--dims", type=int, default=256)
    parser.add_argument("--batch", type=int, default=2000, help="vectors per transaction")
    parser.add_argument("--spill", action="store_true", help="also a vector scenario with spilling")
    parser.add_argument("--documents", type=int, default=600, help="documents of the sample corpus")
    parser.add_argument("--document-batch", type=int, default=16)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", help="working directory (default: a fresh temporary one, removed after)")
    arguments = parser.parse_args()
    if not os.path.exists(arguments.binary):
        sys.exit(f"{arguments.binary} is missing: swift build -c release --product quarry")
    rng = random.Random(arguments.seed)
    work = arguments.work or tempfile.mkdtemp(prefix="quarry-sigkill-")
    os.makedirs(work, exist_ok=True)
    scenarios = []
    if arguments.mode in ("vectors", "both"):
        scenarios.append(VectorScenario(arguments.binary, work, arguments.rows, arguments.dims, arguments.batch, False))
        if arguments.spill:
            scenarios.append(
                VectorScenario(arguments.binary, work, arguments.rows, arguments.dims, arguments.batch, True))
    if arguments.mode in ("documents", "both"):
        scenarios.append(DocumentScenario(arguments.binary, work, arguments.documents, arguments.document_batch))
    try:
        for scenario in scenarios:
            scenario.run(arguments.kills, rng)
    finally:
        if not arguments.work:
            shutil.rmtree(work, ignore_errors=True)
    print("summary: " + "; ".join(
        f"{s.name} {s.survived}/{s.kills} kills survived, {len(s.failures)} failures" for s in scenarios))
    sys.exit(1 if any(s.failures or s.survived < s.kills for s in scenarios) else 0)


if __name__ == "__main__":
    main()
