"""Nothing leaves the machine unless the user asked for it: every dependency's telemetry, off.

Called first thing by the package (``assistant/__init__.py``), before any dependency is imported,
because several of them decide at import time: ``import openvino`` sends a Google Analytics event
unless its consent file says no, and Chroma, Gradio, NNCF and the Hugging Face hub read their
switches from the environment. A value the user set already is left alone (whoever set
``GRADIO_ANALYTICS_ENABLED=True`` asked for it); so is an OpenVINO consent file with a decision in it.

- Chroma: ``ANONYMIZED_TELEMETRY=False`` (its product telemetry; the client is also built with
  ``anonymized_telemetry=False``, see assistant/index/store.py);
- Gradio: ``GRADIO_ANALYTICS_ENABLED=False`` (usage analytics and its version check);
- Hugging Face hub: ``HF_HUB_DISABLE_TELEMETRY=1`` and ``DO_NOT_TRACK=1``;
- NNCF (the int8 export): ``NNCF_CI=1``, under which NNCF uses its telemetry stub;
- OpenVINO: the consent file its ``opt_in_out --opt_out`` command writes (``~/intel/openvino_telemetry``
  holding ``0``), created when there is none; where it cannot be written, ``CI=true``, which
  OpenVINO's and NNCF's telemetry both take as "declined".
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

ENVIRONMENT = {
    "ANONYMIZED_TELEMETRY": "False",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "DO_NOT_TRACK": "1",
    "NNCF_CI": "1",
}


def openvino_consent_file() -> Path:
    """Where OpenVINO's telemetry looks for the user's decision (Linux and macOS; Windows below)."""
    if os.name == "nt":
        return Path(os.path.expandvars("$LOCALAPPDATA")) / "Intel Corporation" / "openvino_telemetry"
    return Path.home() / "intel" / "openvino_telemetry"


def off() -> None:
    """Switch every dependency's telemetry off for this process (and the processes it starts)."""
    for name, value in ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    if importlib.util.find_spec("openvino_telemetry") is None:
        return
    consent = openvino_consent_file()
    try:
        if consent.exists() and consent.read_text().strip() in ("0", "1"):
            return  # the user decided (opt_in_out --opt_in / --opt_out)
        consent.parent.mkdir(parents=True, exist_ok=True)
        consent.write_text("0")
    except OSError:  # a home folder that cannot be written: the switch OpenVINO reads as "declined"
        os.environ.setdefault("CI", "true")
