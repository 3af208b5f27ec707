"""How sure an answer is: "high" (the quoted sentences answer the question), "low" (the closest
passages, shown with a caveat naming what they lack) or "none" (nothing relevant was found).

Signals read the question against what was found (:class:`Signals`):

- ``best``: cosine similarity of the question and the most similar candidate sentence;
- ``margin``: how far that sentence stands above the next four (one sentence that stands out);
- ``names_missing``: share of the names the question uses that no passage mentions, matched as
  people write them (:mod:`assistant.answer.abstention`: possessives, plurals, demonyms, surnames);
- ``kind_missing``: the question wants a person, date, number, place or named thing
  (:mod:`assistant.answer.answer_types`) and no quoted sentence holds one it does not already hold;
- ``agreement``: share of the top three passages that both the dense and the BM25 ranking put in
  their top ten (a passage both find by meaning and by words);
- ``lexical``: the idf-weighted share of the question's words in the best-matching sentence.

A profile's ``answer.confidence`` (:class:`~assistant.retrieve.profile.ConfidenceConfig`) holds a
logistic model over these signals, fitted leave-one-question-set-out by
``benchmarks/confidence_fit.py`` (docs/answers-by-set.md): "high" when its probability reaches
``high_threshold``. Below ``none_below`` best similarity nothing found is relevant: "none". A
profile without a model (the plain floors) keeps the old rule: "high" at or above its abstain
threshold, else "none".
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from assistant.models import Passage
from assistant.answer import answer_types
from assistant.answer.abstention import missing_names, names

FEATURES = ("best", "margin", "names_missing", "kind_missing", "agreement", "lexical")


@dataclass
class Signals:
    best: float = 0.0
    margin: float = 0.0
    names_missing: float = 0.0
    kind_missing: float = 0.0
    agreement: float = 0.0
    lexical: float = 0.0
    kind: str | None = None
    missing: list[str] = field(default_factory=list)  # the names no passage mentions, as the question writes them

    def vector(self) -> list[float]:
        return [float(getattr(self, f)) for f in FEATURES]

    def as_trace(self) -> dict:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def read_signals(question: str, passages: Sequence[Passage], similarities: Sequence[float],
                 quoted: Sequence[str], lexical: float = 0.0) -> Signals:
    """The signals of one answer: ``similarities`` of every candidate sentence, ``quoted`` the
    sentences the answer would quote, ``lexical`` the best sentence's share of the question's words."""
    ranked = sorted(similarities, reverse=True)
    best = ranked[0] if ranked else 0.0
    rest = ranked[1:5]
    margin = best - sum(rest) / len(rest) if rest else best
    asked = names(question)
    missing = missing_names(question, passages) if asked else []
    kind = answer_types.answer_kind(question)
    held = any(answer_types.holds_kind(kind, s, question) for s in quoted) if kind else True
    top = list(passages[:3])
    both = sum(1 for p in top if p.scores.get("dense_rank", 99) <= 10 and p.scores.get("bm25_rank", 99) <= 10)
    return Signals(best=best, margin=margin, names_missing=len(missing) / len(asked) if asked else 0.0,
                   kind_missing=0.0 if held else 1.0, agreement=both / len(top) if top else 0.0,
                   lexical=lexical, kind=kind, missing=missing)


@dataclass
class Assessment:
    level: str  # high | low | none
    reason: str
    probability: float | None = None

    def as_trace(self) -> dict:
        return {"level": self.level, "reason": self.reason,
                "probability": None if self.probability is None else round(self.probability, 4)}


def assess(question: str, signals: Signals, config, abstain_threshold: float) -> Assessment:
    """The confidence of an answer with these signals, under a profile's ``ConfidenceConfig``
    (``config``; None: the old rule, "high" at or above ``abstain_threshold``, else "none")."""
    if config is None:
        if signals.best >= abstain_threshold:
            return Assessment("high", "the quoted sentences are close to the question")
        return Assessment("none", "no retrieved sentence is close enough to the question")
    if signals.best < config.none_below:
        return Assessment("none", "nothing found is about this question")
    z = config.intercept + sum(config.weights.get(f, 0.0) * v for f, v in zip(FEATURES, signals.vector()))
    probability = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))
    if probability >= config.high_threshold:
        return Assessment("high", _why_high(signals), probability)
    return Assessment("low", caveat(question, signals), probability)


def _why_high(signals: Signals) -> str:
    parts = ["the quoted sentences match the question"]
    if signals.kind and not signals.kind_missing:
        parts.append(f"and hold the {signals.kind} it asks for")
    return " ".join(parts)


def caveat(question: str, signals: Signals) -> str:
    """What the closest passages lack, in plain words: "none of these passages names Eminem"."""
    if signals.missing:
        named = _join(signals.missing)
        return f"none of these passages names {named}"
    topic = focus(question)
    if signals.kind and signals.kind_missing:
        what = answer_types.describe(signals.kind)
        if signals.kind == answer_types.NAMED:
            return f"none of these passages names what the question asks{f' about {topic}' if topic else ''}"
        return f"none of these passages {what}{f' for {topic}' if topic else ''}"
    return f"these passages are related but may not answer{f' about {topic}' if topic else ' the question'}"


_LEAD = re.compile(r"^\s*(?:(?:who|whom|whose|what|which|when|where|why|how)\b(?:\s+(?:many|much|long|old|often|far))?"
                   r"(?:\s+\w+)??\s+(?:is|was|are|were|did|does|do|has|have|had|will|would|can|could)\b\s*)",
                   re.IGNORECASE)


def focus(question: str) -> str:
    """The question's subject, for a caveat: "When did the rail strike end?" → "the rail strike end"."""
    text = question.strip().rstrip("?").strip()
    stripped = _LEAD.sub("", text)
    if stripped == text:
        stripped = re.sub(r"^\s*(?:who|whom|whose|what|which|when|where|why|how)\b\s*", "", text, flags=re.IGNORECASE)
    words = stripped.split()
    return " ".join(words[:10]) + (" …" if len(words) > 10 else "") if words else ""


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def low_confidence_note(reason: str) -> str:
    """The line a "low" answer starts with: the caveat, then the closest passages."""
    return f"Not a sure answer: {reason}. The closest passages say:"
