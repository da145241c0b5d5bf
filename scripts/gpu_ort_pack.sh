#!/usr/bin/env bash
# Here, before a GPU session: onnxruntime-gpu (CUDA 13) and PyAV for the lent machine's Python 3.12, packed as
# four pieces of at most 59.5 MB in .ort1 ... .ort4 (list "/.ort*/" in .git/info/exclude), one `carry` each.
# Then on the machine: each piece copied to /tmp/ortc (a call each), and scripts/gpu_ort_check.sh. See docs/gpu.md.
set -euo pipefail
work=$(mktemp -d)
platforms=(--platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64)
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 "${platforms[@]}" -d "$work" \
    "onnxruntime-gpu==${ORT_VERSION:-1.31.1}" "av==${AV_VERSION:-19.0.2}"
mkdir "$work/site"
(cd "$work/site" && unzip -q "$work"/onnxruntime_gpu-*.whl)
tar -C "$work/site" -cf - . | xz -T0 -8 > "$work/ort.tar.xz"
split -b 59500000 -d "$work/ort.tar.xz" "$work/ort.tar.xz."
rm -rf .ort1 .ort2 .ort3 .ort4
pieces=("$work"/ort.tar.xz.0*)
for i in "${!pieces[@]}"; do mkdir -p ".ort$((i + 1))" && mv "${pieces[$i]}" ".ort$((i + 1))/"; done
mv "$work"/av-*.whl ".ort${#pieces[@]}/"
du -sb .ort*
rm -rf "$work"
