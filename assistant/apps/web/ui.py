"""The web chat's page: tabs, the citation click handler, styles, and how it is mounted."""

from __future__ import annotations


from assistant.apps.web.chat import build_chat_tab
from assistant.apps.web.corpus import build_corpus_tab
from assistant.apps.web.evaluation import build_evaluation_tab, reports_dir
from assistant.apps.web.feeds import build_feeds_tab
from assistant.apps.web.quotes import build_quotes_tab

# Runs once on page load. A click on a marker rendered by render.cite_link (href "#cite-TURN-N";
# the chat's sanitizer drops data- attributes) is remembered in window.newsAssistantCite as
# "TURN:N" and the hidden "open citation" button is clicked (see chat.py); N 0 means all the
# answer's sources. A click on the copy button of the sources panel copies its Markdown; the chat's
# own copy button of a message copies its text (answer, markers, cited articles), not its HTML.
CITATION_JS = r"""
() => {
  if (window.newsAssistantCiteReady) return;
  window.newsAssistantCiteReady = true;
  const open = (link) => {
    const [, turn, n] = link.getAttribute('href').match(/^#cite-(\d+)-(\d+)$/);
    window.newsAssistantCite = `${turn}:${n}`;
    const holder = document.getElementById('cite-open');
    const button = holder && (holder.tagName === 'BUTTON' ? holder : holder.querySelector('button'));
    if (button) button.click();
  };
  // "Copy answer with citations as Markdown" (render.copy_markdown_html): the text of its textarea.
  const copy = async (button) => {
    const box = button.closest('.copy-markdown-box');
    const area = box && box.querySelector('textarea.answer-markdown');
    if (!area) return;
    let done = false;
    try {
      if (navigator.clipboard && window.isSecureContext) {
        await navigator.clipboard.writeText(area.value);
        done = true;
      }
    } catch (error) { done = false; }
    if (!done) {
      const details = box.querySelector('details');
      if (details) details.open = true;
      area.focus();
      area.select();
      try { done = document.execCommand('copy'); } catch (error) { done = false; }
    }
    window.newsAssistantCopied = area.value;
    button.textContent = done ? 'Copied ✓' : 'Select the text below and copy it';
    setTimeout(() => { button.textContent = 'Copy answer with citations as Markdown'; }, 2500);
  };
  // The chat's own "Copy message" button would copy a message's HTML: copy what the reader sees
  // instead — the caveat of an answer that is not a sure one, the answer with its [n] markers, and
  // the articles it cites (a question: its text).
  const plain = (el) => (el ? el.innerText : '').replace(/\u00a0/g, ' ').replace(/[ \t]+\n/g, '\n').trim();
  const messageText = (row) => {
    const answer = row.querySelector('.answer');
    if (!answer) return plain(row.querySelector('.message-content') || row);
    const parts = [answer.querySelector('.confidence'), answer.querySelector('.answer-text') || answer]
      .filter(Boolean).map(plain);
    const sources = [...row.querySelectorAll('.sources-list li')].map(plain).filter(Boolean);
    if (sources.length) parts.push('Sources:\n' + sources.join('\n'));
    return parts.filter(Boolean).join('\n\n');
  };
  const write = async (text) => {
    try {
      if (navigator.clipboard && window.isSecureContext) { await navigator.clipboard.writeText(text); return true; }
    } catch (error) { /* fall back below */ }
    const area = document.createElement('textarea');
    area.value = text;
    area.style.position = 'fixed';
    area.style.left = '-9999px';
    document.body.appendChild(area);
    area.select();
    let done = false;
    try { done = document.execCommand('copy'); } catch (error) { done = false; }
    area.remove();
    return done;
  };
  const copyMessage = async (button) => {
    const bar = button.closest('.message-buttons');
    const row = bar && bar.previousElementSibling;
    if (!row || !row.classList.contains('message-row')) return false;
    const text = messageText(row);
    window.newsAssistantCopied = text;
    const done = await write(text);
    const title = button.getAttribute('title');
    button.setAttribute('title', done ? 'Copied ✓' : 'Copy failed: select the text and copy it');
    setTimeout(() => button.setAttribute('title', title || 'Copy message'), 1500);
    return true;
  };
  document.addEventListener('click', (event) => {
    const target = event.target instanceof Element ? event.target : null;
    const button = target ? target.closest('button.copy-markdown') : null;
    if (button) {
      event.preventDefault();
      copy(button);
      return;
    }
    const own = target ? target.closest('#chat .message-buttons button[aria-label="Copy message"]') : null;
    if (own && own.closest('.message-buttons').previousElementSibling) {
      event.preventDefault();
      event.stopPropagation();
      copyMessage(own);
      return;
    }
    const link = target ? target.closest('a.cite[href^="#cite-"]') : null;
    if (!link) return;
    event.preventDefault();
    event.stopPropagation();
    open(link);
  }, true);
}
"""

CSS = """
a.cite, #chat a.cite { color: var(--link-text-color, #2563eb); font-weight: 600; text-decoration: none; cursor: pointer; padding: 0 1px; }
a.cite:hover, a.cite:focus { text-decoration: underline; }
#sources-panel mark { background: #fde68a; color: inherit; padding: 0 2px; border-radius: 2px; }
#sources-panel .meta, .sources-list .meta { opacity: .75; font-size: .9em; }
#sources-panel blockquote.passage { white-space: normal; border-left: 3px solid #d1d5db; padding-left: .75em; }
#sources-panel .span, #sources-panel .hint { font-size: .85em; opacity: .7; }
.sources-list { margin: .5em 0 0 1.2em; font-size: .9em; }
.answer .understood { font-size: .9em; opacity: .75; font-style: italic; margin: 0 0 .4em; }
.answer.error { color: #b91c1c; }
.answer .confidence { margin: 0 0 .4em; padding: .25em .6em; border-radius: 6px; font-size: .9em; }
.answer .confidence-label { font-weight: 600; }
.answer .confidence-low { background: #fef3c7; color: #78350f; border: 1px solid #fcd34d; }
.answer .confidence-none { background: #f3f4f6; color: #374151; border: 1px solid #d1d5db; }
.answer.pending { opacity: .85; }
.answer.stopped .note { font-size: .9em; opacity: .7; font-style: italic; }
#sources-panel .source-card { border: 1px solid #e5e7eb; border-radius: 8px; padding: .6em .8em; margin: 0 0 .8em; }
#sources-panel, #sources-panel .source-card, #sources-panel blockquote, #chat .answer, .sources-list { overflow-wrap: anywhere; min-width: 0; }
#sources-panel .source-card h4 { margin: 0 0 .2em; font-size: 1em; line-height: 1.3; }
#sources-panel .source-card .meta, #sources-panel .source-card .card-link { margin: 0 0 .2em; }
#sources-panel .source-card ul.cited { list-style: none; margin: .4em 0 0; padding: 0; }
#sources-panel .source-card ul.cited li { margin: .3em 0; padding-left: .5em; border-left: 3px solid #fde68a; }
#sources-panel .source-card .speaker { opacity: .75; font-size: .9em; }
#sources-panel .copy-markdown-box { margin-top: .5em; }
#sources-panel button.copy-markdown { border: 1px solid #d1d5db; border-radius: 6px; padding: .3em .7em; cursor: pointer; background: transparent; font-size: .85em; font-weight: normal; }
#sources-panel .copy-markdown-box summary { font-size: .85em; opacity: .75; cursor: pointer; }
#sources-panel textarea.answer-markdown { width: 100%; font-family: monospace; font-size: .85em; margin-top: .4em; }
#sources-panel .back { margin: 0 0 .5em; font-size: .9em; }
#index-notice .first-run { border: 1px solid #fcd34d; background: #fffbeb; color: #78350f; border-radius: 8px; padding: .5em .8em; }
#index-notice .first-run p { margin: .2em 0; }
#index-notice p.index-notice { font-size: .85em; opacity: .7; margin: 0; }
#eval-metrics table.metrics { border-collapse: collapse; font-size: .9em; margin: .5em 0; }
#eval-metrics table.metrics th, #eval-metrics table.metrics td { border: 1px solid #e5e7eb; padding: 3px 8px; }
#eval-metrics table.metrics td.num { text-align: right; font-variant-numeric: tabular-nums; }
#eval-charts .charts { display: flex; flex-wrap: wrap; gap: 1em; }
#eval-charts figure { margin: .5em 0; flex: 1 1 420px; min-width: 0; }
#eval-charts img { max-width: 100%; height: auto; display: block; }
#eval-misses details { border-left: 3px solid #c44e52; padding: .2em .8em; margin: .4em 0; }
#eval-misses summary { cursor: pointer; }
#eval-misses .meta { opacity: .7; font-size: .9em; }
table.articles { width: 100%; border-collapse: collapse; font-size: .9em; }
table.articles th, table.articles td { text-align: left; padding: 4px 6px; border-bottom: 1px solid #e5e7eb; }
table.articles td.num { text-align: right; }
#upload-report .errors { color: #b91c1c; }
#sources-panel .also-published { font-size: .85em; opacity: .8; margin: 0 0 .2em; }
table.feeds { width: 100%; border-collapse: collapse; font-size: .9em; }
table.feeds th, table.feeds td { text-align: left; padding: 4px 6px; border-bottom: 1px solid #e5e7eb; vertical-align: top; }
table.feeds td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.feeds tr.status-failed td.status, table.feeds td.error, #feed-report .errors, #feed-report .warn { color: #b91c1c; }
"""


def build_ui(shared, settings):
    """The Gradio Blocks of the web chat over a :class:`~assistant.web.shared.SharedAssistant`."""
    import gradio as gr

    with gr.Blocks(title="News assistant", analytics_enabled=False) as demo:
        gr.Markdown("## News assistant\nAnswers come only from the indexed articles; every sentence is cited.")
        with gr.Tabs():
            with gr.Tab("Chat", id="chat-tab"):
                chat_controls = build_chat_tab(shared, settings)
            build_quotes_tab(shared)  # who said what (assistant/apps/web/quotes.py)
            with gr.Tab("Corpus", id="corpus-tab"):
                refresh_lists, list_outputs = build_corpus_tab(shared, settings, chat_controls)
            with gr.Tab("Feeds", id="feeds-tab") as feeds_tab:
                feed_lists, feed_outputs = build_feeds_tab(shared, settings, feeds_tab, refresh_lists, list_outputs)
            with gr.Tab("Evaluation", id="evaluation-tab"):
                build_evaluation_tab(shared, settings)
        demo.load(refresh_lists, None, list_outputs, api_visibility="private", concurrency_limit=None,
                  show_progress="hidden")
        demo.load(feed_lists, None, feed_outputs, api_visibility="private", concurrency_limit=None,
                  show_progress="hidden")
    # Events without their own limit (cheap renders) share this one; answering and writing set theirs.
    demo.queue(default_concurrency_limit=4, max_size=64)
    return demo


def mount_options(settings) -> dict:
    """Keyword arguments for ``gr.mount_gradio_app``: page assets, limits, and the password if any."""
    options = dict(
        css=CSS, js=CITATION_JS, ssr_mode=False, mcp_server=False, footer_links=["api", "gradio"],
        max_file_size=int(settings.max_upload_mb * 2**20),  # bytes: Gradio cannot read "0.5mb" show_error=False,
        allowed_paths=[str(reports_dir(settings))],  # evaluation charts and reports, for display and download
    )
    if settings.api_key is not None:
        from assistant.apps.api.guards import password_check

        options["auth"] = password_check(settings.api_key.get_secret_value())  # slowed down after 5 failures
        options["auth_message"] = "Enter any user name and the server's API key as password."
    return options
