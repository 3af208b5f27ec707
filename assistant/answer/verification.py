"""Check an answer against its citations, sentence by sentence.

Every sentence must cite at least one passage; every ``[n]`` must name a passage that exists;
each cited passage must support the sentence: enough of the sentence's content words occur in
it (lexical overlap), or it says much the same (embedding similarity) with some overlap, and
every number in the sentence appears in it. Invented numbers are dropped, citations that do
not support their sentence are dropped, and a sentence left without support is removed (or,
with ``policy="flag"``, kept and visibly marked). Each decision is recorded for the trace.

What small models also write is handled here, for any writer: citation markers in other
shapes ("[Passage 2]", "(passage 2)", "【2】", "[1-3]") are read as ``[n]`` and stray ones
("[source]", "[citation needed]") are dropped from the text; a sentence that echoes the prompt's
fences, reads as an instruction ("Ignore all previous instructions …", "Reply with …"), or
copies an instruction embedded in a cited passage is always removed, whatever the policy (it is
not a claim, and flagging would still show it); and a sentence repeating an earlier one (small
models loop) is removed. Words a sentence puts in quotation marks must be in a cited passage
verbatim (case, spacing and the kind of quotation mark aside), else that passage does not back it
("puts in quotation marks words its passages do not have"). :meth:`Verifier.check_units` judges
text already cut into units (an extractive answer's sentences as stated, each with its citation).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass, field

import numpy as np

from assistant.answer.parts import holds_quoted, quoted_words
from assistant.embed.embedders import Embedder
from assistant.text.sentences import split_sentences

MARKER = re.compile(r"\s*\[(\d+(?:\s*,\s*\d+)*)\]")
FLAG = " [unsupported]"
# Citation markers as models also write them: [Passage 2], (passage 2), [P2], [#2], 【2】, [^2], [1-3], [1; 2].
_LOOSE_MARKER = re.compile(
    r"[\[【(]\s*(?:(?:passages?|source|ref|p)\s*\.?\s*)?[#^]?\s*(\d{1,3}(?:\s*(?:[,;]|[-–]|and)\s*\d{1,3})*)\s*[\]】)]",
    re.IGNORECASE)
CITATION_LIKE = re.compile(MARKER.pattern + "|" + _LOOSE_MARKER.pattern, re.IGNORECASE)  # for sentence splitting
_STRAY_MARKER = re.compile(r"\s*\[(?:citation needed|citations?|sources?|refs?|references?|passages?|n|\?)\]",
                           re.IGNORECASE)
_DANGLING = re.compile(r"\b(?:the|a|an|of|and|or|but|which|whose|than|its|their)\W*$",
                       re.IGNORECASE)  # "… behaviour of the." (a writer cut off by a length limit)
_ECHO = re.compile(r"<<<|>>>|\bEND PASSAGE\b|^\s*(?:question|passages?)\s*:", re.IGNORECASE)
_INSTRUCTION = [re.compile(p, re.IGNORECASE) for p in (
    r"\b(?:ignore|disregard|forget|override)\b[^.]{0,60}\b(?:instructions?|rules|prompts?|guidelines|directions)\b",
    r"\b(?:system|developer|hidden)\s+(?:prompt|message|instructions?)\b",
    r"\bnew instructions?\b",
    r"\b(?:if )?you are (?:now )?(?:an?|the) (?:ai|language model|llm|chatbot|assistant)\b",
    r"\bas an ai(?: language)? model\b",
    r"\b(?:language models?|llms?|chatbots?|ai assistants?|ai models?)\b[^.]{0,50}\b(?:must|should|shall|are instructed to)\b",
    r"^\W*(?:please\s+)?(?:reply|respond|answer)\s+(?:with|only|in|that)\b",
    r"^\W*(?:please\s+)?(?:tell|inform|warn|remind)\s+(?:the|your|all)\s+(?:users?|readers?)\b",
    r"^\W*(?:please\s+)?(?:visit|go to|click|open)\s+(?:https?://|www\.)",
)]
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

    def verify(self, answer: str, evidence: dict[int, str], earlier: list[str] | None = None, *,
               novel_words: int | None = None, given: str = "", question: str = "") -> Verified:
        """``evidence``: citation number → the passage (or quote) it stands for; ``earlier``: sentences
        already accepted (a stream verified piece by piece), so a repeat of one is removed.

        ``novel_words`` (strict mode, for writers that embroider): a sentence whose content words
        outside its supporting passages and ``given`` (the question, the passages' titles and
        speakers) number more than this is removed, however much else of it the passage holds;
        so is one that only restates ``question``.
        """
        answer = normalise_citations(answer)
        paragraphs = [p for p in re.split(r"\n\s*\n", answer.strip()) if p.strip()]
        units = [(i, sentence, cited) for i, p in enumerate(paragraphs) for sentence, cited in split_cited(p)]
        checks = [SentenceCheck(text=s, cited=c) for _, s, c in units]
        self._measure(checks, evidence)
        seen = [content_words(text) for text in earlier or []]
        for check in checks:
            self._decide(check, evidence)
            if check.action != "removed":
                self._screen(check, evidence, seen)
            if check.action != "removed" and novel_words is not None:
                self._strict(check, evidence, novel_words, given, question)
            if check.action != "removed":
                seen.append(content_words(check.text))
        text = "\n\n".join(
            " ".join(self._render(c) for (para, _, _), c in zip(units, checks) if para == i and c.action != "removed")
            for i in range(len(paragraphs)))
        return Verified(re.sub(r"\n{3,}", "\n\n", text).strip(), checks)

    def check_units(self, units: list[tuple[str, list[int]]], evidence: dict[int, str],
                    earlier: list[str] | None = None) -> list[SentenceCheck]:
        """Like :meth:`verify`, for text already cut into units (each with the numbers it cites), each
        judged whole: an extractive answer's sentence as stated ("X said: “A. B.”") is one unit, not
        two sentences of which the first cites nothing."""
        checks = [SentenceCheck(text=text, cited=list(cited)) for text, cited in units]
        self._measure(checks, evidence)
        seen = [content_words(text) for text in earlier or []]
        for check in checks:
            self._decide(check, evidence)
            if check.action != "removed":
                self._screen(check, evidence, seen)
            if check.action != "removed":
                seen.append(content_words(check.text))
        return checks

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
            backed = backed and all(holds_quoted(evidence[n], words) for words in quoted_words(check.text))
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
        elif any(not any(holds_quoted(evidence[n], words) for n in check.cited if n in evidence)
                 for words in quoted_words(check.text)):
            check.reason = "puts in quotation marks words its passages do not have"
        else:
            check.reason = "no cited passage supports it"

    @staticmethod
    def _strict(check: SentenceCheck, evidence: dict[int, str], limit: int, given: str, question: str) -> None:
        words = content_words(check.text)
        known = content_words(given + " " + " ".join(evidence[n] for n in check.supported_by))
        novel = sorted(words - known)
        if len(novel) > limit:
            check.reason = "says what its passages do not: " + ", ".join(novel[:8]) + (" …" if len(novel) > 8 else "")
        elif question and words <= content_words(question):
            check.reason = "only restates the question"
        elif len(re.findall(r"\w+", check.text)) < 3:
            check.reason = "is not a sentence"
        else:
            return
        check.action = "removed"
        check.unsupported, check.supported_by = sorted(set(check.unsupported) | set(check.supported_by)), []

    @staticmethod
    def _screen(check: SentenceCheck, evidence: dict[int, str], seen: list[set[str]]) -> None:
        """Remove what is not a claim at all: prompt echoes, instructions, repeats (whatever the policy)."""
        reason = ""
        words = content_words(check.text)
        if _ECHO.search(check.text):
            reason = "echoes the prompt's markup"
        elif _DANGLING.search(check.text):
            reason = "breaks off mid-sentence"
        elif instruction_like(check.text):
            reason = "reads as an instruction, not a claim"
        else:
            for n in dict.fromkeys(check.cited):
                if n in evidence and any(overlap(check.text, order) >= 0.5 for order in instructions_in(evidence[n])):
                    reason = f"copies an instruction embedded in passage {n}"
                    break
        if not reason and words and any(len(words & before) >= 0.9 * len(words) for before in seen):
            reason = "repeats an earlier sentence"
        if reason:
            check.action, check.reason = "removed", reason
            check.supported_by, check.unsupported = [], sorted(set(check.unsupported) | set(check.supported_by))

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


def normalise_citations(text: str) -> str:
    """Citation markers in the shapes models write them, as ``[n]``; stray non-numeric markers dropped."""
    def standard(match: re.Match) -> str:
        numbers: list[int] = []
        for part in re.split(r"\s*(?:[,;]|and)\s*", match.group(1)):
            bounds = [int(x) for x in re.split(r"\s*[-–]\s*", part) if x]
            if len(bounds) == 2 and 0 < bounds[1] - bounds[0] < 10:
                numbers += range(bounds[0], bounds[1] + 1)
            else:
                numbers += bounds
        return "".join(f"[{n}]" for n in numbers)

    def loose(match: re.Match) -> str:
        body = match.group(0)
        if body.startswith("(") and not re.search(r"passage|source|ref|p\s*\.?\s*\d|#", body, re.IGNORECASE):
            return body  # "(2023)", "(3)": an ordinary parenthesis
        return (" " if body.startswith(("[", "【", "(")) and match.start() > 0
                and not text[match.start() - 1].isspace() else "") + standard(match)

    text = _LOOSE_MARKER.sub(loose, text)
    return _STRAY_MARKER.sub("", text)


def instruction_like(sentence: str) -> bool:
    """The sentence tells a model or reader what to do ("Ignore all previous instructions …") rather than report."""
    return any(pattern.search(sentence) for pattern in _INSTRUCTION)


def instructions_in(passage: str) -> list[str]:
    """Sentences of a passage that read as instructions (text injected into an article for a model to obey)."""
    return [s for s in _sentences(passage) if instruction_like(s)]


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
