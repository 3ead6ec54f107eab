#!/usr/bin/env bash
# Builds data/debian-packages/: a small BEIR-layout retrieval sample (corpus, queries, qrels) from
# the English Debian package descriptions of the release this machine's apt sources point at.
#
#   scripts/make-sample-corpus.sh [--out DIR] [--translation FILE] [--docs N] [--queries N]
#
# Without --translation it runs `apt-get update` into a private, temporary lists and cache
# directory with Acquire::Languages=en, so the system's own lists, caches and update hooks are
# left alone, and reads the `main` Translation-en index of the configured Debian release (the one
# whose codename matches /etc/os-release, not -updates or -security). Needs apt and python3
# (standard library only). Run as root, apt downloads as its sandbox user _apt; as another user
# it downloads as that user. Deterministic: the same index gives byte-identical output.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out_dir="$repo_root/data/debian-packages"
translation=""
py_args=()

while [ $# -gt 0 ]; do
  case "$1" in
    --out) out_dir="$2"; shift 2 ;;
    --translation) translation="$2"; shift 2 ;;
    --docs|--queries) py_args+=("$1" "$2"); shift 2 ;;
    -h|--help) sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "make-sample-corpus: unknown argument $1" >&2; exit 2 ;;
  esac
done

work_dir="$(mktemp -d)"
chmod 755 "$work_dir"  # apt downloads as _apt when run as root
trap 'rm -rf "$work_dir"' EXIT

# Decompresses an apt index file (gz, xz, lz4, zst, ... or plain) to stdout.
cat_index() {
  if [ -x /usr/lib/apt/apt-helper ]; then
    /usr/lib/apt/apt-helper cat-file "$1"
  else
    case "$1" in
      *.gz) gzip -dc "$1" ;; *.xz) xz -dc "$1" ;; *.zst) zstd -dc "$1" ;; *.lz4) lz4 -dc "$1" ;;
      *) cat "$1" ;;
    esac
  fi
}

if [ -n "$translation" ]; then
  index="$translation"
  release="from a local file, $(basename "$translation")"
  source_uri=""
else
  mkdir -p "$work_dir/lists/partial" "$work_dir/cache/archives/partial"
  # The update hooks in /etc/apt/apt.conf.d act on the system's cache, not ours: clear them.
  cat >"$work_dir/apt.conf" <<'EOF'
#clear APT::Update::Pre-Invoke;
#clear APT::Update::Post-Invoke;
#clear APT::Update::Post-Invoke-Success;
EOF
  apt_opts=(
    -c "$work_dir/apt.conf"
    -o "Dir::State::Lists=$work_dir/lists"
    -o "Dir::Cache=$work_dir/cache"
    -o "Dir::Cache::pkgcache="
    -o "Dir::Cache::srcpkgcache="
    -o "Acquire::Languages=en"
    -o "Acquire::IndexTargets::deb::Packages::DefaultEnabled=false"
    -o "Acquire::IndexTargets::deb-src::Sources::DefaultEnabled=false"
  )
  if [ "$(id -u)" -eq 0 ]; then
    chown -R _apt "$work_dir/lists/partial" "$work_dir/cache/archives/partial" 2>/dev/null || true
  fi
  echo "make-sample-corpus: fetching Translation-en indexes (apt-get update, private lists)" >&2
  apt-get update -q "${apt_opts[@]}" >&2

  codename="$( (. /etc/os-release && echo "${VERSION_CODENAME:-}") 2>/dev/null || true)"
  # One line per English Translations index of component main: file, codename, version, URI, label.
  targets="$(apt-get indextargets "${apt_opts[@]}" \
    --format '$(FILENAME)	$(CODENAME)	$(VERSION)	$(URI)	$(LABEL)	$(SUITE)' \
    'Identifier: Translations' 'Component: main' 'Language: en')"
  # The release itself: its codename has no -updates/-security suffix; prefer /etc/os-release's.
  line="$(printf '%s\n' "$targets" | awk -F'\t' -v c="$codename" '
    $2 !~ /-/ && $5 == "Debian" { if ($2 == c) { print; found = 1; exit } if (!first) first = $0 }
    END { if (!found && first) print first }')"
  if [ -z "$line" ]; then
    echo "make-sample-corpus: no Debian main Translation-en index among the configured sources:" >&2
    printf '%s\n' "$targets" >&2
    exit 1
  fi
  IFS=$'\t' read -r index rel_codename rel_version source_uri _label rel_suite <<<"$line"
  if [ ! -f "$index" ]; then
    echo "make-sample-corpus: apt did not download $source_uri" >&2
    exit 1
  fi
  release="Debian $rel_version ($rel_codename, suite $rel_suite at the time of building)"
fi

echo "make-sample-corpus: building $out_dir from ${source_uri:-$index}" >&2
cat_index "$index" | python3 "$repo_root/scripts/make_sample_corpus.py" \
  --out "$out_dir" --release "$release" --source-uri "$source_uri" "${py_args[@]}"
ls -l "$out_dir" "$out_dir/qrels" >&2
