#!/usr/bin/env bash
# Load test of `quarry serve` with top-k TEXT searches over a collection of about 100,000
# documents: every paragraph (6+ words) of the 49,909 Debian package descriptions that
# scripts/make-sample-corpus.sh selects, embedded with the default model (about 108,000
# documents; the ingest takes some 15 minutes on 2 cores and is kept for later runs). Queries are
# the packages' synopses; the server embeds each one. Prints the load client's line and the
# in-process rate of the same searches (`quarry eval --qrels`, one thread) for the ratio.
#   Benchmarks/server/load-documents.sh [SECONDS] [CONCURRENCY] [WORK_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-30}
concurrency=${2:-4}
work=${3:-/tmp/quarry-server-documents}
k=10

swift build -c release --product quarry
quarry=.build/release/quarry
[ -f data/models/all-MiniLM-L6-v2/config.json ] || scripts/setup.sh
mkdir -p "$work/data"
[ -f "$work/corpus/corpus.jsonl" ] || scripts/make-sample-corpus.sh --out "$work/corpus" --docs 49909 --queries 1000
if [ ! -f "$work/paragraphs.jsonl" ]; then
  python3 - "$work/corpus/corpus.jsonl" "$work/paragraphs.jsonl" <<'PY'
import json, sys
with open(sys.argv[1]) as source, open(sys.argv[2], "w") as out:
    for line in source:
        record = json.loads(line)
        paragraphs = [p.strip() for p in record["text"].split("\n\n") if len(p.split()) >= 6]
        for index, paragraph in enumerate(paragraphs):
            out.write(json.dumps({"id": f"{record['id']}/{index}", "title": record["title"],
                                  "url": record["url"], "text": paragraph}) + "\n")
PY
fi
[ -f "$work/data/debian/data.mdb" ] && [ -f "$work/ingested" ] ||
  { "$quarry" ingest "$work/data/debian" --docs "$work/paragraphs.jsonl" --model data/models/all-MiniLM-L6-v2 &&
    touch "$work/ingested"; }
"$quarry" stats "$work/data/debian"

. Benchmarks/server/start-server.sh
start_server "$quarry" "$work/data" "$work/serve.log"
echo "load: $seconds s, $concurrency connections, top-$k text searches by document (nprobe 16, oversample 4)"
python3 Benchmarks/server/load.py --port "$port" --collection debian --texts "$work/corpus/queries.jsonl" \
  --pid "$server" --seconds "$seconds" --concurrency "$concurrency" -k "$k"
kill "$server"
wait "$server" 2> /dev/null || true
echo "in-process (quarry eval --qrels, one thread; the queries are embedded before timing, so this is search alone;"
echo "its recall reads 0 because the judgements name packages and the documents are their paragraphs):"
OPENBLAS_NUM_THREADS=1 "$quarry" eval "$work/data/debian" --queries "$work/corpus/queries.jsonl" \
  --qrels "$work/corpus/qrels/test.tsv" -k "$k" --nprobe 16 --oversample 4 2> /dev/null
