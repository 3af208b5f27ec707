"""Write an extractive answer from chosen sentences: who said it, when, and from which outlet.

Each chosen sentence becomes one answer sentence ending in its citation ``[n]``; the citation
keeps the verbatim sentence and its character span. Speech is attributed in the text
("Stanislav Zhelikhovsky (… expert) said: “…”", "Zhelikhovsky noted that …") unless the sentence
already names its speaker. Sentences are grouped by article (outlet and date) when they come
from more than one: each group opens with "<Outlet> (as of <date>)" and the newest group is
marked "latest" when the dates differ.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from assistant.models import Citation, Passage
from assistant.answer.attribution import Attribution

_OPEN, _CLOSE = "“", "”"
MAX_ROLE = 70


@dataclass
class Chosen:
    """A sentence picked for the answer, with where it is and who speaks in it."""

    passage: Passage
    start: int
    end: int
    text: str
    score: float
    attribution: Attribution
    role: str | None = None


@dataclass
class Composed:
    paragraphs: list[tuple[str, str]]  # (heading, sentences with [n]) per article
    citations: list[Citation]
    groups: list[dict]

    @property
    def text(self) -> str:
        return "\n\n".join(join_heading(h, body) for h, body in self.paragraphs)


def join_heading(heading: str, body: str) -> str:
    return f"{heading} — {body}" if heading else body


def as_of(published_at: str | None) -> str | None:
    """"27 Nov 2023" for an ISO timestamp."""
    if not published_at:
        return None
    try:
        moment = datetime.fromisoformat(published_at.replace("Z", "+00:00"))
    except ValueError:
        return published_at[:10]
    return f"{moment.day} {moment.strftime('%b %Y')}"


def compose(chosen: list[Chosen], newest_first: bool = False, start_number: int = 1) -> Composed:
    groups = _groups(chosen)
    if newest_first:
        groups.sort(key=lambda g: g[0].passage.published_at or "", reverse=True)
    dated = {g[0].passage.published_at[:10] for g in groups if g[0].passage.published_at}
    latest = max(dated) if len(dated) > 1 else None
    citations: list[Citation] = []
    paragraphs: list[tuple[str, str]] = []
    trace: list[dict] = []
    introduced: set[str] = set()
    number = start_number
    for group in groups:
        passage = group[0].passage
        day = (passage.published_at or "")[:10]
        heading = _heading(passage, latest is not None and day == latest, several=len(groups) > 1)
        sentences = []
        for item in group:
            sentences.append(f"{render(item, introduced)} [{number}]")
            citations.append(_citation(number, item))
            number += 1
        paragraphs.append((heading, " ".join(sentences)))
        trace.append({"source": passage.source, "published_at": passage.published_at, "article_id": passage.article_id,
                      "latest": bool(latest and day == latest), "citations": [c.n for c in citations[-len(group):]]})
    return Composed(paragraphs, citations, trace)


def _groups(chosen: list[Chosen]) -> list[list[Chosen]]:
    """One group per article, best article first; sentences in reading order."""
    order: dict[str, int] = {}
    for item in sorted(chosen, key=lambda c: -c.score):
        order.setdefault(item.passage.article_id, len(order))
    groups: dict[str, list[Chosen]] = {}
    for item in sorted(chosen, key=lambda c: (order[c.passage.article_id], c.start)):
        groups.setdefault(item.passage.article_id, []).append(item)
    return list(groups.values())


def _heading(passage: Passage, latest: bool, several: bool) -> str:
    date = as_of(passage.published_at)
    when = f"as of {date}" + (", latest" if latest else "") if date else ""
    if passage.source:
        return f"{passage.source} ({when})" if when else (passage.source if several else "")
    return when[:1].upper() + when[1:] if when else ""


def _citation(n: int, item: Chosen) -> Citation:
    p = item.passage
    return Citation(n=n, article_id=p.article_id, title=p.title, source=p.source, author=p.author,
                    published_at=p.published_at, url=p.url, chunk_id=p.chunk_id, quote=item.text,
                    start=item.start, end=item.end, score=round(item.score, 4),
                    speaker=item.attribution.speaker, speaker_role=item.role)


def render(item: Chosen, introduced: set[str]) -> str:
    """The sentence as the answer states it, naming its speaker when the sentence does not."""
    attribution, text = item.attribution, item.text.strip()
    speaker = attribution.speaker
    if not speaker:
        return _plain(text)
    surname = speaker.split()[-1]
    if _names(text, speaker):
        introduced.add(speaker)
        return _plain(text)
    name = surname if speaker in introduced else _introduce(speaker, item.role)
    introduced.add(speaker)
    if attribution.kind == "quote" and _is_quoted(text):
        return f"{name} said: {_OPEN}{_inner(text)}{_CLOSE}"
    mention = attribution.mention
    if mention:
        if mention.lower() in ("his", "her", "their"):
            replaced = _replace_word(text, mention, f"{name}’s")
        else:
            replaced = _replace_word(text, mention, name)
        if replaced != text:
            return _plain(replaced)
    return f"According to {name}, {_plain(text[0].lower() + text[1:] if _lower_ok(text) else text)}"


def _introduce(speaker: str, role: str | None) -> str:
    if role and len(role) <= MAX_ROLE and "_" not in role:
        return f"{speaker} ({role.strip(' ,')})"
    return speaker


def _names(text: str, speaker: str) -> bool:
    """The sentence names the speaker outside quotation marks."""
    outside = re.sub(r"“[^”]*”", " ", text)
    if text.count(_OPEN) > text.count(_CLOSE):  # the quotation runs on past this sentence
        outside = text[text.rfind(_CLOSE) + 1:] if _CLOSE in text else ""
    elif text.count(_CLOSE) > text.count(_OPEN):  # this sentence ends a quotation opened earlier
        outside = text[text.rfind(_CLOSE) + 1:]
    return any(re.search(rf"\b{re.escape(part)}\b", outside) for part in speaker.split() if len(part) > 2)


def _is_quoted(text: str) -> bool:
    """Mostly words inside a quotation (or the middle of one running across sentences)."""
    if text.startswith((_OPEN, '"')):
        return True
    return _OPEN not in text and _CLOSE not in text or (text.count(_CLOSE) > text.count(_OPEN)
                                                         and text.rfind(_CLOSE) > len(text) * 0.6)


def _inner(text: str) -> str:
    """The quoted words of a sentence: opening mark and trailing attribution removed."""
    inner = text.lstrip(_OPEN + '"').strip()
    depth_open = inner.count(_OPEN)
    closes = [m.start() for m in re.finditer(_CLOSE, inner)]
    if len(closes) > depth_open:
        inner = inner[:closes[depth_open]]  # the closing mark of the outer quotation
    inner = inner.rstrip(' ,"')
    inner = inner.replace(_OPEN, "‘").replace(_CLOSE, "’")
    if inner and inner[-1] not in ".!?…’":
        inner += "."
    return inner


def _replace_word(text: str, word: str, by: str) -> str:
    pattern = re.compile(rf"\b{re.escape(word)}\b", re.IGNORECASE)
    match = pattern.search(text)
    if not match:
        return text
    return text[:match.start()] + by + text[match.end():]


def _plain(text: str) -> str:
    """A sentence balanced for quoting inside the answer: stray quote marks removed."""
    if text.count(_OPEN) != text.count(_CLOSE):
        text = text.replace(_OPEN, "").replace(_CLOSE, "")
    return text


def _lower_ok(text: str) -> bool:
    first = text.split()[0] if text.split() else ""
    return first[:1].isupper() and first.lower() in {"the", "a", "an", "this", "that", "it", "there", "in", "at", "on"}
