"""``assistant feeds add|list|remove|refresh`` and ``assistant articles``."""

from __future__ import annotations

import json
import sys

import click

from assistant.apps.cli_context import command_assistant

from assistant.apps.cli_errors import EXIT_ERROR, EXIT_FAILED_RECORDS, handle_errors


def _progress(as_json: bool):
    return None if as_json else (lambda url: click.echo(f"Fetching {url}", err=True))


def _echo_refresh(done) -> None:
    """One block per feed: its status, what the refresh added, and every item that failed."""
    for refresh in done:
        feed, report = refresh.feed, refresh.report
        title = f" — {feed.title}" if feed.title else ""
        if feed.last_status == "failed":
            click.echo(f"✗ {feed.url}{title}: {feed.last_error} (what it brought before stays indexed)")
            continue
        state = "not modified since the last fetch" if feed.last_status == "not modified" else \
            f"{feed.items} items: {feed.new_items} new or changed, {report.unchanged} unchanged, " \
            f"{report.duplicates} copies of indexed articles, {feed.failed_items} failed"
        click.echo(f"✓ {feed.url}{title}: {state}")
        for item in report.items:
            if item["status"] == "failed":
                click.echo(f"    ✗ {item['url'] or item['origin']}: {item['reason']}")


@click.group("feeds")
def feeds_command():
    """Subscribe to RSS / Atom feeds; 'assistant serve' refreshes them every ASSISTANT_FEED_REFRESH_MINUTES."""


@feeds_command.command("add")
@click.argument("url")
@click.option("--no-fetch", is_flag=True, help="Only subscribe; fetch at the next refresh.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@handle_errors
def feeds_add(url, no_fetch, as_json):
    """Subscribe to the feed at URL and index its items now."""
    assistant = command_assistant()
    if no_fetch:  # the feed itself is still fetched once: only a feed is subscribed
        record = assistant.add_feed(url, fetch=False)
        click.echo(json.dumps(record.as_dict(), indent=2) if as_json else f"Subscribed to {record.url}.")
        return
    done = [assistant.add_feed(url, progress=_progress(as_json))]
    if as_json:
        click.echo(json.dumps(done[0].as_dict(), indent=2, ensure_ascii=False))
    else:
        _echo_refresh(done)
    if done[0].feed.last_status == "failed" or done[0].report.failed:
        sys.exit(EXIT_FAILED_RECORDS)


@feeds_command.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@handle_errors
def feeds_list(as_json):
    """The subscribed feeds with their last fetch."""
    feeds = command_assistant().feeds()
    if as_json:
        click.echo(json.dumps([f.as_dict() for f in feeds], indent=2, ensure_ascii=False))
        return
    if not feeds:
        click.echo("No feeds. Subscribe with: assistant feeds add https://example.com/rss.xml")
    for f in feeds:
        last = (f"last fetched {f.last_fetch_at}: {f.last_status}"
                + (f" ({f.last_error})" if f.last_error else f", {f.items} items, {f.new_items} new")
                if f.last_fetch_at else "never fetched")
        click.echo(f"{f.url}" + (f" — {f.title}" if f.title else "") + f"\n    {last}")


@feeds_command.command("remove")
@click.argument("url")
@handle_errors
def feeds_remove(url):
    """Unsubscribe from URL (the articles it brought stay indexed)."""
    if not command_assistant().remove_feed(url):
        click.echo(f"Error: {url} is not a subscribed feed; 'assistant feeds list' shows them.", err=True)
        sys.exit(EXIT_ERROR)
    click.echo(f"Unsubscribed from {url}; the articles it brought stay indexed.")


@feeds_command.command("refresh")
@click.argument("urls", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@handle_errors
def feeds_refresh(urls, as_json):
    """Fetch every subscribed feed (or only URLS) once and index what is new or changed."""
    assistant = command_assistant()
    known = {f.url for f in assistant.feeds()}
    unknown = [u for u in urls if u not in known]
    if unknown:
        click.echo(f"Error: {unknown[0]} is not a subscribed feed; add it with 'assistant feeds add'.", err=True)
        sys.exit(EXIT_ERROR)
    done = assistant.refresh_feeds(list(urls) or None, progress=_progress(as_json))
    if as_json:
        click.echo(json.dumps([d.as_dict() for d in done], indent=2, ensure_ascii=False))
    elif not done:
        click.echo("No feeds. Subscribe with: assistant feeds add https://example.com/rss.xml")
    else:
        _echo_refresh(done)
    if any(d.feed.last_status == "failed" or d.report.failed for d in done):
        sys.exit(EXIT_FAILED_RECORDS)


@click.command("articles")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@handle_errors
def articles_command(as_json):
    """List the indexed articles, newest first, with other outlets' copies of each story."""
    rows = command_assistant().articles(duplicates=True)
    keys = ("article_id", "title", "source", "author", "published_at", "url", "category", "chunks", "duplicates")
    if as_json:
        click.echo(json.dumps([{k: row.get(k) for k in keys} for row in rows], indent=2, ensure_ascii=False))
        return
    if not rows:
        click.echo("No articles indexed. Add some with: assistant ingest FOLDER_OR_URL")
    for row in rows:
        where = ", ".join(x for x in [row["source"], (row["published_at"] or "undated")[:10]] if x)
        click.echo(f"{row['article_id']}  {row['title']} ({where}; {row['chunks']} chunks)")
        for copy in row["duplicates"]:
            click.echo(f"    also published by {copy['source'] or 'unknown outlet'}"
                       f" ({(copy['published_at'] or 'undated')[:10]}) {copy['url'] or ''}".rstrip())
    click.echo(f"{len(rows)} articles.")
