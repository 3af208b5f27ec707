"""One web server: the REST API under /api (OpenAPI at /docs) and the web chat at /.

    from assistant import Settings, build_assistant
    from assistant.apps.server import create_app
    app = create_app(build_assistant(settings), settings)   # then: uvicorn.run(app)
"""

from __future__ import annotations

import logging
import os

from assistant.service.shared import SharedAssistant

log = logging.getLogger(__name__)


def create_app(assistant, settings=None, *, ui: bool = True):
    """FastAPI app over ``assistant``: REST under /api and, with ``ui``, the Gradio chat at /."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from assistant.apps.api import create_api

    shared = SharedAssistant.wrap(assistant)
    settings = settings or shared.settings
    app = create_api(shared, settings)
    if ui:
        import gradio as gr

        from assistant.apps.web.ui import build_ui, mount_options

        app = gr.mount_gradio_app(app, build_ui(shared, settings), path="/", **mount_options(settings))
    return app


def prepare_index(assistant, echo=print) -> None:
    """Index the bundled corpus (with a progress bar) when the index is empty, so the chat has content;
    give an index built by an earlier version the sentence vectors retrieval now reads."""
    if assistant.is_empty():
        echo(f"The index is empty; indexing {assistant.settings.corpus_dir} first …")
        report = assistant.ingest(progress=True)
        for error in report.errors:
            echo(f"  ✗ {error}")
        echo(report.summary())
        return
    report = assistant.indexer.complete_sentence_vectors(progress=True)
    if report.sentences_backfilled:
        echo(report.summary())


def serve(settings=None, host: str | None = None, port: int | None = None, echo=print) -> None:
    """Build the assistant from settings, fill an empty index, and serve until interrupted."""
    import uvicorn

    from assistant.service.factory import build_assistant
    from assistant.settings import Settings

    settings = settings or Settings()
    assistant = build_assistant(settings)
    prepare_index(assistant, echo)
    host, port = host or settings.web_host, port or settings.web_port
    app = create_app(assistant, settings)
    echo(f"Web chat on http://{host}:{port}/  ·  REST API on /api  ·  API docs on /docs")
    uvicorn.run(app, host=host, port=port, log_level="info")
