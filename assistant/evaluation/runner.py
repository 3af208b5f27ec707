"""Ask an assistant every question once, score the answer, and summarise the scores.

Retrieval metrics use the passages the answer was written from (``answer.passages``), so each
question costs exactly one ``ask``. ``Variant`` lists the configurations ``--compare`` runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from assistant.models import Answer
from assistant.evaluation import metrics as m
from assistant.evaluation.datasets import EvalQuestion

HITS_AT = (1, 4, 10)
TOP = 10  # the @10 of MRR@10 and evidence recall@10
RETRIEVAL_KEYS = ("hits@1", "hits@4", "hits@10", "mrr@10", "evidence_recall@10")
ANSWER_KEYS = ("citation_precision", "citation_recall", "answer_contains",
               "abstain_rate_unanswerable", "abstain_rate_answerable",
               "abstain_rate_answerable_found", "abstain_rate_answerable_missed")
LATENCY_KEYS = ("retrieve_p50", "retrieve_p95", "answer_p50", "answer_p95")


@dataclass(frozen=True)
class Variant:
    """A configuration to evaluate: settings overrides applied to the configured settings."""

    name: str
    overrides: dict = field(default_factory=dict)
    description: str = ""


COMPARE_VARIANTS: tuple[Variant, ...] = (
    Variant("default", {}, "the configured settings and retrieval profile"),
    Variant("hybrid", {"profile": "hybrid"}, "floor: dense and BM25 fused by plain reciprocal rank fusion"),
    Variant("dense", {"profile": "dense"}, "floor: embeddings only"),
    Variant("bm25", {"profile": "bm25"}, "floor: BM25 keywords only"),
)


def build_variant(base, variant: Variant):
    """An assistant like ``base`` with ``variant``'s overrides, sharing its embedder and chat model."""
    if not variant.overrides:
        return base
    from assistant.service.factory import build_assistant

    settings = base.settings.model_copy(update=variant.overrides)
    return build_assistant(settings, embedder=base.indexer.embedder, chat_model=getattr(base, "chat_model", None))


@dataclass
class QuestionResult:
    """What happened to one question, and its scores (None where a score does not apply)."""

    question: EvalQuestion
    answer: Answer
    gold: list[m.Gold]
    ranks: list[int]  # ranks of the passages holding gold evidence
    evidence_recall: float | None
    citation_precision: float | None
    citation_recall: float | None
    answer_contains: bool | None

    @property
    def scored_retrieval(self) -> bool:
        """Retrieval is scored on answerable questions that name their evidence."""
        return self.question.answerable and bool(self.gold)

    @property
    def first_hit(self) -> int | None:
        return min(self.ranks, default=None)


def score(question: EvalQuestion, answer: Answer) -> QuestionResult:
    gold = m.gold_of(question.evidence) if question.answerable else []
    answered = not answer.abstained
    return QuestionResult(
        question=question,
        answer=answer,
        gold=gold,
        ranks=m.hit_ranks(gold, answer.passages),
        evidence_recall=m.evidence_recall(gold, answer.passages, TOP),
        citation_precision=m.citation_precision(answer.citations, gold) if gold and answered else None,
        citation_recall=m.citation_recall(answer.citations, gold),
        answer_contains=m.answer_contains(question.answer, answer.answer) if question.answerable else None,
    )


def evaluate(assistant, questions: Iterable[EvalQuestion], k: int = TOP) -> Iterator[QuestionResult]:
    """Ask each question (with its filters) and yield its scored result as soon as it is known."""
    for question in questions:
        yield score(question, assistant.ask(question.question, k, question.filters, as_of=question.as_of))


def summarize(results: Sequence[QuestionResult]) -> dict:
    """The metrics object of ``--json``: counts, retrieval, answers, latency, and the same per type."""
    summary = _scores(results)
    types = sorted({r.question.type for r in results})
    summary["by_type"] = {t: _scores([r for r in results if r.question.type == t]) for t in types}
    return summary


def _scores(results: Sequence[QuestionResult]) -> dict:
    scored = [r for r in results if r.scored_retrieval]
    answerable = [r for r in results if r.question.answerable]
    unanswerable = [r for r in results if not r.question.answerable]
    retrieval = {f"hits@{k}": m.mean(m.hit_at(r.ranks, k) for r in scored) for k in HITS_AT}
    retrieval["mrr@10"] = m.mean(m.reciprocal_rank(r.ranks, TOP) for r in scored)
    retrieval["evidence_recall@10"] = m.mean(r.evidence_recall for r in scored)
    answers = {
        "citation_precision": m.mean(r.citation_precision for r in results),
        "citation_recall": m.mean(r.citation_recall for r in results),
        "answer_contains": m.mean(r.answer_contains for r in results),
        "abstain_rate_unanswerable": m.mean(r.answer.abstained for r in unanswerable),
        "abstain_rate_answerable": m.mean(r.answer.abstained for r in answerable),
        # The same split by whether retrieval put gold evidence in the top 10: declining when it did
        # not is what a careful reader of those passages would do; declining when it did is a miss.
        "abstain_rate_answerable_found": m.mean(r.answer.abstained for r in scored if m.hit_at(r.ranks, TOP)),
        "abstain_rate_answerable_missed": m.mean(r.answer.abstained for r in scored if not m.hit_at(r.ranks, TOP)),
    }
    answers["confidence_rates"] = {"answerable": confidence_rates(answerable),
                                   "unanswerable": confidence_rates(unanswerable)}
    return {
        "questions": len(results),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "scored_retrieval": len(scored),
        "scored_answer_contains": sum(r.answer_contains is not None for r in results),
        "retrieval": _rounded(retrieval),
        "answers": {**_rounded({k: v for k, v in answers.items() if k != "confidence_rates"}),
                    "confidence_rates": answers["confidence_rates"]},
        "latency_ms": _latency(results),
    }


CONFIDENCE_LEVELS = ("high", "low", "none")


def confidence_rates(results: Sequence[QuestionResult]) -> dict[str, float | None]:
    """Share of ``results`` answered with each confidence (None for each when there are none)."""
    if not results:
        return {level: None for level in CONFIDENCE_LEVELS}
    return {level: round(sum(r.answer.confidence == level for r in results) / len(results), 4)
            for level in CONFIDENCE_LEVELS}


def _latency(results: Sequence[QuestionResult]) -> dict:
    out = {}
    for step in ("retrieve", "answer"):
        values = [r.answer.timings_ms[step] for r in results if step in r.answer.timings_ms]
        out[f"{step}_p50"] = m.percentile(values, 50)
        out[f"{step}_p95"] = m.percentile(values, 95)
    return _rounded(out, 1)


def _rounded(values: dict, digits: int = 4) -> dict:
    return {key: None if v is None else round(v, digits) for key, v in values.items()}


@dataclass
class ConfigRun:
    """The results of one configuration on the question set."""

    variant: Variant
    retrieval_mode: str  # the profile's retrievers: hybrid, dense or bm25
    profile: str
    results: list[QuestionResult]


def run_configs(base, questions: Sequence[EvalQuestion], variants: Sequence[Variant], k: int = TOP,
                progress: Callable[[Iterator[QuestionResult], Variant], Iterable[QuestionResult]] | None = None,
                ) -> list[ConfigRun]:
    """Evaluate each variant of ``base`` on the same questions; ``progress`` may wrap each run."""
    runs = []
    for variant in variants:
        assistant = build_variant(base, variant)
        assistant.search("warm-up", 1)  # load models and indexes before anything is timed
        results = evaluate(assistant, questions, k)
        runs.append(ConfigRun(variant, assistant.profile.fusion.mode, assistant.profile.name,
                              list(progress(results, variant) if progress else results)))
    return runs


def summary_object(runs: Sequence[ConfigRun], *, path: str, format: str, k: int) -> dict:
    """The ``--json`` object: the first run's metrics, and every run's under "configs" when several."""
    head = {"dataset": {"path": path, "format": format}, "k": k, "config": runs[0].variant.name}
    summary = {**head, "retrieval_mode": runs[0].retrieval_mode, "profile": runs[0].profile,
               **summarize(runs[0].results)}
    if len(runs) > 1:
        summary["configs"] = {
            run.variant.name: {"description": run.variant.description, "overrides": run.variant.overrides,
                               "retrieval_mode": run.retrieval_mode, "profile": run.profile,
                               **summarize(run.results)}
            for run in runs
        }
    return summary
