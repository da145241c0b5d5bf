# Revive: web UI and CLI on ONNX Runtime (CUDA when the container gets a GPU, CPU otherwise).
#   docker build -t revive .                      # serving image: no torch
#   docker build -t revive-train --target train . # training image: torch + the training extras
#   docker run --gpus all -p 7860:7860 revive     # the web UI on the GPU (README.md, "Docker and the GPU")
#   docker run --gpus all -v "$PWD/photos:/data" revive revive photo /data -o /data/out   # a CLI command
# onnxruntime-gpu from PyPI is built against CUDA 13 and cuDNN 9, hence this base image.
ARG CUDA_IMAGE=nvidia/cuda:13.0.1-cudnn-runtime-ubuntu24.04

FROM ${CUDA_IMAGE} AS base
ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    GRADIO_ANALYTICS_ENABLED=False
# Ubuntu's python3 follows the base image's release; pinning it would break on every base update.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv \
    && rm -rf /var/lib/apt/lists/* \
    && python3 -m venv /opt/venv \
    && useradd --create-home --uid 1000 revive
WORKDIR /app
# Dependencies only, from pyproject.toml with placeholder packages: this layer is rebuilt only when the
# dependency list changes, not when the code does.
COPY pyproject.toml README.md ./
RUN mkdir -p restore training \
    && echo '__version__ = "0"' > restore/__init__.py \
    && touch training/__init__.py \
    && pip install . \
    && pip uninstall -y revive \
    && rm -rf restore training build

FROM base AS serve
COPY restore ./restore
COPY training ./training
COPY app.py ./
COPY weights ./weights
RUN pip install --no-deps . && chown -R revive:revive /app
USER 1000:1000
ENV REVIVE_WEIGHTS=/app/weights \
    REVIVE_HOST=0.0.0.0 \
    REVIVE_PORT=7860
EXPOSE 7860
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:7860/', timeout=4)"]
CMD ["python", "app.py"]

FROM base AS train
COPY restore ./restore
COPY training ./training
COPY configs ./configs
# The training extras are pinned by pyproject.toml's ranges, like the serving dependencies above.
# hadolint ignore=DL3013
RUN pip install ".[train]" && chown -R revive:revive /app
USER 1000:1000
ENTRYPOINT ["revive-train"]
CMD ["--help"]
