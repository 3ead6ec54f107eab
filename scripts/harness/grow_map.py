#!/usr/bin/env python3
"""Grows the LMDB environment in DIR (argv[1]) from another process: opens it with a map of
argv[2] MiB and commits a value of argv[3] MiB into the main database under the key
"grow-map-padding", so the file outgrows the maps of the processes that have it open (they
must adopt the new size). Used by the failed-remap check (python3 with ctypes only)."""
import ctypes
import ctypes.util
import sys

MDB_NOTLS = 0x200000


class MDBVal(ctypes.Structure):
    _fields_ = [("size", ctypes.c_size_t), ("data", ctypes.c_void_p)]


lib = ctypes.CDLL(ctypes.util.find_library("lmdb") or "liblmdb.so.0")
env, txn, dbi = ctypes.c_void_p(), ctypes.c_void_p(), ctypes.c_uint()
key = ctypes.create_string_buffer(b"grow-map-padding")
value = ctypes.create_string_buffer(int(sys.argv[3]) << 20)
steps = [
    lambda: lib.mdb_env_create(ctypes.byref(env)),
    lambda: lib.mdb_env_set_maxdbs(env, 16),
    lambda: lib.mdb_env_set_mapsize(env, ctypes.c_size_t(int(sys.argv[2]) << 20)),
    lambda: lib.mdb_env_open(env, sys.argv[1].encode(), MDB_NOTLS, 0o644),
    lambda: lib.mdb_txn_begin(env, None, 0, ctypes.byref(txn)),
    lambda: lib.mdb_dbi_open(txn, None, 0, ctypes.byref(dbi)),
    lambda: lib.mdb_put(txn, dbi, ctypes.byref(MDBVal(len(key.raw) - 1, ctypes.cast(key, ctypes.c_void_p))),
                        ctypes.byref(MDBVal(len(value.raw), ctypes.cast(value, ctypes.c_void_p))), 0),
    lambda: lib.mdb_txn_commit(txn),
]
for index, step in enumerate(steps):
    code = step()
    if code != 0:
        print(f"lmdb error {code} at step {index}", flush=True)
        sys.exit(1)
print("grown", flush=True)
