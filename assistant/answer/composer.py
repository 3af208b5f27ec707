"""Write an extractive answer from chosen sentences: who said it, when, and from which outlet.

Each chosen sentence becomes one answer sentence ending in its citation ``[n]``; the citation
keeps the verbatim sentence and its character span. Speech is attributed in the text
("Stanislav Zhelikhovsky (… expert) said: “…”", "[Zhelikhovsky] noted that …") unless the sentence
already names its speaker; the article's words stay verbatim, a name put in place of "he" or next to
"the expert" is bracketed, and quotation marks balance (see :func:`render`). Sentences are grouped by article (outlet and date) when they come
from more than one: each group opens with "<Outlet> (as of <date>)" and the newest group is
marked "latest" when the dates differ.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from assistant.models import AnswerPart, Citation, Passage
from assistant.answer.parts import aligned, joined, marker, merged
from assistant.answer.verification import Verified, Verifier
from assistant.answer.attribution import Attribution
from assistant.answer.quotations import Marks, balance_marks, read_marks

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
    open_before: str = ""  # the mark of a quotation the sentence is inside of, opened before it


@dataclass
class Composed:
    paragraphs: list[tuple[str, str]]  # (heading, sentences with [n]) per article
    citations: list[Citation]
    groups: list[dict]
    stated: list[list[tuple[int, str]]] = field(default_factory=list)  # per paragraph: (n, the sentence as stated)

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
    said: list[list[tuple[int, str]]] = []
    number = start_number
    for group in groups:
        passage = group[0].passage
        day = (passage.published_at or "")[:10]
        heading = _heading(passage, latest is not None and day == latest, several=len(groups) > 1)
        sentences, stated = [], []
        for item in group:
            rendered = render(item, introduced)
            sentences.append(f"{rendered} [{number}]")
            stated.append((number, rendered))
            citations.append(_citation(number, item))
            number += 1
        paragraphs.append((heading, " ".join(sentences)))
        said.append(stated)
        trace.append({"source": passage.source, "published_at": passage.published_at, "article_id": passage.article_id,
                      "latest": bool(latest and day == latest), "citations": [c.n for c in citations[-len(group):]]})
    return Composed(paragraphs, citations, trace, said)


@dataclass
class Written:
    """A composed answer after verification: its text, its citations numbered from [1] in reading
    order, its parts (whose words each run is), the verification checks and the groups' trace."""

    text: str
    citations: list[Citation]
    parts: list[AnswerPart]
    verified: Verified
    groups: list[dict]


def verified_answer(composed: Composed, verifier: Verifier) -> Written:
    """Each stated sentence checked whole against its own citation (:meth:`Verifier.check_units`);
    a sentence verification removes goes with its citation, never one without the other. The
    citations kept are numbered from [1] in reading order and the text is written with those
    numbers; a group left without sentences loses its heading too. Outlet and date headings are
    not claims: they are not verified, and are ``added`` runs of the parts."""
    evidence = {c.n: c.quote for c in composed.citations}
    units = [(rendered, [n]) for stated in composed.stated for n, rendered in stated]
    checks = verifier.check_units(units, evidence)
    kept = {n for (_, (n,)), check in zip(units, checks) if check.action != "removed"}
    numbers = {n: new for new, n in enumerate((n for _, [n] in units if n in kept), start=1)}
    by_n = {c.n: c for c in composed.citations}
    parts: list[AnswerPart] = []
    citations: list[Citation] = []
    groups: list[dict] = []
    for (heading, _), stated, group in zip(composed.paragraphs, composed.stated, composed.groups):
        stated = [(n, rendered) for n, rendered in stated if n in kept]
        if not stated:
            continue
        if parts:
            parts.append(AnswerPart(text="\n\n", kind="added"))
        if heading:
            parts.append(AnswerPart(text=f"{heading} — ", kind="added"))
        for i, (n, rendered) in enumerate(stated):
            new = numbers[n]
            if i:
                parts.append(AnswerPart(text=" ", kind="added"))
            parts += aligned(rendered, by_n[n].quote.strip(), new)
            parts += [AnswerPart(text=" ", kind="added"), marker(new)]
            citations.append(by_n[n].model_copy(update={"n": new}))
        groups.append({**group, "citations": [numbers[n] for n, _ in stated]})
    parts = merged(parts)
    return Written(joined(parts), citations, parts, Verified(joined(parts), checks), groups)


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
    """The sentence as the answer states it, naming its speaker when the sentence does not.

    The article's words are kept verbatim: a quotation the sentence opens or closes outside itself
    gets its missing mark (never loses its own), and when the words that name the speaker ("he",
    "the international affairs expert", "his") are replaced, the name stands in brackets
    ("[Zhelikhovsky] noted that …", "… said the international affairs expert [Zhelikhovsky]").
    Words of the answer's own ("Zhelikhovsky said: “…”", "According to Zhelikhovsky, …") stay
    outside the quotation marks.
    """
    attribution, text = item.attribution, item.text.strip()
    marks = read_marks(text, item.open_before)
    speaker = attribution.speaker
    if not speaker:
        return balance_marks(text, item.open_before)
    if _names(text, speaker, marks):
        introduced.add(speaker)
        return balance_marks(text, item.open_before)
    first = speaker not in introduced
    introduced.add(speaker)
    surname = speaker.split()[-1]
    if attribution.kind == "quote" and marks.quoted_only(text):
        name = _introduce(speaker, item.role) if first else surname
        return f"{name} said: {balance_marks(text, item.open_before)}"
    replaced = _name_the_mention(text, marks, attribution.mention, speaker, item.role, first)
    if replaced is not None:
        return balance_marks(replaced, item.open_before)
    name = _introduce(speaker, item.role) if first else surname
    quoted = balance_marks(text, item.open_before)
    return f"According to {name}, {quoted[0].lower() + quoted[1:] if _lower_ok(quoted) else quoted}"


def _introduce(speaker: str, role: str | None, joiner: str = " (", closer: str = ")") -> str:
    if role and len(role) <= MAX_ROLE and "_" not in role:
        return f"{speaker}{joiner}{role.strip(' ,')}{closer}"
    return speaker


def _names(text: str, speaker: str, marks: Marks) -> bool:
    """The sentence names the speaker outside quotation marks."""
    outside = "".join(" " if inside else ch for ch, inside in zip(text, marks.inside))
    return any(re.search(rf"\b{re.escape(part)}\b", outside) for part in speaker.split() if len(part) > 2)


def _name_the_mention(text: str, marks: Marks, mention: str, speaker: str, role: str | None,
                      first: bool) -> str | None:
    """``text`` with the words that name the speaker (outside quotation marks) followed by, or
    replaced with, the speaker's name in brackets; None when the mention is not there."""
    if not mention:
        return None
    pattern = re.compile(rf"\b{re.escape(mention)}\b", re.IGNORECASE)
    match = next((m for m in pattern.finditer(text) if not any(marks.inside[m.start():m.end()])), None)
    if match is None:
        return None
    surname = speaker.split()[-1]
    word = mention.lower()
    if word in ("his", "her", "their"):  # In his opinion → In [Zhelikhovsky’s] opinion
        name = speaker if first else surname
        return f"{text[:match.start()]}[{name}’s]{text[match.end():]}"
    if word in ("he", "she", "they", "him", "them", "it"):  # he said → [Zhelikhovsky] said
        name = _introduce(speaker, role, ", ", "") if first else surname
        return f"{text[:match.start()]}[{name}]{text[match.end():]}"
    if _names(mention, speaker, read_marks(mention)):  # the mention is a name already
        return None
    # the international affairs expert noted → the international affairs expert [Zhelikhovsky] noted
    name = speaker if first else surname
    return f"{text[:match.end()]} [{name}]{text[match.end():]}"


def _lower_ok(text: str) -> bool:
    first = text.split()[0] if text.split() else ""
    return first[:1].isupper() and first.lower() in {"the", "a", "an", "this", "that", "it", "there", "in", "at", "on"}
