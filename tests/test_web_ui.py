"""The web chat without a server: HTML rendering of untrusted text, chat turns, queue settings."""

from __future__ import annotations

import pytest

from assistant.models import Answer, Citation, Passage
from assistant.apps.web import render

pytestmark = pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")
HOSTILE = '<script>alert(1)</script><img src=x onerror="alert(1)"> & "quotes"'


def make_answer(title=HOSTILE, body_sentence="The bridge opens on Monday.", url="https://example.org/a"):
    text = f"Intro {HOSTILE}. {body_sentence} Outro."
    start = 100 + text.index(body_sentence)
    passage = Passage(chunk_id="a:0", article_id="a", text=text, title=title, source=HOSTILE, start=100,
                      end=100 + len(text), url=url)
    citation = Citation(n=1, article_id="a", title=title, source=HOSTILE, author="Eve", published_at="2024-02-01T00:00:00Z",
                        url=url, chunk_id="a:0", quote=body_sentence, start=start, end=start + len(body_sentence),
                        score=0.9)
    return Answer(question="q", answer=f"{body_sentence} [1] {HOSTILE} [7]", abstained=False,
                  citations=[citation], passages=[passage])


def test_untrusted_text_is_escaped_everywhere():
    answer = make_answer()
    rows = [{"id": "a", "title": HOSTILE, "source": HOSTILE, "published_at": None, "chunks": 2}]
    report = {"added": 0, "updated": 0, "unchanged": 0, "files": 1, "chunks_embedded": 0, "seconds": 0.1,
              "errors": [{"where": HOSTILE, "problem": HOSTILE, "fix": HOSTILE}]}
    answer.trace = {"standalone_question": HOSTILE, "followup": {"how": "heuristic"}}
    for html in (render.answer_html(answer, 0), render.citation_html(answer, 1, 0),
                 render.sources_overview_html(answer, 0), render.articles_html(rows),
                 render.ingest_report_html(report), render.pending_html(HOSTILE), render.error_html(HOSTILE),
                 render.pending_html(HOSTILE, answer, 0), render.stopped_html(HOSTILE),
                 render.copy_markdown_html(answer), render.index_notice_html(rows, True, HOSTILE, (HOSTILE,)),
                 render.index_notice_html([], False, HOSTILE, ())):
        assert "<script" not in html and "<img" not in html and 'onerror="' not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_markers_link_only_known_citations():
    html = render.answer_html(make_answer(), turn=3)
    assert html.count('href="#cite-3-1"') == 2  # in the text and in the list of sources
    assert "[7]" in html and "#cite-3-7" not in html


def test_citation_panel_marks_the_quote_inside_its_passage():
    answer = make_answer()
    html = render.citation_html(answer, 1, 0)
    assert "<mark>The bridge opens on Monday.</mark>" in html
    assert html.index("Intro") < html.index("<mark>") < html.index("Outro")
    assert 'href="https://example.org/a"' in html and 'rel="noopener noreferrer nofollow"' in html
    assert "Eve · 2024-02-01" in html and "Said by" not in html
    answer.citations[0].speaker, answer.citations[0].speaker_role = "Ada <b>Lovelace</b>", "the mayor"
    assert "Said by Ada &lt;b&gt;Lovelace&lt;/b&gt;, the mayor" in render.citation_html(answer, 1, 0)
    assert "no source [2]" in render.citation_html(answer, 2, 0)


def test_citation_panel_finds_the_quote_when_offsets_do_not_fit():
    answer = make_answer()
    answer.citations[0].start += 5  # offsets drifted: fall back to finding the quote
    assert "<mark>The bridge opens on Monday.</mark>" in render.citation_html(answer, 1, 0)
    answer.passages = []  # passage missing: the quote alone
    assert render.highlighted_passage(answer.citations[0], None) == "<mark>The bridge opens on Monday.</mark>"


@pytest.mark.parametrize("url, shown", [
    ("https://example.org/x?a=1&b=2", "https://example.org/x?a=1&b=2"), ("http://e.org", "http://e.org"),
    ("javascript:alert(1)", None), ("JaVaScRiPt:alert(1)", None), ("data:text/html,x", None), ("//e.org", None),
    ("", None), (None, None),
])
def test_only_http_links_become_links(url, shown):
    assert render.safe_url(url) == shown
    html = render.citation_html(make_answer(url=url), 1, 0)
    assert ('class="source-link" href=' in html) is (shown is not None)


def test_chat_turn_streams_then_renders_and_rejects_long_questions(seed_index):
    from assistant.settings import Settings
    from assistant.apps.web.chat import answer_turns, open_citation
    from assistant.service.shared import SharedAssistant

    shared = SharedAssistant(seed_index)
    steps = list(answer_turns(shared, " What did the expert say about China? ", [], [], [], "", "", [], 5,
                              "extractive"))
    assert "pending" in steps[0][0][-1]["content"] and len(steps) >= 2
    history, answers, panel, box = steps[-1]
    assert [m["role"] for m in history] == ["user", "assistant"] and box == ""
    assert len(answers) == 1 and not answers[0].abstained and 'href="#cite-0-1"' in history[1]["content"]
    assert "<mark>" in open_citation("0:1", answers) and "no longer available" in open_citation("x", answers)

    follow = list(answer_turns(shared, "What else did he say?", history, answers, [], "", "", [], 5, "extractive"))
    history, answers = follow[-1][0], follow[-1][1]
    assert len(answers) == 2 and "Zhelikhovsky" in answers[1].trace["standalone_question"], "history is passed on"
    assert 'href="#cite-1-1"' in history[3]["content"], "markers of the second answer name its turn"

    bad_date = list(answer_turns(shared, "China?", history, answers, [], "someday", "", [], 5, "extractive"))[-1]
    assert "Check the filters" in bad_date[0][-1]["content"] and len(bad_date[1]) == 2

    limit = Settings().max_question_chars
    too_long = list(answer_turns(shared, "x" * (limit + 1), [], [], [], "", "", [], 5, "extractive"))[-1]
    assert f"the limit is {limit}" in too_long[0][-1]["content"] and too_long[1] == []


def test_queue_limits_are_deliberate(seed_index):
    from assistant.service.shared import SharedAssistant
    from assistant.apps.web.ui import build_ui

    settings = seed_index.settings.model_copy(update={"web_concurrency": 3})
    demo = build_ui(SharedAssistant(seed_index), settings)
    limits = {fn.api_name: fn.concurrency_limit for fn in demo.fns.values() if fn.api_name}
    assert limits["ask"] == 3, "answers: web_concurrency at once"
    assert limits["upload"] == 1 and limits["delete_article"] == 1, "writes: one at a time"
    assert limits["open_citation"] is None, "rendering a cited passage is cheap"


def llm_assistant(seed_index, embedder, replies: int = 1):
    """An LLM-mode assistant over the seed index whose scripted model writes two cited sentences."""
    from assistant import Settings, build_assistant
    from fakes import ScriptedChatModel, passage_number

    def reply(prompt: str) -> str:
        n = passage_number(prompt, "asks Beijing for help")
        return f"Moscow asks Beijing for help. [{n}] It continues to broadcast its narratives. [{n}]"

    model = ScriptedChatModel(replies=[reply] * replies)
    return build_assistant(Settings(data_dir=seed_index.settings.data_dir, answer_mode="llm"), embedder=embedder,
                           chat_model=model)


def test_answer_mode_is_chosen_per_question_only_when_an_llm_is_configured(seed_index, embedder, monkeypatch):
    from assistant import Settings, build_assistant
    from assistant.errors import ConfigError
    from assistant.service import shared as shared_module
    from assistant.service.shared import SharedAssistant

    monkeypatch.setattr(shared_module, "local_model_missing", lambda: "no local model")  # "local": test_local_mode.py
    from fakes import ScriptedChatModel, passage_number

    question = "What did the expert say about China?"
    extractive_only = SharedAssistant(seed_index)
    assert extractive_only.answer_modes() == ["extractive"]
    with pytest.raises(ConfigError, match="ASSISTANT_ANSWER_MODE=llm"):
        extractive_only.ask(question, mode="llm")

    model = ScriptedChatModel(replies=[
        lambda prompt: f"Moscow asks Beijing for help. [{passage_number(prompt, 'asks Beijing for help')}]"])
    llm = build_assistant(Settings(data_dir=seed_index.settings.data_dir, answer_mode="llm"), embedder=embedder,
                          chat_model=model)
    shared = SharedAssistant(llm)
    assert shared.answer_modes() == ["extractive", "llm"]
    quoted = shared.ask(question, mode="extractive")
    assert quoted.mode == "extractive" and not quoted.abstained and model.calls == []
    written = shared.ask(question)
    assert written.mode == "llm" and len(model.calls) == 1 and "Beijing" in written.answer


def test_corpus_upload_reports_each_bad_file_and_indexes_the_rest(make_assistant, tmp_path):
    from assistant.apps.web.corpus import upload_files
    from assistant.service.shared import SharedAssistant

    shared = SharedAssistant(make_assistant())
    good = tmp_path / "good.md"
    good.write_text("---\ntitle: Tide tables\nsource: Coast News\n---\nHigh tide is at noon on Sunday.\n",
                    encoding="utf-8")
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    other = tmp_path / "slides.pdf"
    other.write_bytes(b"%PDF")
    steps = []
    html = upload_files(shared, [str(good), str(broken), str(other)], lambda *a, **kw: steps.append(a))
    assert "1 new" in html and "2 failed" in html
    assert "<code>broken.json</code>" in html and "<code>slides.pdf</code>: unsupported file type" in html
    assert str(tmp_path) not in html, "files are named as uploaded"
    assert steps and [r["title"] for r in shared.articles()] == ["Tide tables"]


def test_server_fills_an_empty_index_first_and_cli_serve_is_registered(make_assistant, monkeypatch):
    from click.testing import CliRunner

    import assistant.apps.cli as cli
    import assistant.apps.server as server

    assistant = make_assistant()
    lines = []
    server.prepare_index(assistant, echo=lines.append)
    assert not assistant.is_empty() and "indexing" in lines[0] and "Indexed 1 new" in lines[-1]
    server.prepare_index(assistant, echo=lines.append)
    assert len(lines) == 2, "a filled index is left alone"
    # An index built before sentence vectors existed gets them when the server starts.
    for chunk in assistant.store.iter_chunks():
        assistant.store.sentences.delete(where={"chunk_id": chunk.id})
        assistant.store.collection.update(ids=[chunk.id], metadatas=[{**chunk.metadata, "sentence_vectors": False}])
    server.prepare_index(assistant, echo=lines.append)
    assert "sentence vectors added to 1 articles indexed earlier" in lines[-1] and "files" not in lines[-1]
    assert assistant.store.sentences.count() > 0
    server.prepare_index(assistant, echo=lines.append)
    assert len(lines) == 3

    calls = []
    monkeypatch.setattr(server, "serve", lambda **kwargs: calls.append(kwargs))
    result = CliRunner().invoke(cli.main, ["serve", "--host", "0.0.0.0", "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert calls[0]["host"] == "0.0.0.0" and calls[0]["port"] == 8123


def test_lock_lets_questions_share_and_writes_wait(seed_index, embedder):
    import threading

    from assistant.apps.web.chat import answer_turns
    from assistant.service.shared import ReadWriteLock, SharedAssistant

    lock, order = ReadWriteLock(), []
    with lock.reading(), lock.reading():  # two readers at once
        writer = threading.Thread(target=lambda: lock.writing().__enter__() or order.append("write"))
        writer.start()
        writer.join(0.2)
        assert order == [] and writer.is_alive(), "the writer waits for the readers"
    writer.join(2)
    assert order == ["write"]

    def write_gets_through(shared) -> bool:
        done = threading.Event()

        def write():
            with shared.lock.writing():
                done.set()
        threading.Thread(target=write, daemon=True).start()
        return done.wait(2)

    # An extractive answer is composed before it is shown: the index is free while it streams in.
    shared = SharedAssistant(seed_index)
    turns = answer_turns(shared, "What did the expert say about China?", [], [], [], "", "", [], 5, "extractive")
    next(turns), next(turns)  # the answer is being shown, sentence by sentence
    assert shared.lock._readers == 0, "the read lock is not held while the answer is replayed"
    assert write_gets_through(shared)
    turns.close()

    # An LLM writes while it streams: the read lock is held until the user leaves (or stops).
    llm_shared = SharedAssistant(llm_assistant(seed_index, embedder))
    turns = answer_turns(llm_shared, "What did the expert say about China?", [], [], [], "", "", [], 5, "llm")
    next(turns), next(turns)  # the answer is being written: its read lock is held
    assert llm_shared.lock._readers == 1
    turns.close()  # the user left
    assert write_gets_through(llm_shared), "an abandoned answer does not block writes"


def two_article_answer(url="https://courier.example/trams?a=1&b=2"):
    """An answer citing article A twice ([1], [3]) and article B once ([2]); B's outlet, author and
    date are unknown."""
    def cite(n, article, quote, **meta):
        return Citation(n=n, article_id=article, title=f"Title {article}", chunk_id=f"{article}:0", quote=quote,
                        start=0, end=len(quote), score=0.5, **meta)
    known = dict(source="Lindenberg Courier", author="Ada Weiss", published_at="2024-06-02T00:00:00Z", url=url)
    citations = [cite(1, "a", "Trams run at night.", **known), cite(2, "b", "Buses do not.", url="javascript:alert(1)"),
                 cite(3, "a", "Every twenty minutes.", **known)]
    return Answer(question="q", answer="Trams run at night. [1] Buses do not. [2] Every twenty minutes. [3]",
                  abstained=False, citations=citations)


def test_sources_are_one_card_per_cited_article_with_what_is_known():
    answer = two_article_answer()
    html = render.sources_overview_html(answer, 2)
    assert html.count('class="source-card"') == 2, "one card per cited article"
    first, second = html.split('class="source-card"')[1:]
    assert first.index("#cite-2-1") < first.index("Trams run at night.") < first.index("#cite-2-3")
    assert "Lindenberg Courier · Ada Weiss · 2024-06-02" in first
    assert 'href="https://courier.example/trams?a=1&amp;b=2"' in first and ">courier.example</a>" in first
    assert "#cite-2-2" in second and "Buses do not." in second
    assert 'class="meta"' not in second and "unknown" not in html, "only what is known is said"
    assert 'href="javascript' not in html and "javascript:alert(1)" in second  # printed, not linked
    assert "Copy answer with citations as Markdown" in html
    partial = render.sources_overview_html(answer, 2, shown={1})
    assert partial.count('class="source-card"') == 1 and "Buses" not in partial and "Copy answer" not in partial
    message = render.answer_html(answer, 2)
    assert message.count("<li>") == 2, "the message lists each cited article once"
    assert "unknown" not in render.citation_html(answer, 2, 2) and "#cite-2-0" in render.citation_html(answer, 2, 2)


def test_answer_as_markdown_keeps_numbers_quotes_and_metadata():
    text = render.answer_markdown(two_article_answer())
    assert text.startswith("Trams run at night. [1] Buses do not. [2] Every twenty minutes. [3]\n")
    lines = text.splitlines()
    assert lines[-3] == ("[1] “Trams run at night.” — Title a, Lindenberg Courier, Ada Weiss, 2024-06-02, "
                         "<https://courier.example/trams?a=1&b=2>")
    assert lines[-2] == "[2] “Buses do not.” — Title b", "no unsafe link, nothing unknown"
    assert lines[-1].startswith("[3] “Every twenty minutes.”")


def test_stream_steps_cut_after_citations_and_sentence_ends():
    from assistant.apps.web.chat import stream_steps

    text = "One said “yes.” [1] Two. [2][3]\n\nThree has no marker. Four ends"
    steps = stream_steps(text)
    assert "".join(steps) == text
    assert steps == ["One said “yes.” [1] ", "Two. [2][3]\n\n", "Three has no marker. ", "Four ends"]
    assert stream_steps("") == [] and stream_steps("No end") == ["No end"]


def test_answer_streams_in_steps_with_sources_filling_then_a_follow_up_says_how_it_was_understood(seed_index):
    import re

    from assistant.apps.web.chat import answer_turns
    from assistant.service.shared import SharedAssistant

    def shown_text(message: dict) -> str:
        return re.sub(r"<[^>]+>", "", message["content"].split('class="answer-text">', 1)[-1])

    shared = SharedAssistant(seed_index)
    steps = list(answer_turns(shared, "What did the expert say about China?", [], [], [], "", "", [], 5, "extractive"))
    answer = steps[-1][1][0]
    streamed = [shown_text(step[0][-1]) for step in steps[1:-1]]
    final = re.sub(r"<[^>]+>", "", render.linked_markers(answer.answer, 0, set()))
    assert len(streamed) >= 2 and len(set(streamed)) == len(streamed), "the text grows in steps"
    assert all(final.startswith(text) for text in streamed) and len(streamed[0]) < len(final)
    panels = [step[2] for step in steps[1:-1]]
    assert [p.count('<li>') for p in panels] == sorted(p.count('<li>') for p in panels), "sources fill in"
    assert steps[-1][2].count('class="source-card"') == 1 and steps[-1][2].count("<li>") == len(answer.citations)
    assert "Understood as" not in steps[-1][0][-1]["content"]

    follow = list(answer_turns(shared, "What else did he say?", steps[-1][0], steps[-1][1], [], "", "", [], 5,
                               "extractive"))[-1]
    standalone = follow[1][1].trace["standalone_question"]
    assert follow[1][1].trace["followup"]["how"] != "unchanged"
    assert f"Understood as: “{render.esc(standalone)}”" in follow[0][-1]["content"]


def test_a_filter_decline_names_the_filter_and_clearing_it_answers_again(seed_index):
    from assistant.apps.web.chat import answer_turns
    from assistant.service.shared import SharedAssistant

    shared = SharedAssistant(seed_index)
    question = "What did the expert say about China?"
    history, answers, panel, _ = list(answer_turns(shared, question, [], [], [], "2030-01-01", "", [], 5,
                                                   "extractive"))[-1]
    assert answers[0].abstained and "published from 2030-01-01" in history[-1]["content"]
    assert "clear the filters" in panel
    history, answers, panel, _ = list(answer_turns(shared, question, history, answers, [], "", "", [], 5,
                                                   "extractive"))[-1]
    assert not answers[1].abstained and 'href="#cite-1-1"' in history[-1]["content"]
    assert 'class="source-card"' in panel


def test_stop_keeps_what_was_written_and_says_so():
    from assistant.apps.web.chat import stop_answer

    pending = {"role": "assistant", "content": [{"type": "text", "text": render.pending_html("First &amp; [1] ")}]}
    history = stop_answer([{"role": "user", "content": "q"}, pending])
    assert "Stopped" in history[-1]["content"] and "First &amp;amp; [1]" in history[-1]["content"]
    done = {"role": "assistant", "content": render.answer_html(two_article_answer(), 0)}
    assert stop_answer([done]) == [done], "a finished answer is left alone"
    searching = stop_answer([{"role": "assistant", "content": render.pending_html("Searching the articles…")}])
    assert "Searching" not in searching[-1]["content"] and "Stopped" in searching[-1]["content"]


def test_first_run_says_only_the_sample_is_indexed_and_offers_questions_about_it(seed_index, make_assistant):
    from assistant.apps.web.chat import example_questions, index_view
    from assistant.service.shared import SharedAssistant

    shared = SharedAssistant(seed_index)
    rows = shared.articles()
    notice, samples = index_view(shared, rows)
    assert "Only the bundled sample article is indexed" in notice and "assistant ingest" in notice
    assert "Corpus" in notice and ".jsonl" in notice
    assert samples == [["What is known about “It would be beneficial for Putin to stop military operations now”?"]]
    answer = shared.ask(samples[0][0])
    assert not answer.abstained and answer.citations, "the example question is answered"

    more = rows + [{"id": "x", "title": "Night trams return to Lindenberg", "source": "Lindenberg Courier",
                    "published_at": "2024-06-02T00:00:00Z", "category": None, "chunks": 1}]
    notice, samples = index_view(shared, more)
    assert "first-run" not in notice and "2 articles indexed from 1 outlet" in notice
    assert samples[1] == ["What is known about “Night trams return to Lindenberg”?"]
    empty = SharedAssistant(make_assistant())
    notice, samples = index_view(empty, [])
    assert "The index is empty" in notice and str(empty.settings.data_dir) in notice and samples == []
    assert len(example_questions([{"title": f"Story number {i}"} for i in range(9)])) == 4


def test_web_uploads_are_read_and_embedded_before_the_write_lock(make_assistant, tmp_path):
    from assistant.apps.web.corpus import upload_files
    from assistant.service.shared import SharedAssistant

    shared = SharedAssistant(make_assistant())
    embedder = shared.assistant.indexer.embedder
    real_embed, under_lock = embedder.embed, []

    def embed(texts, *args, **kwargs):
        under_lock.append(shared.lock._writing)
        return real_embed(texts, *args, **kwargs)

    story = tmp_path / "story.md"
    story.write_text("---\ntitle: Tide tables\nsource: Coast News\n---\nHigh tide is at noon on Sunday.\n",
                     encoding="utf-8")
    embedder.embed = embed
    try:
        html = upload_files(shared, [str(story)], lambda *a, **kw: None)
    finally:
        del embedder.embed
    assert "1 new" in html
    assert under_lock and not any(under_lock), "nothing is embedded while the index is locked for writing"


def test_evaluation_tab_shows_a_metrics_table_and_the_worst_misses(seed_index):
    from assistant.evaluation.datasets import EvalQuestion, Evidence
    from assistant.evaluation.runner import ConfigRun, Variant, score, summary_object
    from assistant.apps.web.evaluation import charts_html, metrics_html, misses_html

    found = "It would be very beneficial for Russia to stop military operations now"
    questions = [EvalQuestion(question="What would benefit Russia?", evidence=[Evidence(fact=found)]),
                 EvalQuestion(question=f"Where is the {HOSTILE} bridge?", type="fact",
                              evidence=[Evidence(fact="The bridge is in Lindenberg.", title=HOSTILE)])]
    results = [score(q, seed_index.ask(q.question)) for q in questions]
    profile = seed_index.profile
    summary = summary_object([ConfigRun(Variant("default"), profile.fusion.mode, profile.name, results)],
                             path="set.jsonl", format="jsonl", k=10)
    table = metrics_html(summary)
    assert "Evaluated 2 questions" in table and "<table" in table and "<pre" not in table
    assert "<th scope='row'>hits@1</th>" in table and "<th>fact</th>" in table
    misses = misses_html(results)
    assert misses.count("<details>") == 1, "only the question whose evidence was not found"
    assert "&lt;script&gt;" in misses and "<script" not in misses
    assert "evidence recall 0.00" in misses and "The bridge is in Lindenberg." in misses
    assert seed_index.articles()[0]["title"] in misses.split("Retrieved")[1], "what was retrieved instead"
    assert "None:" in misses_html(results[:1])
    charts = charts_html(["/tmp/r/retrieval_by_type.png"])
    assert '<img src="gradio_api/file=/tmp/r/retrieval_by_type.png"' in charts and "Retrieval by type" in charts


def test_laying_out_the_page_counts_the_articles_and_the_page_load_lists_them(seed_index):
    """The server's start does not read every article record: the layout shows the count, and the
    page's load event fills the notice, the examples and the filters from the listing."""
    from assistant.apps.web.ui import build_ui
    from assistant.service.shared import SharedAssistant

    class Listing(SharedAssistant):
        listed = 0

        def articles(self, duplicates: bool = False):
            Listing.listed += 1
            return super().articles(duplicates)

    shared = Listing(seed_index)
    demo = build_ui(shared, seed_index.settings)
    assert Listing.listed == 0
    props = {c["props"].get("elem_id"): c["props"] for c in demo.config["components"] if "props" in c}
    assert "1 article indexed." in props["index-notice"]["value"]
    loads = [fn for fn in demo.fns.values() if any(name == "load" for _, name in fn.targets)]
    filled = [fn.fn() for fn in loads]
    notice = next(str(value) for out in filled for value in out if "index-notice" in str(value))
    assert "Only the bundled sample article is indexed" in notice and Listing.listed >= 1
