#!/usr/bin/env bash
# On the lent GPU machine, after the pieces of scripts/gpu_ort_pack.sh were copied to /tmp/ortc: install them
# in /tmp/ortsite, point the loader at the CUDA 13 / cuDNN 9 libraries of the machine's torch, run the GPU check.
#   bash scripts/gpu_ort_check.sh [gpu_check options]      (writes gpu.json and gpu_check.md to $OUT)
set -u
out=${OUT:-/tmp/out}
mkdir -p /tmp/ortsite "$out"
if [ ! -d /tmp/ortsite/onnxruntime ]; then
    cat /tmp/ortc/ort.tar.xz.* | xz -d | tar -x -C /tmp/ortsite || exit 1
    python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/ortsite /tmp/ortc/av-*.whl || exit 1
fi
export PYTHONPATH=/tmp/ortsite:$PWD PYTHONUNBUFFERED=1
LD_LIBRARY_PATH=$(find /opt /usr/local -path '*site-packages/nvidia/*/lib' -type d 2>/dev/null | tr '\n' ':')
export LD_LIBRARY_PATH
python3 -m benchmarks.gpu_check --weights weights --json "$out/gpu.json" "$@" 2>&1 | tee "$out/gpu_check.md"
