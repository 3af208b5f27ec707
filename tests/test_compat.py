"""Compatibility: import paths users wrote keep working, and every module of the package imports
cheaply (no model, no database, no UI framework loaded until it is used)."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT

# Loading any of these takes seconds or memory; importing the package must not.
HEAVY = ("torch", "sentence_transformers", "transformers", "onnxruntime", "openvino", "chromadb", "gradio",
         "xllamacpp", "langchain_openai", "langchain_ollama")

IMPORT_ALL = """
import importlib, json, pkgutil, sys, warnings
warnings.simplefilter("ignore", DeprecationWarning)
import assistant
names, failed = [], {}
for info in pkgutil.walk_packages(assistant.__path__, "assistant."):
    if info.name.rsplit(".", 1)[-1] == "__main__":   # runs the CLI: `python -m assistant`
        continue
    try:
        importlib.import_module(info.name)
        names.append(info.name)
    except Exception as exc:
        failed[info.name] = f"{type(exc).__name__}: {exc}"
print(json.dumps({"imported": names, "failed": failed, "modules": sorted(sys.modules)}))
"""


def test_the_first_versions_import_path_still_works_and_says_where_to_import_from():
    from assistant.apps.langchain import NewsRetriever as current

    sys.modules.pop("assistant.langchain_retriever", None)  # the warning is given on the first import
    with pytest.warns(DeprecationWarning, match=r"assistant\.apps\.langchain"):
        module = importlib.import_module("assistant.langchain_retriever")
    from assistant.langchain_retriever import NewsRetriever

    assert NewsRetriever is current and module.NewsRetriever is current



def test_every_module_of_the_package_imports_without_loading_anything_heavy():
    run = subprocess.run([sys.executable, "-c", IMPORT_ALL], cwd=ROOT, capture_output=True, text=True,
                         timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["failed"] == {}
    imported = set(result["imported"])
    assert {"assistant.service.factory", "assistant.apps.cli", "assistant.apps.langchain",
            "assistant.langchain_retriever", "assistant.index.store"} <= imported
    loaded = {name.split(".")[0] for name in result["modules"]}
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))
