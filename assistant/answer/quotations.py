"""Where the quotations of an article are: character spans of direct speech, across sentences.

The sentence splitter cuts inside quotations (“A. B. C,” he said.), so quotations are found on
the raw text: curly quotes nest (“… he was “dumped” …”), a straight double quote closes an open
quotation or opens a new one, and a quotation left open at the end of a paragraph continues only
when the next paragraph opens with a quote mark (the news convention for long quotations).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_PARAGRAPH = re.compile(r"\n\s*\n|\n(?=\S)")
_OPEN, _CLOSE, _STRAIGHT = "“", "”", '"'


@dataclass
class Quotation:
    """One quotation: its segments (one per paragraph it runs through) as body offsets."""

    segments: list[tuple[int, int]] = field(default_factory=list)
    closed: bool = False

    @property
    def start(self) -> int:
        return self.segments[0][0]

    @property
    def end(self) -> int:
        return self.segments[-1][1]

    def words(self, body: str) -> int:
        return sum(len(body[s:e].split()) for s, e in self.segments)

    def covers(self, start: int, end: int) -> int:
        """Characters of ``[start, end)`` inside the quotation."""
        return sum(max(0, min(e, end) - max(s, start)) for s, e in self.segments)


def paragraphs(body: str) -> list[tuple[int, int]]:
    out, cursor = [], 0
    for match in _PARAGRAPH.finditer(body):
        out.append((cursor, match.start()))
        cursor = match.end()
    out.append((cursor, len(body)))
    return [(s, e) for s, e in out if body[s:e].strip()]


def find_quotations(body: str) -> list[Quotation]:
    """Top-level quotations in reading order (nested quotes belong to their outer quotation)."""
    quotations: list[Quotation] = []
    current: Quotation | None = None
    for para_start, para_end in paragraphs(body):
        text = body[para_start:para_end]
        lead = para_start + len(text) - len(text.lstrip())
        depth, seg_start = 0, -1
        if current is not None and not current.closed and body[lead] in (_OPEN, _STRAIGHT):
            depth, seg_start = 1, lead  # the quotation runs on into this paragraph
            current.segments.append((lead, lead))
        for pos in range(lead, para_end):
            ch = body[pos]
            if ch not in (_OPEN, _CLOSE, _STRAIGHT) or pos == seg_start:
                continue
            if depth == 0:
                if ch == _CLOSE:
                    continue  # a stray closing mark
                current = Quotation(segments=[(pos, pos)])
                quotations.append(current)
                depth, seg_start = 1, pos
            elif ch == _OPEN:
                depth += 1
            else:
                depth -= 1
                if depth == 0:
                    current.segments[-1] = (seg_start, pos + 1)
                    current.closed = True
        if depth:
            # Still open at the paragraph's end: the segment runs to the end of the paragraph.
            current.segments[-1] = (seg_start, para_end)
            current.closed = False
    return quotations


def inside_mask(body: str, quotations: list[Quotation]) -> list[bool]:
    """Per character: inside a quotation (marks included)."""
    mask = [False] * len(body)
    for q in quotations:
        for s, e in q.segments:
            for i in range(s, e):
                mask[i] = True
    return mask


def mask_quotes(text: str, offset: int, mask: list[bool], fill: str = "_") -> str:
    """``text`` (at ``offset`` in the body) with quoted characters replaced, lengths kept."""
    return "".join(fill if mask[offset + i] and not ch.isspace() else ch for i, ch in enumerate(text))


# --- quotation marks of one sentence ---------------------------------------------------------
# A sentence cut out of an article may open a quotation it does not close (“It would be … Ukraine.)
# or close one opened in an earlier sentence (Therefore, … regard,” Zhelikhovsky said.). Shown on
# its own, such a sentence must get the missing mark, never lose or change one of its own: the
# words stay the article's, verbatim, and the marks balance.
_CLOSERS = {_OPEN: _CLOSE, _STRAIGHT: _STRAIGHT}


@dataclass
class Marks:
    """The quotation marks of a text read on their own (see :func:`read_marks`)."""

    inside: list[bool]  # per character: inside quotation marks (the marks themselves included)
    missing_open: list[str]  # opening marks the text needs before it, outermost first
    left_open: list[str]  # opening marks still open at the end, outermost first

    def quoted_only(self, text: str) -> bool:
        """Every word of the text is inside quotation marks."""
        return any(self.inside) and all(inside or not ch.isalnum() for ch, inside in zip(text, self.inside))


def read_marks(text: str, open_before: str = "") -> Marks:
    """Where ``text`` is inside quotation marks. ``open_before``: the mark of a quotation the text
    starts inside of (opened before it in the article), if any; without it a closing mark that has
    no opening mark in the text tells the same. Curly quotes nest; a straight double quote closes an
    open straight quote, closes at a word's end when nothing is open, and otherwise opens one."""
    stack: list[str] = [open_before] if open_before else []
    missing: list[str] = []
    inside: list[bool] = []
    for i, ch in enumerate(text):
        if ch == _OPEN:
            stack.append(ch)
        elif ch == _CLOSE or (ch == _STRAIGHT and (stack[-1:] == [_STRAIGHT] or (not stack and _closes_word(text, i)))):
            if stack:
                stack.pop()
            else:  # everything before it was quoted words of a quotation opened earlier
                missing.insert(0, _OPEN if ch == _CLOSE else _STRAIGHT)
                inside = [True] * len(inside)
            inside.append(True)
            continue
        elif ch == _STRAIGHT:
            stack.append(ch)
        inside.append(bool(stack))
    return Marks(inside, ([open_before] if open_before else []) + missing, stack)


def _closes_word(text: str, i: int) -> bool:
    before = text[i - 1] if i else " "
    after = text[i + 1] if i + 1 < len(text) else " "
    return not before.isspace() and (after.isspace() or after in ".,;:!?)")


def balance_marks(text: str, open_before: str = "", ellipsis: bool = False) -> str:
    """``text`` verbatim with the quotation marks it lacks added: an opening mark before it for a
    quotation it closes (or is inside of: ``open_before``), a closing mark after it for each one it
    leaves open. ``ellipsis`` marks the cut: “…Therefore, … regard,” Zhelikhovsky said."""
    marks = read_marks(text, open_before)
    before = "".join(marks.missing_open)
    after = "".join(_CLOSERS[mark] for mark in reversed(marks.left_open))
    if ellipsis:
        before += "…" if before else ""
        after = ((" …" if text.rstrip()[-1:] in ".!?;:,”’\"" else "…") if after else "") + after
    return before + text + after


def display_quote(quote: str) -> str:
    """A citation's verbatim sentence as shown on its own line: the article's words with balanced
    quotation marks, an ellipsis where the quotation runs on before or after the sentence (no marks
    added around it: a sentence that holds its own quotation marks would show them doubled)."""
    return balance_marks(quote.strip(), ellipsis=True)
