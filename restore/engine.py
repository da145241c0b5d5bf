"""ONNX Runtime sessions for manifest models: device choice, and padding images to the size multiple."""

from __future__ import annotations

import logging
import os
from dataclasses import replace
from typing import Any

import cv2
import numpy as np

from restore.errors import DeviceError, WeightsError, first_line
from restore.manifest import CPU_VARIANT, ModelSpec

log = logging.getLogger(__name__)

DEVICES = ("auto", "cpu", "cuda")
CUDA_PROVIDER = "CUDAExecutionProvider"
CPU_PROVIDER = "CPUExecutionProvider"
_ORT_ERRORS_ONLY = 3  # ORT log severities: 0 verbose, 1 info, 2 warning, 3 error, 4 fatal
_ORT_FATAL_ONLY = 4


class OnnxModel:
    """One manifest model in an InferenceSession, on the device `device` resolves to.

    Raises WeightsError for a missing, modified or unloadable model file and DeviceError when
    device="cuda" cannot start; "auto" falls back to the CPU with one logged warning.
    """

    def __init__(self, spec: ModelSpec, device: str = "auto") -> None:
        if device not in DEVICES:
            raise ValueError(f"device must be one of {', '.join(DEVICES)}, not {device!r}")
        spec.verify()
        self.spec = spec
        self.session = _create_session(spec, device)
        self.providers: list[str] = self.session.get_providers()
        self.device = "cuda" if self.providers[0] == CUDA_PROVIDER else "cpu"

    def run(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        """Run the graph on NCHW `feeds` (tensor name -> array) and return its one output."""
        return self.session.run([self.spec.output.name], feeds)[0]

    def run_image(self, image: np.ndarray, extra: dict[str, np.ndarray] | None = None) -> np.ndarray:
        """Run on one HxWxC float32 image: pad to the size multiple, run, crop back. Returns HxWxC'."""
        return self.run_batch(image[None], extra)[0]

    def run_batch(self, images: np.ndarray, extra: dict[str, np.ndarray] | None = None) -> np.ndarray:
        """Run once on N same-size float32 images (NxHxWxC), padded and cropped back like run_image."""
        height, width = images.shape[1:3]
        padded = np.stack([pad_to_multiple(image, self.spec.size_multiple) for image in images])
        batch = np.ascontiguousarray(padded.transpose(0, 3, 1, 2), dtype=np.float32)
        out = self.run({self.spec.image_input.name: batch, **(extra or {})})
        return np.ascontiguousarray(out[:, :, :height, :width].transpose(0, 2, 3, 1))


def pad_to_multiple(image: np.ndarray, multiple: int) -> np.ndarray:
    """Pad HxWxC `image` at the bottom and right to multiples of `multiple`, mirroring the edge pixels.

    Reflection (BORDER_REFLECT_101) needs a side longer than its pad; smaller images repeat the edge.
    """
    height, width = image.shape[:2]
    pad_h, pad_w = -height % multiple, -width % multiple
    if not pad_h and not pad_w:
        return image
    border = cv2.BORDER_REFLECT_101 if pad_h < height and pad_w < width else cv2.BORDER_REPLICATE
    padded = cv2.copyMakeBorder(image, 0, pad_h, 0, pad_w, border)
    return padded.reshape(height + pad_h, width + pad_w, *image.shape[2:])  # cv2 drops a 1-channel axis


def cpu_model(spec: ModelSpec) -> ModelSpec:
    """The model to run on the CPU: `spec` with its "cpu-int8" variant's file when the manifest lists one (a
    variant ships only when it is at least 1.8x faster for at most 0.3 dB less PSNR), else `spec` itself."""
    if spec.cpu_variant is None:
        return spec
    path, digest = spec.cpu_variant
    return replace(spec, path=path, sha256=digest, cpu_variant=None)


def _create_session(spec: ModelSpec, device: str) -> Any:
    """An InferenceSession on the providers `device` asks for; see OnnxModel."""
    # ONNX Runtime 1.31 looks up a telemetry host at start-up; nothing may reach the network at run time.
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    import onnxruntime as ort  # imported here so that `import restore` stays light

    ort.set_default_logger_severity(_ORT_FATAL_ONLY)  # a failing CUDA provider is reported below instead
    options = ort.SessionOptions()
    options.intra_op_num_threads = os.cpu_count() or 1
    # The memory pattern plans one block per input shape on top of what the arena already holds: twice the
    # memory for a 512 px restore tile (about 430 instead of 210 MB) and more for every new shape, no faster.
    options.enable_mem_pattern = False
    options.log_severity_level = _ORT_ERRORS_ONLY

    def session(model: ModelSpec, providers: list[str]) -> Any:
        # enable_fallback=0: ORT's own fallback prints banners to stdout; ours logs one line.
        return ort.InferenceSession(str(model.path), options, providers=providers, enable_fallback=0)

    def cpu_session() -> Any:
        model = cpu_model(spec)
        if model is not spec:
            model.verify()
            log.info("%s: the CPU runs its %s variant, %s", spec.task, CPU_VARIANT, model.path.name)
        try:
            return session(model, [CPU_PROVIDER])
        except Exception as exc:  # ORT's error types derive directly from Exception
            raise WeightsError(f"{model.path}: onnxruntime cannot load this model ({first_line(exc)})") from None

    if device == "cpu":
        return cpu_session()
    if CUDA_PROVIDER not in ort.get_available_providers():
        if device == "cuda":
            raise DeviceError(
                "--device cuda: this onnxruntime build has no CUDA support; install onnxruntime-gpu "
                "(Linux x86-64) or use --device cpu"
            )
        return cpu_session()
    try:
        cuda_session = session(spec, [CUDA_PROVIDER, CPU_PROVIDER])
    except Exception as exc:  # a provider failure, or a model that no provider can load
        reason = first_line(exc)
    else:
        if cuda_session.get_providers()[0] == CUDA_PROVIDER:
            return cuda_session
        reason = "no CUDA device, or its CUDA/cuDNN libraries are missing"
    fallback = cpu_session()  # raises WeightsError first if the model itself is the problem
    if device == "cuda":
        raise DeviceError(f"--device cuda: CUDA could not start ({reason}); use --device auto or cpu")
    log.warning("CUDA could not start (%s); running on CPU", reason)
    return fallback
