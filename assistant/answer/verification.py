"""Check an answer against its citations, sentence by sentence.

Every sentence must cite at least one passage; every ``[n]`` must name a passage that exists;
each cited passage must support the sentence: enough of the sentence's content words occur in
it (lexical overlap), or it says much the same (embedding similarity) with some overlap, and
every number in the sentence appears in it. Invented numbers are dropped, citations that do
not support their sentence are dropped, and a sentence left without support is removed (or,
with ``policy="flag"``, kept and visibly marked). Each decision is recorded for the trace.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass, field

import numpy as np

from assistant.embed.embedders import Embedder
from assistant.text.sentences import split_sentences

MARKER = re.compile(r"\s*\[(\d+(?:\s*,\s*\d+)*)\]")
FLAG = " [unsupported]"
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_WORD = re.compile(r"[a-z0-9]+")
STOPWORDS = set("""a an the and or but if then than that this these those there here of in on at to for from by with
without about into over under after before between during as is are was were be been being has have had do does did
it its it's he she they them his her their we our you your i me my not no nor so such also very just only more most
much many some any each every both all other another what which who whom whose when where why how can could would
should will shall may might must said says say told tell according while although though because since until up down
out off again further once per via one two three new".split()""".split())


@dataclass
class SentenceCheck:
    text: str
    cited: list[int] = field(default_factory=list)
    invented: list[int] = field(default_factory=list)  # [n] naming no passage
    unsupported: list[int] = field(default_factory=list)  # real passages that do not back the sentence
    supported_by: list[int] = field(default_factory=list)
    overlap: dict[int, float] = field(default_factory=dict)
    similarity: dict[int, float] = field(default_factory=dict)
    action: str = "kept"  # kept | removed | flagged
    reason: str = ""


@dataclass
class Verified:
    text: str
    checks: list[SentenceCheck]

    @property
    def used(self) -> list[int]:
        """Passages that support a kept sentence, in order of first use."""
        seen: list[int] = []
        for check in self.checks:
            if check.action != "removed":
                seen += [n for n in check.supported_by if n not in seen]
        return seen

    @property
    def removed(self) -> int:
        return sum(c.action == "removed" for c in self.checks)

    def as_trace(self) -> dict:
        return {
            "sentences": len(self.checks), "removed": self.removed,
            "flagged": sum(c.action == "flagged" for c in self.checks),
            "invented_citations": sorted({n for c in self.checks for n in c.invented}),
            "decisions": [asdict(c) for c in self.checks],
        }


class Verifier:
    def __init__(self, embedder: Embedder, min_overlap: float = 0.5, min_similarity: float = 0.6,
                 weak_overlap: float = 0.2, policy: str = "remove"):
        if policy not in ("remove", "flag"):
            raise ValueError(f"unsupported-sentence policy must be 'remove' or 'flag', got {policy!r}")
        self.embedder = embedder
        self.min_overlap = min_overlap
        self.min_similarity = min_similarity
        self.weak_overlap = weak_overlap
        self.policy = policy

    def verify(self, answer: str, evidence: dict[int, str]) -> Verified:
        """``evidence``: citation number → the passage (or quote) it stands for."""
        paragraphs = [p for p in re.split(r"\n\s*\n", answer.strip()) if p.strip()]
        units = [(i, sentence, cited) for i, p in enumerate(paragraphs) for sentence, cited in split_cited(p)]
        checks = [SentenceCheck(text=s, cited=c) for _, s, c in units]
        self._measure(checks, evidence)
        for check in checks:
            self._decide(check, evidence)
        text = "\n\n".join(
            " ".join(self._render(c) for (para, _, _), c in zip(units, checks) if para == i and c.action != "removed")
            for i in range(len(paragraphs)))
        return Verified(re.sub(r"\n{3,}", "\n\n", text).strip(), checks)

    def supports(self, sentence: str, passage: str) -> bool:
        check = SentenceCheck(text=sentence, cited=[1])
        self._measure([check], {1: passage})
        self._decide(check, {1: passage})
        return check.action == "kept"

    # --- measuring ----------------------------------------------------------------------
    def _measure(self, checks: list[SentenceCheck], evidence: dict[int, str]) -> None:
        pairs = [(c, n) for c in checks for n in dict.fromkeys(c.cited) if n in evidence]
        if not pairs:
            return
        pieces = {n: _sentences(evidence[n]) for _, n in pairs}
        texts = [c.text for c in checks] + [s for n in pieces for s in pieces[n]]
        vectors = self.embedder.embed(texts)
        sentence_vec = {id(c): vectors[i] for i, c in enumerate(checks)}
        offset, piece_vecs = len(checks), {}
        for n in pieces:
            piece_vecs[n] = vectors[offset:offset + len(pieces[n])]
            offset += len(pieces[n])
        for check, n in pairs:
            check.overlap[n] = round(overlap(check.text, evidence[n]), 3)
            sims = piece_vecs[n] @ sentence_vec[id(check)] if len(piece_vecs[n]) else np.zeros(1)
            check.similarity[n] = round(float(np.max(sims)), 3)

    def _decide(self, check: SentenceCheck, evidence: dict[int, str]) -> None:
        check.invented = [n for n in dict.fromkeys(check.cited) if n not in evidence]
        for n in dict.fromkeys(check.cited):
            if n not in evidence:
                continue
            lexical, similar = check.overlap.get(n, 0.0), check.similarity.get(n, 0.0)
            numbers_ok = _numbers(check.text) <= _numbers(evidence[n])
            backed = lexical >= self.min_overlap or (similar >= self.min_similarity and lexical >= self.weak_overlap)
            if len(content_words(check.text)) < 3:
                backed = similar >= self.min_similarity or lexical >= self.min_overlap or not content_words(check.text)
            (check.supported_by if backed and numbers_ok else check.unsupported).append(n)
        if check.supported_by:
            check.action, check.reason = "kept", ""
            if check.invented or check.unsupported:
                check.reason = "dropped citations: " + ", ".join(map(str, check.invented + check.unsupported))
            return
        check.action = "flagged" if self.policy == "flag" else "removed"
        if not check.cited:
            check.reason = "cites no passage"
        elif check.invented and not check.unsupported:
            check.reason = "cites only passages that do not exist"
        else:
            check.reason = "no cited passage supports it"

    @staticmethod
    def _render(check: SentenceCheck) -> str:
        marks = "".join(f"[{n}]" for n in check.supported_by)
        if check.action == "flagged":
            return check.text + FLAG
        return f"{check.text} {marks}" if marks else check.text


def split_cited(paragraph: str) -> list[tuple[str, list[int]]]:
    """Sentences of ``paragraph`` without their ``[n]`` markers, each with the numbers it cites.

    A marker belongs to the sentence it follows ("… China. [1]" and "… China [1].").
    """
    markers: list[tuple[int, list[int]]] = []
    clean_parts, cursor, clean_len = [], 0, 0
    for match in MARKER.finditer(paragraph):
        piece = paragraph[cursor:match.start()]
        clean_parts.append(piece)
        clean_len += len(piece)
        markers.append((clean_len, [int(x) for x in re.split(r"\s*,\s*", match.group(1))]))
        cursor = match.end()
    clean_parts.append(paragraph[cursor:])
    clean = "".join(clean_parts)
    spans = split_sentences(clean)
    out = [(clean[s.start:s.end], []) for s in spans]
    for position, numbers in markers:
        index = max((i for i, s in enumerate(spans) if s.start < position), default=0)
        if out:
            out[index][1].extend(numbers)
    return [(re.sub(r"\s+([.,;:!?])", r"\1", text).strip(), cited) for text, cited in out if text.strip()]


def content_words(text: str) -> set[str]:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return {_stem(w) for w in _WORD.findall(plain) if w not in STOPWORDS and len(w) > 1}


def overlap(sentence: str, passage: str) -> float:
    """Share of the sentence's content words found in the passage."""
    words = content_words(sentence)
    return len(words & content_words(passage)) / len(words) if words else 0.0


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def _numbers(text: str) -> set[str]:
    return {n.replace(",", "") for n in _NUMBER.findall(text)}


def _sentences(text: str) -> list[str]:
    spans = split_sentences(text)
    return [text[s.start:s.end] for s in spans] or [text]
