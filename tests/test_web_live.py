"""The whole app on a real uvicorn server: the Gradio API through gradio_client, REST under load."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from browser.live_server import LiveServer
from conftest import CORPUS

SEED_QUESTION = "What did the expert say about China?"
# Gradio's queue uses pandas options that pandas 3 deprecates; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")


@pytest.fixture(scope="module")
def live(tmp_path_factory, embedder):
    """(server, assistant): the bundled article indexed, web chat at /, REST at /api."""
    from assistant import Settings, build_assistant
    from assistant.apps.server import create_app

    settings = Settings(data_dir=tmp_path_factory.mktemp("live-index"), web_concurrency=2)
    assistant = build_assistant(settings, embedder=embedder)
    assistant.ingest([CORPUS])
    with LiveServer(create_app(assistant, settings)) as server:
        yield server, assistant


@pytest.fixture(scope="module")
def gradio(live):
    from gradio_client import Client

    return Client(live[0].url + "/", verbose=False)


def message_text(message: dict) -> str:
    content = message["content"]
    return content if isinstance(content, str) else "".join(part.get("text", "") for part in content)


def test_gradio_api_streams_the_answer_then_opens_a_citation(live, gradio):
    from assistant.apps.web.render import esc

    _, assistant = live
    expected = assistant.ask(SEED_QUESTION)
    job = gradio.submit(SEED_QUESTION, [], [], "", "", [], 10, "extractive", api_name="/ask")
    history, sources, question_box = job.result(timeout=60)
    assert len(job.outputs()) >= 2, "the answer is streamed: a pending message first, then the answer"
    assert question_box == ""
    assert [m["role"] for m in history] == ["user", "assistant"]
    reply = message_text(history[1])
    for c in expected.citations:
        assert f'href="#cite-0-{c.n}"' in reply and esc(c.title) in reply
        assert esc(c.quote) in sources

    second = expected.citations[1]
    panel = gradio.predict("0:2", api_name="/open_citation")
    assert f"<mark>{esc(second.quote)}</mark>" in panel
    assert esc(second.title) in panel and "Quoted characters" in panel
    assert "no longer available" in gradio.predict("7:1", api_name="/open_citation")


def test_gradio_api_upload_then_delete(live, gradio, tmp_path):
    from gradio_client import handle_file

    _, assistant = live
    story = tmp_path / "ferry.md"
    story.write_text("---\ntitle: Night ferry resumes\nsource: Harbour Herald\ndate: 2024-05-01\n---\n"
                     "The night ferry to the islands resumes on Friday. Tickets cost four euros.\n", encoding="utf-8")
    report = gradio.predict([handle_file(str(story))], api_name="/upload")
    assert "1 new" in report and "failed" not in report
    row = next(a for a in assistant.articles() if a["title"] == "Night ferry resumes")
    assert row["source"] == "Harbour Herald"
    assert "Deleted article" in gradio.predict(row["id"], api_name="/delete_article")
    assert all(a["id"] != row["id"] for a in assistant.articles())
    assert "No indexed article" in gradio.predict(row["id"], api_name="/delete_article")


def test_rest_answers_concurrent_questions_correctly(live):
    server, _ = live
    questions = [SEED_QUESTION, "Why would Putin benefit from stopping military operations?",
                 "What does Russia need to reboot?", "Who is Stanislav Zhelikhovsky?",
                 "What happened in Istanbul?", SEED_QUESTION]
    with httpx.Client(base_url=server.url, timeout=60) as client:
        expected = {q: client.post("/api/ask", json={"question": q}).json() for q in questions}
    start = threading.Barrier(len(questions))

    def ask(question: str) -> tuple[str, dict]:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            start.wait()
            response = client.post("/api/ask", json={"question": question})
            assert response.status_code == 200, response.text
            return question, response.json()

    with ThreadPoolExecutor(len(questions)) as pool:
        results = list(pool.map(ask, questions))
    assert len(results) == len(questions) >= 5
    for question, answer in results:
        assert answer["question"] == question
        assert answer["answer"] == expected[question]["answer"]
        assert [(c["chunk_id"], c["start"], c["end"]) for c in answer["citations"]] == [
            (c["chunk_id"], c["start"], c["end"]) for c in expected[question]["citations"]]
    assert not expected[SEED_QUESTION]["abstained"]


def test_gradio_api_runs_a_bundled_question_set(live, gradio):
    import re

    from assistant.apps.web.evaluation import BUNDLED_SETS

    bundled = str(BUNDLED_SETS / "corpus_questions.jsonl")
    status, metrics, charts, misses, files = gradio.predict(bundled, None, 3, 10, api_name="/evaluate")
    assert "Evaluated corpus_questions.jsonl" in status
    assert "Evaluated 3 questions" in metrics and "<table" in metrics and "<th scope='row'>hits@1</th>" in metrics
    images = re.findall(r'<img src="([^"]+)"', charts)
    assert len(images) >= 2 and {p.rsplit("/", 1)[-1] for p in files} >= {"report.html", "metrics.json"}
    for src in images:  # the charts are served to the page
        response = httpx.get(f"{live[0].url}/{src}", timeout=30)
        assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    assert "Worst misses" in misses
