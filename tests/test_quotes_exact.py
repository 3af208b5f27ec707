"""Quotes you can trust (issue 16, item 5): a citation's quote is the article's words, verbatim
(``body[start:end] == quote``); quotation marks balance in every printed citation line and in the
answer; the answer may name the speaker outside a quotation, and any word of the article it
replaces or adds to is in brackets ("[Zhelikhovsky]")."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

import assistant.apps.cli as cli
from assistant.answer.attribution import Attribution
from assistant.answer.composer import Chosen, render
from assistant.answer.quotations import balance_marks, display_quote, read_marks
from assistant.models import Passage
from conftest import SEED
from assistant.ingest.readers import read_file

BODY = read_file(SEED).articles[0].body  # as indexed: page furniture (a caption, a "Read also" link) left out
EXPERT = "Stanislav Zhelikhovsky"
QUESTIONS = [
    "What did the expert say about China?",
    "What does the international affairs expert think about China?",
    "What did Zhelikhovsky say about Putin?",
    "What did the international affairs expert say about negotiations?",
    "Why is Putin raising the topic of negotiations?",
    "What did Zhelikhovsky say?",
    "What did the expert say about the axis of evil?",
    "What does Russia need to reboot?",
    "What did Zhelikhovsky say about Beijing?",
    "What did Putin say about negotiations?",
]
MARKER = re.compile(r"\s*\[(\d+)\]")


def balanced(text: str) -> bool:
    depth = 0
    for ch in text:
        if ch == "“":
            depth += 1
        elif ch == "”":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0 and text.count('"') % 2 == 0


@pytest.fixture(scope="module")
def answers(seed_index):
    return {question: seed_index.ask(question) for question in QUESTIONS}


def cited_sentences(answer) -> list[tuple[str, int]]:
    """(answer sentence without its marker, the citation number) in order."""
    out, cursor = [], 0
    text = answer.answer
    for match in MARKER.finditer(text):
        sentence = text[cursor:match.start()].strip()
        sentence = re.sub(r"^.*? — ", "", sentence) if "\n" not in sentence and " — " in sentence[:60] else sentence
        out.append((sentence.split("\n")[-1].strip(), int(match.group(1))))
        cursor = match.end()
    return out


def article_words(sentence: str, speaker: str | None) -> str:
    """The answer sentence without the answer's own framing ("X said: ", "According to X, ")."""
    if speaker:
        names = "|".join(re.escape(n) for n in (speaker, speaker.split()[-1]))
        sentence = re.sub(rf"^(?:According to (?:{names})(?: \([^)]*\))?, |(?:{names})(?: \([^)]*\))? said: )",
                          "", sentence)
    return sentence


def matches_quote(words: str, quote: str) -> bool:
    """``words`` is ``quote`` verbatim except for bracketed names (in place of words or added) and
    quotation marks completing a quotation the quote opens or closes outside itself."""
    for added_before in range(3):
        for added_after in range(3):
            core = words[added_before:len(words) - added_after]
            if set(words[:added_before]) - set("“\"") or set(words[len(words) - added_after:]) - set("”\""):
                continue
            pieces = re.split(r"\s?\[[^\]]+\]", core)
            pattern = r"(?:\s?[\w’'\- ]{0,60}?)".join(re.escape(p) for p in pieces)
            if re.fullmatch(pattern, quote, re.IGNORECASE):  # "According to X, the …" lowers "The"
                return True
    return False


def test_every_citation_is_the_articles_own_words(answers):
    citations = [c for a in answers.values() for c in a.citations]
    assert len(citations) >= 12 and all(not a.abstained for a in answers.values())
    for c in citations:
        assert BODY[c.start:c.end] == c.quote, (c.n, c.quote)
    assert {c.speaker for c in citations} == {EXPERT, "Vladimir Putin"}


def test_quotation_marks_balance_in_every_answer_sentence(answers):
    for question, answer in answers.items():
        assert balanced(answer.answer), (question, answer.answer)
        for sentence, n in cited_sentences(answer):
            assert balanced(sentence), (question, n, sentence)


def test_answer_words_are_the_articles_except_bracketed_names(answers):
    """Outside the answer's own framing, every word is the cited sentence's; a name put in for "he"
    or added to "the international affairs expert" is bracketed, never slipped into quoted words."""
    bracketed = 0
    for question, answer in answers.items():
        quotes = {c.n: c for c in answer.citations}
        for sentence, n in cited_sentences(answer):
            citation = quotes[n]
            words = article_words(sentence, citation.speaker)
            assert matches_quote(words, citation.quote), (question, sentence, citation.quote)
            bracketed += "[" in words
            marks = read_marks(words)
            quoted = "".join(ch for ch, inside in zip(words, marks.inside) if inside)
            if "Zhelikhovsky" in quoted:
                assert "Zhelikhovsky" in citation.quote, (question, sentence)
    assert bracketed >= 2, "the expert's role and pronouns were resolved to his name somewhere"


def test_the_issue_sentences(answers):
    text = answers["What did the expert say about China?"].answer
    assert "according to the international affairs expert [Stanislav Zhelikhovsky]" in text
    assert "“Therefore, China is very beneficial for Russia in this regard,” Zhelikhovsky said." in text
    assert "according to Stanislav Zhelikhovsky" not in text
    assert "““" not in " ".join(a.answer for a in answers.values())


@pytest.fixture
def run(seed_index, monkeypatch):
    runner = CliRunner()
    return lambda *args: runner.invoke(cli.main, list(args), catch_exceptions=False, obj=seed_index)


@pytest.mark.parametrize("question", QUESTIONS[:5])
def test_printed_citation_lines_balance_and_hold_the_quote(run, answers, question):
    result = run("ask", question)
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("    ")]
    citations = answers[question].citations
    assert len(lines) == len(citations)
    for line, c in zip(lines, citations):
        assert balanced(line), line
        assert c.quote in line and f"(characters {c.start}–{c.end})" in line
        assert "““" not in line and "””" not in line
    answer_text = result.output.split("\n\n[1] ")[0]
    assert balanced(answer_text)


def test_the_unbalanced_citation_of_the_issue_prints_balanced(run):
    out = run("ask", "What did the expert say about China?").output
    assert "    “…Therefore, China is very beneficial for Russia in this regard,” Zhelikhovsky said. (characters" in out
    assert "Zhelikhovsky said.”" not in out


# --- the rules on their own ----------------------------------------------------------------------
@pytest.mark.parametrize("text, shown", [
    ("Therefore, it is beneficial,” Zhelikhovsky said.", "“…Therefore, it is beneficial,” Zhelikhovsky said."),
    ("“That’s why now Putin is trying.", "“That’s why now Putin is trying. …”"),
    ("So they will strengthen this “axis of evil.”", "So they will strengthen this “axis of evil.”"),
    ("He repeatedly recalls the negotiations.", "He repeatedly recalls the negotiations."),
    ("“It would be beneficial,” he said.", "“It would be beneficial,” he said."),
    ('Therefore," he said.', '"…Therefore," he said.'),
    ('He called it "dumped" twice.', 'He called it "dumped" twice.'),
])
def test_display_quote_completes_marks_without_doubling(text, shown):
    assert display_quote(text) == shown and balanced(shown)


def test_balance_marks_uses_the_quotation_opened_before():
    assert balance_marks("So they will strengthen this “axis of evil.”", "“") == \
        "“So they will strengthen this “axis of evil.””"
    assert balance_marks("But again, it is so,” said the expert.", "“") == "“But again, it is so,” said the expert."


def chosen(text: str, attribution: Attribution, open_before: str = "", role: str | None = None) -> Chosen:
    passage = Passage(chunk_id="c", article_id="a", text=text, title="t", start=0, end=len(text))
    return Chosen(passage, 0, len(text), text, 1.0, attribution, role, open_before)


@pytest.mark.parametrize("text, attribution, open_before, expected", [
    ("And a lot is actually said about this,” he said.", Attribution(EXPERT, "quote", "he said", "he"), "“",
     "“And a lot is actually said about this,” [Zhelikhovsky] said."),
    ("It is very beneficial,” said the international affairs expert.",
     Attribution(EXPERT, "quote", "said the international affairs expert", "the international affairs expert"), "“",
     "“It is very beneficial,” said the international affairs expert [Zhelikhovsky]."),
    ("He repeatedly recalls the negotiations in Istanbul.", Attribution(EXPERT, "quote", "", ""), "“",
     "Zhelikhovsky said: “He repeatedly recalls the negotiations in Istanbul.”"),
    ("In his opinion, Putin made his first visit.", Attribution(EXPERT, "reported", "In his opinion", "his"), "",
     "In [Zhelikhovsky’s] opinion, Putin made his first visit."),
    ("He noted that Moscow asks Beijing for help.", Attribution(EXPERT, "reported", "He noted", "He"), "",
     "[Zhelikhovsky] noted that Moscow asks Beijing for help."),
])
def test_render_keeps_the_words_and_brackets_the_name(text, attribution, open_before, expected):
    assert render(chosen(text, attribution, open_before), introduced={EXPERT}) == expected


def test_first_mention_brackets_the_full_name_and_role():
    said = render(chosen("He noted that Moscow asks Beijing for help.", Attribution(EXPERT, "reported", "He noted", "He"),
                         role="international affairs expert"), introduced=set())
    assert said == "[Stanislav Zhelikhovsky, international affairs expert] noted that Moscow asks Beijing for help."
