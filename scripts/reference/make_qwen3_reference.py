#!/usr/bin/env python3
"""Builds the tiny Qwen3 test fixture and its reference outputs.

A seeded, randomly initialised Qwen3 (hidden 64, 2 layers, 4 heads, 2 KV heads, head_dim 16,
intermediate 128, vocab 1000) is run by Hugging Face transformers in float32 with BIDIRECTIONAL
attention (no causal mask, a padding mask only) -- the way pplx-embed uses its Qwen3 backbone.
Writes into Tests/QuarryEmbedTests/Fixtures/:

  tiny-qwen3/        config.json + model.safetensors (F32, names without a prefix)
  tiny-qwen3-bf16/   the same weights in BF16, sharded (model.safetensors.index.json)
  tiny-qwen3-f16/    the same weights in F16, names with a `model.` prefix
  tiny-qwen3-reference.json
      sequences:    token ids (unpadded) of a right-padded batch of mixed lengths
      hidden:       last hidden states of the real tokens, per sequence
      pooled:       the model card's mean_pooling over the attention mask
      int8 / binary / ubinary: the model card's quantize_int8_tanh, quantize_binary and
                    numpy.packbits(x >= 0) of the pooled vectors
      late_chunking: documents (lists of chunks) joined with the separator, the joined ids, and
                    the model card's extract_chunks_from_concatenated chunk vectors
      int8_probe:   quantize_int8_tanh of 20,000 float32 values: random ones, and ones whose
                    tanh(x) * 127 lies next to a rounding tie (k + 0.5), where torch's and libm's
                    tanh may round differently

Usage: python3 scripts/reference/make_qwen3_reference.py   (needs torch, transformers, numpy)
"""
import json
import os
import shutil

import numpy as np
import torch
from safetensors.torch import save_file
from transformers import Qwen3Config, Qwen3Model

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
FIXTURES = os.path.join(ROOT, "Tests", "QuarryEmbedTests", "Fixtures")
SEPARATOR = 999  # stands in for <|endoftext|> (151643) in this small vocabulary
PAD = SEPARATOR  # Qwen pads with <|endoftext|> too: the padding mask must exclude it


# ---- the model card's reference functions, verbatim in behaviour ----
def quantize_int8_tanh(x):
    normalized = torch.tanh(x)
    rounded = torch.round(normalized * 127)
    clamped = torch.clamp(rounded, -128, 127)
    return clamped


def quantize_binary(x):
    return torch.where(x >= 0, 1.0, -1.0)


def mean_pooling(token_embeddings, attention_mask):
    input_mask_expanded = attention_mask.unsqueeze(-1).expand(token_embeddings.size()).float()
    return torch.sum(token_embeddings * input_mask_expanded, 1) / torch.clamp(
        input_mask_expanded.sum(1), min=1e-9
    )


def extract_chunks_from_concatenated(input_ids, token_embeddings, attention_mask, sep_token_id):
    batch_size = input_ids.shape[0]
    all_doc_chunks = []
    for batch_idx in range(batch_size):
        valid_positions = attention_mask[batch_idx].bool()
        sep_positions = ((input_ids[batch_idx] == sep_token_id) & valid_positions).nonzero(
            as_tuple=True
        )[0]
        chunk_embeddings = []
        start_pos = 0
        for sep_pos in sep_positions:
            chunk_tokens = token_embeddings[batch_idx, start_pos:sep_pos]
            chunk_mask = attention_mask[batch_idx, start_pos:sep_pos]
            chunk_emb = mean_pooling(chunk_tokens.unsqueeze(0), chunk_mask.unsqueeze(0)).squeeze(0)
            chunk_embeddings.append(chunk_emb)
            start_pos = sep_pos + 1
        last_valid_pos = attention_mask[batch_idx].sum().item()
        chunk_tokens = token_embeddings[batch_idx, start_pos:last_valid_pos]
        chunk_mask = attention_mask[batch_idx, start_pos:last_valid_pos]
        if chunk_mask.sum() > 0:
            chunk_emb = mean_pooling(chunk_tokens.unsqueeze(0), chunk_mask.unsqueeze(0)).squeeze(0)
        else:
            chunk_emb = torch.zeros(
                token_embeddings.shape[-1], device=token_embeddings.device, dtype=token_embeddings.dtype
            )
        chunk_embeddings.append(chunk_emb)
        all_doc_chunks.append(chunk_embeddings)
    return all_doc_chunks


# ---- model ----
def build_model():
    torch.manual_seed(1234)
    config = Qwen3Config(
        vocab_size=1000,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=16,
        max_position_embeddings=512,
        rms_norm_eps=1e-6,
        rope_theta=10000.0,
        hidden_act="silu",
        attention_bias=False,
        tie_word_embeddings=False,
        pad_token_id=PAD,
        eos_token_id=SEPARATOR,
        bos_token_id=SEPARATOR,
    )
    config._attn_implementation = "eager"
    model = Qwen3Model(config).eval()
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "norm" in name:  # norm gains around 1 so that they matter but stay stable
                parameter.copy_(1.0 + 0.3 * torch.randn_like(parameter))
            elif "embed_tokens" in name:
                parameter.copy_(torch.randn_like(parameter))
            else:
                parameter.copy_(torch.randn_like(parameter) / parameter.shape[-1] ** 0.5)
    for layer in model.layers:
        layer.self_attn.is_causal = False
    return config, model


def forward(model, batch_ids, attention_mask):
    """Last hidden states with bidirectional attention: an additive 4D mask over padded keys only."""
    additive = (1.0 - attention_mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
    additive = additive.expand(-1, 1, batch_ids.shape[1], -1)
    with torch.no_grad():
        out = model(input_ids=batch_ids, attention_mask={"full_attention": additive})
    return out.last_hidden_state


def pad_batch(sequences):
    width = max(len(s) for s in sequences)
    ids = torch.full((len(sequences), width), PAD, dtype=torch.long)
    mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for i, s in enumerate(sequences):
        ids[i, : len(s)] = torch.tensor(s)
        mask[i, : len(s)] = 1
    return ids, mask


def check_bidirectional(model):
    ids = torch.randint(0, 990, (1, 12))
    changed = ids.clone()
    changed[0, 10] = (changed[0, 10] + 7) % 990
    mask = torch.ones_like(ids)
    a, b = forward(model, ids, mask), forward(model, changed, mask)
    delta = (a[0, 2] - b[0, 2]).abs().max().item()
    assert delta > 1e-3, f"attention looks causal: token 2 did not change ({delta})"
    print(f"bidirectional check: changing token 10 moved token 2 by {delta:.4f}")


def save_variants(config, model):
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    f32_dir = os.path.join(FIXTURES, "tiny-qwen3")
    bf16_dir = os.path.join(FIXTURES, "tiny-qwen3-bf16")
    f16_dir = os.path.join(FIXTURES, "tiny-qwen3-f16")
    for d in (f32_dir, bf16_dir, f16_dir):
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        config.to_json_file(os.path.join(d, "config.json"))
    save_file(state, os.path.join(f32_dir, "model.safetensors"), metadata={"format": "pt"})

    names = sorted(state)
    halves = [names[: len(names) // 2], names[len(names) // 2 :]]
    weight_map = {}
    for i, part in enumerate(halves):
        filename = f"model-{i + 1:05d}-of-00002.safetensors"
        save_file({n: state[n].to(torch.bfloat16) for n in part}, os.path.join(bf16_dir, filename))
        weight_map.update({n: filename for n in part})
    with open(os.path.join(bf16_dir, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {}, "weight_map": weight_map}, f, indent=2)

    save_file({"model." + n: t.to(torch.float16) for n, t in state.items()},
              os.path.join(f16_dir, "model.safetensors"))


def main():
    config, model = build_model()
    check_bidirectional(model)
    save_variants(config, model)

    generator = torch.Generator().manual_seed(99)
    lengths = [1, 5, 17, 33, 8, 64, 2]
    sequences = [torch.randint(0, 990, (n,), generator=generator).tolist() for n in lengths]
    ids, mask = pad_batch(sequences)
    hidden = forward(model, ids, mask)
    pooled = mean_pooling(hidden, mask)
    int8 = quantize_int8_tanh(pooled)
    binary = quantize_binary(pooled)
    ubinary = np.packbits(np.where(binary.numpy() >= 0, True, False), axis=-1)

    # Late chunking: chunks joined by the separator; includes an empty middle chunk and a
    # document whose last chunk is empty (the sequence ends with a separator).
    documents = [
        [[5, 6, 7, 8], [9, 10, 11], [12, 13, 14, 15, 16, 17]],
        [[20, 21], [], [22, 23, 24]],
        [[30, 31, 32, 33, 34, 35, 36, 37, 38, 39], []],
        [[40, 41, 42]],
    ]
    joined = []
    for chunks in documents:
        sequence = []
        for i, chunk in enumerate(chunks):
            if i > 0:
                sequence.append(SEPARATOR)
            sequence.extend(chunk)
        joined.append(sequence)
    chunk_ids, chunk_mask = pad_batch(joined)
    chunk_hidden = forward(model, chunk_ids, chunk_mask)
    chunk_vectors = extract_chunks_from_concatenated(chunk_ids, chunk_hidden, chunk_mask, SEPARATOR)

    probe_generator = torch.Generator().manual_seed(7)
    ties = torch.atanh((torch.arange(-127, 127, dtype=torch.float64) + 0.5) / 127).float()
    probe = torch.cat([
        torch.randn(20000 - 4 * len(ties), generator=probe_generator) * 1.5,
        ties, torch.nextafter(ties, ties + 1), torch.nextafter(ties, ties - 1), -ties,
    ])
    probe_int8 = quantize_int8_tanh(probe)

    def rounded(t):
        return [float(f"{v:.8g}") for v in t.reshape(-1).tolist()]

    reference = {
        "separator": SEPARATOR,
        "hidden_size": config.hidden_size,
        "sequences": sequences,
        "hidden": [rounded(hidden[i, : len(s)]) for i, s in enumerate(sequences)],
        "pooled": [rounded(p) for p in pooled],
        "int8": [[int(v) for v in row] for row in int8.tolist()],
        "binary": [[int(v) for v in row] for row in binary.tolist()],
        "ubinary": ubinary.tolist(),
        "int8_probe": {
            "values": [float(f"{v:.9g}") for v in probe.tolist()],
            "int8": [int(v) for v in probe_int8.tolist()],
        },
        "late_chunking": {
            "documents": documents,
            "joined": joined,
            "chunks": [[rounded(c) for c in doc] for doc in chunk_vectors],
        },
    }
    with open(os.path.join(FIXTURES, "tiny-qwen3-reference.json"), "w") as f:
        json.dump(reference, f)
    print("wrote", FIXTURES)


if __name__ == "__main__":
    main()
