#!/usr/bin/env python3
"""Disk-full and map-full harness.

    scripts/harness/diskfull.py            # both: a 32 MiB tmpfs (or loopback ext4), and a 16 MiB map cap

Disk full: the collection lives on a small file system (tmpfs when mounting is permitted,
else a loopback ext4 image, else a file-size limit set with prlimit); a first ingest fits, a
second fills the disk. Map full: the map is capped with QUARRY_MAX_MAP_MB. In both, the
ingest that hits the limit must fail with a clear error (exit status 1, not a signal), and
the collection must reopen (without the cap) and serve everything committed before it: the
first ingest's vectors intact and searchable, the second's committed batches whole, the
whole internally consistent (`quarry check`). Also checks that a full disk does not stop a
later, smaller write once space is freed.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

from common import check, default_binary, run, stats, write_int8_vectors

DIMS = 256


def mount_small_filesystem(target, megabytes, kinds):
    """Mounts the first of `kinds` ("tmpfs", "ext4") that works on `target`; returns (kind, cleanup)."""
    os.makedirs(target, exist_ok=True)
    if "tmpfs" in kinds and subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={megabytes}m", "tmpfs", target], capture_output=True).returncode == 0:
        return "tmpfs", lambda: subprocess.run(["umount", target])
    image = target + ".img"
    made = "ext4" in kinds and subprocess.run(["truncate", "-s", f"{megabytes}M", image]).returncode == 0 and \
        subprocess.run(["mkfs.ext4", "-q", "-F", image], capture_output=True).returncode == 0
    if made and subprocess.run(["mount", "-o", "loop", image, target], capture_output=True).returncode == 0:
        return "loopback ext4", lambda: (subprocess.run(["umount", target]), os.remove(image))
    return None, lambda: None


def expect(condition, message, failures):
    print(("  ok: " if condition else "  FAIL: ") + message, flush=True)
    if not condition:
        failures.append(message)


LARGE_ROWS = 400_000


def large_keys(work):
    """Keys of the large file's rows, apart from the small file's row numbers."""
    path = os.path.join(work, "large-keys.txt")
    if not os.path.exists(path):
        write_keys(path, (f"L{row}" for row in range(LARGE_ROWS)))
    return path


def verify_committed(binary, directory, small, large, keys, batch, failures, label):
    """After the failed ingest: consistent, `small` whole, `large` in whole committed batches."""
    report = check(binary, directory, vectors=small)
    expect(report.get("status") == 0 and report["completePrefix"] == report["rowsPresent"],
           f"{label}: reopens consistent with the first ingest whole ({report.get('rowsPresent')} rows)", failures)
    partial = check(binary, directory, vectors=large, keys=keys)
    prefix = partial.get("completePrefix", -1)
    expect(partial.get("status") == 0 and prefix == partial.get("rowsPresent") and prefix % batch == 0,
           f"{label}: the filling ingest left {prefix} rows, whole batches", failures)
    status, out, _ = run(binary, "search", directory, "--vectors", small, "-k", "1", "--json", check=False)
    hits = [json.loads(line)["hits"][0]["key"] if json.loads(line).get("hits") else None
            for line in out.splitlines()] if status == 0 else []
    expect(status == 0 and len(hits) > 0, f"{label}: searches answer ({len(hits)} queries)", failures)
    return prefix


def disk_full(binary, work, megabytes, kinds, failures):
    mount = os.path.join(work, "small-fs-" + "-".join(kinds))
    kind, unmount = mount_small_filesystem(mount, megabytes, kinds)
    limit = []
    if kind is None:
        kind = "prlimit --fsize" + ("" if not kinds else " (mounting is not permitted here)")
        os.makedirs(mount, exist_ok=True)
    print(f"disk full: {kind}, {megabytes} MiB", flush=True)
    try:
        directory = os.path.join(mount, "c")
        small = os.path.join(work, "small.npy")
        large = os.path.join(work, "large.npy")
        write_int8_vectors(small, 5_000, DIMS, seed=1)
        write_int8_vectors(large, LARGE_ROWS, DIMS, seed=2)
        keys = large_keys(work)
        run(binary, "create", directory, "--dims", str(DIMS), "--nlist", "32")
        run(binary, "ingest", directory, "--vectors", small)
        if kind.startswith("prlimit"):
            size = os.path.getsize(os.path.join(directory, "data.mdb"))
            limit = ["prlimit", f"--fsize={size + megabytes * (1 << 20) // 4}"]
        done = subprocess.run(limit + [binary, "ingest", directory, "--vectors", large, "--keys", keys,
                                       "--batch-size", "5000"],
                              capture_output=True, text=True)
        message = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ""
        expect(done.returncode == 1, f"the filling ingest exits 1 (got {done.returncode})", failures)
        expect("intact" in message and ("full" in message or "size limit" in message),
               f"a clear error: {message}", failures)
        verify_committed(binary, directory, small, large, keys, 5000, failures, "disk full")
        # Space freed (the big file moved off), a small write goes through again.
        deleted = os.path.join(work, "deleted.txt")
        write_keys(deleted, range(100))
        status, _, errors = run(binary, "delete", directory, "--keys", deleted, check=False)
        expect(status == 0, f"a delete after the failure succeeds {errors.strip()[-200:]}", failures)
        expect(check(binary, directory).get("status") == 0, "still consistent after the delete", failures)
    finally:
        unmount()


def write_keys(path, keys):
    with open(path, "w") as out:
        out.write("".join(f"{key}\n" for key in keys))


def map_full(binary, work, megabytes, failures):
    print(f"map full: QUARRY_MAX_MAP_MB={megabytes}", flush=True)
    directory = os.path.join(work, "capped")
    small = os.path.join(work, "small.npy")
    large = os.path.join(work, "large.npy")
    capped = {"QUARRY_MAX_MAP_MB": str(megabytes)}
    run(binary, "create", directory, "--dims", str(DIMS), "--nlist", "32", env=capped)
    run(binary, "ingest", directory, "--vectors", small, env=capped)
    keys = large_keys(work)
    status, _, errors = run(binary, "ingest", directory, "--vectors", large, "--keys", keys, "--batch-size", "5000",
                            env=capped, check=False)
    message = errors.strip().splitlines()[-1] if errors.strip() else ""
    expect(status == 1, f"the filling ingest exits 1 (got {status})", failures)
    expect("full" in message and "intact" in message, f"a clear error: {message}", failures)
    verify_committed(binary, directory, small, large, keys, 5000, failures, "map full")
    size = os.path.getsize(os.path.join(directory, "data.mdb"))
    expect(size <= megabytes << 20, f"data.mdb stayed within the cap ({size} bytes)", failures)
    print(f"  stats after: {stats(binary, directory)['vectors']} vectors", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=default_binary())
    parser.add_argument("--disk-mb", type=int, default=32)
    parser.add_argument("--map-mb", type=int, default=16)
    parser.add_argument("--filesystem", choices=["auto", "tmpfs", "ext4", "prlimit", "all"], default="auto",
                        help="auto: tmpfs, else ext4, else prlimit; all: each in turn")
    arguments = parser.parse_args()
    if not os.path.exists(arguments.binary):
        sys.exit(f"{arguments.binary} is missing: swift build -c release --product quarry")
    work = tempfile.mkdtemp(prefix="quarry-diskfull-")
    failures = []
    try:
        runs = {"auto": [["tmpfs", "ext4"]], "tmpfs": [["tmpfs"]], "ext4": [["ext4"]], "prlimit": [[]],
                "all": [["tmpfs"], ["ext4"], []]}[arguments.filesystem]
        for kinds in runs:
            disk_full(arguments.binary, work, arguments.disk_mb, kinds, failures)
        map_full(arguments.binary, work, arguments.map_mb, failures)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"summary: {len(failures)} failures")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
