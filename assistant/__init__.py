"""News question answering with cited answers. Importing this package loads nothing heavy.

    from assistant import build_assistant, Settings
    assistant = build_assistant(Settings(data_dir="/tmp/index"))
    assistant.ingest(["corpus/"])
    print(assistant.ask("What did the expert say about China?").answer)
"""

from assistant import telemetry

telemetry.off()  # before any dependency is imported: some decide at import time (assistant/telemetry.py)

from assistant.service.factory import build_assistant  # noqa: E402
from assistant.settings import Settings  # noqa: E402

__all__ = ["build_assistant", "Settings"]
