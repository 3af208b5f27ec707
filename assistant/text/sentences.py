"""Sentence splitting with character offsets, tuned for news prose (quotes, abbreviations, initials)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple

# Words that end with a period without ending a sentence.
_ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "gen", "gov", "sen", "rep", "rev", "col",
    "lt", "sgt", "capt", "cmdr", "adm", "maj", "pres", "supt", "insp", "det", "hon", "messrs",
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
    "no", "nos", "vs", "etc", "inc", "ltd", "co", "corp", "dept", "univ", "approx", "est", "fig",
    "al", "ave", "blvd", "rd", "u.s", "u.k", "u.n", "e.g", "i.e", "a.m", "p.m", "d.c", "n.y", "l.a",
}
# A candidate end: terminal punctuation, optional closing quotes/brackets, then whitespace.
_END = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s)")
_NEXT_START = re.compile(r"\s+[\"'“‘(\[]*[A-Z0-9]")
_PARAGRAPH = re.compile(r"\n\s*\n|\n(?=\S)")


class Span(NamedTuple):
    start: int
    end: int


def _is_abbreviation(text: str, dot: int) -> bool:
    """True when the period at ``dot`` closes an abbreviation or an initial, not a sentence."""
    word_start = dot
    while word_start > 0 and not text[word_start - 1].isspace() and text[word_start - 1] not in "\"“‘(":
        word_start -= 1
    word = text[word_start:dot].lower()
    if not word:
        return False
    if word in _ABBREVIATIONS:
        return True
    # Single initials ("J. Smith") and dotted acronyms ("U.S.").
    if len(word) == 1 and word.isalpha():
        return True
    return bool(re.fullmatch(r"(?:[a-z]\.)+[a-z]", word))


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """Spans of the sentences of ``text[start:end]``, trimmed of surrounding whitespace.

    Paragraph breaks always end a sentence; a period ends one only when the next word starts
    like a sentence and the period does not close an abbreviation or an initial.
    """
    end = len(text) if end is None else end
    spans: list[Span] = []
    for para_start, para_end in _paragraphs(text, start, end):
        cursor = para_start
        for match in _END.finditer(text, para_start, para_end):
            stop = match.end()
            if not _NEXT_START.match(text, stop, para_end):
                continue
            if text[match.start()] == "." and match.end() - match.start() == 1 and _is_abbreviation(text, match.start()):
                continue
            _add(spans, text, cursor, stop)
            cursor = stop
        _add(spans, text, cursor, para_end)
    return spans


def _paragraphs(text: str, start: int, end: int):
    cursor = start
    for match in _PARAGRAPH.finditer(text, start, end):
        yield cursor, match.start()
        cursor = match.end()
    yield cursor, end


def _add(spans: list[Span], text: str, start: int, end: int) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append(Span(start, end))


def distinct_sentences(chunks: Iterable[tuple[str, int, str]]) -> tuple[list[str], list[list[int]]]:
    """Each distinct sentence of overlapping chunks once, and per chunk its sentences' indices in order.

    ``chunks``: (article id, where the chunk starts in the article body, chunk text). Chunks of one
    article overlap by whole sentences; a sentence is the same when it starts at the same place.
    """
    index: dict[tuple[str, int], int] = {}
    texts: list[str] = []
    rows: list[list[int]] = []
    for article_id, base, text in chunks:
        rows.append([])
        for start, end in split_sentences(text):
            key = (article_id, base + start)
            if key not in index:
                index[key] = len(texts)
                texts.append(text[start:end])
            rows[-1].append(index[key])
    return texts, rows
