#!/usr/bin/env python3
"""Quarry's encoder with F32 and INT8 weights against ONNX Runtime (F32 and dynamic INT8) and
PyTorch (F32 and dynamic INT8) on all-MiniLM-L6-v2: tokens/s on the same texts with the same
thread count in one run, and each path's worst cosine to Quarry's F32 embeddings (the reference,
itself held to cosine >= 0.9999 of sentence-transformers by the test suite).

Texts: the first --texts records of the sample corpus (data/debian-packages/corpus.jsonl, title
and text as one input, truncated at the model's 256 tokens as sentence-transformers does).

Paths:
  quarry f32 / int8   `quarry embed --weights f32|int8` (OPENBLAS_NUM_THREADS=threads): packed
                      batches with no padding, one batch per thread.
  quarry int8 (LEVEL) the same with QUARRY_KERNEL_LEVEL=LEVEL, for each of --int8-levels (e.g.
                      portable,avx2: the INT8 product's kernels side by side).
  onnxruntime f32     the Hugging Face BertModel exported with torch.onnx (opset 17, dynamic batch
                      and length), graph optimisations on (ORT_ENABLE_ALL), intra-op threads =
                      threads; length-sorted padded batches of --batch texts, mean pooling and L2
                      normalisation in numpy.
  onnxruntime f32 fused  the same graph after onnxruntime.transformers.optimizer (BERT attention,
                      LayerNorm and GELU fusion), the layout ORT recommends for BERT on CPU.
  onnxruntime int8 (+ fused)  quantize_dynamic of each graph (INT8 weights per channel, activations
                      quantized per tensor when the layer runs: ORT's dynamic quantization).
  pytorch f32 / int8  the same BertModel in torch (inference_mode), and after
                      torch.ao.quantization.quantize_dynamic (nn.Linear to INT8); --no-pytorch
                      leaves them out (torch is still needed for the ONNX export).
Rates count real tokens (special tokens included, padding excluded) over encoding time with
tokenization (the Rust `tokenizers` for the Python paths); model loading is excluded. Each path
runs --repeats times, the paths alternating, and the fastest run of each counts.

Usage:
  swift build -c release --product quarry
  python3 Benchmarks/encoder/compare_quantized.py [--quarry .build/release/quarry] [--texts 2000]
                                                  [--threads N] [--repeats 3] [--batch 32]
                                                  [--int8-levels portable,avx2] [--no-pytorch]
Needs numpy, torch, transformers, onnx, onnxruntime, tokenizers.
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
MODEL_DIR = os.path.join(ROOT, "data", "models", "all-MiniLM-L6-v2")
CORPUS = os.path.join(ROOT, "data", "debian-packages", "corpus.jsonl")
MAX_TOKENS = 256


def read_texts(count):
    texts = []
    with open(CORPUS) as f:
        for line in f:
            record = json.loads(line)
            texts.append((record.get("title", "") + "\n" + record["text"]).strip())
            if len(texts) == count:
                break
    return texts


def run_quarry(quarry, weights, input_path, output_path, threads, level=None):
    """Runs `quarry embed` (at kernel level `level` if given); returns (tokens, seconds) from
    its final stderr line."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads))
    if level:
        env["QUARRY_KERNEL_LEVEL"] = level
    result = subprocess.run(
        [quarry, "embed", "--model", MODEL_DIR, "--input", input_path, "--format", "float",
         "--weights", weights, "--output", output_path],
        env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"quarry embed failed:\n{result.stderr}")
    match = re.search(r"(\d+) tokens in ([\d.]+) s", result.stderr.strip().splitlines()[-1])
    return int(match.group(1)), float(match.group(2))


def normalized(vectors):
    import numpy as np
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def worst_cosine(a, b):
    return float((normalized(a) * normalized(b)).sum(axis=1).min())


class PaddedEncoder:
    """Tokenizes, sorts by length, runs padded batches through `forward(ids, mask)` (returning
    last hidden states [batch, length, 384]), mean-pools over the mask and normalises."""

    def __init__(self, forward, batch):
        from tokenizers import Tokenizer
        self.tokenizer = Tokenizer.from_file(os.path.join(MODEL_DIR, "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.no_padding()
        self.forward = forward
        self.batch = batch

    def encode(self, texts):
        import numpy as np
        encodings = self.tokenizer.encode_batch(texts)
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        out = np.zeros((len(texts), 384), dtype=np.float32)
        for start in range(0, len(order), self.batch):
            chosen = order[start:start + self.batch]
            width = max(len(encodings[i].ids) for i in chosen)
            ids = np.zeros((len(chosen), width), dtype=np.int64)
            mask = np.zeros((len(chosen), width), dtype=np.int64)
            for row, i in enumerate(chosen):
                n = len(encodings[i].ids)
                ids[row, :n] = encodings[i].ids
                mask[row, :n] = 1
            hidden = self.forward(ids, mask)
            pooled = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
            out[chosen] = pooled
        return normalized(out), sum(len(e.ids) for e in encodings)


def export_onnx(model, work):
    import torch
    path = os.path.join(work, "minilm.onnx")
    class LastHiddenState(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.model(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    ids = torch.ones((2, 16), dtype=torch.long)
    mask = torch.ones((2, 16), dtype=torch.long)
    mask[1, 12:] = 0  # a padded row, so the mask's arithmetic is traced as used
    torch.onnx.export(
        LastHiddenState().eval(), (ids, mask, torch.zeros_like(ids)), path, input_names=["input_ids", "attention_mask", "token_type_ids"],
        output_names=["last_hidden_state"], opset_version=17, dynamo=False,
        dynamic_axes={name: {0: "batch", 1: "length"} for name in ["input_ids", "attention_mask", "token_type_ids", "last_hidden_state"]})
    return path


def onnx_variants(model, work):
    """(name, path) of the F32 graphs and their dynamic INT8 quantizations."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    plain = export_onnx(model, work)
    variants = [("onnxruntime f32", plain)]
    try:
        from onnxruntime.transformers.optimizer import optimize_model
        fused = os.path.join(work, "minilm-fused.onnx")
        optimize_model(plain, model_type="bert", num_heads=12, hidden_size=384, opt_level=1).save_model_to_file(fused)
        variants.append(("onnxruntime f32 fused", fused))
    except Exception as error:  # the optimizer is optional in some wheels
        print(f"onnxruntime.transformers optimizer unavailable ({error}); fused graphs skipped", flush=True)
    for name, path in list(variants):
        quantized = path.replace(".onnx", "-int8.onnx")
        quantize_dynamic(path, quantized, weight_type=QuantType.QInt8, per_channel=True,
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
        variants.append((name.replace("f32", "int8"), quantized))
    return variants


def onnx_forward(path, threads):
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    names = {i.name for i in session.get_inputs()}

    def forward(ids, mask):
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in names:
            feeds["token_type_ids"] = np_zeros_like(ids)
        return session.run(["last_hidden_state"], feeds)[0]
    return forward


def np_zeros_like(array):
    import numpy as np
    return np.zeros_like(array)


def torch_forward(model):
    import torch

    def forward(ids, mask):
        with torch.inference_mode():
            return model(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask)).last_hidden_state.numpy()
    return forward


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quarry", default=os.path.join(ROOT, ".build", "release", "quarry"))
    parser.add_argument("--texts", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--repeats", type=int, default=3, help="runs of each path; the fastest counts")
    parser.add_argument("--batch", type=int, default=32, help="texts per padded batch (Python paths)")
    parser.add_argument("--int8-levels", default="",
                        help="kernel levels (portable,avx2,avx512) to run Quarry INT8 at as well")
    parser.add_argument("--no-pytorch", action="store_true", help="leave out the PyTorch paths")
    args = parser.parse_args()
    import numpy as np
    import torch
    from transformers import BertModel
    torch.set_num_threads(args.threads)
    texts = read_texts(args.texts)
    print(f"{len(texts)} texts, threads: {args.threads}, best of {args.repeats} alternating runs; "
          f"load average before: {os.getloadavg()[0]:.1f}", flush=True)

    with tempfile.TemporaryDirectory(prefix="quarry-quantized-bench-") as work:
        input_path = os.path.join(work, "texts.jsonl")
        with open(input_path, "w") as f:
            for text in texts:
                f.write(json.dumps({"text": text}) + "\n")
        model = BertModel.from_pretrained(MODEL_DIR, attn_implementation="eager").eval()
        paths = {}  # name -> callable returning (vectors, tokens)

        def quarry_path(weights, level=None):
            output = os.path.join(work, f"quarry-{weights}-{level or 'default'}.npy")

            def run():
                tokens, seconds = run_quarry(args.quarry, weights, input_path, output, args.threads, level)
                return np.load(output), tokens, seconds
            return run

        def python_path(forward):
            encoder = PaddedEncoder(forward, args.batch)
            encoder.encode(texts[:args.batch])  # warm-up

            def run():
                start = time.perf_counter()
                vectors, tokens = encoder.encode(texts)
                return vectors, tokens, time.perf_counter() - start
            return run

        paths["quarry f32"] = quarry_path("f32")
        paths["quarry int8"] = quarry_path("int8")
        for level in filter(None, args.int8_levels.split(",")):
            paths[f"quarry int8 ({level})"] = quarry_path("int8", level)
        for name, path in onnx_variants(model, work):
            paths[name] = python_path(onnx_forward(path, args.threads))
        if not args.no_pytorch:
            paths["pytorch f32"] = python_path(torch_forward(model))
            quantized_model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
            paths["pytorch int8"] = python_path(torch_forward(quantized_model))

        best, vectors, tokens = {}, {}, {}
        for _ in range(args.repeats):
            for name, run in paths.items():
                result, count, seconds = run()
                vectors[name], tokens[name] = result, count
                best[name] = min(best.get(name, float("inf")), seconds)
        reference = vectors["quarry f32"]
        print(f"\n| path | tokens/s | worst cosine to Quarry F32 |\n|---|---:|---:|")
        for name in paths:
            print(f"| {name} | {tokens[name] / best[name]:,.0f} | {worst_cosine(vectors[name], reference):.4f} |")
        accurate = [n for n in paths if n.startswith("onnxruntime") and worst_cosine(vectors[n], reference) >= 0.99]
        if accurate:
            fastest = max(accurate, key=lambda n: tokens[n] / best[n])
            ratio = (tokens["quarry int8"] / best["quarry int8"]) / (tokens[fastest] / best[fastest])
            print(f"\nquarry int8 / fastest ONNX Runtime path with worst cosine >= 0.99 ({fastest}): {ratio:.2f}x")
        print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
