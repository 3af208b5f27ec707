"""An evaluation report's per-question view says each answer's confidence and why, and the report
shows the confidence rates the eval summary carries (issue 31)."""

from __future__ import annotations

from assistant.evaluation.datasets import Evidence, EvalQuestion
from assistant.evaluation.report import write_report
from assistant.evaluation.runner import score, summarize
from assistant.models import Answer, Citation, Passage

FACT = "The harbour reopened on Monday."


def passage(text: str) -> Passage:
    return Passage(chunk_id="a1:0", article_id="a1", text=text, title="Harbour news")


def cited(text: str, **fields) -> Answer:
    quote = Citation(n=1, article_id="a1", title="Harbour news", chunk_id="a1:0", quote=text, start=0,
                     end=len(text), score=0.5)
    return Answer(question="q", answer=f"{text} [1]", abstained=False, citations=[quote], passages=[passage(text)],
                  **fields)


def outcomes():
    missed = EvalQuestion(id="m", question="Who repaired the <b>wall</b>?", answer="Tom Reed", type="fact",
                          evidence=[Evidence(fact="Tom Reed repaired the wall.")])
    low = EvalQuestion(id="l", question="Did Graceland reopen?", answer="Insufficient information.", type="null")
    high = EvalQuestion(id="h", question="Did the pier reopen?", answer="Insufficient information.", type="null")
    return [
        score(missed, Answer(question=missed.question, answer="I could not find this in the indexed articles.",
                             abstained=True, passages=[passage("Fishing boats returned.")],
                             confidence_reason="no passage names a person who repaired it")),
        score(low, cited(FACT, confidence="low", confidence_reason="none of these passages names <Graceland>")),
        score(high, cited(FACT)),
    ]


def test_each_listed_question_says_its_confidence_and_why(tmp_path):
    results = outcomes()
    write_report(tmp_path, summarize(results), {"default": results})
    markdown = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert ("Answer (confidence none, declined: no passage names a person who repaired it): "
            "I could not find this in the indexed articles.") in markdown
    assert f"Answer (confidence low: none of these passages names <Graceland>): {FACT} [1]" in markdown
    assert f"Answer (confidence high): {FACT} [1]" in markdown
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "Answer (confidence low: none of these passages names &lt;Graceland&gt;): " in page
    assert "Answer (confidence none, declined: no passage names a person who repaired it)" in page
    assert "<Graceland>" not in page and "&lt;b&gt;wall&lt;/b&gt;" in page


def test_the_confidence_rates_of_the_summary_are_a_table(tmp_path):
    results = outcomes()
    summary = summarize(results)  # answerable: 1 declined; unanswerable: 1 high, 1 low
    write_report(tmp_path, summary, {"default": results})
    markdown = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "| answerable | 0.000 | 0.000 | 1.000 |" in markdown
    assert "| unanswerable | 0.500 | 0.500 | 0.000 |" in markdown
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "<h2>Confidence of the answers</h2>" in page
    assert '<tr><th>unanswerable</th><td class="num">0.500</td><td class="num">0.500</td>' in page


def test_a_summary_without_rates_has_no_confidence_table(tmp_path):
    results = outcomes()
    summary = summarize(results)
    del summary["answers"]["confidence_rates"]  # a metrics.json written before the rates existed
    write_report(tmp_path, summary, {"default": results})
    assert "Confidence of the answers" not in (tmp_path / "report.md").read_text(encoding="utf-8")


def test_the_web_evaluation_tab_shows_rates_and_each_missed_answers_outcome():
    from assistant.apps.web.evaluation import metrics_html, misses_html

    results = outcomes()
    table = metrics_html(summarize(results))
    assert ("<tr><th scope='row'>answerable</th><td class=\"num\">0.000</td><td class=\"num\">0.000</td>"
            "<td class=\"num\">1.000</td></tr>") in table
    misses = misses_html(results)
    assert misses.count("<details>") == 1
    assert "Answer <span class='meta'>(Not answered: no passage names a person who repaired it.)</span>" in misses
