"""Question sets: the project's JSONL and MultiHop-RAG's ``queries-dev.json``, read into one model.

JSONL (one question a line)::

    {"question": "...", "answer": "...", "type": "fact",
     "evidence": [{"fact": "A verbatim sentence."}, {"article_id": "6a88a811b9bce059"}],
     "filters": {"sources": ["Reuters"], "since": "2023-10-01"}, "answerable": true}

MultiHop-RAG: a JSON array of ``{query, answer, question_type, evidence_list[{title, source,
url, fact, ...}]}``; ``null_query`` questions are the unanswerable ones. ``format="auto"`` tells
the two apart by content: a JSON array is MultiHop-RAG, one object a line is JSONL.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from assistant.errors import InputError
from assistant.filters import SearchFilters

FORMATS = ("auto", "jsonl", "multihop-rag")
Format = Literal["auto", "jsonl", "multihop-rag"]
UNANSWERABLE_TYPE = "null"
INSUFFICIENT = "Insufficient information."


class Evidence(BaseModel):
    """What a question rests on: a verbatim sentence (``fact``) and/or the article it is in."""

    model_config = ConfigDict(extra="forbid")

    fact: str | None = Field(None, description="A sentence copied verbatim from the article body.")
    article_id: str | None = Field(None, description="The article's id in the index (see `assistant ingest`).")
    title: str | None = Field(None, description="The article's title (used when neither fact nor id is given).")
    source: str | None = None
    url: str | None = None

    @model_validator(mode="after")
    def _something_to_match(self) -> "Evidence":
        if not any(v and v.strip() for v in (self.fact, self.article_id, self.title)):
            raise ValueError("an evidence item needs a non-empty fact, article_id or title")
        return self


class EvalQuestion(BaseModel):
    """One question with what a good answer finds: expected answer, evidence, filters."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field("", description="Defaults to the line number or array index.")
    question: str = Field(min_length=1)
    answer: str | None = Field(None, description="Expected answer (short), if known.")
    evidence: list[Evidence] = Field(default_factory=list)
    type: str = Field("other", min_length=1, description="Question type; 'null' means unanswerable.")
    filters: SearchFilters | None = None
    answerable: bool | None = Field(None, description="Defaults to true unless type is 'null'.")
    as_of: date | None = Field(None, description="The day the question was asked: 'today' for its time words "
                               "('this week'); default: today.")

    @model_validator(mode="after")
    def _default_answerable(self) -> "EvalQuestion":
        if self.answerable is None:
            self.answerable = self.type != UNANSWERABLE_TYPE
        return self


JSONL_FIELDS = ", ".join(EvalQuestion.model_fields)
EVIDENCE_FIELDS = ", ".join(Evidence.model_fields)


def load_questions(path: str | Path, format: Format = "auto") -> tuple[list[EvalQuestion], str]:
    """The questions of ``path`` and the format they were read as; InputError naming file and record."""
    path = Path(path)
    text = _read_text(path)
    chosen = detect_format(text, str(path)) if format == "auto" else format
    if chosen == "jsonl":
        questions = list(_read_jsonl(text, str(path)))
    elif chosen == "multihop-rag":
        questions = list(_read_multihop(text, str(path)))
    else:
        raise InputError(str(path), f"unknown question format {format!r}", f"use one of {', '.join(FORMATS)}")
    if not questions:
        raise InputError(str(path), "the file holds no questions", "add at least one question")
    return questions, chosen


def detect_format(text: str, where: str) -> str:
    start = text.lstrip()[:1]
    if start == "[":
        return "multihop-rag"
    if start == "{":
        return "jsonl"
    raise InputError(
        where, "cannot tell the question format: expected a JSON array (MultiHop-RAG) or one JSON object a line (JSONL)",
        "see docs/evaluation.md, or pass --format",
    )


def _read_text(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8").removeprefix("\ufeff")
    except FileNotFoundError:
        raise InputError(str(path), "no such file", "check the path of the question file") from None
    except IsADirectoryError:
        raise InputError(str(path), "is a folder, not a question file", "give a .jsonl or .json file") from None
    except UnicodeDecodeError as error:
        raise InputError(str(path), f"not UTF-8 text (byte offset {error.start})", "save the file as UTF-8") from None
    except OSError as error:
        raise InputError(str(path), f"cannot read the file: {error.strerror}", "check its permissions") from None
    if not text.strip():
        raise InputError(str(path), "the file is empty", "add questions, one JSON object a line")
    return text


def _read_jsonl(text: str, where: str):
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        record_where = f"{where}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise InputError(record_where, f"invalid JSON at column {error.colno}: {error.msg}",
                             "each line must be one JSON object") from None
        if not isinstance(record, dict):
            raise InputError(record_where, "the line is not a JSON object", 'write {"question": "...", ...}')
        record.setdefault("id", f"line {number}")
        yield _validated(record, record_where, f"fields: {JSONL_FIELDS}; evidence items: {EVIDENCE_FIELDS}")


def _read_multihop(text: str, where: str):
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(where, f"invalid JSON at line {error.lineno}, column {error.colno}: {error.msg}",
                         "fix the JSON there (python -m json.tool FILE points at the problem)") from None
    if not isinstance(data, list):
        raise InputError(where, "a MultiHop-RAG question file is a JSON array", "give queries-dev.json or use --format jsonl")
    for index, record in enumerate(data):
        record_where = f"{where}[{index}]"
        if not isinstance(record, dict):
            raise InputError(record_where, "the record is not a JSON object", "each record needs query and question_type")
        missing = [key for key in ("query", "question_type") if key not in record]
        if missing:
            raise InputError(record_where, f"missing {', '.join(missing)}",
                             "MultiHop-RAG records have query, answer, question_type and evidence_list")
        evidence = record.get("evidence_list") or []
        if not isinstance(evidence, list) or not all(isinstance(e, dict) for e in evidence):
            raise InputError(record_where, "evidence_list is not a list of objects", "give evidence as [{fact, title, ...}]")
        for number, item in enumerate(evidence):
            if not isinstance(item.get("fact"), str) or not item["fact"].strip():
                raise InputError(record_where, f"evidence_list[{number}] has no fact",
                                 "every MultiHop-RAG evidence item quotes its sentence in 'fact'")
        kind = str(record["question_type"]).removesuffix("_query")
        converted = {
            "id": str(index),
            "question": record["query"],
            "answer": record.get("answer"),
            "type": kind,
            "evidence": [_multihop_evidence(e) for e in evidence],
        }
        yield _validated(converted, record_where, "check the record against queries-dev.json's shape")


def _multihop_evidence(item: dict) -> dict:
    def text(key):
        value = item.get(key)
        return value.strip() if isinstance(value, str) else value
    return {"fact": item.get("fact"), "title": text("title"), "source": text("source"), "url": text("url")}


def _validated(record: dict, where: str, fix: str) -> EvalQuestion:
    try:
        return EvalQuestion.model_validate(record)
    except ValidationError as error:
        raise InputError(where, _describe(error), fix) from None


def _describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        location = ".".join(str(part) for part in item["loc"])
        message = item["msg"].removeprefix("Value error, ")
        parts.append(f"{location}: {message}" if location else message)
    return "; ".join(parts)
