"""The Feeds tab: subscribe to RSS / Atom feeds, see each one's last fetch, refresh them, unsubscribe.

A tab of its own rather than part of Corpus: a feed is a standing subscription with a state
(last fetch, status, error) that the server's background refresh keeps changing, where an upload
is done once. The handlers only call the shared service (``add_feed``, ``refresh_feeds``,
``remove_feed``); fetching takes no lock, so questions go on while feeds are read.
"""

from __future__ import annotations

import logging

from assistant.apps.web import render
from assistant.errors import AssistantError

log = logging.getLogger(__name__)


def _no_progress(*_args, **_kwargs) -> None:
    pass


def feed_rows(shared) -> list[dict]:
    """The subscribed feeds as dicts (``FeedRecord.as_dict()``), oldest first."""
    return [feed.as_dict() for feed in shared.feeds()]


def feed_choices(rows: list[dict]) -> list[tuple[str, str]]:
    """(label, url) pairs for the remove picker; labels are shown as text by the dropdown."""
    return [(f"{r['title'][:80]} — {r['url']}" if r.get("title") else r["url"], r["url"]) for r in rows]


def add_feed(shared, url: str | None, progress=_no_progress) -> str:
    """Subscribe to ``url`` and fetch it now; what the fetch did, or why the address was refused."""
    url = (url or "").strip()
    if not url:
        return render.placeholder_html("Type a feed's address first, e.g. https://example.com/rss.xml.")
    known = any(feed.url == url for feed in shared.feeds())
    progress(0, desc=f"Fetching {url[:80]} and its articles")
    try:
        done = shared.add_feed(url, fetch=True)
    except AssistantError as exc:  # a bad address: the message says how to fix it
        return render.error_html(f"Cannot add this feed — {exc}")
    except Exception:
        log.exception("adding the feed %s failed", url)
        return render.error_html("Adding the feed failed; the server log has details.")
    again = render.placeholder_html("Already subscribed: fetched again now.") if known else ""
    return again + render.feed_refresh_html([done.as_dict()])


def refresh_all(shared, progress=_no_progress) -> str:
    """Fetch every subscribed feed again, one after the other (progress per feed); what each did."""
    feeds = shared.feeds()
    if not feeds:
        return render.feed_refresh_html([])
    done, problem = [], ""
    for i, feed in enumerate(feeds):
        progress((i, len(feeds)), desc=f"Fetching {(feed.title or feed.url)[:80]}", unit="feeds")
        try:
            done += shared.refresh_feeds([feed.url])  # [] when it was removed meanwhile
        except AssistantError as exc:
            problem = render.error_html(f"Refreshing stopped at {feed.url} — {exc}")
            break
        except Exception:
            log.exception("refreshing the feed %s failed", feed.url)
            problem = render.error_html(f"Refreshing stopped at {feed.url}; the server log has details.")
            break
    return render.feed_refresh_html([d.as_dict() for d in done]) + problem


def remove_feed(shared, url: str | None) -> str:
    if not url:
        return render.placeholder_html("Pick a feed to remove.")
    if shared.remove_feed(url):
        return (f'<p class="ok">Unsubscribed from <code>{render.esc(url)}</code>; the articles it brought stay '
                "indexed (delete them in the Corpus tab).</p>")
    return render.error_html(f"{url} is not a subscribed feed; the list below shows them.")


def build_feeds_tab(shared, settings, tab, refresh_lists, list_outputs):
    """Lay out the Feeds tab inside ``tab``; after a fetch, ``refresh_lists`` updates ``list_outputs``
    (the Corpus table, the chat's outlet filter, notice and examples). Returns the function that
    renders the feed list and its outputs."""
    import gradio as gr

    every = (f" `assistant serve` also refreshes them every {settings.feed_refresh_minutes:g} minutes "
             "(`ASSISTANT_FEED_REFRESH_MINUTES`)." if settings.feed_refresh_minutes > 0 else "")
    gr.Markdown("Subscribe to an RSS or Atom feed: its items' article pages are fetched and indexed now, and "
                f"only what is new or changed at each refresh.{every}")
    with gr.Row():
        url = gr.Textbox(label="Feed URL", placeholder="https://example.com/rss.xml", elem_id="feed-url", scale=4,
                         max_lines=1)
        add = gr.Button("Add feed", variant="primary", elem_id="feed-add", scale=1)
    report = gr.HTML(elem_id="feed-report", js_on_load=None)
    gr.Markdown("### Subscribed feeds")
    table = gr.HTML(elem_id="feeds-table", js_on_load=None)
    with gr.Row():
        picked = gr.Dropdown([], label="Feed to remove", elem_id="feed-pick", scale=4, allow_custom_value=True)
        remove = gr.Button("Remove feed", variant="stop", elem_id="feed-remove", scale=1)
        refresh = gr.Button("Refresh all", elem_id="feeds-refresh", scale=1)

    def lists():
        rows = feed_rows(shared)
        return render.feeds_html(rows), gr.update(choices=feed_choices(rows), value=None)

    def on_add(address, progress=gr.Progress()):
        return add_feed(shared, address, progress)

    def on_refresh(progress=gr.Progress()):
        return refresh_all(shared, progress)

    def on_remove(address):
        return remove_feed(shared, address)

    outputs = [table, picked]
    quiet = dict(api_visibility="private", concurrency_limit=None, show_progress="hidden")
    # One fetch at a time (the service refreshes one at a time anyway); uploads are not held up.
    fetching = dict(concurrency_limit=1, concurrency_id="feeds")
    for trigger, api in ((add.click, dict(api_name="add_feed")), (url.submit, dict(api_visibility="undocumented"))):
        trigger(on_add, url, report, **api, **fetching).then(lists, None, outputs, **quiet).then(
            refresh_lists, None, list_outputs, **quiet)
    refresh.click(on_refresh, None, report, api_name="refresh_feeds", **fetching).then(
        lists, None, outputs, **quiet).then(refresh_lists, None, list_outputs, **quiet)
    remove.click(on_remove, picked, report, api_name="remove_feed", concurrency_limit=None).then(
        lists, None, outputs, **quiet)
    tab.select(lists, None, outputs, **quiet)  # the background refresh may have changed them
    return lists, outputs
