"""The one question reader: a question in a conversation → a typed :class:`QueryPlan`.

    plan = QueryAnalyzer(sources=lambda: ["TechCrunch"]).analyze("What did TechCrunch report last week?",
                                                                 as_of=date(2023, 11, 15))
    plan.outlets, plan.filters.since, plan.reference_date

It rewrites a follow-up into a standalone question, finds the outlets named (as the source of the
evidence or as the subject), the publication dates its time words ask for — measured from a
reference date: the question's own ``as_of`` (a conversation's date), ``ASSISTANT_REFERENCE_DATE``,
or today, never the newest article — the days it names, the person it asks about and its clauses.
Retrieval and answering both read this plan; nothing else parses the question.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date

from assistant.filters import SearchFilters
from assistant.query.analysis import QueryPlan, analyze
from assistant.query.conversation import condense
from assistant.query.questions import parse_speaker_question
from assistant.query.timeframes import parse_timeframe


class QueryAnalyzer:
    def __init__(self, sources: Callable[[], Iterable[str]] = tuple, chat_model=None, prompts=None,
                 time_filters: bool = True, reference_date: date | None = None):
        self.sources = sources  # the indexed outlets (called per question: the index may change)
        self.chat_model = chat_model  # rewrites follow-ups when set (LLM mode)
        self.prompts = prompts
        self.time_filters = time_filters
        self.reference_date = reference_date

    def analyze(self, question: str, history: list | None = None, filters: SearchFilters | None = None,
                as_of: date | None = None) -> QueryPlan:
        follow = condense(question, history, self.chat_model, self.prompts)
        reference = as_of or self.reference_date or date.today()
        plan = analyze(follow.question, self.sources())
        plan.question, plan.followup, plan.reference_date = question, follow, reference
        plan.timeframe = parse_timeframe(follow.question, reference)
        plan.speaker = parse_speaker_question(follow.question)
        given = filters or SearchFilters()
        effective = given
        if plan.timeframe.is_filter and self.time_filters and not (given.since or given.until):
            effective = given.model_copy(update={
                "since": plan.timeframe.since.isoformat() if plan.timeframe.since else None,
                "until": plan.timeframe.until.isoformat() if plan.timeframe.until else None})
            effective = SearchFilters(**effective.model_dump())  # normalised like user input
            plan.notes["time_filter"] = {"since": effective.since, "until": effective.until,
                                         "from_words": plan.timeframe.phrases,
                                         "reference_date": reference.isoformat()}
        elif follow.filters is not None and not (given.since or given.until):
            effective = SearchFilters(**{**given.model_dump(), "since": follow.filters.since,
                                         "until": follow.filters.until})
        plan.filters = None if effective.is_empty() else effective
        return plan
