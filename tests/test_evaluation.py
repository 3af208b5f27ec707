"""`assistant eval`: metric definitions by hand, question files, the CLI contract, the bundled set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import assistant.apps.eval_cli as eval_cli
from assistant.errors import InputError
from assistant.evaluation import metrics as m
from assistant.evaluation.datasets import Evidence, EvalQuestion, detect_format, load_questions
from assistant.evaluation.runner import score, summarize
from assistant.models import Answer, Citation, Passage
from conftest import ROOT, SEED

CORPUS_QUESTIONS = ROOT / "evals" / "corpus_questions.jsonl"
SEED_ARTICLE_ID = "334ae5841008a3bc"


def passage(text: str, article_id: str = "a1", title: str = "T", n: int = 0) -> Passage:
    return Passage(chunk_id=f"{article_id}:{n}", article_id=article_id, text=text, title=title)


def citation(quote: str, article_id: str = "a1", title: str = "T") -> Citation:
    return Citation(n=1, article_id=article_id, title=title, chunk_id=f"{article_id}:0", quote=quote,
                    start=0, end=len(quote), score=0.5)


def answer(text="", abstained=False, passages=(), citations=(), retrieve=10.0, answer_ms=20.0) -> Answer:
    return Answer(question="q", answer=text, abstained=abstained, passages=list(passages), citations=list(citations),
                  timings_ms={"retrieve": retrieve, "answer": answer_ms})


def write_jsonl(path: Path, *records) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


# --- metrics, computed by hand --------------------------------------------------------------


def test_retrieval_hits_ignore_all_whitespace():
    gold = m.gold_of([Evidence(fact="The harbour   reopened\non Monday."), Evidence(fact="Boats\u00a0returned.")])
    passages = [
        passage("Nothing relevant here.", n=0),
        passage("Storm news. The harbour reopened on Monday. More text.", n=1),  # fact 1, other spacing
        passage("Unrelated.", n=2),
        passage("Boats returned. The harbour reopened on Monday.", n=3),  # both facts
    ]
    ranks = m.hit_ranks(gold, passages)
    assert ranks == [2, 4]
    assert (m.hit_at(ranks, 1), m.hit_at(ranks, 2), m.hit_at(ranks, 4)) == (False, True, True)
    assert m.reciprocal_rank(ranks, 10) == 0.5
    assert m.reciprocal_rank([11], 10) == 0.0
    assert m.evidence_recall(gold, passages, 10) == 1.0
    assert m.evidence_recall(gold, passages, 3) == 0.5  # "Boats returned." only at rank 4
    assert m.evidence_recall([], passages) is None


def test_article_id_and_title_evidence_match_every_chunk_of_the_article():
    gold = m.gold_of([Evidence(article_id="b2"), Evidence(title="  Storm  Damages Harbour ")])
    assert [g.kind for g in gold] == ["article", "title"]
    passages = [passage("x", "a1"), passage("y", "b2"), passage("z", "c3", title="Storm damages harbour")]
    assert m.hit_ranks(gold, passages) == [2, 3]
    # A fact wins over the article given with it; duplicates count once.
    both = m.gold_of([Evidence(fact="A b.", article_id="b2"), Evidence(fact="A  b.")])
    assert both == [m.Gold("fact", "Ab.")]


def test_citation_precision_and_recall_either_contains_the_other():
    gold = m.gold_of([Evidence(fact="Putin met Xi in Beijing."), Evidence(fact="Talks lasted two days.")])
    citations = [
        citation("Putin met Xi in Beijing. It was cold."),  # quote contains a fact
        citation("Putin met Xi"),  # a piece of a fact
        citation("Markets fell."),  # neither
    ]
    assert m.citation_precision(citations, gold) == pytest.approx(2 / 3)
    assert m.citation_recall(citations, gold) == 0.5
    assert m.citation_precision([], gold) is None
    assert m.citation_recall([], gold) == 0.0
    assert m.citation_recall(citations, []) is None
    assert m.citation_precision([citation("", "a1")], gold) == 0.0, "an empty quote covers nothing"


def test_answer_contains_normalises_and_skips_yes_no():
    assert m.answer_contains("Sam Bankman-Fried", "Jurors found SAM  BANKMAN-FRIED's lawyers [1]") is True
    assert m.answer_contains(" Harbin. ", "A press conference in Harbin (China) [1]") is True
    assert m.answer_contains("Apple", "He ate a pineapple.") is False, "whole words only"
    assert m.answer_contains("Google", "I could not find this.") is False
    for meaningless in ("Yes", "no", "Insufficient information.", "Consistent", "True", "", None):
        assert m.answer_contains(meaningless, "yes no insufficient information") is None


def test_percentile_interpolates_and_mean_skips_none():
    assert m.percentile([40, 10, 30, 20], 50) == 25.0
    assert m.percentile([10, 20, 30, 40], 95) == pytest.approx(38.5)  # 30 + 0.85 * 10
    assert m.percentile([7], 95) == 7
    assert m.percentile([], 50) is None
    assert m.mean([1, None, 0, True]) == pytest.approx(2 / 3)
    assert m.mean([None]) is None


def test_summary_aggregates_by_hand():
    fact = "The harbour reopened on Monday."
    q1 = EvalQuestion(id="1", question="When did it reopen?", answer="Monday", type="fact", evidence=[Evidence(fact=fact)])
    q2 = EvalQuestion(id="2", question="Who won?", answer="Ann Lee", type="fact",
                      evidence=[Evidence(fact="Ann Lee won."), Evidence(fact="The vote was close.")])
    q3 = EvalQuestion(id="3", question="Price of gold?", answer="Insufficient information.", type="null")
    q4 = EvalQuestion(id="4", question="Was it sunny?", answer="Yes", type="fact", evidence=[Evidence(fact="It was sunny.")])
    results = [
        score(q1, answer(f"{fact} [1]", passages=[passage("x"), passage(fact)], citations=[citation(fact)],
                         retrieve=10, answer_ms=100)),
        score(q2, answer("I could not find this.", abstained=True, passages=[passage("Ann Lee won. Later.")],
                         retrieve=20, answer_ms=200)),
        score(q3, answer("Gold rose. [1]", passages=[passage("Gold rose.")], citations=[citation("Gold rose.")],
                         retrieve=30, answer_ms=300)),
        score(q4, answer("Rain. [1]", passages=[passage("Rain.")], citations=[citation("Rain.")],
                         retrieve=40, answer_ms=400)),
    ]
    summary = summarize(results)
    assert (summary["questions"], summary["answerable"], summary["unanswerable"]) == (4, 3, 1)
    assert summary["retrieval"] == {"hits@1": pytest.approx(1 / 3, abs=1e-4), "hits@4": pytest.approx(2 / 3, abs=1e-4),
                                    "hits@10": pytest.approx(2 / 3, abs=1e-4), "mrr@10": 0.5,
                                    "evidence_recall@10": 0.5}  # (1 + 0.5 + 0) / 3
    answers = summary["answers"]
    assert answers["citation_precision"] == 0.5  # q1: 1/1, q4: 0/1; q2 cited nothing; q3 is unanswerable
    assert answers["citation_recall"] == pytest.approx(1 / 3, abs=1e-4)  # q1 1, q2 0 (abstained), q4 0
    assert answers["answer_contains"] == 0.5  # q1 yes, q2 no; "Yes" and q3 are not counted
    assert answers["abstain_rate_unanswerable"] == 0.0
    assert answers["abstain_rate_answerable"] == pytest.approx(1 / 3, abs=1e-4)
    # q1 and q2 had gold evidence in their passages (q2 declined), q4 did not (and answered)
    assert (answers["abstain_rate_answerable_found"], answers["abstain_rate_answerable_missed"]) == (0.5, 0.0)
    assert summary["latency_ms"] == {"retrieve_p50": 25.0, "retrieve_p95": 38.5, "answer_p50": 250.0, "answer_p95": 385.0}
    assert set(summary["by_type"]) == {"fact", "null"}
    assert summary["by_type"]["null"]["retrieval"]["hits@1"] is None
    assert summary["by_type"]["null"]["answers"]["abstain_rate_unanswerable"] == 0.0
    assert summary["by_type"]["fact"]["retrieval"]["mrr@10"] == 0.5
    assert summary["by_type"]["null"]["latency_ms"]["retrieve_p50"] == 30.0


# --- question files -------------------------------------------------------------------------


def test_jsonl_and_multihop_are_detected(tmp_path):
    jsonl = write_jsonl(tmp_path / "q.jsonl",
                        {"question": "Who?", "evidence": [{"fact": "A b."}], "filters": {"since": "2023-10-01"}},
                        {"question": "Price of gold?", "type": "null"},
                        {"question": "Odd one", "type": "null", "answerable": True})
    questions, fmt = load_questions(jsonl)
    assert fmt == "jsonl"
    assert [q.answerable for q in questions] == [True, False, True]
    assert questions[0].id == "line 1" and questions[0].filters.since == "2023-10-01T00:00:00Z"

    multihop = tmp_path / "queries.json"  # the suffix does not matter, the content does
    multihop.write_text(json.dumps([
        {"query": "Who?", "answer": "Ann", "question_type": "inference_query",
         "evidence_list": [{"title": "Vote \u00a0", "source": "Herald", "url": "u", "fact": "Ann won.",
                            "published_at": "2023-11-27T08:45:59+00:00", "author": "None", "category": "news"}]},
        {"query": "Gold?", "answer": "Insufficient information.", "question_type": "null_query", "evidence_list": []},
    ]), encoding="utf-8")
    questions, fmt = load_questions(multihop)
    assert fmt == "multihop-rag"
    assert [(q.type, q.answerable) for q in questions] == [("inference", True), ("null", False)]
    assert questions[0].evidence[0].title == "Vote" and questions[0].evidence[0].fact == "Ann won."
    assert detect_format('  [{"query": 1}]', "x") == "multihop-rag"


@pytest.mark.parametrize("content, where, words", [
    ('{"question": "ok"}\n{"question": "broken",\n', "q.jsonl:2", "invalid JSON"),
    ('{"question": "ok"}\n\n{"evidences": []}\n', "q.jsonl:3", "evidences"),
    ('{"question": "x", "evidence": [{"note": "y"}]}\n', "q.jsonl:1", "evidence.0"),
    ('{"question": "x", "evidence": [{"fact": " "}]}\n', "q.jsonl:1", "fact, article_id or title"),
    ('{"question": "x", "filters": {"since": "someday"}}\n', "q.jsonl:1", "filters.since"),
    ('["not an object"]', "q.jsonl[0]", "not a JSON object"),
    ('[{"query": "a", "question_type": "null_query"}, {"answer": "b"}]', "q.jsonl[1]", "missing query"),
    ('[{"query": "a", "question_type": "x", "evidence_list": [{"title": "t"}]}]', "q.jsonl[0]", "evidence"),
    ("question, answer\n", "q.jsonl", "cannot tell the question format"),
    ("\n\n", "q.jsonl", "empty"),
])
def test_bad_question_files_name_the_file_and_record(tmp_path, content, where, words):
    path = tmp_path / "q.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_questions(path)
    assert caught.value.where == str(tmp_path / where)
    assert words in str(caught.value)


def test_missing_file_and_forced_wrong_format(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        load_questions(tmp_path / "nope.jsonl")
    jsonl = write_jsonl(tmp_path / "q.jsonl", {"question": "Who?"})
    with pytest.raises(InputError, match="JSON array"):
        load_questions(jsonl, "multihop-rag")


def test_the_jsonl_example_in_the_docs_loads(tmp_path):
    doc = (ROOT / "docs" / "evaluation.md").read_text(encoding="utf-8")
    example = doc.split("```jsonl\n", 1)[1].split("```", 1)[0]
    questions, fmt = load_questions(write_text(tmp_path / "example.jsonl", example))
    assert fmt == "jsonl" and len(questions) == 4
    assert questions[2].filters.sources == ["Herald"] and questions[3].answerable is False
    bundled = {q.id: q for q in load_questions(CORPUS_QUESTIONS)[0]}
    assert questions[0] == bundled["seed-16"], "the example quotes the bundled set"


def write_text(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --- the bundled question set ---------------------------------------------------------------


def test_corpus_questions_quote_the_seed_article_verbatim():
    from assistant.ingest.readers import read_paths

    article = read_paths([SEED]).articles[0]
    questions, fmt = load_questions(CORPUS_QUESTIONS)
    assert fmt == "jsonl" and len(questions) >= 20
    assert len({q.id for q in questions}) == len(questions)
    unanswerable = [q for q in questions if not q.answerable]
    assert len(unanswerable) >= 5 and all(q.type == "null" and not q.evidence for q in unanswerable)
    for q in questions:
        for evidence in q.evidence:
            assert evidence.fact is None or evidence.fact in article.body, (q.id, evidence.fact)
            assert evidence.article_id in (None, article.id), "the seed article's id changed: update the set"
    assert sum(1 for q in questions if q.answerable and any(e.fact for e in q.evidence)) >= 15


@pytest.fixture
def run_eval(seed_index, monkeypatch):
    """`assistant eval ...` on the bundled corpus index; returns click's Result."""
    runner = CliRunner()

    def invoke(*args, on=seed_index):
        return runner.invoke(eval_cli.eval_command, [str(a) for a in args], catch_exceptions=False, obj=on)
    return invoke


@pytest.fixture(scope="module")
def corpus_run(seed_index, tmp_path_factory):
    """The bundled question set, evaluated once through the CLI with --json and --report."""
    folder = tmp_path_factory.mktemp("corpus-report")
    result = CliRunner().invoke(eval_cli.eval_command, [str(CORPUS_QUESTIONS), "--json", "--report", str(folder)],
                                catch_exceptions=False, obj=seed_index)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), folder


def test_confidence_rates_are_shares_of_each_group_and_every_question_records_its_confidence(corpus_run):
    summary, folder = corpus_run
    rates = summary["answers"]["confidence_rates"]
    assert set(rates) == {"answerable", "unanswerable"}
    for group in rates.values():
        assert set(group) == {"high", "low", "none"} and sum(group.values()) == pytest.approx(1.0, abs=1e-3)
    # "none" is exactly a decline
    assert rates["answerable"]["none"] == summary["answers"]["abstain_rate_answerable"]
    assert rates["unanswerable"]["none"] == summary["answers"]["abstain_rate_unanswerable"]
    records = [json.loads(line) for line in (folder / "questions.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(records) == 26
    for record in records:
        assert record["confidence"] in {"high", "low", "none"}
        assert (record["confidence"] == "none") == record["abstained"]
        assert record["confidence_reason"]
    unanswerable = [r for r in records if not r["answerable"]]
    share = sum(r["confidence"] == "high" for r in unanswerable) / len(unanswerable)
    assert rates["unanswerable"]["high"] == pytest.approx(share, abs=1e-4)


def test_corpus_set_scores_above_regression_thresholds(corpus_run):
    summary, _ = corpus_run
    retrieval, answers = summary["retrieval"], summary["answers"]
    # Measured 2026-11-24 (hybrid, bundled MiniLM, extractive answers): hits@1 0.85, hits@4 1.0,
    # hits@10 1.0, MRR@10 0.917, evidence recall@10 1.0; citation precision 0.758 (0.692 before the
    # answer verifier), recall 0.875 (0.825), answer_contains 0.867 (0.80); abstained on 4/6
    # unanswerable and 0/20 answerable questions. The article has 4 chunks, so hits@10 is easy:
    # hits@1 and MRR are the retrieval numbers that move.
    assert retrieval["hits@1"] >= 0.75
    assert retrieval["hits@4"] >= 0.95
    assert retrieval["mrr@10"] >= 0.85
    assert retrieval["evidence_recall@10"] >= 0.95
    assert answers["citation_precision"] >= 0.6
    assert answers["citation_recall"] >= 0.7
    assert answers["answer_contains"] >= 0.7
    assert answers["abstain_rate_unanswerable"] >= 0.5
    assert answers["abstain_rate_answerable"] <= 0.1


def test_json_output_is_one_object_with_the_contract_keys(corpus_run):
    summary, _ = corpus_run
    assert summary["questions"] == 26 and summary["dataset"]["format"] == "jsonl" and summary["k"] == 10
    assert set(summary["retrieval"]) == {"hits@1", "hits@4", "hits@10", "mrr@10", "evidence_recall@10"}
    assert set(summary["answers"]) == {"citation_precision", "citation_recall", "answer_contains",
                                       "abstain_rate_unanswerable", "abstain_rate_answerable",
                                       "abstain_rate_answerable_found", "abstain_rate_answerable_missed",
                                       "confidence_rates"}
    assert set(summary["latency_ms"]) == {"retrieve_p50", "retrieve_p95", "answer_p50", "answer_p95"}
    assert all(v > 0 for v in summary["latency_ms"].values())
    assert set(summary["by_type"]) == {"fact", "reason", "multi", "article", "null"}
    for block in summary["by_type"].values():
        for key in ("retrieval", "answers", "latency_ms"):
            assert set(block[key]) == set(summary[key])
    assert summary["by_type"]["null"]["questions"] == 7  # seed-18 asks about a "Read also" link, not the article
    assert "configs" not in summary


def test_report_folder_has_json_markdown_html_and_charts(corpus_run):
    summary, folder = corpus_run
    for name in ("metrics.json", "report.md", "report.html", "questions.jsonl",
                 "retrieval_by_type.png", "answers_by_type.png"):
        assert (folder / name).stat().st_size > 0, name
    assert (folder / "retrieval_by_type.png").read_bytes()[:4] == b"\x89PNG"
    assert json.loads((folder / "metrics.json").read_text()) == summary
    page = (folder / "report.html").read_text()
    assert '<img src="retrieval_by_type.png"' in page and "hits@10" in page
    lines = (folder / "questions.jsonl").read_text().splitlines()
    assert len(lines) == 26
    filtered = next(json.loads(line) for line in lines if json.loads(line)["id"] == "null-06")
    assert filtered["retrieved"] == [] and filtered["abstained"], "the question's filters reach retrieval"


def test_report_escapes_question_and_article_text(run_eval, tmp_path):
    questions = write_jsonl(tmp_path / "q.jsonl", {
        "question": "<script>alert('x')</script> What did the expert say about Beijing?",
        "answer": "<b>help</b>", "evidence": [{"fact": "<img src=x onerror=alert(1)> never in the article"}],
    })
    result = run_eval(questions, "--report", tmp_path / "out")
    assert result.exit_code == 0, result.output
    page = (tmp_path / "out" / "report.html").read_text()
    assert "<script>" not in page and "<img src=x" not in page and "<b>help" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; What did the expert say" in page
    assert "Worst retrieval misses" in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "Vladimir Putin" in page or "Zhelikhovsky" in page, "the misses show what was retrieved instead"


def test_compare_runs_each_configuration_on_the_same_questions(run_eval, tmp_path):
    questions = write_jsonl(
        tmp_path / "q.jsonl",
        {"question": "In which city did Putin hold the press conference on May 17?", "answer": "Harbin",
         "evidence": [{"fact": "at a press conference in Harbin (China)"}]},
        {"question": "What is the current price of Bitcoin?", "type": "null"},
    )
    result = run_eval(questions, "--compare", "--json", "--k", "3", "--report", tmp_path / "out")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert list(summary["configs"]) == ["default", "hybrid", "dense", "bm25"]
    assert [c["retrieval_mode"] for c in summary["configs"].values()] == ["hybrid", "hybrid", "dense", "bm25"]
    assert [c["profile"] for c in summary["configs"].values()] == ["default", "hybrid", "dense", "bm25"]
    assert summary["configs"]["hybrid"]["overrides"] == {"profile": "hybrid"}
    assert summary["configs"]["default"]["retrieval"] == summary["retrieval"]
    for config in summary["configs"].values():
        assert config["questions"] == 2 and config["retrieval"]["hits@10"] == 1.0
    assert (tmp_path / "out" / "configs.png").exists()
    assert "bm25" in (tmp_path / "out" / "report.md").read_text()


def test_table_output_limit_and_progress_on_stderr(run_eval):
    result = run_eval(CORPUS_QUESTIONS, "--limit", "2")
    assert result.exit_code == 0, result.output
    assert "Evaluated 2 questions" in result.stdout and "hits@10" in result.stdout
    assert "eval default" in result.stderr and "eval default" not in result.stdout


def test_cli_errors_exit_2_with_the_record(run_eval, tmp_path, make_assistant, monkeypatch):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "ok"}\n{"question": 3}\n', encoding="utf-8")
    result = run_eval(bad)
    assert result.exit_code == 2
    assert f"{bad}:2" in result.stderr and "question" in result.stderr and result.stdout == ""

    result = run_eval(CORPUS_QUESTIONS, "--json", on=make_assistant())
    assert result.exit_code == 2 and "is empty" in result.stderr and "assistant ingest" in result.stderr


# --- MultiHop-RAG ---------------------------------------------------------------------------


@pytest.mark.benchmark_data
@pytest.mark.slow
def test_multihop_first_questions_on_a_small_index(multihop_dir, make_assistant, monkeypatch):
    """The first 20 dev questions on an index of their evidence articles plus 10 distractors."""
    from assistant.ingest.readers import read_paths

    limit = 20
    queries = json.loads((multihop_dir / "queries-dev.json").read_text(encoding="utf-8"))[:limit]
    wanted = {(e["title"].strip(), e["url"].strip()) for q in queries for e in q["evidence_list"]}
    titles, urls = {t for t, _ in wanted}, {u for _, u in wanted}
    articles = read_paths([multihop_dir / "corpus.json"]).articles
    evidence = [a for a in articles if a.title in titles or a.url in urls]
    distractors = [a for a in articles if a not in evidence][:10]
    assert len(evidence) >= len(titles)
    assistant = make_assistant(collection="multihop-small")
    assistant.indexer.ingest_articles(evidence + distractors)
    assistant.bm25.ensure_fresh()

    result = CliRunner().invoke(eval_cli.eval_command, [str(multihop_dir / "queries-dev.json"), "--limit", str(limit),
                                                        "--json"], catch_exceptions=False, obj=assistant)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["dataset"]["format"] == "multihop-rag"
    assert (summary["questions"], summary["unanswerable"]) == (20, 3)
    assert set(summary["by_type"]) == {"comparison", "inference", "temporal", "null"}
    # Measured on this small index (hybrid, MiniLM, 2026-11-24): hits@1 0.53, hits@4 0.82, hits@10 0.94,
    # MRR@10 0.68, evidence recall@10 0.75 (0.57 with an earlier retriever); abstained on 3/3 null.
    assert summary["retrieval"]["hits@10"] >= 0.8, summary["retrieval"]
    assert summary["retrieval"]["mrr@10"] >= 0.5, summary["retrieval"]
    assert summary["retrieval"]["evidence_recall@10"] >= 0.5, summary["retrieval"]


@pytest.mark.parametrize("name", ["multihop_users.jsonl", "multihop_quiz.jsonl"])
def test_written_question_sets_cite_verbatim_sentences_of_their_multihop_articles(name, multihop_dir):
    """The sets written over the MultiHop-RAG articles: every answerable question's gold fact is a
    verbatim part of the article its url names (so a chunk can hit it), with that article's title;
    no question gives away its answer; unanswerable ones carry no evidence."""
    articles = {a["url"]: a for a in json.loads((multihop_dir / "corpus.json").read_text(encoding="utf-8"))}
    questions, fmt = load_questions(ROOT / "evals" / name)
    assert fmt == "jsonl" and len({q.id for q in questions}) == len(questions)
    answerable = [q for q in questions if q.answerable]
    assert len(answerable) >= 150 and len(questions) - len(answerable) >= 30
    for q in questions:
        if not q.answerable:
            assert not q.evidence, q.id
            continue
        assert q.answer and m.squash(q.answer.lower()) not in m.squash(q.question.lower()), q.id
        for item in q.evidence:
            article = articles[item.url]
            assert item.title == article["title"], q.id
            assert m.squash(item.fact) in m.squash(article["body"]), q.id


def test_each_question_is_read_on_its_own_as_of_day(make_assistant, tmp_path, monkeypatch):
    """"This week" in a question set is the week of the question's ``as_of``: two questions asked in the
    same words on two days get the article of their own week; without a day, the real today's week,
    which none of these articles is from, so all dates are searched."""
    from assistant.models import Article

    assistant = make_assistant()
    days = {"2023-10-02": "storm repairs were finished", "2023-11-15": "new cracks were found in the wall"}
    articles = [Article(title=f"Harbour news {n}", source="Gazette", published_at=f"{day}T09:00:00Z",
                        url=f"https://g.example/{n}", body=f"The city harbour changed its plans because {why}. "
                        "The harbour master spoke to fishermen on the quay.")
                for n, (day, why) in enumerate(days.items())]
    assert assistant.indexer.ingest_articles(articles).added == 2
    asked = "Why did the city harbour change its plans this week?"
    questions = write_jsonl(tmp_path / "q.jsonl", *[
        {"id": day, "question": asked, "as_of": day, "evidence": [{"fact": f"because {why}"}]}
        for day, why in days.items()], {"id": "today", "question": asked, "evidence": [{"fact": "storm repairs"}]})
    report = tmp_path / "report"
    result = CliRunner().invoke(eval_cli.eval_command, [str(questions), "--json", "--report", str(report)],
                                catch_exceptions=False, obj=assistant)
    assert result.exit_code == 0, result.output
    rows = {r["id"]: r for r in map(json.loads, (report / "questions.jsonl").read_text().splitlines())}
    assert rows["2023-10-02"]["first_hit"] == 1 and rows["2023-11-15"]["first_hit"] == 1
    assert [p["title"] for p in rows["2023-10-02"]["retrieved"]] == ["Harbour news 0"]
    assert [p["title"] for p in rows["2023-11-15"]["retrieved"]] == ["Harbour news 1"]
    # read on the real today, "this week" holds no article: every date is searched instead
    assert sorted(p["title"] for p in rows["today"]["retrieved"]) == ["Harbour news 0", "Harbour news 1"]
