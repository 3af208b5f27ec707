"""HTML for the web chat. Article text, titles and metadata are untrusted: every piece of them
goes through :func:`esc`, links only when they are http(s), and the only markup is ours.

Citation markers become ``<a class="cite" href="#cite-TURN-N">[N]</a>``; a click handler in the
page (``ui.CITATION_JS``) turns a click on one into the chat's "open citation" event.
"""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

from assistant.answer.quotations import display_quote
from assistant.apps.outcome import outcome_of
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
    """'outlet · author · date' of a citation, passage or article row, escaped; only what is known."""
    get = item.get if isinstance(item, dict) else lambda name: getattr(item, name, None)
    parts = [get("source"), get("author"), (get("published_at") or "")[:10]]
    return " · ".join(esc(p) for p in parts if p)


def link_html(url: str | None, label: str | None = None) -> str:
    """An http(s) link opening in a new tab, or the address printed as text, or nothing."""
    safe = safe_url(url)
    if safe:
        return (f'<a class="source-link" href="{esc(safe)}" target="_blank" rel="noopener noreferrer nofollow">'
                f"{esc(label or safe)}</a>")
    return f'<span class="source-link">{esc(url)}</span>' if url else ""


def understood_as(answer: Answer) -> str | None:
    """The question as the assistant understood it, when a follow-up was rewritten; else None."""
    followup = answer.trace.get("followup") or {}
    standalone = (answer.trace.get("standalone_question") or "").strip()
    if followup.get("how", "unchanged") == "unchanged" or not standalone:
        return None
    return standalone if standalone != (answer.question or "").strip() else None


def understood_html(answer: Answer) -> str:
    shown = understood_as(answer)
    return f'<p class="understood">Understood as: “{esc(shown)}”</p>' if shown else ""


def linked_markers(text: str, turn: int, known: set[int]) -> str:
    """Escaped text with its known ``[n]`` markers as citation links."""
    def marker(match: re.Match) -> str:
        n = int(match.group(1))
        return cite_link(turn, n) if n in known else match.group(0)

    return _MARKER.sub(marker, text_html(text))


def cited_articles(answer: Answer, shown: set[int] | None = None) -> list[list[Citation]]:
    """The citations grouped by article, articles in the order first cited, each group by number;
    ``shown`` keeps only those numbers (while an answer streams in)."""
    groups: dict[str, list[Citation]] = {}
    for citation in sorted(answer.citations, key=lambda c: c.n):
        if shown is None or citation.n in shown:
            groups.setdefault(citation.article_id, []).append(citation)
    return list(groups.values())


def confidence_html(answer: Answer) -> str:
    """The caveat above an answer that is not a sure one: "Low confidence — what the passages lack"
    for the closest passages, "Not answered — why" for a decline; nothing for a sure answer."""
    outcome = outcome_of(answer)
    if outcome.confidence == "high":
        return ""
    label, reason = outcome.parts()
    why = f' <span class="confidence-reason">{esc(reason)}</span>' if reason else ""
    return (f'<p class="confidence confidence-{esc(outcome.confidence)}">'
            f'<span class="confidence-label">{esc(label)}</span>{why}</p>')


def answer_html(answer: Answer, turn: int) -> str:
    """The chat message: how a follow-up was understood, the caveat of an answer that is not a sure
    one, the answer with clickable markers, then one line per cited article with its markers."""
    body = f'<div class="answer-text">{linked_markers(answer.answer, turn, {c.n for c in answer.citations})}</div>'
    head = understood_html(answer) + confidence_html(answer)
    if answer.abstained or not answer.citations:
        return f'<div class="answer abstained">{head}{body}</div>'
    if answer.confidence == "low":
        return f'<div class="answer low-confidence">{head}{body}</div>{sources_list_html(answer, turn)}'
    return f'<div class="answer">{head}{body}</div>{sources_list_html(answer, turn)}'


def sources_list_html(answer: Answer, turn: int) -> str:
    """Under an answer: one line per cited article, its markers, title and what is known of it."""
    items = "".join(
        f"<li>{' '.join(cite_link(turn, c.n) for c in group)} {esc(group[0].title)}"
        + (f' <span class="meta">— {meta_line(group[0])}</span>' if meta_line(group[0]) else "") + "</li>"
        for group in cited_articles(answer)
    )
    return f'<ul class="sources-list">{items}</ul>'


def pending_html(text: str, answer: Answer | None = None, turn: int | None = None) -> str:
    """A streamed answer while it is still being written (markers linked once the answer is known)."""
    head = understood_html(answer) + confidence_html(answer) if answer is not None else ""
    shown = (linked_markers(text, turn, {c.n for c in answer.citations})
             if answer is not None and turn is not None else text_html(text))
    return f'<div class="answer pending">{head}<div class="answer-text">{shown}</div></div>'


def stopped_html(text: str) -> str:
    """An answer the user stopped: what was written so far, marked as stopped."""
    written = f'<div class="answer-text">{text_html(text)}</div>' if text.strip() else ""
    return f'<div class="answer stopped">{written}<p class="note">Stopped — ask again for the full answer.</p></div>'


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
    link = link_html(citation.url)
    meta = meta_line(citation)
    others = " ".join(cite_link(turn, c.n) for c in answer.citations if c.n != n)
    return (
        f'<p class="back">{cite_link(turn, 0, "← All sources of this answer")}</p>'
        f'<article class="citation" data-n="{n}">'
        f'<h3><span class="num">[{n}]</span> {esc(citation.title)}</h3>'
        + (f'<p class="meta">{meta}</p>' if meta else "")
        + f"{speaker_line(citation)}"
        f"{f'<p>{link}</p>' if link else ''}"
        f"{also_published_html(citation.also_published_by)}"
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


def source_card_html(group: list[Citation], turn: int) -> str:
    """One cited article: title (linked when http(s)), what is known of outlet, author and date,
    its link, and the sentences the answer cites from it with their numbers."""
    first = group[0]
    url = safe_url(first.url)
    title = (f'<a class="card-title-link" href="{esc(url)}" target="_blank" rel="noopener noreferrer nofollow">'
             f"{esc(first.title)}</a>" if url else esc(first.title))
    meta = meta_line(first)
    link = link_html(first.url, urlsplit(url).netloc if url else None)
    quotes = "".join(
        f'<li>{cite_link(turn, c.n)} <span class="quote">{esc(c.quote)}</span>'
        + (f' <span class="speaker">— {esc(c.speaker)}</span>' if c.speaker else "") + "</li>"
        for c in group
    )
    return (f'<article class="source-card">'
            f'<h4 class="card-title">{title}</h4>'
            + (f'<p class="meta">{meta}</p>' if meta else "")
            + (f'<p class="card-link">{link}</p>' if link else "")
            + also_published_html(first.also_published_by)
            + f'<ul class="cited">{quotes}</ul></article>')


def answer_markdown(answer: Answer) -> str:
    """The answer with its ``[n]`` markers (under the caveat when it is not a sure answer) and,
    under it, each citation: the quoted words, then title, outlet, author, date and link as far as
    they are known."""
    outcome = outcome_of(answer)
    lines = [f"**{outcome.label}**" + (f": {outcome.reason}" if outcome.reason else "."), ""] \
        if outcome.confidence != "high" else []
    lines.append(answer.answer.strip())
    if answer.citations:
        lines += ["", "Sources:", ""]
    for c in sorted(answer.citations, key=lambda c: c.n):
        known = [c.source, c.author, (c.published_at or "")[:10] or None]
        where = ", ".join(part for part in known if part)
        url = safe_url(c.url)
        lines.append(f"[{c.n}] {quoted(c.quote)} — {' '.join(c.title.split())}" + (f", {where}" if where else "")
                     + (f", <{url}>" if url else ""))
    return "\n".join(lines) + "\n"


def quoted(sentence: str) -> str:
    """A cited sentence in quotation marks, on one line: “…” around a sentence without marks of its
    own; one that has some keeps them, balanced ("…Therefore, … regard,” Zhelikhovsky said.),
    never doubled (… regard,” Zhelikhovsky said.”)."""
    sentence = " ".join(sentence.split())
    if any(mark in sentence for mark in '“”"'):
        return display_quote(sentence)
    return f"“{sentence}”"


def copy_markdown_html(answer: Answer) -> str:
    """A button that copies the answer with citations as Markdown (ui.CITATION_JS), and the text."""
    return ('<div class="copy-markdown-box">'
            '<button type="button" class="copy-markdown">Copy answer with citations as Markdown</button>'
            '<details><summary>Show the Markdown</summary>'
            f'<textarea class="answer-markdown" readonly rows="8">{esc(answer_markdown(answer))}</textarea>'
            "</details></div>")


def sources_overview_html(answer: Answer, turn: int, shown: set[int] | None = None) -> str:
    """The sources panel of an answer: one card per cited article; ``shown`` keeps only those
    citation numbers (the panel fills in as a streamed answer cites them)."""
    if not answer.citations:
        return placeholder_html("No passages cited.")
    groups = cited_articles(answer, shown)
    if not groups:
        return placeholder_html("Writing the answer…")
    cards = "".join(source_card_html(group, turn) for group in groups)
    done = shown is None or shown >= {c.n for c in answer.citations}
    count = len(cited_articles(answer))
    closest = "The closest passages found, not a sure answer: " if answer.confidence == "low" else ""
    hint = (f'<p class="hint">{closest}{count} article{"s" if count != 1 else ""} cited. '
            "Click a number to read the sentence in its passage.</p>")
    return hint + cards + (copy_markdown_html(answer) if done else "")


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


def index_count_html(articles: int) -> str:
    """The notice while the page loads: how many articles are indexed (the load event replaces it
    with :func:`index_notice_html`)."""
    return f'<p class="index-notice">{articles:,} article{"s" if articles != 1 else ""} indexed.</p>'


def index_notice_html(rows: list[dict], bundled_only: bool, data_dir: str, suffixes: tuple[str, ...]) -> str:
    """What the chat can answer from: an empty index or only the bundled sample article is said
    plainly, with how to add news; otherwise one line of what is indexed."""
    how = ("Add news: upload article files (" + ", ".join(esc(s) for s in suffixes) + ") in the "
           "<strong>Corpus</strong> tab, or run <code>assistant ingest FOLDER</code> and reload this page.")
    if not rows:
        return (f'<div class="index-notice first-run"><p><strong>The index is empty</strong> '
                f"(<code>{esc(data_dir)}</code>): there is nothing to answer from yet.</p><p>{how}</p></div>")
    if bundled_only:
        titles = "; ".join(f"“{esc(r['title'])}”" for r in rows)
        return (f'<div class="index-notice first-run"><p><strong>Only the bundled sample article is indexed</strong>: '
                f"{titles}. Questions are answered from it alone.</p><p>{how}</p></div>")
    outlets = len({r["source"] for r in rows if r.get("source")})
    dates = sorted((r.get("published_at") or "")[:10] for r in rows if r.get("published_at"))
    span = f", published {esc(dates[0])} to {esc(dates[-1])}" if dates else ""
    return (f'<p class="index-notice">{len(rows)} article{"s" if len(rows) != 1 else ""} indexed from {outlets} '
            f'outlet{"s" if outlets != 1 else ""}{span}.</p>')


# --- live news: other outlets' copies, subscribed feeds, what a refresh did ---------------------


def also_published_html(copies) -> str:
    """'Also published by: Outlet (date), …' for a cited story's copies in other outlets (each a
    ``PublishedCopy`` or its dict), the outlet linked when its copy's address is http(s)."""
    shown = []
    for copy in copies or []:
        get = copy.get if isinstance(copy, dict) else (lambda name, c=copy: getattr(c, name, None))
        url = safe_url(get("url"))
        name = get("source") or (urlsplit(url).netloc if url else None) or "another outlet"
        label = (f'<a class="copy-link" href="{esc(url)}" target="_blank" rel="noopener noreferrer nofollow">'
                 f"{esc(name)}</a>" if url else esc(name))
        date = (get("published_at") or "")[:10]
        shown.append(label + (f" ({esc(date)})" if date else ""))
    return f'<p class="also-published">Also published by: {", ".join(shown)}</p>' if shown else ""


FEED_STATUS = {"ok": "ok", "not modified": "not modified", "failed": "failed", None: "never fetched"}


def feeds_html(feeds: list[dict]) -> str:
    """The subscribed feeds (``FeedRecord.as_dict()`` rows) as a table: feed, last fetch, status,
    items, new, failed, error."""
    if not feeds:
        return placeholder_html("No feeds yet. Add a feed's address above (RSS or Atom).")
    rows = []
    for f in feeds:
        status = f.get("last_status")
        title = f'<span class="feed-title">{esc(f["title"])}</span><br>' if f.get("title") else ""
        fetched = esc((f.get("last_fetch_at") or "").replace("T", " ").replace("Z", " UTC")) or "—"
        rows.append(
            f'<tr class="feed status-{esc((status or "never").replace(" ", "-"))}">'
            f'<td>{title}<span class="feed-url">{link_html(f["url"])}</span></td>'
            f"<td>{fetched}</td><td class='status'>{esc(FEED_STATUS.get(status, status))}</td>"
            f"<td class='num items'>{int(f.get('items') or 0)}</td>"
            f"<td class='num new'>{int(f.get('new_items') or 0)}</td>"
            f"<td class='num failed'>{int(f.get('failed_items') or 0)}</td>"
            f"<td class='error'>{esc(f.get('last_error') or '')}</td></tr>")
    return ('<table class="feeds"><thead><tr><th>Feed</th><th>Last fetch</th><th>Status</th><th>Items</th>'
            f'<th>New</th><th>Failed</th><th>Error</th></tr></thead><tbody>{"".join(rows)}</tbody></table>')


def feed_refresh_html(refreshes: list[dict]) -> str:
    """What adding or refreshing feeds did (``FeedRefresh.as_dict()`` each): per feed its outcome
    and counts, then every item that failed with its address and reason."""
    if not refreshes:
        return placeholder_html("No feeds to refresh. Add a feed's address above.")
    blocks = []
    for r in refreshes:
        report = r.get("report") or {}
        name = esc(r.get("title") or r["url"])
        if r.get("last_status") == "failed":
            blocks.append(f'<div class="feed-outcome failed"><p class="warn">✗ <strong>{name}</strong>: '
                          f'{esc(r.get("last_error") or "could not be read")}. What it brought before stays '
                          "indexed.</p></div>")
            continue
        if r.get("last_status") == "not modified":
            head = "not modified since the last fetch; nothing fetched or embedded again."
        else:
            head = (f"{int(r.get('items') or 0)} items: {int(r.get('new_items') or 0)} new or changed, "
                    f"{int(report.get('unchanged') or 0)} unchanged, {int(report.get('duplicates') or 0)} copies "
                    f"of indexed articles, {int(r.get('failed_items') or 0)} failed; "
                    f"{int(report.get('chunks_embedded') or 0)} chunk(s) embedded "
                    f"in {float(report.get('seconds') or 0):.1f}s.")
        failed = [item for item in report.get("items") or [] if item.get("status") == "failed"]
        errors = "".join(f"<li>{link_html(item.get('url') or item.get('origin'))}: "
                         f"{esc(item.get('reason') or 'failed')}</li>" for item in failed)
        state = "warn" if failed else "ok"
        blocks.append(f'<div class="feed-outcome {state}"><p class="{state}">✓ <strong>{name}</strong>: '
                      f"{esc(head)}</p>" + (f'<ul class="errors">{errors}</ul>' if errors else "") + "</div>")
    return "".join(blocks)
