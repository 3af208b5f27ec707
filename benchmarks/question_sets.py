"""The harness's registry: the question sets every change is measured on, each with the index it is
asked against, and the retrieval profiles compared on them (``python -m benchmarks sets`` lists them).

- ``multihop``: MultiHop-RAG dev (2,044 questions, 255 unanswerable) over its 609 articles.
- ``users``: evals/multihop_users.jsonl, single-fact questions in users' words (no outlet names, no
  dates) over the same 609 articles, and questions about news they lack.
- ``quiz``: evals/multihop_quiz.jsonl, news-quiz questions over the same 609 articles, worded away from
  the article (synonyms and descriptions; at most 0.4 of a question's content words in its gold sentence),
  and questions about news they lack.
- ``bundled``: evals/corpus_questions.jsonl over corpus/ (one article).
- ``users-passages`` and ``quiz-passages``: the users and quiz questions over the same 609 articles cut
  into passages of whole paragraphs (about 100 words; ``passages_corpus``), each indexed as a document of
  its own without the article's title — the shape of paragraph datasets, where no article groups the
  passages and no headline names the story.

Indexes live under ``--index-dir`` (default .bench/) and are built on first use; the MultiHop one
takes minutes (every command of the harness shares it). A set whose data is absent is skipped.
"""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MULTIHOP = Path(os.environ.get("MULTIHOP_RAG_DIR", ROOT.parent / "shared" / "data" / "multihop-rag"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

# The profiles a run compares: the floors first (plain dense and plain BM25, and their plain RRF fusion),
# then what ships, then the profile trained on MultiHop-RAG dev (in-sample there).
FLOORS = ("dense", "bm25")
PROFILES = (*FLOORS, "hybrid", "default", "multihop")


def machine() -> str:
    """The line every benchmark records: OS, architecture, cores, CPU model, Python."""
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "unknown CPU")
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores ({cpu}), Python {platform.python_version()}"


def replace_section(path: Path, heading: str, lines: list[str]) -> None:
    """Write ``lines`` (starting with the ``heading`` line) in place of that section of the Markdown
    file at ``path`` (up to the next "## " heading), or at its end; other sections stay as they are."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Speed\n"
    marker = f"\n{heading}\n"
    start = text.find(marker)
    if start >= 0:
        end = text.find("\n## ", start + len(marker) - 1)
        text = text[:start + 1] + "\n".join(lines) + ("\n" + text[end + 1:] if end >= 0 else "\n")
    else:
        text = text.rstrip("\n") + "\n\n" + "\n".join(lines) + "\n"
    path.write_text(text, encoding="utf-8")


@dataclass
class QuestionSet:
    name: str
    questions: list  # EvalQuestion
    collection: str  # index (collection) the questions are asked against
    corpus: Path  # what that index holds
    group: str = ""  # sets asking the same questions share a group (left out together); default: the name

    def __post_init__(self) -> None:
        self.group = self.group or self.name

    @property
    def answerable(self) -> list:
        return [q for q in self.questions if q.answerable]

    @property
    def unanswerable(self) -> list:
        return [q for q in self.questions if not q.answerable]


def group_mean(values: dict[str, float], groups: dict[str, str] | None) -> float:
    """The mean over question files of ``values`` (one per set): sets of one group (the same questions
    over another index) are averaged first, so each question file weighs once."""
    by_group: dict[str, list[float]] = {}
    for name, value in values.items():
        by_group.setdefault((groups or {}).get(name, name), []).append(value)
    return sum(sum(v) / len(v) for v in by_group.values()) / len(by_group)


def question_sets(only: list[str] | None = None) -> list[QuestionSet]:
    from assistant.evaluation.datasets import load_questions

    sets = []
    if (MULTIHOP / "queries-dev.json").exists():
        sets.append(QuestionSet("multihop", load_questions(MULTIHOP / "queries-dev.json")[0], "multihop",
                                MULTIHOP / "corpus.json"))
        sets.append(QuestionSet("users", load_questions(ROOT / "evals" / "multihop_users.jsonl")[0], "multihop",
                                MULTIHOP / "corpus.json"))
        sets.append(QuestionSet("quiz", load_questions(ROOT / "evals" / "multihop_quiz.jsonl")[0], "multihop",
                                MULTIHOP / "corpus.json"))
        if not only or {"users-passages", "quiz-passages"} & set(only):
            passages = passages_corpus()
            sets.append(QuestionSet("users-passages", sets[1].questions, "passages", passages, group="users"))
            sets.append(QuestionSet("quiz-passages", sets[2].questions, "passages", passages, group="quiz"))
    else:
        print(f"MultiHop-RAG not found in {MULTIHOP}: the multihop, users and quiz sets are skipped")
    sets.append(QuestionSet("bundled", load_questions(ROOT / "evals" / "corpus_questions.jsonl")[0], "bundled",
                            ROOT / "corpus"))
    return [s for s in sets if not only or s.name in only]


PASSAGE_WORDS = 100


def passages_corpus(target: Path | None = None) -> Path:
    """MultiHop-RAG's articles cut into passages of whole paragraphs, one JSON record a line.

    Consecutive paragraphs of an article are joined until a passage has at least PASSAGE_WORDS
    words (a last short remainder joins the passage before it). A record keeps the outlet and date
    but not the title (the reader titles it by its first sentence) and gets its own url. Written
    once to ``target`` (default .bench-data/, ignored by git) and reused: nothing is copied into
    the repository.
    """
    target = target or ROOT / ".bench-data" / "multihop-passages.jsonl"
    if target.exists():
        return target
    articles = json.loads((MULTIHOP / "corpus.json").read_text(encoding="utf-8"))
    lines = []
    for article in articles:
        passages: list[list[str]] = [[]]
        for paragraph in (p.strip() for p in article["body"].split("\n\n")):
            if not paragraph:
                continue
            if sum(len(p.split()) for p in passages[-1]) >= PASSAGE_WORDS:
                passages.append([])
            passages[-1].append(paragraph)
        if len(passages) > 1 and sum(len(p.split()) for p in passages[-1]) < PASSAGE_WORDS // 2:
            passages[-2].extend(passages.pop())
        for n, paragraphs in enumerate(p for p in passages if p):
            lines.append(json.dumps({"body": "\n\n".join(paragraphs), "source": article.get("source"),
                                     "published_at": article.get("published_at"),
                                     "url": f"{article.get('url') or article['title']}#passage-{n + 1}"}))
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    partial.write_text("\n".join(lines) + "\n", encoding="utf-8")
    partial.replace(target)
    return target


def open_index(index_dir: Path, collection: str, corpus: Path, embedder=None, **settings):
    """An assistant over ``collection`` in ``index_dir``, ingesting ``corpus`` first (a no-op once built)."""
    from assistant import Settings, build_assistant

    assistant = build_assistant(Settings(data_dir=index_dir, collection=collection, **settings), embedder=embedder)
    state_file = index_dir / f"build-{collection}.json"
    started = time.perf_counter()
    report = assistant.ingest([corpus], progress=True)
    if report.chunks_embedded:
        state_file.write_text(json.dumps({
            "articles": report.added + report.updated, "chunks": report.chunks_embedded,
            "seconds": round(time.perf_counter() - started, 1),
            "chunks_per_second": round(report.chunks_per_second, 1),
            "measured": datetime.now(timezone.utc).strftime("%Y-%m-%d")}))
    return assistant
