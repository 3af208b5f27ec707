"""Shared fixtures: the real bundled model (loaded once), real Chroma in temp dirs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
SEED = CORPUS / "000_6a88a811b9bce059.txt"
MULTIHOP = Path(os.environ.get("MULTIHOP_RAG_DIR", ROOT.parent / "shared" / "data" / "multihop-rag"))


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path, monkeypatch):
    """No test reads the developer's index or settings."""
    for name in list(os.environ):
        if name.startswith("ASSISTANT_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path / "data"))


@pytest.fixture(scope="session")
def embedder():
    from assistant.embed.embedders import SentenceTransformerEmbedder

    model = SentenceTransformerEmbedder()
    model.embed(["warm up"])
    return model


@pytest.fixture
def make_assistant(tmp_path, embedder):
    """Build an Assistant on a fresh embedded Chroma; keyword arguments override settings."""
    from assistant import Settings, build_assistant

    def make(**overrides):
        overrides.setdefault("data_dir", tmp_path / "data")
        return build_assistant(Settings(**overrides), embedder=embedder)
    return make


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory, embedder):
    """The bundled corpus indexed once (read-only for tests)."""
    from assistant import Settings, build_assistant

    data = tmp_path_factory.mktemp("seed-index")
    assistant = build_assistant(Settings(data_dir=data), embedder=embedder)
    report = assistant.ingest([CORPUS])
    assert report.failed == 0 and report.added >= 1
    return assistant


@pytest.fixture(scope="session")
def multihop_dir():
    if not (MULTIHOP / "corpus.json").exists():
        pytest.skip(f"MultiHop-RAG data not found at {MULTIHOP}")
    return MULTIHOP


@pytest.fixture(scope="module")
def browser():
    """Debian's headless Chromium through Playwright, one per test module (skipped when absent)."""
    from playwright.sync_api import sync_playwright

    from browser.chromium import launch

    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def site():
    """A local HTTP site on 127.0.0.1 (tests/live_http.py) for feeds and article pages."""
    from live_http import LocalSite

    with LocalSite() as local:
        yield local
