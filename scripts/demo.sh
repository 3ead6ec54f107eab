#!/usr/bin/env bash
# The main job on the embedded defaults: build Quarry, index the sample corpus (3,000 Debian
# package descriptions, data/debian-packages) with the default model (all-MiniLM-L6-v2,
# fetched by scripts/setup.sh), answer a text query, and evaluate the index against the
# corpus's relevance judgements beside an exact scan. Re-running it resumes the ingest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build -c release --product quarry
quarry=.build/release/quarry
work=${QUARRY_DEMO_DIR:-.demo}
corpus=data/debian-packages
mkdir -p "$work"
"$quarry" ingest "$work/debian" --docs "$corpus/corpus.jsonl" --model data/models/all-MiniLM-L6-v2
"$quarry" stats "$work/debian"
"$quarry" tune "$work/debian" --target-recall 0.99 -k 10
query=${1:-"convert images between file formats"}
echo "query: $query"
"$quarry" search "$work/debian" --text "$query" -k 5 --by-document
"$quarry" eval "$work/debian" --queries "$corpus/queries.jsonl" --qrels "$corpus/qrels/test.tsv" -k 10 -k 1000
