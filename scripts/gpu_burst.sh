#!/usr/bin/env bash
# A short run of both tasks (or those named in TASKS) side by side on one lent GPU, from the CPU runs' weights,
# on a carried data subset.
# Prepared here (see docs/gpu.md), run on the device machine from the repository root:
#   bash scripts/gpu_burst.sh SECONDS        (writes logs and the EMA generator and critic in parts to $OUT)
set -u
budget=${1:-450}
out=${OUT:-/tmp/out}
mkdir -p "$out" /tmp/runs
if [ -d .gpu/whl ]; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .gpu/whl/*.whl || exit 1
    export PYTHONPATH=/tmp/site:$PWD
fi
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/gpu.txt"
python3 -c "import torch, cv2, albumentations; print('torch', torch.__version__, 'cv2', cv2.__version__, 'albumentations', albumentations.__version__)"

device=${DEVICE:-cuda}
common=(--data .gpu/data --val .gpu/val --device "$device" --batch "${BATCH:-32}" --crop "${CROP:-192}" --iters 1000000
        --set workers="${WORKERS:-7}" --set save_every=1000 --set log_every=50 --set critic_warmup="${CRITIC_WARMUP:-0}")
declare -A task_args=(
    [restore]="--config configs/restore.yaml --init-from .gpu/init/restore.pt --pretrain-iters ${RESTORE_PRETRAIN:-3000}"
    [colorize]="--config configs/colorize.yaml --init-from .gpu/init/colorize.pt --pretrain-iters ${COLORIZE_PRETRAIN:-1500} --set color.prior=.gpu/color_prior.npy"
)
tasks=(${TASKS:-restore colorize})
for task in "${tasks[@]}"; do
    # shellcheck disable=SC2086  # the task's arguments are meant to split
    timeout -s TERM "$budget" python3 -m training.cli fit --task "$task" --out "/tmp/runs/$task" ${task_args[$task]} \
        "${common[@]}" > "$out/$task.log" 2>&1 &
done
sleep 60; nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader >> "$out/gpu.txt" 2>&1
wait
for task in "${tasks[@]}"; do
    tail -c 600 "$out/$task.log" | tr '\r' '\n' | tail -n 3
    if [ -f /tmp/runs/$task/last.pt ]; then
        python3 scripts/gpu_pack.py split /tmp/runs/$task/last.pt "$out/$task"
    fi
done
