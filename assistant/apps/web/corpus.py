"""The corpus tab: upload article files, see what is indexed, delete an article."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from assistant.errors import AssistantError
from assistant.ingest.readers import SUPPORTED_SUFFIXES
from assistant.apps.web import render
from assistant.apps.web.uploads import Upload, prepare_uploads, upload_name

log = logging.getLogger(__name__)


def article_choices(rows: list[dict]) -> list[tuple[str, str]]:
    """(label, id) pairs for the delete picker; labels are shown as text by the dropdown."""
    return [(f"{r['title'][:90]} — {r.get('source') or 'unknown outlet'}, {(r.get('published_at') or 'undated')[:10]}",
             r["id"]) for r in rows]


def as_uploads(paths) -> list[Upload]:
    uploads = []
    for path in paths or []:
        path = Path(getattr(path, "name", path))
        uploads.append(Upload(upload_name(path.name), path, os.path.getsize(path)))
    return uploads


def upload_files(shared, paths, progress) -> str:
    """Index the uploaded files; the report lists each file or record that failed."""
    uploads = as_uploads(paths)
    if not uploads:
        return render.placeholder_html("Choose one or more article files first.")
    if len(uploads) > shared.settings.max_upload_files:
        return render.error_html(f"{len(uploads)} files; at most {shared.settings.max_upload_files} per upload.")
    progress(0, desc="Reading and embedding the files")

    def advance(done: int, total: int, title: str) -> None:
        progress((done, total), desc=f"Indexing: {title[:60]}", unit="chunks")

    try:
        # Read and embedded here, outside the index's write lock (as the REST API does): questions
        # go on meanwhile; under the lock the articles are only written.
        uploads = prepare_uploads(shared.assistant.indexer, uploads, shared.settings)
        result = shared.ingest_uploads(uploads, progress=advance)
    except AssistantError as exc:
        return render.error_html(f"Indexing failed — {exc}")
    except Exception:
        log.exception("indexing uploads failed")
        return render.error_html("Indexing failed; the server log has details.")
    return render.ingest_report_html(result.as_dict())


def delete_article(shared, article_id: str | None) -> str:
    if not article_id:
        return render.placeholder_html("Pick an article to delete.")
    if shared.delete_article(article_id):
        return f'<p class="ok">Deleted article <code>{render.esc(article_id)}</code>.</p>'
    return render.error_html(f"No indexed article has the id {article_id}.")


def build_corpus_tab(shared, settings, chat_controls: dict):
    """Lay out the corpus tab; returns the function that refreshes every list built from the index."""
    import gradio as gr

    gr.Markdown(f"Upload articles as {', '.join(SUPPORTED_SUFFIXES)} (at most {settings.max_upload_files} files, "
                f"{settings.max_upload_mb:g} MB). Unchanged articles are not embedded again.")
    with gr.Row():
        files = gr.File(label="Article files", file_count="multiple", file_types=list(SUPPORTED_SUFFIXES),
                        elem_id="upload-files", scale=3)
        with gr.Column(scale=1):
            index = gr.Button("Index files", variant="primary", elem_id="upload-index")
    report = gr.HTML(label="report", elem_id="upload-report", js_on_load=None)
    gr.Markdown("### Indexed articles")
    with gr.Row():
        picked = gr.Dropdown([], label="Article", elem_id="delete-pick", scale=4, allow_custom_value=True)
        delete = gr.Button("Delete article", variant="stop", elem_id="delete-article", scale=1)
        refresh = gr.Button("Refresh", elem_id="articles-refresh", scale=1)
    table = gr.HTML(elem_id="articles-table", js_on_load=None)

    def lists():
        rows = shared.articles()
        sources = sorted({r["source"] for r in rows if r["source"]})
        categories = sorted({r["category"] for r in rows if r["category"]})
        return (render.articles_html(rows), gr.update(choices=article_choices(rows), value=None),
                gr.update(choices=sources), gr.update(choices=categories), *chat_controls["refresh"](rows))

    def on_upload(files, progress=gr.Progress()):
        return upload_files(shared, files, progress)

    list_outputs = [table, picked, chat_controls["outlets"], chat_controls["categories"], chat_controls["notice"],
                    chat_controls["examples"]]
    # Writes go one at a time (they also take the index's write lock).
    index.click(on_upload, files, report, api_name="upload", concurrency_limit=1, concurrency_id="write").then(
        lists, None, list_outputs, api_visibility="private", concurrency_limit=None, show_progress="hidden")
    def on_delete(article_id):
        return delete_article(shared, article_id)

    delete.click(on_delete, picked, report, api_name="delete_article",
                 concurrency_limit=1, concurrency_id="write").then(
        lists, None, list_outputs, api_visibility="private", concurrency_limit=None, show_progress="hidden")
    refresh.click(lists, None, list_outputs, api_visibility="private", concurrency_limit=None)
    return lists, list_outputs
