#!/usr/bin/env python3
"""Builds the Debian package-description sample corpus (BEIR layout) from a Translation-en file.

Reads an uncompressed apt Translation-en index on stdin (records of Package, Description-md5,
Description-en) and writes, under OUT_DIR:

  corpus.jsonl      {"_id", "id", "title", "text", "url", "metadata": {"synopsis"}} per package
  queries.jsonl     {"_id": "q<n>", "text": <synopsis of one corpus package>}
  qrels/test.tsv    query-id, corpus-id, score (1): each query's own package
  README.md         what it is, how it was made, counts, source release

Called by scripts/make-sample-corpus.sh, which fetches the index; standard library only.
Everything is deterministic given the same input: selection is by SHA-256 of package names,
output is sorted, and nothing time-dependent is written.
"""

import argparse
import hashlib
import json
import os
import re
import sys

MIN_WORDS = 20          # shortest long description kept, in whitespace-separated words
MIN_QUERY_WORDS = 3     # shortest synopsis used as a query

# Debug symbols and documentation packages: not descriptions of software a person searches for.
SKIP_NAME = re.compile(r"-(dbg|dbgsym|doc|docs)\b")
# Transitional and dummy packages: boilerplate that points at another package.
SKIP_SYNOPSIS = re.compile(r"\b(transitional|dummy)\b|^compatibility package for", re.IGNORECASE)
SKIP_TEXT = re.compile(r"\b(transitional|dummy|empty)( \w+)? (package|metapackage|transition)\b"
                       r"|\ballows upgrading\b", re.IGNORECASE)


def parse_records(lines):
    """Yields (package, md5, synopsis, long_description_lines) per record."""
    fields = {}
    current = None
    for raw in lines:
        line = raw.rstrip("\n")
        if not line.strip():
            if fields:
                yield fields
            fields, current = {}, None
            continue
        if line[0] in " \t":
            if current is None:
                raise ValueError(f"continuation line outside a field: {line!r}")
            fields[current].append(line)
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise ValueError(f"malformed line: {line!r}")
        current = name.strip()
        fields[current] = [value.strip()]
    if fields:
        yield fields


def long_description(continuation):
    """The long description as text: one leading space removed from each line, " ." lines as
    blank lines (paragraph breaks), further indentation (verbatim lines, lists) kept."""
    out = []
    for line in continuation:
        body = line[1:] if line.startswith(" ") else line.lstrip("\t")
        if body.strip() == ".":
            out.append("")
        else:
            out.append(body.rstrip())
    while out and not out[-1]:
        out.pop()
    while out and not out[0]:
        out.pop(0)
    return "\n".join(out)


def sha_key(prefix, name):
    return hashlib.sha256((prefix + name).encode("utf-8")).hexdigest()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--docs", type=int, default=3000, help="number of documents")
    ap.add_argument("--queries", type=int, default=300, help="number of queries")
    ap.add_argument("--release", default="", help="release description for the README")
    ap.add_argument("--source-uri", default="", help="URI of the index, for the README")
    args = ap.parse_args()

    data = sys.stdin.buffer.read()
    digest = hashlib.sha256(data).hexdigest()
    text_in = data.decode("utf-8")

    # One record per package: the first by (name, description md5).
    records = {}
    total = 0
    for fields in parse_records(text_in.splitlines(keepends=True)):
        if "Package" not in fields or "Description-en" not in fields:
            continue
        total += 1
        name = fields["Package"][0]
        md5 = fields.get("Description-md5", [""])[0]
        desc = fields["Description-en"]
        key = (md5, desc[0], long_description(desc[1:]))
        if name not in records or key < records[name]:
            records[name] = key
    packages = len(records)

    skipped = {"debug/doc name": 0, "transitional/dummy": 0, "short": 0}
    kept = []
    for name in sorted(records):
        _, synopsis, text = records[name]
        if SKIP_NAME.search(name):
            skipped["debug/doc name"] += 1
        elif SKIP_SYNOPSIS.search(synopsis) or SKIP_TEXT.search(text):
            skipped["transitional/dummy"] += 1
        elif len(text.split()) < MIN_WORDS:
            skipped["short"] += 1
        else:
            kept.append((name, synopsis, text))

    # Identical long descriptions: keep one package per text (shortest name, then by name).
    by_text = {}
    for name, synopsis, text in kept:
        best = by_text.get(text)
        if best is None or (len(name), name) < (len(best[0]), best[0]):
            by_text[text] = (name, synopsis, text)
    unique = sorted(by_text.values())
    duplicates = len(kept) - len(unique)

    if len(unique) < args.docs:
        sys.exit(f"only {len(unique)} eligible packages, fewer than --docs {args.docs}")
    chosen = sorted(unique, key=lambda r: sha_key("doc:", r[0]))[: args.docs]
    chosen.sort()

    # Queries: synopses that are at least a few words and unique (case-insensitively) in the corpus,
    # so that the judged package is the only one whose synopsis the query is.
    synopsis_count = {}
    for _, synopsis, _ in chosen:
        k = synopsis.strip().lower()
        synopsis_count[k] = synopsis_count.get(k, 0) + 1
    eligible = [r for r in chosen
                if len(r[1].split()) >= MIN_QUERY_WORDS and synopsis_count[r[1].strip().lower()] == 1]
    if len(eligible) < args.queries:
        sys.exit(f"only {len(eligible)} packages usable as queries, fewer than --queries {args.queries}")
    query_docs = sorted(sorted(eligible, key=lambda r: sha_key("query:", r[0]))[: args.queries])

    os.makedirs(os.path.join(args.out, "qrels"), exist_ok=True)

    def write(rel, content):
        with open(os.path.join(args.out, rel), "w", encoding="utf-8", newline="\n") as f:
            f.write(content)

    corpus_lines = []
    for name, synopsis, text in chosen:
        corpus_lines.append(json.dumps({
            "_id": name,
            "id": name,
            "title": name,
            "text": text,
            "url": f"https://packages.debian.org/{name}",
            "metadata": {"synopsis": synopsis},
        }, ensure_ascii=False) + "\n")
    write("corpus.jsonl", "".join(corpus_lines))

    query_lines, qrel_lines = [], ["query-id\tcorpus-id\tscore\n"]
    for n, (name, synopsis, _) in enumerate(query_docs, start=1):
        qid = f"q{n}"
        query_lines.append(json.dumps({"_id": qid, "text": synopsis}, ensure_ascii=False) + "\n")
        qrel_lines.append(f"{qid}\t{name}\t1\n")
    write("queries.jsonl", "".join(query_lines))
    write(os.path.join("qrels", "test.tsv"), "".join(qrel_lines))

    words = [len(t.split()) for _, _, t in chosen]
    words_sorted = sorted(words)
    corpus_bytes = sum(len(l.encode("utf-8")) for l in corpus_lines)
    stats = {
        "records": total,
        "packages": packages,
        "skipped": skipped,
        "kept": len(kept),
        "duplicates": duplicates,
        "unique": len(unique),
        "docs": len(chosen),
        "queries": len(query_docs),
        "eligible_queries": len(eligible),
        "words_mean": sum(words) / len(words),
        "words_median": words_sorted[len(words_sorted) // 2],
        "words_max": words_sorted[-1],
        "corpus_bytes": corpus_bytes,
    }
    write("README.md", readme(args, digest, stats))
    print(json.dumps(stats), file=sys.stderr)


def readme(args, digest, s):
    release = args.release or "unknown release"
    uri = args.source_uri or "(a local Translation-en file)"
    return f"""# Debian package descriptions: a small retrieval sample

A real-text sample corpus for Quarry in the [BEIR](https://github.com/beir-cellar/beir) layout:
{s['docs']:,} Debian package long descriptions as documents, {s['queries']} of those packages' one-line
synopses as queries, and each query's own package as its one relevant document. It is sized
to be embedded with a small model such as all-MiniLM-L6-v2 on a 2-core CI machine (texts are
short: mean {s['words_mean']:.0f} words).

| file | contents |
| --- | --- |
| `corpus.jsonl` | {s['docs']:,} lines: `{{"_id", "id", "title", "text", "url", "metadata": {{"synopsis"}}}}` ({s['corpus_bytes']:,} bytes) |
| `queries.jsonl` | {s['queries']} lines: `{{"_id": "q<n>", "text": <synopsis>}}` |
| `qrels/test.tsv` | header `query-id corpus-id score` (tab-separated), then one line per query, score 1 |

`_id` and `id` are both the package name, so the file reads as a BEIR corpus and as Quarry's
crawl-record input (`id`, `text`, `title`, `url`, `metadata`). `title` is the package name, `url`
its page on packages.debian.org, `text` the long description: the lines of the Debian
`Description` field with the one leading space removed, the ` .` separator lines as blank lines
(so paragraphs are separated by an empty line) and any further indentation (verbatim lines,
lists) kept. The synopsis, which is the query text, is kept out of `text` and only stored in
`metadata.synopsis`.

## Source

- Release: {release}
- Index: `{uri}`
  (component `main`, English descriptions, SHA-256 of the uncompressed file `{digest}`)

The index held {s['records']:,} records for {s['packages']:,} packages. Of those,
{s['skipped']['debug/doc name']:,} were skipped as debug-symbol or documentation packages (`-dbg`, `-dbgsym`, `-doc`, `-docs` in the
name), {s['skipped']['transitional/dummy']:,} as transitional or dummy packages ("transitional" or "dummy" in the
synopsis, a synopsis starting "compatibility package for", or phrases such as "transitional
package", "dummy transition" or "empty dependency package" in the text) and {s['skipped']['short']:,} for a long description under
{MIN_WORDS} words. {s['duplicates']:,} more were dropped because another package had the identical long description
(one package is kept per text: the shortest name, then the first by name), leaving {s['unique']:,}.
The documents are the {s['docs']:,} of these whose names have the smallest SHA-256 of `"doc:" + name`,
written in name order. Long descriptions run from {MIN_WORDS} to {s['words_max']:,} words (mean
{s['words_mean']:.0f}, median {s['words_median']}).

The queries are drawn from the {s['eligible_queries']:,} documents whose synopsis has at least {MIN_QUERY_WORDS} words and
appears only once in the corpus (ignoring case): the {s['queries']} with the smallest SHA-256 of
`"query:" + name`, numbered q1... in name order. Near-duplicates remain on purpose (a library and
its `-dev` package often share most of their text, differing in a sentence), so a query can have
close competitors that are not judged relevant; exact duplicates do not.

## How it was made

```sh
scripts/make-sample-corpus.sh
```

It runs `apt-get update` against a private lists and cache directory with
`Acquire::Languages=en`, using this machine's `/etc/apt/sources.list*` (the system's apt state is
left alone), takes the `main` Translation-en index of the configured Debian release, and runs
`scripts/make_sample_corpus.py` over it. The output depends only on that index: running it
twice gives byte-identical files. `--translation FILE` builds from a Translation-en file at
hand instead (compressed or not); `--docs N` and `--queries N` change the sizes. A later point
release of the distribution changes the index and so the sample.

## License

Package descriptions are written by Debian maintainers and upstream authors and are part of the
packages they describe, which in `main` are free software under the Debian Free Software
Guidelines (licenses vary by package; see each package's `copyright` file). The text is used
here unchanged, as sample data for testing retrieval, and is not covered by Quarry's license.
"""


if __name__ == "__main__":
    main()
