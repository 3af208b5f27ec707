"""How every surface (CLI, chat, web) says which of the three outcomes an answer is, and why.

``Answer.confidence`` is "high" (the cited sentences answer the question), "low" (the closest
passages, with a caveat naming what they lack) or "none" (declined). The words live here so that
the terminal, the web chat and the Markdown copy say the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass

from assistant.answer.request import NO_ANSWER
from assistant.models import Answer

LABELS = {"high": "Answered", "low": "Low confidence", "none": "Not answered"}
LOW_FALLBACK = "these are the closest passages found, not a sure answer"


@dataclass(frozen=True)
class Outcome:
    confidence: str  # "high" | "low" | "none"
    label: str  # "Answered" | "Low confidence" | "Not answered"
    reason: str | None  # why, in plain words; None when the answer's text already says it (or nothing is known)

    def parts(self) -> tuple[str, str]:
        """('Low confidence:', 'none of these passages names Graceland.'); ('Not answered.', '') without a reason."""
        return (f"{self.label}:", _sentence(self.reason)) if self.reason else (f"{self.label}.", "")

    def line(self) -> str:
        """'Low confidence: none of these passages names Graceland.' (the label alone without a reason)."""
        return " ".join(part for part in self.parts() if part)


def outcome_of(answer: Answer) -> Outcome:
    """The outcome of ``answer``: its confidence, label and the reason worth showing beside its text.

    The reason is ``confidence_reason``; for a bare decline ("I could not find this …") without one,
    the reason the answerer recorded (``trace["abstain_reason"]``); for a "low" answer without one,
    that these are only the closest passages. A reason the answer's own text already holds (the
    answerers start a "low" answer with its caveat) is not repeated: the label alone is shown.
    """
    confidence = answer.confidence or ("none" if answer.abstained else "high")
    reason = (answer.confidence_reason or "").strip()
    if not reason and confidence == "none" and answer.answer.strip() == NO_ANSWER:  # a bare decline
        reason = str(answer.trace.get("abstain_reason") or "").strip()
    if confidence == "low" and not reason:
        reason = LOW_FALLBACK
    if reason and _said(reason, answer.answer):
        reason = ""
    return Outcome(confidence, LABELS[confidence], reason or None)


def outcome_note(answer: Answer) -> str | None:
    """The line a reader needs besides the answer's text: always for "low" ("Low confidence." when
    the text gives the reason), for "none" when it adds the reason, never for "high"."""
    outcome = outcome_of(answer)
    if outcome.confidence == "high" or (outcome.confidence == "none" and not outcome.reason):
        return None
    return outcome.line()


def _said(reason: str, text: str) -> bool:
    core = reason.rstrip(" .").casefold()
    return bool(core) and core in " ".join(text.split()).casefold()


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    return text if text[-1:] in ".!?…" else text + "."
