"""Shared fixtures. `weights_dir`: a folder of tiny real ONNX models with their manifest.json."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.tiny_models import write_weights


@pytest.fixture(scope="session")
def weights_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Restore + colorize models (see benchmarks/tiny_models.py), shared read-only by the whole session."""
    return write_weights(tmp_path_factory.mktemp("weights"))


@pytest.fixture(scope="session")
def hinted_weights_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Restore + the hinted colorize model (hints input, colour distribution output; see benchmarks/tiny_models.py)."""
    return write_weights(tmp_path_factory.mktemp("hinted-weights"), hints=True)
