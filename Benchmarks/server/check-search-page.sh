#!/usr/bin/env bash
# End-to-end check of the search page in headless Chromium: index a few documents with
# all-MiniLM-L6-v2, start `quarry serve`, load /?collection=docs&q=... (the page searches on
# load), dump the DOM after the fetch and check that the hits are there. Saves a screenshot.
# Installs Debian's chromium when it is missing.
#   Benchmarks/server/check-search-page.sh [WORK_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
work=${1:-/tmp/quarry-page-check}
if ! command -v chromium > /dev/null; then
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq chromium > /dev/null
fi
[ -f data/models/all-MiniLM-L6-v2/config.json ] || scripts/setup.sh
swift build --product quarry
quarry=$(swift build --show-bin-path)/quarry

rm -rf "$work"
mkdir -p "$work/data"
python3 - "$work/docs.jsonl" <<'EOF'
import json, sys
topics = {
    "volcano": "A volcano erupts when magma rises through the crust and lava flows down its slopes.",
    "violin": "The violin has four strings tuned in fifths and is played with a bow.",
    "bread": "Bread rises because yeast ferments sugars in the dough and releases carbon dioxide.",
    "chess": "In chess each player starts with sixteen pieces and tries to checkmate the king.",
    "glacier": "A glacier is a slow river of ice that carves valleys as it moves downhill.",
}
with open(sys.argv[1], "w") as f:
    for topic, text in topics.items():
        record = {"id": topic, "title": f"All about the {topic}", "url": f"https://example.org/{topic}", "text": text}
        f.write(json.dumps(record) + "\n")
EOF
"$quarry" ingest "$work/data/docs" --docs "$work/docs.jsonl" --model data/models/all-MiniLM-L6-v2

. Benchmarks/server/start-server.sh
start_server "$quarry" "$work/data" "$work/serve.log"

url="http://127.0.0.1:$port/?collection=docs&q=how+does+lava+flow&k=3"
browser=(chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --virtual-time-budget=15000)
"${browser[@]}" --dump-dom "$url" > "$work/page.html" 2> "$work/chromium.log"
"${browser[@]}" --window-size=1000,700 --screenshot="$work/page.png" "$url" 2>> "$work/chromium.log"

hits=$(grep -o 'class="hit"' "$work/page.html" | wc -l)
first=$(grep -o 'class="hit"><a[^>]*>[^<]*' "$work/page.html" | head -1 | sed 's/.*>//')
if [ "$hits" -eq 3 ] && [ "$first" = "All about the volcano" ]; then
  echo "search page: OK ($hits hits, first: '$first'; screenshot $work/page.png)"
else
  echo "search page: FAILED ($hits hits, first: '$first'; DOM in $work/page.html)" >&2
  exit 1
fi
