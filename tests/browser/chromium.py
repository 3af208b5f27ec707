"""Debian's headless Chromium driven by Playwright (never a downloaded browser)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
ARTIFACTS = ROOT / "test-artifacts"
DOCS_SCREENSHOTS = ROOT / "docs" / "screenshots"


def launch(playwright):
    """The system Chromium, headless; the test is skipped (with the fix) when it is not installed."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: run scripts/setup.sh --test (apt-get install chromium)")
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)


def screenshot(page, name: str, element=None, docs: bool = False) -> Path:
    """Save test-artifacts/NAME.png (the whole page, or one element); ``docs``: also the copy in
    docs/screenshots/, written when it is missing or DOCS_SCREENSHOTS=1 (so that ordinary test runs
    leave the documentation's images alone)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    if element is not None:
        element.screenshot(path=str(path))
    else:
        page.screenshot(path=str(path), full_page=True)
    if docs:
        target = DOCS_SCREENSHOTS / path.name
        if not target.exists() or os.environ.get("DOCS_SCREENSHOTS") == "1":
            DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
    return path
