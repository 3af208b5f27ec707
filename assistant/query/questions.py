"""What a question asks for: a person's statements on a topic, and which outlets it names."""

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


# --- outlets -------------------------------------------------------------------------------
_OUTLET_NOUNS = r"(?:article|report|piece|story|stories|op-ed|column|coverage|podcast|editorial|analysis|review|reporting)"
_NAME = r"(?P<name>(?:The\s+)?[A-Z][\w&\.’'\-]*(?:\s+(?:of\s+)?[A-Z][\w&\.’'\-]*){0,4})"
_OUTLET_REFS = [
    re.compile(rf"\b(?:an?|the|one|another)\s+{_NAME}\s+{_OUTLET_NOUNS}\b"),
    re.compile(rf"\b{_OUTLET_NOUNS}s?\s+(?:from|by|in|published by|published in)\s+{_NAME}"),
    re.compile(rf"\b(?:reported|published|covered|written)\s+(?:by|in)\s+{_NAME}"),
]
_CALENDAR = {"january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
             "november", "december", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
             "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec"}
_GENERIC = {"the", "a", "an", "this", "that", "another", "both", "each", "which", "what", "one", "first", "second",
            "recent", "latest", "news", "same", "later", "earlier", "subsequent", "previous", "following"}


def source_aliases(sources: list[str]) -> dict[str, str]:
    """Lower-case ways a question may name each indexed outlet → the outlet's exact name."""
    aliases: dict[str, str] = {}
    for source in sources:
        forms = {source}
        head = re.split(r"\s+[|\-–:]\s+|:\s+", source)[0]
        forms |= {head, re.sub(r"\.com$", "", head)}
        for form in list(forms):
            forms.add(re.sub(r"^the\s+", "", form, flags=re.IGNORECASE))
        for form in forms:
            if len(form) >= 3:
                aliases.setdefault(form.lower().strip(), source)
    return aliases


@dataclass
class OutletMentions:
    known: list[str]  # indexed outlets the question names (exact source names)
    unknown: list[str]  # outlets the question names that are not indexed


def outlets_in(question: str, sources: list[str], people: set[str] | None = None) -> OutletMentions:
    aliases = source_aliases(sources)
    known: list[str] = []
    spans: list[tuple[int, int]] = []
    for alias in sorted(aliases, key=len, reverse=True):
        pattern = re.compile(rf"(?<![\w]){re.escape(alias)}(?![\w])", re.IGNORECASE)
        for match in pattern.finditer(question):
            text = match.group(0)
            if " " not in alias and not text[:1].isupper():
                continue  # "fortune", "wired" as words
            if any(s < match.end() and match.start() < e for s, e in spans):
                continue
            spans.append((match.start(), match.end()))
            if aliases[alias] not in known:
                known.append(aliases[alias])
    unknown: list[str] = []
    for pattern in _OUTLET_REFS:
        for match in pattern.finditer(question):
            name = match.group("name").strip()
            start = match.start("name")
            if any(s <= start < e or start <= s < start + len(name) for s, e in spans):
                continue
            words = [w for w in re.sub(r"^The\s+", "", name).split()]
            if not words or words[0].lower() in _GENERIC or (people and name in people):
                continue
            if re.search(r"[’']s?$", name) or question[match.end("name"):].startswith(("’", "'")):
                continue  # "Google's antitrust report": the subject, not the outlet
            if words[0].lower().rstrip(".") in _CALENDAR:
                continue
            if name not in unknown and name.lower() not in aliases:
                unknown.append(name)
    return OutletMentions(known, unknown)
