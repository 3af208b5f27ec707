"""Answers rendered for the chat. Article text is untrusted: everything from it is escaped."""

from __future__ import annotations

import html

from ..models import Answer


def esc(text: str | None) -> str:
    """Escape for HTML and neutralise Markdown so article text shows as plain text."""
    escaped = html.escape(text or "", quote=True)
    for ch in "\\`*_[]{}()#+!|<>~":
        escaped = escaped.replace(ch, "\\" + ch) if ch not in "<>" else escaped
    return escaped


def answer_markdown(answer: Answer) -> str:
    """The chat message: the answer, then a numbered list of the cited sources."""
    body = esc(answer.answer)
    # Citation markers were escaped to \[n\]; show them as plain [n] again.
    for c in answer.citations:
        body = body.replace(f"\\[{c.n}\\]", f"**[{c.n}]**")
    if answer.abstained or not answer.citations:
        return body
    lines = [body, "", "**Sources**"]
    for c in answer.citations:
        meta = " · ".join(esc(x) for x in [c.source, c.author, (c.published_at or "")[:10]] if x)
        lines.append(f"{c.n}. *{esc(c.title)}*" + (f" — {meta}" if meta else ""))
    return "\n".join(lines)


def passages_markdown(answer: Answer) -> str:
    """The cited passages with their metadata, the quoted sentences in bold."""
    if not answer.citations:
        return "_No passages cited._"
    blocks = []
    for c in answer.citations:
        passage = next((p for p in answer.passages if p.chunk_id == c.chunk_id), None)
        meta = " · ".join(esc(x) for x in [c.source, c.author, (c.published_at or "")[:10]] if x)
        head = f"**[{c.n}] {esc(c.title)}**" + (f"  \n{meta}" if meta else "")
        if c.url:
            head += f"  \n{esc(c.url)}"
        if passage is not None:
            lo, hi = c.start - passage.start, c.end - passage.start
            text = f"{esc(passage.text[:lo])}**{esc(passage.text[lo:hi])}**{esc(passage.text[hi:])}"
        else:
            text = f"**{esc(c.quote)}**"
        blocks.append(f"{head}\n\n> {text}\n\n<sub>characters {c.start}–{c.end} of the article</sub>")
    return "\n\n---\n\n".join(blocks)
