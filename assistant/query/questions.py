"""What a question asks for: a person's statements on a topic ("What did the expert say about China?").

The outlets a question names are read by :mod:`assistant.query.analysis`."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from assistant.answer.mentions import TITLE_WORDS, nominal, pronoun

_VERBS = (r"say|said|says|think|thinks|thought|tell|told|claim|claimed|note|noted|argue|argued|write|wrote|"
          r"believe|believes|comment|commented|predict|predicted|reveal|revealed|warn|warned|suggest|suggested|"
          r"state|stated|announce|announced|add|added|explain|explained|mention|mentioned|admit|admitted")
_FILLER = r"(?:(?:also|else|ever|previously|recently|actually|really|publicly|exactly|specifically)\s+)*"
_ABOUT = r"(?:about|on|regarding|concerning|of|in relation to|with regard to|re)"
_PATTERNS = [
    # What did <person> say about <topic>? / What else did he say?
    re.compile(rf"^\s*(?:and\s+|so\s+)?what\s+(?:else\s+)?(?:did|does|do|has|have|had|would)\s+(?P<person>.+?)\s+"
               rf"{_FILLER}(?:{_VERBS})(?:\s+{_ABOUT})?(?:\s+(?P<topic>.+?))?\s*[?.!]*\s*$", re.IGNORECASE),
    # What was <person>'s view on <topic>?
    re.compile(r"^\s*what\s+(?:is|was|are|were)\s+(?P<person>.+?)[’']s?\s+(?:view|views|opinion|opinions|position|"
               rf"stance|take|comments?|remarks?|assessment|argument)\s+{_ABOUT}\s+(?P<topic>.+?)\s*[?.!]*\s*$",
               re.IGNORECASE),
    # How did <person> describe <topic>?
    re.compile(r"^\s*how\s+(?:did|does|do|has)\s+(?P<person>.+?)\s+(?:describe|characteri[sz]e|see|view|assess|"
               r"explain|comment on)\s+(?P<topic>.+?)\s*[?.!]*\s*$", re.IGNORECASE),
]
_NOT_PEOPLE = {"you", "i", "we", "it", "this", "that", "the article", "the report", "the news", "people", "they"}


@dataclass
class SpeakerQuestion:
    """"What did <person> say about <topic>?": who (as written) and about what (None: anything)."""

    person: str
    topic: str | None
    kind: str  # "name" | "nominal" | "pronoun"
    head: str = ""  # role noun of a nominal, the pronoun itself

    def with_person(self, name: str) -> "SpeakerQuestion":
        return SpeakerQuestion(name, self.topic, "name", "")

    def as_dict(self) -> dict:
        return {"person": self.person, "topic": self.topic, "kind": self.kind}


def parse_speaker_question(question: str) -> SpeakerQuestion | None:
    for pattern in _PATTERNS:
        match = pattern.match(question)
        if not match:
            continue
        person = match.group("person").strip(" ,")
        if person.lower() in _NOT_PEOPLE or len(person.split()) > 8:
            return None
        topic = (match.groupdict().get("topic") or "").strip(" ,") or None
        if topic and topic.lower() in ("it", "this", "that", "there", "so", "then"):
            topic = None
        role = nominal(person)
        said = pronoun(person)
        if said is not None and said.start == 0 and len(person.split()) == 1:
            return SpeakerQuestion(person, topic, "pronoun", said.head)
        if person.lower().startswith(("the ", "a ", "an ", "this ", "that ")):
            # "the expert", "the harbour master": a role; its last word is what the article calls them.
            return SpeakerQuestion(person, topic, "nominal", role.head if role else person.split()[-1].lower())
        return SpeakerQuestion(_strip_titles(person), topic, "name")
    return None


def _strip_titles(name: str) -> str:
    tokens = [t for t in name.replace("’s", "").split() if t.lower().rstrip(".") not in TITLE_WORDS]
    return " ".join(tokens) or name


def names_match(asked: str, speaker: str) -> bool:
    """"Zhelikhovsky" or "Stanislav Zhelikhovsky" asks about "Stanislav Zhelikhovsky"; "Smith" alone
    matches any Smith, "Will Smith" not "Jada Pinkett Smith"."""
    want = _fold(asked).split()
    have = set(_fold(speaker).split())
    return bool(want) and all(token in have for token in want)


def _fold(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9\s\-]", " ", plain)
