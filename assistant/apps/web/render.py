"""HTML for the web chat. Article text, titles and metadata are untrusted: every piece of them
goes through :func:`esc`, links only when they are http(s), and the only markup is ours.

Citation markers become ``<a class="cite" href="#cite-TURN-N">[N]</a>``; a click handler in the
page (``ui.CITATION_JS``) turns a click on one into the chat's "open citation" event.
"""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

from assistant.models import Answer, Citation, Passage

_MARKER = re.compile(r"\[(\d{1,3})\]")


def esc(text: object) -> str:
    """Text shown as text: HTML special characters escaped, quotes included."""
    return html.escape("" if text is None else str(text), quote=True)


def text_html(text: str | None) -> str:
    """Escaped text with its line breaks kept."""
    return esc(text).replace("\n", "<br>")


def safe_url(url: str | None) -> str | None:
    """The URL if it is a plain http(s) link (no ``javascript:`` and the like), else None."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    return url.strip() if parts.scheme in ("http", "https") and parts.netloc else None


def cite_link(turn: int, n: int, label: str | None = None) -> str:
    return f'<a class="cite" href="#cite-{turn}-{n}" title="Show source {n}">{label or f"[{n}]"}</a>'


def meta_line(item: Citation | Passage | dict) -> str:
    """'outlet · author · date' of a citation, passage or article row, escaped."""
    get = item.get if isinstance(item, dict) else lambda name: getattr(item, name, None)
    parts = [get("source"), get("author"), (get("published_at") or "")[:10]]
    return " · ".join(esc(p) for p in parts if p)


def answer_html(answer: Answer, turn: int) -> str:
    """The chat message: the answer with clickable markers, then the list of its sources."""
    known = {c.n for c in answer.citations}

    def marker(match: re.Match) -> str:
        n = int(match.group(1))
        return cite_link(turn, n) if n in known else match.group(0)

    body = _MARKER.sub(marker, text_html(answer.answer))
    if answer.abstained or not answer.citations:
        return f'<div class="answer abstained">{body}</div>'
    items = "".join(
        f"<li>{cite_link(turn, c.n)} {esc(c.title)}"
        + (f' <span class="meta">— {meta_line(c)}</span>' if meta_line(c) else "") + "</li>"
        for c in answer.citations
    )
    return f'<div class="answer">{body}</div><ol class="sources-list">{items}</ol>'


def pending_html(text: str) -> str:
    """A streamed answer while it is still being written."""
    return f'<div class="answer pending">{text_html(text)}</div>'


def error_html(message: str) -> str:
    return f'<div class="answer error">{esc(message)}</div>'


def highlighted_passage(citation: Citation, passage: Passage | None) -> str:
    """The passage with the quoted sentence inside ``<mark>``; the quote alone if it is not there."""
    if passage is not None:
        lo, hi = citation.start - passage.start, citation.end - passage.start
        if not (0 <= lo < hi <= len(passage.text)) or passage.text[lo:hi] != citation.quote:
            lo = passage.text.find(citation.quote)
            hi = lo + len(citation.quote)
        if lo >= 0 and citation.quote:
            text = passage.text
            return f"{text_html(text[:lo])}<mark>{text_html(text[lo:hi])}</mark>{text_html(text[hi:])}"
    return f"<mark>{text_html(citation.quote)}</mark>"


def citation_html(answer: Answer, n: int, turn: int) -> str:
    """The sources panel for citation ``n`` of an answer: metadata, link, highlighted passage."""
    citation = next((c for c in answer.citations if c.n == n), None)
    if citation is None:
        return placeholder_html(f"This answer has no source [{n}].")
    passage = next((p for p in answer.passages if p.chunk_id == citation.chunk_id), None)
    url = safe_url(citation.url)
    link = (f'<a class="source-link" href="{esc(url)}" target="_blank" rel="noopener noreferrer nofollow">'
            f"{esc(url)}</a>" if url else (f'<span class="source-link">{esc(citation.url)}</span>' if citation.url else ""))
    others = " ".join(cite_link(turn, c.n) for c in answer.citations if c.n != n)
    return (
        f'<article class="citation" data-n="{n}">'
        f'<h3><span class="num">[{n}]</span> {esc(citation.title)}</h3>'
        f'<p class="meta">{meta_line(citation) or "outlet, author and date unknown"}</p>'
        f"{speaker_line(citation)}"
        f"{f'<p>{link}</p>' if link else ''}"
        f'<blockquote class="passage">{highlighted_passage(citation, passage)}</blockquote>'
        f'<p class="span">Quoted characters {citation.start}–{citation.end} of the article.</p>'
        + (f'<p class="others">Other sources of this answer: {others}</p>' if others else "")
        + "</article>"
    )


def speaker_line(citation: Citation) -> str:
    """'Said by NAME, ROLE' when the quote is someone's words."""
    if not citation.speaker:
        return ""
    role = f", {esc(citation.speaker_role)}" if citation.speaker_role else ""
    return f'<p class="speaker">Said by {esc(citation.speaker)}{role}</p>'


def sources_overview_html(answer: Answer, turn: int) -> str:
    """The sources panel right after an answer: each cited sentence, click to see it in context."""
    if not answer.citations:
        return placeholder_html("No passages cited.")
    items = "".join(
        f'<li>{cite_link(turn, c.n)} <strong>{esc(c.title)}</strong>'
        + (f' <span class="meta">{meta_line(c)}</span>' if meta_line(c) else "")
        + f'<br><q>{esc(c.quote)}</q></li>'
        for c in answer.citations
    )
    return f'<p class="hint">Click a marker to read the passage.</p><ol class="overview">{items}</ol>'


def placeholder_html(message: str) -> str:
    return f'<p class="placeholder">{esc(message)}</p>'


def articles_html(rows: list[dict]) -> str:
    """The indexed articles as a table (title, outlet, date, chunks)."""
    if not rows:
        return placeholder_html("The index is empty. Upload articles above.")
    body = "".join(
        f"<tr><td>{esc(r['title'])}</td><td>{esc(r.get('source') or '')}</td>"
        f"<td>{esc((r.get('published_at') or '')[:10])}</td><td class='num'>{int(r['chunks'])}</td>"
        f"<td><code>{esc(r['id'])}</code></td></tr>"
        for r in rows
    )
    return ('<table class="articles"><thead><tr><th>Title</th><th>Outlet</th><th>Date</th><th>Chunks</th>'
            f"<th>Id</th></tr></thead><tbody>{body}</tbody></table>")


def ingest_report_html(data: dict) -> str:
    """An upload's result: counts, then one line per file or record that failed."""
    head = (f"{data['added']} new, {data['updated']} changed, {data['unchanged']} unchanged articles "
            f"from {data['files']} file(s); {data['chunks_embedded']} chunks embedded in {data['seconds']:.1f}s.")
    if not data["errors"]:
        return f'<p class="ok">{esc(head)}</p>'
    errors = "".join(
        f"<li><code>{esc(e['where'])}</code>: {esc(e['problem'])}"
        + (f" <em>({esc(e['fix'])})</em>" if e.get("fix") else "") + "</li>"
        for e in data["errors"]
    )
    return f'<p class="warn">{esc(head)} {len(data["errors"])} failed:</p><ul class="errors">{errors}</ul>'
