"""Time words in a question → a publication-date range (``SearchFilters.since/until``).

    parse_timeframe("What did TechCrunch report in November 2023?", date(2023, 12, 25))
    → Timeframe(since=2023-11-01, until=2023-11-30, text="in November 2023")

Understood: months ("in November", "in Nov 2023", "early/mid/late November"), days when they
date a publication ("the report published on November 27, 2023", "after October 7"; "the
press conference on May 17" is an event and filters nothing), years ("in 2023"), relative spans
("last week", "this month", "yesterday", "in the past 3 days", "last year") measured back from a
reference date (the day the question is asked: see :mod:`assistant.query.analyzer`), and bounds ("before October",
"after October 7, 2023", "since September", "between October and November"). Several dates in
one question ("the report on October 7 … the article on October 30") give the span covering
all of them. "latest"/"most recent"/"recently" set ``recency`` (answers list newer articles first)
without a filter; asking for the newest coverage itself ("What is the latest on …?", "latest news
about …", "what's new with …") also sets ``latest`` (retrieval ranks newer articles higher).
Capitalized "May" is a month only when a day or year is next to it or it follows in/during/since.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import date, timedelta

_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
_MONTHS["sept"] = 9
_MONTH = r"(?P<month>January|February|March|April|May|June|July|August|September|October|November|December|" \
         r"Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.?"
_YEAR = r"(?P<year>(?:19|20)\d\d)"
_NUMBER_WORDS = {"a": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
                 "eight": 8, "nine": 9, "ten": 10, "few": 3, "couple of": 2}

_DAY_MDY = re.compile(rf"\b{_MONTH}\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+{_YEAR})?\b")
_DAY_DMY = re.compile(rf"\b(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}(?:,?\s+{_YEAR})?\b")
_DAY_ISO = re.compile(r"\b(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})\b")
_MONTH_YEAR = re.compile(rf"\b(?:(?P<part>early|mid|late|the end of|the start of|the beginning of)[\s-]+)?{_MONTH}"
                         rf"(?:\s+(?:of\s+)?{_YEAR})?\b")
_YEAR_ONLY = re.compile(rf"\b(?:in|during|of|for|since|before|after|by|until|throughout)\s+{_YEAR}\b", re.IGNORECASE)
_RELATIVE = re.compile(
    r"\b(?P<which>last|past|previous|this|the past|the last|in the past|in the last|over the past|over the last)\s+"
    r"(?:(?P<count>\d+|a few|a couple of|one|two|three|four|five|six|seven|eight|nine|ten)\s+)?"
    r"(?P<unit>days?|weeks?|months?|years?)\b", re.IGNORECASE)
_SINGLE = re.compile(r"\b(?P<word>yesterday|today|this weekend|last weekend)\b", re.IGNORECASE)
_BOUND = re.compile(r"\b(?P<bound>before|prior to|after|since|until|till|by|from|between)\s+$", re.IGNORECASE)
_RECENCY = re.compile(r"\b(latest|most recent(?:ly)?|newest|recently|current(?:ly)?|nowadays|these days)\b",
                      re.IGNORECASE)
# Asking for the newest coverage itself ("What is the latest on X?", "latest news about Y", "what's new
# with Z"), not describing a thing as recent ("Apple's latest product", "recently reported by"), which
# questions do far more often (MultiHop-RAG dev: 131 such questions, 0 asking for the newest news).
_LATEST = re.compile(r"\b(?:latest|newest|most recent|most up-to-date)\s+(?:news|updates?|developments?|coverage|"
                     r"reports?|reporting|headlines|stories|articles?|information|word)\b|"
                     r"\bthe\s+(?:latest|newest)\s+(?:on|about|with|from|in|for)\b|"
                     r"\bwhat(?:'s|’s| is| are)\s+(?:new|happening)\b|\bup to date\b", re.IGNORECASE)
# A named day is a publication date only next to words about publishing ("the report on October 7").
_PUBLISHING = re.compile(r"\b(published|publishes|reported|reports?|article|articles|story|stories|piece|posted|"
                         r"wrote|written|coverage|released|issued|ran|dated)\b[^.?!]*$", re.IGNORECASE)
_MONTH_CONTEXT = re.compile(r"\b(?:in|during|since|before|after|until|by|of|from|between|and|early|mid|late)[\s-]+$",
                            re.IGNORECASE)


@dataclass
class Timeframe:
    since: date | None = None
    until: date | None = None
    recency: bool = False  # recent things named ("recently", "currently", "the latest …"): newest first in answers
    latest: bool = False  # the newest coverage asked for ("What is the latest on …?"): ranked by recency
    phrases: list[str] = field(default_factory=list)

    @property
    def is_filter(self) -> bool:
        return self.since is not None or self.until is not None

    def as_dict(self) -> dict:
        return {"since": self.since.isoformat() if self.since else None,
                "until": self.until.isoformat() if self.until else None,
                "recency": self.recency, "latest": self.latest, "phrases": self.phrases}


@dataclass
class _Found:
    start: int
    end: int
    first: date
    last: date
    bound: str = ""
    pad: int = 0  # days added on each side of a named day


def parse_timeframe(question: str, reference: date | None = None) -> Timeframe:
    """The time the question asks about; an empty :class:`Timeframe` when it names none."""
    reference = reference or date.today()
    found = _absolute(question, reference) + _relative(question, reference)
    found.sort(key=lambda f: f.start)
    result = Timeframe(recency=bool(_RECENCY.search(question)), latest=bool(_LATEST.search(question)))
    if not found:
        return result
    result.phrases = [question[f.start:f.end].strip() for f in found]
    bounded = [f for f in found if f.bound]
    if len(bounded) == 1 and len(found) == 1:
        f = found[0]
        first, last = f.first + timedelta(days=f.pad), f.last - timedelta(days=f.pad)  # bounds are exact
        if f.bound in ("before", "prior to"):
            result.until = first - timedelta(days=1)
        elif f.bound in ("until", "till", "by"):
            result.until = last
        elif f.bound == "after":
            result.since = last + timedelta(days=1)
        else:  # since, from
            result.since = first
        return result
    # "between X and Y", "on X … on Y": the span covering all of them.
    result.since = min(f.first for f in found)
    result.until = max(f.last for f in found)
    return result


def _absolute(text: str, reference: date) -> list[_Found]:
    out: list[_Found] = []
    taken: list[tuple[int, int]] = []

    def free(m: re.Match) -> bool:
        return not any(s < m.end() and m.start() < e for s, e in taken)

    def add(m: re.Match, first: date, last: date, pad: int = 0) -> None:
        taken.append((m.start(), m.end()))
        out.append(_Found(m.start(), m.end(), first - timedelta(days=pad), last + timedelta(days=pad),
                          _bound_before(text, m.start()), pad))

    for pattern in (_DAY_ISO, _DAY_MDY, _DAY_DMY):
        for m in pattern.finditer(text):
            if not free(m):
                continue
            day = _day(m, reference)
            if day is None:
                continue
            if not _PUBLISHING.search(text[max(0, m.start() - 60):m.start()]) and not _bound_before(text, m.start()):
                taken.append((m.start(), m.end()))  # "the press conference on May 17": an event, not a filter
                continue
            # Publication times are UTC; a day named in local time may be the next or previous one.
            add(m, day, day, pad=1)
    for m in _MONTH_YEAR.finditer(text):
        if not free(m):
            continue
        word = m.group("month")
        if word in ("May", "Mar", "Jan", "Jun") and not (m.group("year") or _MONTH_CONTEXT.search(text[:m.start()])):
            continue  # "May I …", "Jan Smith": not a month
        if m.group("month")[0].islower():
            continue
        month = _MONTHS[word.lower().rstrip(".")]
        year = int(m.group("year")) if m.group("year") else _year_for(month, reference)
        first, last = date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])
        part = (m.group("part") or "").lower()
        if part == "early" or part in ("the start of", "the beginning of"):
            last = date(year, month, 10)
        elif part == "mid":
            first, last = date(year, month, 11), date(year, month, 20)
        elif part in ("late", "the end of"):
            first = date(year, month, 21)
        add(m, first, last)
    for m in _YEAR_ONLY.finditer(text):
        if free(m):
            year = int(m.group("year"))
            inner = re.search(_YEAR, m.group(0))
            taken.append((m.start(), m.end()))
            out.append(_Found(m.start() + inner.start(), m.end(), date(year, 1, 1), date(year, 12, 31),
                              _bound_before(text, m.start() + inner.start())))
    return out


def _relative(text: str, reference: date) -> list[_Found]:
    out = []
    for m in _RELATIVE.finditer(text):
        which = m.group("which").lower()
        unit = m.group("unit").lower().rstrip("s")
        count_word = (m.group("count") or "").lower()
        count = int(count_word) if count_word.isdigit() else _NUMBER_WORDS.get(count_word, 1)
        if which == "this":
            first = {"day": reference, "week": reference - timedelta(days=reference.weekday()),
                     "month": reference.replace(day=1), "year": reference.replace(month=1, day=1)}[unit]
            out.append(_Found(m.start(), m.end(), first, reference))
        elif unit == "month" and not m.group("count") and which in ("last", "previous"):
            end = reference.replace(day=1) - timedelta(days=1)
            out.append(_Found(m.start(), m.end(), end.replace(day=1), end))
        elif unit == "year" and not m.group("count") and which in ("last", "previous"):
            year = reference.year - 1
            out.append(_Found(m.start(), m.end(), date(year, 1, 1), date(year, 12, 31)))
        else:
            days = {"day": 1, "week": 7, "month": 30, "year": 365}[unit] * count
            out.append(_Found(m.start(), m.end(), reference - timedelta(days=days), reference))
    for m in _SINGLE.finditer(text):
        word = m.group("word").lower()
        if word == "today":
            first = last = reference
        elif word == "yesterday":
            first = last = reference - timedelta(days=1)
        else:
            saturday = reference - timedelta(days=(reference.weekday() - 5) % 7)
            if word == "last weekend" and saturday == reference:
                saturday -= timedelta(days=7)
            first, last = saturday, min(reference, saturday + timedelta(days=1))
        out.append(_Found(m.start(), m.end(), first, last))
    return out


def day_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, ISO day) of every calendar day written out with its year ("October 7, 2023",
    "7th of October 2023", "2023-10-07"), in order; impossible days are skipped."""
    found: list[tuple[int, int, str]] = []
    for pattern in (_DAY_ISO, _DAY_MDY, _DAY_DMY):
        for m in pattern.finditer(text):
            if not m.group("year") or any(s < m.end() and m.start() < e for s, e, _ in found):
                continue
            day = _day(m, date.today())
            if day is not None:
                found.append((m.start(), m.end(), day.isoformat()))
    return sorted(found)


def named_days(text: str) -> list[str]:
    """The calendar days :func:`day_spans` finds, as ISO dates, in order, without repeats."""
    return list(dict.fromkeys(iso for _, _, iso in day_spans(text)))


def _day(m: re.Match, reference: date) -> date | None:
    month_text = m.group("month")
    month = int(month_text) if month_text.isdigit() else _MONTHS[month_text.lower().rstrip(".")]
    year = int(m.group("year")) if m.group("year") else _year_for(month, reference)
    try:
        return date(year, month, int(m.group("day")))
    except ValueError:
        return None


def _year_for(month: int, reference: date) -> int:
    """A month without a year is the latest such month not after the reference date."""
    return reference.year if month <= reference.month else reference.year - 1


def _bound_before(text: str, start: int) -> str:
    match = _BOUND.search(text[max(0, start - 12):start])
    return match.group("bound").lower() if match else ""
