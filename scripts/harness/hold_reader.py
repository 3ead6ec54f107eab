#!/usr/bin/env python3
"""Opens the LMDB environment in DIR (argv[1]) through liblmdb, begins a read transaction and
prints "ready", then sleeps until killed: a reader that dies holding its slot. Used by the
stale-reader test and harness (python3 with ctypes only; no lmdb package needed)."""
import ctypes
import ctypes.util
import sys
import time

MDB_NOTLS = 0x200000
MDB_RDONLY = 0x20000

lib = ctypes.CDLL(ctypes.util.find_library("lmdb") or "liblmdb.so.0")
env = ctypes.c_void_p()
txn = ctypes.c_void_p()
steps = [
    lambda: lib.mdb_env_create(ctypes.byref(env)),
    lambda: lib.mdb_env_set_maxdbs(env, 16),
    lambda: lib.mdb_env_set_mapsize(env, ctypes.c_size_t(1 << 30)),
    lambda: lib.mdb_env_open(env, sys.argv[1].encode(), MDB_NOTLS, 0o644),
    lambda: lib.mdb_txn_begin(env, None, MDB_RDONLY, ctypes.byref(txn)),
]
for step in steps:
    code = step()
    if code != 0:
        print(f"lmdb error {code}", flush=True)
        sys.exit(1)
print("ready", flush=True)
time.sleep(3600)
