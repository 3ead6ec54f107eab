#!/usr/bin/env python3
"""Reference all-MiniLM-L6-v2 embeddings of 1,000 real texts, computed by sentence-transformers.

Texts are real Debian text on this machine: package short descriptions from the apt lists
(/var/lib/apt/lists/*_Packages.lz4), prose paragraphs of /usr/share/doc/*/README* files, and a
few whole licence texts from /usr/share/common-licenses, longer than the model's 256-token limit
(sentence-transformers truncates those; so must Quarry). The model comes from data/models/all-MiniLM-L6-v2, placed there
by scripts/fetch-models.sh. Writes into Tests/QuarryEmbedTests/Fixtures/:

  minilm-sentences.json   the 1,000 texts
  minilm-reference.npy    float32 [1000, 384]: mean pooling + L2 normalisation (the model's
                          sentence-transformers pipeline, max_seq_length 256)

Usage: scripts/fetch-models.sh && python3 scripts/reference/make_minilm_reference.py
(needs sentence-transformers, torch, numpy; the lz4 command-line tool)
"""
import glob
import gzip
import json
import os
import random
import re
import subprocess

import numpy as np
from sentence_transformers import SentenceTransformer

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
FIXTURES = os.path.join(ROOT, "Tests", "QuarryEmbedTests", "Fixtures")
MODEL = os.path.join(ROOT, "data", "models", "all-MiniLM-L6-v2")


def short_descriptions():
    """Package short descriptions from the apt lists, sorted by package name."""
    found = {}
    for path in sorted(glob.glob("/var/lib/apt/lists/*_Packages.lz4")):
        text = subprocess.run(["lz4cat", path], capture_output=True, check=True).stdout.decode("utf-8", "replace")
        name = None
        for line in text.split("\n"):
            if line.startswith("Package: "):
                name = line[len("Package: "):]
            elif line.startswith("Description: ") and name not in found:
                found[name] = line[len("Description: "):]
    return [found[name] for name in sorted(found)]


def readme_paragraphs():
    """Prose paragraphs (blank-line separated, mostly letters) of the README files in /usr/share/doc."""
    paragraphs = []
    for path in sorted(glob.glob("/usr/share/doc/*/README*")):
        opener = gzip.open if path.endswith(".gz") else open
        try:
            with opener(path, "rt", encoding="utf-8") as f:
                text = f.read()
        except (UnicodeDecodeError, OSError):
            continue
        for block in re.split(r"\n\s*\n", text):
            paragraph = " ".join(block.split())
            letters = sum(c.isalpha() or c == " " for c in paragraph)
            if 80 <= len(paragraph) <= 1500 and letters >= 0.85 * len(paragraph):
                paragraphs.append(paragraph)
    return paragraphs


def licence_texts():
    """Whole licence texts, cut to 6,000 characters: each far beyond 256 tokens."""
    texts = []
    for path in sorted(glob.glob("/usr/share/common-licenses/*")):
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as f:
                texts.append(" ".join(f.read().split())[:6000])
    return texts


def choose_texts():
    rng = random.Random(2024)
    shorts, paragraphs = short_descriptions(), readme_paragraphs()
    rng.shuffle(shorts)
    rng.shuffle(paragraphs)
    texts, seen = [], set()
    for text in licence_texts()[:10] + paragraphs[:390] + shorts:
        if text not in seen and len(texts) < 1000:
            seen.add(text)
            texts.append(text)
    return texts


def main():
    texts = choose_texts()
    assert len(texts) == 1000, len(texts)
    model = SentenceTransformer(MODEL, device="cpu")
    assert model.max_seq_length == 256, model.max_seq_length
    embeddings = model.encode(texts, batch_size=64, convert_to_numpy=True).astype(np.float32)
    lengths = [len(model.tokenizer(t)["input_ids"]) for t in texts]
    print(f"{len(texts)} texts, {sum(lengths)} tokens before truncation, {sum(n > 256 for n in lengths)} over 256")
    with open(os.path.join(FIXTURES, "minilm-sentences.json"), "w") as f:
        json.dump(texts, f, ensure_ascii=False, indent=0)
    np.save(os.path.join(FIXTURES, "minilm-reference.npy"), embeddings)
    print("wrote", FIXTURES)


if __name__ == "__main__":
    main()
