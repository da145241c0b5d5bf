"""Revive: restore and colourize old photos with U-Net models run by ONNX Runtime.

Importing the package is light: onnxruntime loads with the first model, and nothing here imports
torch, gradio or av.
"""

from restore.errors import ImageError, ReviveError, WeightsError
from restore.io_image import LoadedImage, load_image, save_png_atomic
from restore.options import ProcessOptions
from restore.pipeline import Restorer

__version__ = "0.1.0"

__all__ = [
    "ImageError",
    "LoadedImage",
    "ProcessOptions",
    "Restorer",
    "ReviveError",
    "WeightsError",
    "__version__",
    "load_image",
    "save_png_atomic",
]
