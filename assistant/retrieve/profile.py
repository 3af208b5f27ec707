"""Retrieval profiles: the tuning constants of retrieval and answering, as named data files.

A profile is a JSON file in ``assistant/profiles/`` (or any path): which retrievers run and how
their rankings are fused, whether a learned reranker orders the candidates, and the thresholds
of the answer writer. Settings choose one (``ASSISTANT_PROFILE``, ``assistant eval --profile``);
code never hard-codes a benchmark's constants.

Bundled profiles: ``default`` (what every stage of it earned on several question sets, see
docs/retrieval.md), the floors ``dense``, ``bm25`` and ``hybrid``, and ``multihop`` (the
reranker and routing rules trained on MultiHop-RAG dev: best there, not elsewhere).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assistant.errors import ConfigError

PROFILES_DIR = Path(__file__).resolve().parent.parent / "profiles"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FusionConfig(_Strict):
    """Which rankings are computed and how they are fused (weighted reciprocal rank fusion)."""

    mode: Literal["hybrid", "dense", "bm25"] = Field("hybrid", description="Retrievers that run.")
    candidates: int = Field(100, ge=1, le=1000, description="Candidates taken from each ranking before fusion.")
    rrf_k: int = Field(60, ge=1, description="Reciprocal rank fusion constant.")
    dense_weight: float = Field(1.0, ge=0, description="Weight of the dense (embedding) ranking.")
    bm25_weight: float = Field(1.0, ge=0, description="Weight of the BM25 ranking of whole chunks.")
    sentence_weight: float = Field(0.0, ge=0, description="Weight of the ranking by each chunk's best BM25 sentence.")
    dense_sentence_weight: float = Field(0.0, ge=0, description="Weight of the ranking by each chunk's most similar "
                                         "sentence (sentence vectors stored at ingest).")
    lexical_full_peak: float = Field(0.0, ge=0, description="Lexical confidence: the BM25 rankings of a question "
                                     "get their full weight when the best BM25 score is at least this many times the "
                                     "tenth best, and less as the scores flatten (ratio 1: lexical_floor of it). "
                                     "A flat top means no chunk stands out by the question's words. 0 = off.")
    lexical_floor: float = Field(1.0, ge=0, le=1, description="Share of their weight the BM25 rankings keep when "
                                 "their top ten scores are all equal (with lexical_full_peak).")
    article_decay: float = Field(1.0, gt=0, le=1, description="Score factor per further chunk of an article (1 = off).")
    route_tops: int = Field(0, ge=0, le=5, description="The best this many chunks of the dense ranking and of the "
                            "BM25 ranking each keep a place in the top k, taking the last places from fused "
                            "results neither ranking put that high (0 = off).")
    source_routing: bool = Field(False, description="Also rank within each outlet the question names as its source.")
    source_weight: float = Field(1.0, ge=0, description="Weight of each per-outlet ranking.")
    date_routing: bool = Field(False, description="Also rank among articles published around each day the question names.")
    recency_half_life_days: float = Field(0.0, ge=0, description="For a question asking for the newest coverage "
                                          "('What is the latest on …?', 'latest news about …', 'what's new with "
                                          "…'): a passage's score halves for "
                                          "every this many days its article is older than the question's "
                                          "reference date (0 = off).")
    general_half_life_days: float = Field(0.0, ge=0, description="The same decay for every question (0 = off: "
                                          "measured in docs/live-news.md, it did not help).")


class RerankConfig(_Strict):
    """The learned linear reranker (:mod:`assistant.rerank.linear`) and the rules applied after it."""

    model: str = Field(description="Model file: a name next to the profiles' reranker folder, or a path.")
    pool: int = Field(100, ge=1, description="Fused candidates the reranker orders.")
    clause_candidates: int = Field(10, ge=0, description="Per clause, best chunks added to the pool (0 = off).")
    outlet_quota: int = Field(3, ge=0, description="Places in the top k kept for each outlet named (0 = off).")
    neighbour_penalty: float = Field(0.5, ge=0, description="Log-odds lost per adjacent chunk ranked above.")


class ConfidenceConfig(_Strict):
    """How sure an answer is (assistant.answer.confidence): a logistic model over the answer's signals,
    fitted leave-one-question-set-out by benchmarks/confidence_fit.py."""

    weights: dict[str, float] = Field(default_factory=dict, description="Weight of each signal "
                                      "(best, margin, names_missing, kind_missing, agreement, lexical).")
    intercept: float = 0.0
    high_threshold: float = Field(0.5, ge=0, le=1, description="Probability at or above which an answer is 'high'.")
    none_below: float = Field(0.2, ge=-1, le=1, description="Best sentence similarity below which nothing found "
                              "is relevant: 'none' (declined).")
    fitted: dict = Field(default_factory=dict, description="How the model was fitted (sets, date, out-of-sample figures).")


class AnswerConfig(_Strict):
    """Thresholds of the extractive answer writer and of verification."""

    sentences: int = Field(3, ge=1, le=10, description="Most sentences quoted in an extractive answer.")
    llm_passages: int = Field(8, ge=1, le=30, description="Retrieved passages shown to the chat model (LLM mode).")
    abstain_threshold: float = Field(0.4, ge=0, le=2, description="Below this best-sentence relevance: no answer.")
    lexical_weight: float = Field(0.8, ge=0, le=5, description="Weight of the share of the question's rare words "
                                  "a sentence holds, added to its similarity.")
    verify_min_overlap: float = Field(0.5, ge=0, le=1, description="A passage supports a sentence holding this "
                                      "share of its content words…")
    verify_min_similarity: float = Field(0.6, ge=-1, le=1, description="…or this similar (cosine) with some overlap.")
    time_filters: bool = Field(True, description="Time words in a question ('last week') filter publication dates.")
    require_names: bool = Field(False, description="Decline when no retrieved passage mentions a name the question "
                                "uses (assistant.answer.abstention).")
    margin: float = Field(0.12, ge=0, le=2, description="Sentences quoted: those within this margin of the best one.")
    per_article: int = Field(0, ge=0, le=10, description="Most sentences quoted from one article (0: no limit).")
    kind_weight: float = Field(0.0, ge=0, le=2, description="Added to a sentence's score when it holds the kind "
                               "of answer the question asks for (a date for 'When …'; assistant.answer.answer_types).")
    confidence: ConfidenceConfig | None = Field(None, description="High / low / none from the answer's signals; "
                                                "None: 'high' at or above abstain_threshold, else declined.")
    unsupported_sentences: Literal["remove", "flag"] = Field(
        "remove", description="An answer sentence no cited passage supports is removed, or kept and flagged.")
    llm_temperature: float = Field(0.0, ge=0, le=2, description="Sampling temperature of the chat model (LLM mode).")


class Profile(_Strict):
    name: str
    description: str = ""
    fusion: FusionConfig = Field(default_factory=FusionConfig)
    rerank: RerankConfig | None = None
    answer: AnswerConfig = Field(default_factory=AnswerConfig)

    def reranker_path(self) -> Path | None:
        if self.rerank is None:
            return None
        path = Path(self.rerank.model)
        return path if path.is_absolute() else (PROFILES_DIR.parent / "rerank" / path)


def bundled_profiles() -> list[str]:
    return sorted(p.stem for p in PROFILES_DIR.glob("*.json"))


def load_profile(name_or_path: str | Path) -> Profile:
    """A bundled profile by name (``default``, ``multihop`` …) or a profile JSON file by path."""
    text = str(name_or_path).strip()
    path = PROFILES_DIR / f"{text}.json" if text in bundled_profiles() else Path(text).expanduser()
    if not path.is_file():
        raise ConfigError(f"No retrieval profile {text!r}: use one of {', '.join(bundled_profiles())} "
                          "or the path of a profile JSON file (ASSISTANT_PROFILE, --profile)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        profile = Profile.model_validate(data)
    except (OSError, ValueError, ValidationError) as exc:
        detail = exc.errors()[0] if isinstance(exc, ValidationError) else {"msg": str(exc), "loc": ()}
        where = ".".join(str(p) for p in detail.get("loc", ())) or "file"
        raise ConfigError(f"Retrieval profile {path}: {where}: {detail['msg']}; fix the file or choose a bundled "
                          f"profile ({', '.join(bundled_profiles())})") from None
    reranker = profile.reranker_path()
    if reranker is not None and not reranker.is_file():
        raise ConfigError(f"Retrieval profile {path}: reranker model {reranker} not found; train one with "
                          "benchmarks/train_reranker.py or remove the 'rerank' section")
    return profile
