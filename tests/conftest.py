"""Shared fixtures. `weights_dir`: a folder of tiny real ONNX models with their manifest.json; `browser`: Debian's
Chromium driven by Playwright, one per test module."""

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


CHROMIUM = Path("/usr/bin/chromium")
# Playwright's own browser downloads cannot work here; Debian's chromium needs these to run headless.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser():
    """Chromium for the module's tests (test modules skip themselves where /usr/bin/chromium is missing)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
