"""ONNX Runtime sessions for manifest models: device choice, and padding images to the size multiple."""

from __future__ import annotations

import contextlib
import ctypes
import functools
import io
import logging
import os
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from restore.errors import DeviceError, WeightsError, first_line
from restore.manifest import DEVICE_VARIANTS, ModelSpec

log = logging.getLogger(__name__)

DEVICES = ("auto", "cpu", "cuda")
CUDA_PROVIDER = "CUDAExecutionProvider"
CPU_PROVIDER = "CPUExecutionProvider"
_ORT_ERRORS_ONLY = 3  # ORT log severities: 0 verbose, 1 info, 2 warning, 3 error, 4 fatal
_ORT_FATAL_ONLY = 4


class OnnxModel:
    """One manifest model in an InferenceSession, on the device `device` resolves to.

    Raises WeightsError for a missing, modified or unloadable model file and DeviceError when
    device="cuda" cannot start; "auto" falls back to the CPU with one logged warning. The file that runs is
    the model's own or its variant for the device in use (ModelSpec.for_device): `path`.
    """

    def __init__(self, spec: ModelSpec, device: str = "auto") -> None:
        if device not in DEVICES:
            raise ValueError(f"device must be one of {', '.join(DEVICES)}, not {device!r}")
        spec.verify()
        self.spec = spec
        self.session, self.path = _create_session(spec, device)
        self.providers: list[str] = self.session.get_providers()
        self.device = "cuda" if self.providers[0] == CUDA_PROVIDER else "cpu"
        self._outputs = {output.name for output in self.session.get_outputs()}
        if spec.damage is not None and spec.damage.output not in self._outputs:
            raise WeightsError(f"{spec.path}: the manifest's damage map '{spec.damage.output}' is not a graph output")
        self._exposed: tuple[frozenset[str], Any] | None = None  # see _session_for
        self._exposed_lock = threading.Lock()

    def run(self, feeds: dict[str, np.ndarray], output: str | Sequence[str] | None = None) -> np.ndarray:
        """Run the graph on NCHW `feeds` (tensor name -> array) and return its output (default: the model's
        output; a colorizer's `distribution.output` gives its bin logits); several output names (of one size)
        give their channels concatenated, in that order."""
        names = [output or self.spec.output.name] if output is None or isinstance(output, str) else list(output)
        session = self._session_for(names)
        results = run_bound(session, feeds, names, "cuda") if self.device == "cuda" else session.run(names, feeds)
        return results[0] if len(results) == 1 else np.concatenate(results, axis=1)

    def _session_for(self, names: Sequence[str]) -> Any:
        """The session that gives `names`: the model's own, or (made on first use and kept) one whose graph also
        outputs the intermediate tensors among them, as a manifest may name a colorizer's bin logits in a graph
        exported without that output. WeightsError (remembered) if the graph has no such tensor."""
        hidden = frozenset(names) - self._outputs
        if not hidden:
            return self.session
        with self._exposed_lock:  # the web server's workers may ask at the same time
            if self._exposed is None or not hidden <= self._exposed[0]:
                wanted = hidden | (self._exposed[0] if self._exposed is not None else frozenset())
                try:
                    made: Any = _session_exposing(self.path, wanted, self.providers)
                except WeightsError as error:
                    made = error
                self._exposed = wanted, made
            if isinstance(self._exposed[1], WeightsError):
                raise self._exposed[1]
            return self._exposed[1]

    def run_image(
        self,
        image: np.ndarray,
        extra: dict[str, np.ndarray] | None = None,
        maps: dict[str, np.ndarray] | None = None,
        output: str | Sequence[str] | None = None,
        stride: int = 1,
    ) -> np.ndarray:
        """Run on one HxWxC float32 image (and HxWxC `maps`, see run_batch): pad to the size multiple, run, crop
        back. Returns HxWxC'."""
        batch_maps = None if maps is None else {name: array[None] for name, array in maps.items()}
        return self.run_batch(image[None], extra, batch_maps, output, stride)[0]

    def run_batch(
        self,
        images: np.ndarray,
        extra: dict[str, np.ndarray] | None = None,
        maps: dict[str, np.ndarray] | None = None,
        output: str | Sequence[str] | None = None,
        stride: int = 1,
    ) -> np.ndarray:
        """Run once on N same-size float32 images (NxHxWxC), padded and cropped back like run_image.

        maps: further NxHxWxC inputs of the images' size (colour hints), padded with zeros to the same size.
        A colorizer with a hints input that `maps` leaves out gets all-zero hints: automatic colourization.
        output: another graph output than the model's (see run), at 1/`stride` of the input's size; it is
        cropped back to the images' size divided by `stride`, rounded up."""
        height, width = images.shape[1:3]
        padded = np.stack([pad_to_multiple(image, self.spec.size_multiple) for image in images])
        feeds = {self.spec.image_input.name: _nchw(padded)}
        maps = dict(maps or {})
        if self.spec.hints is not None and self.spec.hints.name not in maps:
            maps[self.spec.hints.name] = np.zeros((*images.shape[:3], 3), np.float32)
        for name, array in maps.items():
            pad = ((0, 0), (0, padded.shape[1] - height), (0, padded.shape[2] - width), (0, 0))
            feeds[name] = _nchw(np.pad(array, pad))
        out = self.run({**feeds, **(extra or {})}, output)
        rows, columns = -(-height // stride), -(-width // stride)
        return np.ascontiguousarray(out[:, :, :rows, :columns].transpose(0, 2, 3, 1))


def _nchw(batch: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(batch.transpose(0, 3, 1, 2), dtype=np.float32)


def run_bound(session: Any, feeds: dict[str, np.ndarray], outputs: Sequence[str], device: str) -> list[np.ndarray]:
    """session.run through an IO binding: each input is copied from its numpy array once, the `outputs` are
    allocated by ONNX Runtime on `device` ("cuda", or "cpu" for the CPU provider) and copied back once at the
    end, with no intermediate host copies. A binding per call, so that concurrent calls stay independent."""
    binding = session.io_binding()
    arrays = {name: np.ascontiguousarray(array) for name, array in feeds.items()}  # alive until the run ends
    for name, array in arrays.items():
        binding.bind_cpu_input(name, array)
    for name in outputs:
        binding.bind_output(name, device)
    session.run_with_iobinding(binding)
    return binding.copy_outputs_to_cpu()


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


def _session_options() -> Any:
    """The SessionOptions of every session."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = os.cpu_count() or 1
    # The memory pattern plans one block per input shape on top of what the arena already holds: twice the
    # memory for a 512 px restore tile (about 430 instead of 210 MB) and more for every new shape, no faster.
    options.enable_mem_pattern = False
    options.log_severity_level = _ORT_ERRORS_ONLY
    # Subnormal floats in activations take the CPU's slow path: the colorizer of 2026-12-07 ran 13% slower than
    # its twin graph with other weights until they were flushed to zero (no visible change: they are < 1e-38).
    options.add_session_config_entry("session.set_denormal_as_zero", "1")
    return options


def _create_session(spec: ModelSpec, device: str) -> tuple[Any, Path]:
    """An InferenceSession on the providers `device` asks for, and the model file it runs; see OnnxModel."""
    # ONNX Runtime 1.31 looks up a telemetry host at start-up; nothing may reach the network at run time.
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    import onnxruntime as ort  # imported here so that `import restore` stays light

    ort.set_default_logger_severity(_ORT_FATAL_ONLY)  # a failing CUDA provider is reported below instead

    def model_for(on: str) -> ModelSpec:  # the model's variant for device `on`, checked, or the model itself
        model = spec.for_device(on)
        if model is not spec:
            model.verify()
        return model

    def runs(model: ModelSpec, on: str) -> Path:
        if model is not spec:
            log.info("%s: running its %s variant, %s", spec.task, DEVICE_VARIANTS[on], model.path.name)
        return model.path

    def session(model: ModelSpec, providers: list[str]) -> Any:
        # enable_fallback=0: ORT's own fallback prints banners to stdout; ours logs one line.
        return ort.InferenceSession(str(model.path), _session_options(), providers=providers, enable_fallback=0)

    def cpu_session() -> tuple[Any, Path]:
        model = model_for("cpu")
        try:
            return session(model, [CPU_PROVIDER]), runs(model, "cpu")
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
    preload_cuda_libraries()
    model = model_for("cuda")  # its variant (cuda-fp16) runs only if the session really gets CUDA
    try:
        cuda_session = session(model, [CUDA_PROVIDER, CPU_PROVIDER])
    except Exception as exc:  # a provider failure, or a model that no provider can load
        reason = first_line(exc)
    else:
        if cuda_session.get_providers()[0] == CUDA_PROVIDER:
            return cuda_session, runs(model, "cuda")
        reason = _why_no_cuda()
    fallback = cpu_session()  # raises WeightsError first if the model itself is the problem
    if device == "cuda":
        raise DeviceError(f"--device cuda: CUDA could not start ({reason}); use --device auto or cpu")
    # A machine without an NVIDIA driver runs on the CPU as expected (said with -v only); one with a driver
    # whose CUDA fails is worth a warning.
    log.log(logging.WARNING if nvidia_driver_present() else logging.INFO, "CUDA could not start (%s); running on CPU",
            reason)  # fmt: skip
    return fallback


def _session_exposing(path: Path, names: frozenset[str], providers: list[str]) -> Any:
    """A session of the ONNX model at `path` with the intermediate tensors `names` added to its outputs. A graph
    exported without its colour distribution output still computes the bin logits, so its manifest can name that
    tensor instead of shipping the weights again. WeightsError when onnx is missing or no node makes a name."""
    import onnxruntime as ort

    try:
        import onnx
    except ImportError:
        raise WeightsError(
            f"{path}: its manifest names inner tensors as outputs, which needs `pip install onnx`"
        ) from None
    model = onnx.load(str(path))
    model.graph.output.extend(onnx.ValueInfoProto(name=name) for name in sorted(names))
    try:
        return ort.InferenceSession(
            model.SerializeToString(), _session_options(), providers=providers, enable_fallback=0
        )
    except Exception as exc:  # ORT's error types derive directly from Exception
        listed = ", ".join(sorted(names))
        raise WeightsError(f"{path}: its manifest names {listed} as an output, which this graph cannot give "
                           f"({first_line(exc)})") from None  # fmt: skip


def nvidia_driver_present() -> bool:
    """Whether the NVIDIA driver's library (libcuda.so.1, there only with a driver on Linux) loads."""
    try:
        ctypes.CDLL("libcuda.so.1")
    except OSError:
        return False
    return True


def _why_no_cuda() -> str:
    """Why ONNX Runtime quietly gave a CUDA session the CPU provider, as far as can be told cheaply."""
    if not nvidia_driver_present():
        return "no NVIDIA driver: libcuda.so.1 not found"
    return "no usable CUDA device, or the CUDA 13 / cuDNN 9 libraries are missing"


@functools.cache
def preload_cuda_libraries() -> None:
    """Load the CUDA 13 and cuDNN 9 libraries that onnxruntime-gpu needs, once per process, before the first CUDA
    session: `onnxruntime.preload_dlls()` finds those installed as pip wheels (site-packages/nvidia/cu13 and
    nvidia/cudnn, from `pip install "onnxruntime-gpu[cuda,cudnn]" nvidia-cublas` or torch's CUDA wheels), which
    the CUDA provider alone does not (they are on no loader path), then the system's. What it reports about
    missing libraries goes to the debug log: the CUDA session that follows says whether CUDA starts."""
    import onnxruntime as ort

    preload = getattr(ort, "preload_dlls", None)  # onnxruntime >= 1.21
    if preload is None:
        return
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            preload()
        except Exception as exc:  # an unusable site-packages layout must not stop a CPU fallback
            log.debug("onnxruntime.preload_dlls failed: %s", first_line(exc))
    if printed.getvalue().strip():
        log.debug("onnxruntime.preload_dlls: %s", printed.getvalue().strip())
