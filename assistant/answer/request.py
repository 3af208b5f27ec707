"""What the answer writer is asked, beyond the question: prepared by the service for both modes."""

from __future__ import annotations

from dataclasses import dataclass, field

from assistant.query.questions import SpeakerQuestion, names_match
from assistant.query.timeframes import Timeframe

NO_ANSWER = "I could not find this in the indexed articles."


@dataclass
class AnswerRequest:
    question: str  # standalone (follow-ups already rewritten)
    speaker: SpeakerQuestion | None = None  # "What did <person> say about <topic>?"
    timeframe: Timeframe | None = None
    outlets: list[str] = field(default_factory=list)  # indexed outlets the question names
    unknown_outlets: list[str] = field(default_factory=list)  # outlets it names that are not indexed
    exclude: set[tuple[str, int]] = field(default_factory=set)  # (article id, start) cited earlier ("what else")

    @property
    def compares(self) -> bool:
        return len(self.outlets) > 1

    def as_trace(self) -> dict:
        return {
            "question": self.question,
            "speaker": self.speaker.as_dict() if self.speaker else None,
            "timeframe": self.timeframe.as_dict() if self.timeframe else None,
            "outlets": self.outlets, "unknown_outlets": self.unknown_outlets,
            "excluded_sentences": len(self.exclude),
        }


def speaker_matches(asked: SpeakerQuestion, speaker: str | None, role: str | None, cue: str = "") -> bool:
    """Whether the person the question asks about is ``speaker`` (as attributed in an article)."""
    if not speaker:
        return False
    if asked.kind == "name":
        return names_match(asked.person, speaker)
    if asked.kind == "nominal":
        head = asked.head.lower()
        words = f"{role or ''} {cue}".lower().replace(",", " ").split()
        return head in words
    return True  # an unresolved pronoun: anyone who speaks


def no_answer(reason: str | None = None) -> str:
    return f"{NO_ANSWER[:-1]}: {reason}." if reason else NO_ANSWER
