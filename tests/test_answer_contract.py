"""The answer contract: every quoted word of an answer lies inside a cited span, whatever the profile
and the answer mode.

For every bundled profile (assistant/profiles/*.json), extractive and LLM (the scripted chat model
of tests/fakes.py, the only fake: real Chroma, the real bundled model), over the bundled article and
the saved pages of tests/data/furniture/ (with their furniture, and a Markdown story with front
matter), each answer must satisfy:

- its ``parts`` joined are its text; citations are numbered 1..N in the order the text first cites
  them, every marker names a citation and every citation is cited;
- each citation's quote is the indexed article's text between its offsets;
- each ``quote`` part is the words of the one citation it names (case aside); each ``paraphrase``
  names citations that exist;
- every character the text puts in quotation marks is in a ``quote`` part;
- ``added`` parts hold no word of the articles: only the outlet and date lead-in, a speaker's name
  and role, the lead-in words "According to", "said", and notes in brackets on a paragraph of their
  own (a caveat, the order of coverage).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from assistant import Settings, build_assistant
from assistant.answer.parts import MARKERS, holds_quoted, quoted_words
from assistant.models import Answer
from conftest import SEED
from fakes import ScriptedChatModel, passage_number

DATA = Path(__file__).parent / "data"
PROFILES = sorted(p.stem for p in (Path(__file__).resolve().parent.parent / "assistant" / "profiles").glob("*.json"))
WATER = ("---\ntitle: Water restrictions eased in Aren valley\nsource: Example Herald\ndate: 2024-03-02\n---\n"
         "# Water restrictions eased in Aren valley\n\n"
         "Water restrictions in the Aren valley were eased on Friday after heavy rain refilled the reservoirs. "
         "The regional water authority said supplies were back to normal. “We are confident the reservoirs will "
         "last through the summer,” it said. Residents of Aren had faced a hosepipe ban since June.\n")
QUESTIONS = [
    "What did the expert say about China?",
    "Why would Putin benefit from stopping military operations now?",
    "What did Zhelikhovsky say about the negotiations in Istanbul?",
    "Which team did Shohei Ohtani sign with?",
    "How much is Ohtani's contract worth?",
    "How much will Sir Jim Ratcliffe pay for the stake in Manchester United?",
    "Who said supplies were back to normal in the Aren valley?",
    "Why were water restrictions eased?",
]
LEAD_WORDS = {"according", "to", "said", "as", "of", "latest"}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("contract-corpus")
    shutil.copy(SEED, folder / SEED.name)
    for page in (DATA / "furniture").iterdir():
        shutil.copy(page, folder / page.name)
    (folder / "water.md").write_text(WATER, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def indexes(corpus, tmp_path_factory, embedder) -> dict[str, Path]:
    """One index per profile (profiles may index differently), built once for the module."""
    built = {}
    for profile in PROFILES:
        data = tmp_path_factory.mktemp(f"contract-{profile}")
        assistant = build_assistant(Settings(data_dir=data, profile=profile), embedder=embedder)
        report = assistant.ingest([corpus])
        assert report.failed == 0 and report.added == 4, report.summary()
        built[profile] = data
    return built


@pytest.mark.parametrize("profile", PROFILES)
def test_extractive_answers_quote_only_inside_their_citations(profile, indexes, embedder):
    assistant = build_assistant(Settings(data_dir=indexes[profile], profile=profile), embedder=embedder)
    answered = 0
    for question in QUESTIONS:
        answer = assistant.ask(question)
        check_contract(answer, assistant)
        answered += not answer.abstained
    assert answered >= len(QUESTIONS) - 2, f"{profile}: most of these questions have answers"


def llm_replies() -> list:
    """What a writer does: paraphrase, quote the cited sentence, quote another sentence of the passage
    than the one the citation will show, misquote, cite a passage it never read."""
    def first(prompt: str) -> str:
        china = passage_number(prompt, "very beneficial for Russia in this regard")
        beijing = passage_number(prompt, "more and more dependent on Beijing")
        return ("Zhelikhovsky said that China is “very beneficial for Russia in this regard” "
                f"[{china}]. He added that Russia is becoming “more and more dependent on Beijing” [{beijing}]. "
                f"He also called China “Russia's closest ally in the war” [{china}]. "
                f"Moscow asks Beijing for help [{china}][9].")

    def second(prompt: str) -> str:
        deal = passage_number(prompt, "10-year contract")
        return (f"Ohtani signed a 10-year contract with the Los Angeles Dodgers [{deal}]. "
                f"He wrote: \"I want to apologize to all the fans for taking so long to make this decision\" [{deal}].")

    def third(prompt: str) -> str:
        stake = passage_number(prompt, "25 per cent of Manchester United")
        return (f"Ratcliffe will pay about $1.3 billion for the stake [{stake}], and said he would bring "
                f"“world-class knowledge and expertise to the club” [{stake}].")
    return [first, second, third]


LLM_QUESTIONS = ["What did the expert say about China?", "Which team did Shohei Ohtani sign with?",
                 "How much will Sir Jim Ratcliffe pay for the stake in Manchester United?"]


@pytest.mark.parametrize("profile", PROFILES)
def test_llm_answers_quote_only_inside_their_citations(profile, indexes, embedder):
    model = ScriptedChatModel(replies=llm_replies())
    assistant = build_assistant(Settings(data_dir=indexes[profile], profile=profile, answer_mode="llm"),
                                embedder=embedder, chat_model=model)
    answers = []
    for question in LLM_QUESTIONS:
        pieces = list(assistant.ask_stream(question))
        answer = pieces[-1]
        assert isinstance(answer, Answer) and answer.mode == "llm"
        streamed = "".join(p for p in pieces[:-1] if isinstance(p, str))
        assert streamed.strip() == answer.answer.strip(), "the stream shows the numbers the answer has"
        check_contract(answer, assistant)
        answers.append(answer)
    china = answers[0]
    assert not china.abstained and "closest ally" not in china.answer  # a misquote never reaches the user
    assert "[9]" not in china.answer and china.citations[0].n == 1
    assert any(p.kind == "quote" and "more and more dependent on Beijing" in p.text for p in china.parts)
    assert any(p.kind == "paraphrase" for p in china.parts)
    ohtani = answers[1]
    assert not ohtani.abstained and any(p.kind == "quote" and "I want to apologize" in p.text for p in ohtani.parts)


def check_contract(answer: Answer, assistant) -> None:
    where = f"{answer.question!r} → {answer.answer!r}"
    text, parts = answer.answer, answer.parts
    assert "".join(p.text for p in parts) == text, where
    if answer.abstained:
        assert not answer.citations and all(p.kind == "added" for p in parts), where
        return
    # Numbered 1..N in reading order; every marker names a citation, every citation is cited.
    order = []
    for group in MARKERS.findall(text):
        for n in re.split(r"\s*,\s*", group):
            if int(n) not in order:
                order.append(int(n))
    assert order == list(range(1, len(answer.citations) + 1)), where
    assert [c.n for c in answer.citations] == order, where
    by_n = {c.n: c for c in answer.citations}
    for citation in answer.citations:
        body = assistant.store.article_record(citation.article_id).body
        assert body[citation.start:citation.end] == citation.quote, where
    covered = [False] * len(text)
    at = 0
    allowed = set(LEAD_WORDS)
    for c in answer.citations:
        for value in (c.source, c.speaker, c.speaker_role, c.published_at):
            allowed |= set(re.findall(r"\w+", (value or "").lower()))
    for part in parts:
        span = range(at, at + len(part.text))
        at += len(part.text)
        assert all(n in by_n for n in part.citations), (part, where)
        if part.kind == "quote":
            assert len(part.citations) == 1, (part, where)
            quote = by_n[part.citations[0]].quote
            assert part.text.lower() in quote.lower() or holds_quoted(quote, part.text), (part.text, quote)
            for i in span:
                covered[i] = True
        elif part.kind == "paraphrase":
            assert part.citations, (part, where)
        elif part.kind == "citation":
            assert re.fullmatch(r"\[\d+(?:, \d+)*\]", part.text), (part, where)
        else:
            # A note of the assistant's own on a paragraph of its own, in brackets ("(Not a sure answer: …)",
            # "(Newest coverage first …)") or the caveat a "low" answer opens with, is about the answer,
            # not words taken from an article.
            own = re.sub(r"(?:^|\n\n)(?:\([^\n]*\)|Not a sure answer: [^\n]*)(?=\n\n|$)", "", part.text)
            words = set(re.findall(r"[^\W\d_]+", own.lower()))
            months = {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}
            assert words <= allowed | months, (sorted(words - allowed - months), part.text, where)
    for match in re.finditer(r"“([^“”]+)”|\"([^\"]+)\"", text):
        inner = match.span(1) if match.group(1) is not None else match.span(2)
        uncovered = [text[i] for i in range(*inner) if not covered[i] and text[i].isalnum()]
        assert not uncovered, (text[inner[0]:inner[1]], where)
    for words in quoted_words(text):
        assert any(holds_quoted(c.quote, words) for c in answer.citations), (words, where)
