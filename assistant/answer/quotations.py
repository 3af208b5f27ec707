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
