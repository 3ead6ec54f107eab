#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets into Benchmarks/fuzz/corpus/TARGET/ (small
files, committed; rerun after changing a format). Needs numpy and the zstd command."""
import base64, gzip, json, os, struct, subprocess, sys
import numpy as np

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Benchmarks", "fuzz", "corpus")

def put(target, name, data):
    folder = os.path.join(root, target)
    os.makedirs(folder, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)

def npy(array, version=None):
    import io
    buffer = io.BytesIO()
    if version is None:
        np.save(buffer, array)
    else:
        np.lib.format.write_array(buffer, array, version=version)
    return buffer.getvalue()

def zstd(data):
    return subprocess.run(["zstd", "-q", "-c", "-19"], input=data, capture_output=True, check=True).stdout

def zstd_streamed(data):
    # From a pipe the frame records no content size.
    return subprocess.run(["sh", "-c", "cat | zstd -q -c --no-content-size"], input=data, capture_output=True, check=True).stdout

rng = np.random.default_rng(1)
# Vector files.
put("npy", "float32.npy", npy(rng.standard_normal((3, 4)).astype("<f4")))
put("npy", "float16.npy", npy(rng.standard_normal((2, 8)).astype("<f2")))
put("npy", "int8.npy", npy(rng.integers(-128, 127, (4, 3)).astype("i1")))
put("npy", "uint8.npy", npy(rng.integers(0, 255, (2, 5)).astype("u1")))
put("npy", "int32-rows.npy", npy(rng.integers(0, 100, (3, 2)).astype("<i4")))
put("npy", "int64-rows.npy", npy(rng.integers(0, 100, (2, 3)).astype("<i8")))
put("npy", "version2.npy", npy(rng.standard_normal((2, 2)).astype("<f4"), version=(2, 0)))
put("npy", "one-dimensional.npy", npy(np.arange(5, dtype="<f4")))
put("npy", "empty.npy", npy(np.zeros((0, 4), dtype="<f4")))

def vecs(rows, fmt):
    out = b""
    for row in rows:
        out += struct.pack("<i", len(row)) + struct.pack("<%d%s" % (len(row), fmt), *row)
    return out

put("fvecs", "three.fvecs", vecs(rng.standard_normal((3, 4)).tolist(), "f"))
put("fvecs", "one.fvecs", vecs([[1.0, -2.0]], "f"))
put("bvecs", "three.bvecs", vecs(rng.integers(0, 255, (3, 8)).tolist(), "B"))
put("bvecs", "one.bvecs", vecs([[1, 2, 3]], "B"))

# safetensors.
def safetensors(tensors, metadata=True):
    header, payload = {}, b""
    for name, (dtype, shape, data) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(payload), len(payload) + len(data)]}
        payload += data
    if metadata:
        header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + payload

f32 = rng.standard_normal(6).astype("<f4").tobytes()
f16 = rng.standard_normal(4).astype("<f2").tobytes()
bf16 = (rng.standard_normal(4).astype("<f4").view("<u4") >> 16).astype("<u2").tobytes()
put("safetensors", "f32.safetensors", safetensors({"w": ("F32", [2, 3], f32)}))
put("safetensors", "mixed.safetensors", safetensors(
    {"a": ("F16", [4], f16), "b": ("BF16", [2, 2], bf16), "ids": ("I64", [2], struct.pack("<qq", 0, 1)),
     "scalar": ("F32", [], struct.pack("<f", 1.5))}))
put("safetensors", "unaligned.safetensors", safetensors({"x": ("F16", [1], f16[:2]), "y": ("F32", [2], f32[:8])}, False))

# Tokenizers.
def byte_level_alphabet():
    printable = list(range(0x21, 0x7F)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    mapping, extra = {}, 0x100
    for b in range(256):
        if b in printable:
            mapping[b] = chr(b)
        else:
            mapping[b] = chr(extra)
            extra += 1
    return mapping

alphabet = byte_level_alphabet()
vocab = {alphabet[b]: b for b in range(256)}
merges = []
for word in ["he", "ll", "hell", "hello", "Ġw", "or", "Ġwor", "ld", "Ġworld"]:
    pass
def add_merge(left, right):
    merged = left + right
    if merged not in vocab:
        vocab[merged] = len(vocab)
    merges.append(left + " " + right)
for left, right in [("h", "e"), ("l", "l"), ("he", "ll"), ("hell", "o"), (alphabet[32], "w"), ("o", "r"),
                    (alphabet[32] + "w", "or"), ("l", "d"), (alphabet[32] + "wor", "ld")]:
    add_merge(left, right)
qwen_pattern = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
bpe = {
    "version": "1.0",
    "added_tokens": [{"id": len(vocab), "content": "<|endoftext|>", "special": True},
                     {"id": len(vocab) + 1, "content": "<|im_start|>", "special": True}],
    "normalizer": {"type": "NFC"},
    "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": qwen_pattern}, "behavior": "Isolated", "invert": False},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}]},
    "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
              "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
              "vocab": vocab, "merges": merges},
}
put("tokenizer-json", "bpe.json", json.dumps(bpe, ensure_ascii=False))
bpe_pairs = dict(bpe)
bpe_pairs["model"] = dict(bpe["model"], merges=[m.split(" ") for m in merges], ignore_merges=True)
bpe_pairs["normalizer"] = None
put("tokenizer-json", "bpe-pair-merges.json", json.dumps(bpe_pairs, ensure_ascii=False))
words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world", "un", "##aff", "##able", "##ing", "a", "b", "c",
         "##a", "##b", "##c", ",", "!", "é", "中"]
wordpiece = {
    "version": "1.0",
    "added_tokens": [{"id": i, "content": t, "special": True} for i, t in enumerate(words[:5])],
    "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                   "strip_accents": None, "lowercase": True},
    "pre_tokenizer": {"type": "BertPreTokenizer"},
    "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
              "max_input_chars_per_word": 100, "vocab": {w: i for i, w in enumerate(words)}},
}
put("tokenizer-json", "wordpiece.json", json.dumps(wordpiece, ensure_ascii=False))
put("tokenizer-vocab", "vocab.txt", "\n".join(words) + "\n")
put("tokenizer-vocab", "crlf-vocab.txt", "\r\n".join(words))
ranks = [bytes([b]) for b in range(256)] + [b"he", b"ll", b"hell", b"hello", b" w", b"or", b" wor", b"ld", b" world"]
put("tokenizer-tiktoken", "small.tiktoken",
    "".join("%s %d\n" % (base64.b64encode(t).decode(), i) for i, t in enumerate(ranks)))

# Crawl files.
jsonl = "\n".join(json.dumps(r) for r in [
    {"id": "a", "text": "first document", "title": "A", "url": "https://a.example/", "lang": "en"},
    {"id": 42, "text": "numeric id", "metadata": {"tags": ["x", 1, None, True], "depth": {"k": 1.5}}},
    {"url": "https://only-url.example/", "text": "keyed by url"},
    {"_id": "u", "text": "", "title": None},
]) + "\n"
put("crawl-jsonl", "records.jsonl", jsonl)
put("crawl-jsonl", "crlf.jsonl", jsonl.replace("\n", "\r\n"))
put("crawl-jsonl", "blank-lines.jsonl", "\n  \n" + jsonl + "\t\n")

def warc(kind, uri, body, extra=""):
    body = body.encode()
    head = ("WARC/1.0\r\nWARC-Type: %s\r\nWARC-Target-URI: %s\r\nWARC-Date: 2024-01-01T00:00:00Z\r\n"
            "WARC-Record-ID: <urn:uuid:1>\r\n%sContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n") % (
        kind, uri, extra, len(body))
    return head.encode() + body + b"\r\n\r\n"
wet = (b"WARC/1.0\r\nWARC-Type: warcinfo\r\nContent-Length: 12\r\n\r\nsoftware: x\n\r\n\r\n"
       + warc("conversion", "https://a.example/", "Line one\nLine two\n", "WARC-Identified-Content-Language: eng,fra\r\n")
       + warc("conversion", "https://b.example/", "Second page")
       + warc("request", "https://c.example/", "GET /"))
put("crawl-wet", "records.wet", wet)
put("crawl-wet", "unix-newlines.wet", wet.replace(b"\r\n", b"\n"))
put("crawl-gzip", "records.jsonl.gz", gzip.compress(jsonl.encode(), mtime=0))
put("crawl-gzip", "records.wet.gz", gzip.compress(wet, mtime=0))
put("crawl-gzip", "members.jsonl.gz", gzip.compress(jsonl.encode()[:60], mtime=0) + gzip.compress(jsonl.encode()[60:], mtime=0))
put("crawl-zstd", "records.jsonl.zst", zstd(jsonl.encode()))
put("crawl-zstd", "records.wet.zst", zstd(wet))
put("crawl-zstd", "streamed.jsonl.zst", zstd_streamed(jsonl.encode()))

# Stored values.
def block(ids, code_bytes):
    return struct.pack("<II", len(ids), 0) + b"".join(struct.pack("<Q", i) for i in ids) + bytes(range(len(ids) * code_bytes))
put("ivf-block", "two-entries", bytes([1]) + block([5, 9], 8))
put("ivf-block", "empty", bytes([2]) + block([], 16))
put("ivf-block", "wide", bytes([4]) + block([1, 2, 3], 32))
def record(values, norm, lst):
    return struct.pack("<H", len(values)) + struct.pack("<%db" % len(values), *values) + struct.pack("<fI", norm, lst)
put("vector-record", "four", record([1, -2, 3, -128], 128.1, 7))
put("vector-record", "sixteen", record(list(range(-8, 8)), 18.5, 0))
manifest = {"format": "quarry-collection", "schemaVersion": 2, "dimension": 64, "metric": "cosine",
            "requestedListCount": 16, "listCount": 16, "trainingSize": 1000, "quantization": {"tanh": {}},
            "blockCapacity": 256, "model": "data/models/pplx", "defaultProbeCount": 8, "defaultOversample": 4.0,
            "defaultPrefilter": "asymmetric"}
put("manifest", "full.json", json.dumps(manifest))
put("manifest", "calibrated.json", json.dumps(dict(manifest, quantization={"calibrated": {"scale": 12.5}}, spillPenalty=1.0)))
put("manifest", "minimal.json", json.dumps({"dimension": 8, "format": "quarry-collection", "schemaVersion": 2}))
document = {"key": "a", "title": "A", "url": "https://a.example/", "lang": "en", "metadata": {"x": [1, "y"]},
            "text": "héllo world, a document", "chunks": [[0, 12], [12, 25]], "fingerprint": "abc123"}
put("stored-document", "document.json", json.dumps(document, ensure_ascii=False))
put("stored-document", "bare.json", json.dumps({"key": "b", "text": "", "chunks": [], "fingerprint": ""}))
put("zstd-frame", "sized.zst", zstd(json.dumps(document).encode()))
put("zstd-frame", "streamed.zst", zstd_streamed(b"streamed frame " * 20))
put("zstd-frame", "empty.zst", zstd(b""))

# HTTP bodies: the first byte of an http-request input picks the request type.
requests = [
    "0" + json.dumps({"query": "hello", "k": 10, "include": ["title", "snippet"], "by_document": True}),
    "0" + json.dumps({"vector": [0.5, -1.25, 3e-3], "k": 5, "nprobe": 4, "oversample": 2.5, "exact": False}),
    "0" + json.dumps({"key": "doc-1", "k": 3}),
    "1" + json.dumps({"name": "news", "dims": 1024, "nlist": 64}),
    "2" + json.dumps({"input": "one text", "model": "pplx", "dimensions": 256, "encoding_format": "base64"}),
    "2" + json.dumps({"input": ["a", "b"], "encoding_format": "int8"}),
    "3" + json.dumps({"input": [["chunk one", "chunk two"], ["x"]], "encoding_format": "float"}),
    "2" + json.dumps({"input": [101, 2023, 102], "model": "pplx"}),
    "2" + json.dumps({"input": [[1, 2], [3]], "encoding_format": "binary"}),
]
for number, body in enumerate(requests):
    put("http-request", "request-%d.json" % number, body)
put("http-crawl-body", "array.json", json.dumps([{"id": "a", "text": "x"}, {"id": 7, "text": "y", "metadata": {"k": [1]}}]))
put("http-crawl-body", "lines.ndjson", jsonl)
put("http-crawl-body", "one.json", json.dumps({"url": "https://x.example/", "text": "t", "lang": "de"}))
