"""Follow-up questions: rewrite "What else did he say?" into a standalone question using history.

History is a list of earlier turns: :class:`~assistant.models.Answer` objects (what ``ask``
returned), :class:`Turn` objects, or dicts ``{"question": …, "answer": …}``. Without a chat
model a heuristic carries over the previous turn's speaker (for "he"/"she"/"the expert"), topic
("What about Beijing?"), and date filters (when the new question names no time); "what else"
also excludes the sentences already cited. With a chat model the ``prompts/condense.txt``
prompt rewrites the question, and the heuristic still carries filters and exclusions.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from pydantic import BaseModel, Field

from assistant.query.questions import parse_speaker_question
from assistant.query.timeframes import parse_timeframe
from assistant.filters import SearchFilters
from assistant.models import Answer

_PRONOUN = re.compile(r"\b(he|she|him|her|his|hers|they|them|their)\b", re.IGNORECASE)
_ELSE = re.compile(r"\b(else|other|more|another|too|also|again|further)\b", re.IGNORECASE)
_ELLIPSIS = re.compile(r"^\s*(?:and|but|so)?\s*(?:what|how)\s+about\s+(?P<x>.+?)\s*\??\s*$|"
                       r"^\s*(?:and|but)\s+(?!(?:what|who|whom|whose|when|where|why|how|which|did|does|do|is|was|"
                       r"were|are|can|could|will|would|has|have|had)\b)(?P<y>.+?)\s*\??\s*$", re.IGNORECASE)
# "And about the talks?": the topic without its preposition, which the rewrite supplies ("say about …").
_TOPIC_WORD = re.compile(r"^(?:about|on|regarding|concerning|over)\s+(?=\S)", re.IGNORECASE)
HISTORY_TURNS = 3


class Turn(BaseModel):
    """One earlier exchange, with what a follow-up may refer back to."""

    question: str
    answer: str = ""
    speaker: str | None = Field(None, description="The person the turn was about (most cited speaker).")
    topic: str | None = None
    filters: dict | None = Field(None, description="The publication dates the turn's own time words asked for "
                                 "({'since', 'until'}); filters the user set are not carried over.")
    cited: list[tuple[str, int]] = Field(default_factory=list, description="(article id, start) of citations.")

    @classmethod
    def from_answer(cls, answer: Answer) -> "Turn":
        speakers = Counter(c.speaker for c in answer.citations if c.speaker)
        asked = (answer.trace.get("request") or {}).get("speaker") or {}
        return cls(
            question=answer.trace.get("standalone_question") or answer.question, answer=answer.answer,
            speaker=speakers.most_common(1)[0][0] if speakers else None, topic=asked.get("topic"),
            filters=_time_filter(answer.trace), cited=[(c.article_id, c.start) for c in answer.citations],
        )


def as_turns(history) -> list[Turn]:
    turns = []
    for item in history or []:
        if isinstance(item, Turn):
            turns.append(item)
        elif isinstance(item, Answer):
            turns.append(Turn.from_answer(item))
        elif isinstance(item, dict) and "question" in item:
            turns.append(Turn(**{k: v for k, v in item.items() if k in Turn.model_fields}))
        else:
            raise TypeError(f"history items are Answer, Turn or {{'question', 'answer'}} dicts, not {type(item).__name__}")
    return turns


@dataclass
class FollowUp:
    question: str  # standalone
    filters: SearchFilters | None = None  # carried over from the previous turn
    exclude: set[tuple[str, int]] = field(default_factory=set)
    how: str = "unchanged"  # unchanged | heuristic | llm
    notes: list[str] = field(default_factory=list)

    def as_trace(self) -> dict:
        return {"standalone_question": self.question, "how": self.how, "notes": self.notes,
                "carried_filters": self.filters.model_dump() if self.filters else None,
                "excluded_sentences": len(self.exclude)}


def condense(question: str, history, chat_model=None, prompts=None) -> FollowUp:
    turns = as_turns(history)
    if not turns:
        return FollowUp(question)
    last = turns[-1]
    follow = _heuristic(question, turns)
    if chat_model is not None and prompts is not None:
        rendered = prompts.render("condense.txt", history=_history_text(turns), question=question)
        try:
            reply = chat_model.invoke([("human", rendered)])
        except Exception as exc:  # a model that is down or failing must not lose the question
            reply = ""
            follow.notes.append(f"condense prompt failed ({type(exc).__name__}: {str(exc)[:200]}); "
                                "question kept without the model's rewrite")
        text = str(getattr(reply, "content", reply)).strip().strip('"')
        if text:
            follow.question, follow.how = text.splitlines()[0].strip(), "llm"
            follow.notes.append("rewritten by the condense prompt")
    if last.filters and not parse_timeframe(question).is_filter:  # the conversation stays in that period
        carried = SearchFilters(since=last.filters.get("since"), until=last.filters.get("until"))
        if not carried.is_empty():
            follow.filters = carried
            follow.notes.append("kept the time the previous question asked about")
    return follow


def _time_filter(trace: dict) -> dict | None:
    """The dates a turn's own time words set (not the user's filters, not a filter relaxed for finding nothing)."""
    words = trace.get("time_filter") or {}
    if not words or words.get("relaxed"):
        return None
    return {"since": words.get("since"), "until": words.get("until")}


def _heuristic(question: str, turns: list[Turn]) -> FollowUp:
    last = turns[-1]
    speaker = next((t.speaker for t in reversed(turns) if t.speaker), None)
    asked = parse_speaker_question(question)
    follow = FollowUp(question)
    if asked is not None and asked.kind == "name":
        return follow  # "And what did Putin say?" names its person: standalone already
    if asked is not None and asked.kind in ("pronoun", "nominal") and speaker:
        topic = f" about {asked.topic}" if asked.topic else ""
        follow.question = f"What did {speaker} say{topic}?"
        follow.how = "heuristic"
        follow.notes.append(f"'{asked.person}' taken to be {speaker}")
        if _ELSE.search(question):
            follow.exclude = {c for t in turns if t.speaker == speaker for c in t.cited}
            follow.notes.append("excluded sentences cited before")
        return follow
    ellipsis = _ELLIPSIS.match(question)
    if ellipsis and len(question.split()) <= 8:
        thing = (ellipsis.group("x") or ellipsis.group("y") or "").strip()
        topic = _TOPIC_WORD.sub("", thing)  # the rewrites below say "about" themselves
        if parse_timeframe(thing).phrases:
            follow.question = f"{_without_time(last.question).rstrip(' ?')} {thing}?"
        elif speaker and last.topic:
            follow.question = f"What did {speaker} say about {topic}?"
        elif last.topic and last.topic in last.question:
            follow.question = last.question.replace(last.topic, topic)
        else:
            follow.question = f"{last.question.rstrip(' ?')}: {topic}?"
        follow.how = "heuristic"
        follow.notes.append(f"'{thing}' read against the previous question")
        return follow
    if speaker and _PRONOUN.search(question):
        follow.question = _PRONOUN.sub(lambda m: _name_for(m.group(1), speaker), question, count=1)
        follow.how = "heuristic"
        follow.notes.append(f"'{_PRONOUN.search(question).group(1)}' taken to be {speaker}")
    return follow


def _name_for(pronoun: str, speaker: str) -> str:
    surname = speaker.split()[-1]
    return f"{surname}’s" if pronoun.lower() in ("his", "hers", "their") else surname


def _without_time(question: str) -> str:
    for phrase in parse_timeframe(question).phrases:
        question = re.sub(rf"\s*\b(?:in|on|during|since|before|after)?\s*{re.escape(phrase)}", "", question)
    return question


def _history_text(turns: list[Turn]) -> str:
    lines = []
    for turn in turns[-HISTORY_TURNS:]:
        lines.append(f"User: {turn.question}")
        if turn.answer:
            lines.append(f"Assistant: {turn.answer[:600]}")
    return "\n".join(lines)
