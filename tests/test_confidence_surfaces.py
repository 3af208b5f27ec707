"""The three outcomes of issue 31 as a user meets them: the CLI's text and --json, `assistant chat`,
the REST API (body and OpenAPI schema), and the web chat's Markdown copy. Real bundled model, real
Chroma, the bundled article, real questions for each outcome."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from assistant.apps.cli import main
from conftest import CORPUS

ANSWERED = "What did the expert say about China?"
UNRELATED = "Who won the Rugby World Cup semi-final between New Zealand and Argentina?"
BARE_DECLINE = "What is the boiling point of water?"
NAMED_DECLINE = "What did Zhelikhovsky say about Graceland?"  # he is quoted, never on Graceland
LOW = "How many soldiers has Russia lost?"  # the article speaks of Russia's losses, and of no figure


@pytest.fixture(scope="module")
def assistant(tmp_path_factory, embedder):
    from assistant import Settings, build_assistant

    built = build_assistant(Settings(data_dir=tmp_path_factory.mktemp("confidence-index")), embedder=embedder)
    assert built.ingest([CORPUS]).added == 1
    return built


@pytest.fixture
def cli(assistant):
    runner = CliRunner()

    def invoke(*args, input=None):
        result = runner.invoke(main, list(args), input=input, obj=assistant, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result
    return invoke


# --- assistant ask ---------------------------------------------------------------------------

def test_ask_high_prints_the_answer_without_a_caveat_and_json_says_high(cli):
    data = json.loads(cli("ask", ANSWERED, "--json").stdout)
    assert (data["confidence"], data["abstained"]) == ("high", False)
    assert data["citations"] and "[1]" in data["answer"]
    text = cli("ask", ANSWERED).stdout
    assert text.startswith(data["answer"].strip() + "\n")
    assert "Low confidence" not in text and "Not answered" not in text
    assert "[1] It would be beneficial for Putin" in text


def test_ask_low_says_so_and_why_before_the_closest_passages(cli):
    data = json.loads(cli("ask", LOW, "--json").stdout)
    assert (data["confidence"], data["abstained"]) == ("low", False)
    reason = data["confidence_reason"]
    assert reason and data["citations"], "the closest passages are cited, with what they lack"
    text = cli("ask", LOW).stdout
    lines = text.splitlines()
    assert lines[0] == "Low confidence." and lines[1] == data["answer"].splitlines()[0]
    assert text.count(reason) == 1, "the answer's text gives the reason; the label does not repeat it"
    assert any(line.startswith("[1] It would be beneficial for Putin") for line in lines)


def test_ask_none_for_an_unrelated_question_says_why(cli):
    data = json.loads(cli("ask", UNRELATED, "--json").stdout)
    assert data["confidence"] == "none" and data["abstained"] is True and data["citations"] == []
    why = data["confidence_reason"] or data["trace"]["abstain_reason"]
    lines = cli("ask", UNRELATED).stdout.splitlines()
    assert lines[0] == data["answer"].strip() and lines[1] == f"Not answered: {why.rstrip('.')}."
    assert not any("Low confidence" in line for line in lines)


def test_ask_none_whose_text_gives_the_reason_says_it_once(cli):
    data = json.loads(cli("ask", NAMED_DECLINE, "--json").stdout)
    assert data["confidence"] == "none" and data["abstained"] is True
    assert "Graceland" in data["confidence_reason"] and data["confidence_reason"] in data["answer"]
    text = cli("ask", NAMED_DECLINE).stdout
    assert text.count(data["confidence_reason"]) == 1 and "Not answered" not in text


def test_ask_none_when_the_filters_leave_nothing_gives_the_reason_once(cli):
    data = json.loads(cli("ask", ANSWERED, "--since", "2030-01-01", "--json").stdout)
    assert data["confidence"] == "none" and data["abstained"] is True
    assert "clear the filters" in data["confidence_reason"] and data["confidence_reason"] in data["answer"]
    text = cli("ask", ANSWERED, "--since", "2030-01-01").stdout
    assert text.count("clear the filters") == 1 and "Not answered" not in text


# --- assistant chat --------------------------------------------------------------------------

def test_chat_shows_each_outcome_after_its_answer(cli):
    out = cli("chat", input=f"{ANSWERED}\n{BARE_DECLINE}\n/quit\n").stdout
    answered, declined = out.split("you> ")[1:3]
    assert "Low confidence" not in answered and "Not answered" not in answered
    assert "[1] It would be beneficial" in answered
    assert "I could not find this" in declined and "(Not answered: " in declined


def test_chat_low_answer_carries_the_caveat(cli, assistant):
    reason = assistant.ask(LOW).confidence_reason
    out = cli("chat", input=f"{LOW}\n/quit\n").stdout
    answer = out.split("you> ")[1]
    assert "(Low confidence.)" in answer and answer.count(reason) == 1
    assert answer.index("Low confidence") < answer.index("[1] It would be beneficial"), "caveat before sources"


# --- REST API --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def api(assistant):
    from assistant.apps.api import create_api

    return TestClient(create_api(assistant, assistant.settings), raise_server_exceptions=False)


def ask_api(api, question, **body):
    response = api.post("/api/ask", json={"question": question, **body})
    assert response.status_code == 200, response.text
    return response.json()


def test_api_high(api):
    body = ask_api(api, ANSWERED)
    assert (body["confidence"], body["abstained"]) == ("high", False)
    assert body["citations"]


def test_api_low(api):
    body = ask_api(api, LOW)
    assert (body["confidence"], body["abstained"]) == ("low", False)
    assert body["confidence_reason"] and body["confidence_reason"] in body["answer"]
    assert body["citations"] and "[1]" in body["answer"]


def test_api_none(api):
    body = ask_api(api, UNRELATED)
    assert body["confidence"] == "none" and body["abstained"] is True and not body["citations"]
    filtered = ask_api(api, ANSWERED, filters={"since": "2030-01-01"})
    assert filtered["confidence"] == "none" and filtered["abstained"] is True
    assert "published from 2030-01-01" in filtered["confidence_reason"]


def test_openapi_documents_confidence_as_an_enum_always_present(api):
    spec = api.get("/openapi.json").json()
    ok = spec["paths"]["/api/ask"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    name = ok["$ref"].rsplit("/", 1)[-1]
    schema = spec["components"]["schemas"][name]
    assert schema["properties"]["confidence"]["enum"] == ["high", "low", "none"]
    assert "confidence" in schema["required"]
    assert "abstained" in schema["properties"]["confidence"]["description"]
    reason = schema["properties"]["confidence_reason"]
    assert {"type": "string"} in reason["anyOf"] and reason["description"]


# --- the web chat's Markdown copy ------------------------------------------------------------

def marks_balance(line: str) -> bool:
    return line.count("“") == line.count("”") and line.count('"') % 2 == 0


def test_markdown_copy_never_doubles_a_closing_quote(assistant):
    from assistant.apps.web.render import answer_markdown

    answer = assistant.ask(ANSWERED)
    quoted = [c for c in answer.citations if "Zhelikhovsky said." in c.quote]
    assert quoted, [c.quote for c in answer.citations]
    markdown = answer_markdown(answer)
    sources = [line for line in markdown.splitlines() if re.match(r"\[\d+\] ", line)]
    assert len(sources) == len(answer.citations)
    assert all(marks_balance(line) for line in sources), sources
    assert "said.”" not in markdown and 'said."' not in markdown
    assert "regard,” Zhelikhovsky said. — It would be beneficial" in markdown


def test_markdown_copy_of_straight_quotes(assistant):
    from assistant.apps.web.render import quoted

    assert quoted('Therefore, China is very beneficial for Russia in this regard," Zhelikhovsky said.') == \
        '"…Therefore, China is very beneficial for Russia in this regard," Zhelikhovsky said.'
    assert quoted("The council met on Monday.") == "“The council met on Monday.”"


def test_markdown_copy_of_a_low_answer_leads_with_the_caveat(assistant):
    from assistant.apps.web.render import answer_markdown

    answer = assistant.ask(LOW)
    assert answer.confidence == "low"
    lines = answer_markdown(answer).splitlines()
    assert lines[0] == "**Low confidence**." and lines[2] == answer.answer.splitlines()[0]
    assert answer.confidence_reason in lines[2]
    assert "<" not in answer_markdown(answer).replace("<http", ""), "text, not HTML"
