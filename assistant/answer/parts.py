"""Whose words an answer's text is, run by run (:class:`~assistant.models.AnswerPart`), and
citation numbers from [1] in reading order.

- :func:`aligned` cuts a sentence as the answer states it against the article sentence it was made
  from: the article's words are ``quote`` runs, what the assistant put in (a lead-in, a bracketed
  name, a quotation mark) ``added`` runs.
- :func:`parts_of` gives any answer its parts: an extractive answer's own (made as it was written),
  kept; otherwise (a writer's answer) read from its text: each sentence with its ``[n]`` markers is a
  ``paraphrase`` of what it cites, its words in quotation marks ``quote`` runs when the cited span
  holds them.
- :class:`Renumbering` numbers citations from [1] in the order the answer first cites them, also
  while an answer streams in (the same numbers for the pieces and the final Answer).
- :func:`cover_quoted_words` widens a citation's span to the sentence of its passage that holds the
  words the answer quotes from it, so every quoted word lies inside a cited span.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

from assistant.models import Answer, AnswerPart, Citation
from assistant.text.sentences import split_sentences

MARKERS = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
_MARKER_RUN = re.compile(r"(?:\s*\[\d+(?:\s*,\s*\d+)*\])+")
_MIN_BLOCK = 4  # shorter common runs of a sentence and its source are chance, not quotation
_MAX_ALIGN = 4000  # characters aligned character by character; longer texts by exact search only
_QUOTED = re.compile(r"“([^“”]{1,600})”|\"([^\"]{1,600})\"")
_MAX_WIDENED = 600  # characters a widened citation span may reach; beyond, the quoted sentence alone


def aligned(rendered: str, source: str, n: int) -> list[AnswerPart]:
    """``rendered`` (a sentence as the answer states it) cut into ``quote`` runs — ``source``'s own
    characters, in order, case aside — and ``added`` runs (what the answer put in)."""
    if not rendered:
        return []
    blocks = _blocks(rendered, source)
    parts: list[AnswerPart] = []
    at = 0
    for start, size in blocks:
        if start > at:
            parts.append(AnswerPart(text=rendered[at:start], kind="added"))
        parts.append(AnswerPart(text=rendered[start:start + size], kind="quote", citations=[n]))
        at = start + size
    if at < len(rendered):
        parts.append(AnswerPart(text=rendered[at:], kind="added"))
    return merged(parts)


def _blocks(rendered: str, source: str) -> list[tuple[int, int]]:
    """(Start in ``rendered``, length) of the runs it shares with ``source`` in order, case aside."""
    a, b = _fold(rendered), _fold(source)
    if len(a) > _MAX_ALIGN or len(b) > _MAX_ALIGN:
        at = a.find(b)
        return [(at, len(b))] if at >= 0 and b else []
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    return [(m.a, m.size) for m in matcher.get_matching_blocks()
            if m.size >= min(_MIN_BLOCK, len(b)) and m.size and a[m.a:m.a + m.size].strip()]


def _fold(text: str) -> str:
    """Lower case, one character for one (offsets stay)."""
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


def merged(parts: list[AnswerPart]) -> list[AnswerPart]:
    """Neighbouring runs of the same kind and citations joined; empty runs left out."""
    out: list[AnswerPart] = []
    for part in parts:
        if not part.text:
            continue
        if out and out[-1].kind == part.kind and out[-1].citations == part.citations:
            out[-1] = AnswerPart(text=out[-1].text + part.text, kind=part.kind, citations=part.citations)
        else:
            out.append(part)
    return out


def joined(parts: list[AnswerPart]) -> str:
    return "".join(part.text for part in parts)


def marker(n: int) -> AnswerPart:
    return AnswerPart(text=f"[{n}]", kind="citation", citations=[n])


# --- any answer -------------------------------------------------------------------------------


def parts_of(answer: Answer) -> list[AnswerPart]:
    """The answer's parts: those it was written with when they still make up its text (words put
    before or after it — a note — become ``added`` runs), else read from its text."""
    text = answer.answer
    if answer.parts:
        made = joined(answer.parts)
        at = text.find(made) if made else -1
        if made and at >= 0:
            return merged([AnswerPart(text=text[:at], kind="added"), *answer.parts,
                           AnswerPart(text=text[at + len(made):], kind="added")])
    if answer.abstained or not answer.citations:
        return [AnswerPart(text=text, kind="added")] if text else []
    return read_parts(text, {c.n: c.quote for c in answer.citations})


def read_parts(text: str, quotes: dict[int, str]) -> list[AnswerPart]:
    """Parts read from an answer's text: each sentence with the ``[n]`` markers that follow it."""
    parts: list[AnswerPart] = []
    cursor = 0
    for match in _MARKER_RUN.finditer(text):
        cited = [int(x) for group in MARKERS.findall(match.group(0)) for x in re.split(r"\s*,\s*", group)]
        parts += _sentence_parts(text[cursor:match.start()], [n for n in cited if n in quotes], quotes)
        for piece in re.finditer(r"\s+|\[[^\]]*\]", match.group(0)):
            numbers = [int(x) for x in re.findall(r"\d+", piece.group(0))]
            parts.append(AnswerPart(text=piece.group(0), kind="citation", citations=numbers)
                         if numbers else AnswerPart(text=piece.group(0), kind="added"))
        cursor = match.end()
    parts.append(AnswerPart(text=text[cursor:], kind="added"))
    return merged(parts)


def _sentence_parts(segment: str, cited: list[int], quotes: dict[int, str]) -> list[AnswerPart]:
    """One sentence (and any text before it that no marker follows) and what it cites."""
    if not segment.strip():
        return [AnswerPart(text=segment, kind="added")]
    if not cited:
        return [AnswerPart(text=segment, kind="added")]
    # The sentence is the last one of the segment: earlier text without a marker is not its.
    spans = split_sentences(segment)
    lead_end = spans[-1].start if len(spans) > 1 else len(segment) - len(segment.lstrip())
    lead, sentence = segment[:lead_end], segment[lead_end:]
    return merged([AnswerPart(text=lead, kind="added"), *_paraphrase(sentence, cited, quotes)])


def _paraphrase(sentence: str, cited: list[int], quotes: dict[int, str]) -> list[AnswerPart]:
    """A writer's sentence: ``paraphrase`` runs, and ``quote`` runs for its words in quotation marks
    that a cited span holds."""
    out, at = [], 0
    for match in _QUOTED.finditer(sentence):
        words = match.group(1) or match.group(2)
        inner = match.start(1) if match.group(1) is not None else match.start(2)
        holder = next((n for n in cited if _normal(words) in _normal(quotes[n])), None)
        if holder is None:
            continue
        out.append(AnswerPart(text=sentence[at:inner], kind="paraphrase", citations=list(cited)))
        out.append(AnswerPart(text=words, kind="quote", citations=[holder]))
        at = inner + len(words)
    out.append(AnswerPart(text=sentence[at:], kind="paraphrase", citations=list(cited)))
    return out


def quoted_words(text: str) -> list[str]:
    """The words ``text`` puts in double quotation marks (straight or curly)."""
    return [m.group(1) or m.group(2) for m in _QUOTED.finditer(text)]


def _normal(text: str) -> str:
    """For comparing quoted words: one kind of quotation mark and apostrophe, spaces squashed, case aside."""
    text = text.translate(str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'", "„": '"'}))
    return " ".join(text.lower().split()).strip(" .,;:!?\"'")


def holds_quoted(passage: str, words: str) -> bool:
    """Whether ``passage`` holds ``words`` (quoted in an answer) verbatim, marks, spacing and case aside."""
    return _normal(words) in _normal(passage)


# --- numbering -------------------------------------------------------------------------------


class Renumbering:
    """Citation numbers from [1] in the order an answer first cites them.

    Feed it the answer's text piece by piece as it streams (:meth:`text`), then the final Answer
    (:meth:`answer`): the pieces and the Answer get the same numbers.
    """

    def __init__(self) -> None:
        self.numbers: dict[int, int] = {}

    def text(self, piece: str) -> str:
        return MARKERS.sub(lambda m: "[" + ", ".join(str(self._new(int(x))) for x in re.split(r"\s*,\s*", m.group(1)))
                           + "]", piece)

    def _new(self, old: int) -> int:
        if old not in self.numbers:
            self.numbers[old] = len(self.numbers) + 1
        return self.numbers[old]

    def answer(self, answer: Answer) -> Answer:
        """``answer`` with its citations renumbered (those its text never cites are dropped), its text,
        parts and trace groups rewritten to match (a streamed answer's pieces, fed through
        :meth:`text` first, keep the same numbers)."""
        if answer.abstained:
            return answer
        answer.answer = self.text(answer.answer)
        mapping = self.numbers
        cited = [c for c in answer.citations if c.n in mapping]
        for citation in cited:
            citation.n = mapping[citation.n]
        answer.citations = sorted(cited, key=lambda c: c.n)
        answer.parts = [AnswerPart(text=self.text(p.text) if p.kind == "citation" else p.text, kind=p.kind,
                                   citations=[mapping[n] for n in p.citations if n in mapping])
                        for p in answer.parts]
        for group in answer.trace.get("groups", []) or []:
            if isinstance(group, dict) and "citations" in group:
                group["citations"] = [mapping[n] for n in group["citations"] if n in mapping]
        return answer


# --- quoted words inside the cited span --------------------------------------------------------


def cover_quoted_words(answer: Answer) -> None:
    """Widen a citation's span, within its passage, to the sentence holding words the answer quotes
    (in quotation marks) next to it, when the cited span lacks them: a writer may quote a sentence of
    the passage other than the one the citation shows."""
    if answer.abstained or not answer.citations:
        return
    passages = {p.chunk_id: p for p in answer.passages}
    by_n = {c.n: c for c in answer.citations}
    for segment, cited in _segments(answer.answer):
        for words in quoted_words(segment):
            holders = [by_n[n] for n in cited if n in by_n]
            if not words.strip() or any(holds_quoted(c.quote, words) for c in holders):
                continue
            for citation in holders:
                passage = passages.get(citation.chunk_id)
                if passage is not None and holds_quoted(passage.text, words):
                    _widen(citation, passage.text, passage.start, words)
                    break


def _segments(text: str) -> list[tuple[str, list[int]]]:
    """Each run of text with the citation numbers of the markers that follow it."""
    out, cursor = [], 0
    for match in _MARKER_RUN.finditer(text):
        cited = [int(x) for group in MARKERS.findall(match.group(0)) for x in re.split(r"\s*,\s*", group)]
        out.append((text[cursor:match.start()], cited))
        cursor = match.end()
    return out


def _widen(citation: Citation, text: str, offset: int, words: str) -> None:
    spans = [s for s in split_sentences(text) if holds_quoted(text[s.start:s.end], words)]
    if not spans:
        return
    start = min(citation.start - offset, spans[0].start)
    end = max(citation.end - offset, spans[0].end)
    if start < 0 or end > len(text) or end - start > _MAX_WIDENED:
        start, end = spans[0].start, spans[0].end  # the quoted sentence alone
    citation.start, citation.end, citation.quote = offset + start, offset + end, text[start:end]


def settle(answer: Answer, renumbering: Renumbering | None = None) -> Answer:
    """An answer as it is handed out: citations numbered from [1] in reading order (``renumbering``
    the one its streamed pieces went through), every quoted word inside a cited span, its parts."""
    (renumbering or Renumbering()).answer(answer)
    cover_quoted_words(answer)
    answer.parts = parts_of(answer)
    return answer
