"""Live news: feeds and article pages fetched over HTTP, subscriptions, syndicated copies.

- ``fetch``: polite HTTP (timeouts, size limit, per-host delay, conditional requests, bounded redirects).
- ``feeds``: RSS 2.0 / Atom parsed into items (feedparser).
- ``pages``: an article page's main text and metadata (trafilatura, htmldate).
- ``syndication``: exact and near-duplicate copies of one story grouped (MinHash over shingles).
- ``subscriptions``: the feeds saved beside the index, with what each fetch found.
- ``sources``: URLs and feed files turned into articles, one outcome per item.
"""

from pathlib import Path

FEED_SUFFIXES = (".xml", ".rss", ".atom")


def is_live_source(source: str | Path) -> bool:
    """True for an http(s) URL or a local feed file (.xml, .rss, .atom): what ``assistant.live`` reads."""
    text = str(source)
    return text.lower().startswith(("http://", "https://")) or Path(text).suffix.lower() in FEED_SUFFIXES
