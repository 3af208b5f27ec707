"""Who a stretch of news prose names: people's names, pronouns, role nouns, and speech verbs."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Verbs that introduce speech or a stated view, in the forms news prose uses.
SPEECH_VERBS = {
    "said", "says", "say", "told", "tells", "added", "adds", "adding", "noted", "notes", "noting",
    "explained", "explains", "stated", "states", "wrote", "writes", "asked", "asks", "replied", "replies",
    "insisted", "insists", "argued", "argues", "claimed", "claims", "warned", "warns", "believes",
    "believed", "thinks", "admitted", "admits", "acknowledged", "acknowledges",
    "continued", "concluded", "confirmed", "confirms", "announced", "announces", "emphasized",
    "emphasised", "stressed", "stresses", "commented", "remarked", "remarks", "joked", "agreed", "confessed",
    "suggested", "suggests", "predicted", "predicts", "described", "describes", "accused", "accuses", "urged",
    "revealed", "reveals", "shared", "declared", "declares", "reiterated", "countered", "observed",
    "observes", "tweeted", "posted", "chimed", "quipped", "responded",
    "maintained", "maintains", "contended", "contends", "denied", "denies", "conceded", "recounted",
    "mentioned", "opined", "assured", "cautioned", "pointed", "speaking", "shrugs", "shrugged", "laughed",
    "laughs", "recounts", "recounted", "reckons", "reckoned",
}
# Words that may sit between a subject and its speech verb ("he also noted", "Jones would say").
_BRIDGE = {"also", "then", "later", "has", "have", "had", "previously", "repeatedly", "again", "clearly",
           "further", "first", "publicly", "already", "recently", "would", "will", "earlier", "once",
           "went", "on", "to", "has", "is", "was", "simply", "flatly", "firmly", "separately", "all"}
# Nouns naming what a person does; "the <…> expert" refers back to someone introduced with it.
ROLE_NOUNS = {
    "expert", "analyst", "coach", "manager", "striker", "player", "actor", "actress", "star", "singer",
    "spokesperson", "spokesman", "spokeswoman", "minister", "president", "ceo", "chief", "executive",
    "founder", "co-founder", "director", "official", "economist", "strategist", "lawyer", "attorney",
    "professor", "researcher", "scientist", "author", "writer", "chairman", "chairwoman", "chair",
    "senator", "governor", "leader", "captain", "midfielder", "defender", "forward", "goalkeeper",
    "commissioner", "host", "boxer", "promoter", "pundit", "commentator", "quarterback", "dictator",
    "officer", "head", "secretary", "general", "mayor", "judge", "prosecutor", "candidate", "politician",
    "rapper", "musician", "comedian", "presenter", "journalist", "editor", "investor", "entrepreneur",
    "billionaire", "partner", "technologist", "engineer", "designer", "developer", "chancellor",
    "king", "queen", "prince", "princess", "skipper", "batter", "bowler", "fighter",
    "champion", "driver", "rider", "golfer", "winger", "veteran", "doctor", "physician", "teacher",
    "activist", "diplomat", "ambassador", "adviser", "advisor", "representative", "spokesperson",
    "founder", "owner", "boss", "legend", "end", "guard", "pitcher", "receiver", "star", "model",
    "influencer", "creator", "producer", "filmmaker", "director", "astronaut", "specialist", "scholar",
    "scrum-half", "fly-half", "hooker", "prop", "flanker", "lock", "wing", "centre", "center", "winger",
    "full-back", "fullback", "keeper", "batsman", "all-rounder", "opener", "spinner", "pacer", "cyclist",
    "master", "resident", "witness", "fan", "member", "employee", "nurse", "pilot", "farmer", "worker",
    "student", "parent", "organiser", "organizer", "inventor", "campaigner", "protester", "lawmaker",
    "vice-president", "consultant", "banker", "trader", "novelist", "poet", "reporter",
}
# Nouns for organisations: "the company said" refers back to the organisation the text is about.
ORG_HEADS = {
    "company", "firm", "automaker", "carmaker", "startup", "start-up", "group", "club", "team", "exchange",
    "agency", "organisation", "organization", "outlet", "network", "government", "ministry", "court",
    "regulator", "league", "brand", "business", "giant", "maker", "retailer", "bank", "manufacturer",
    "publisher", "studio", "platform", "service", "department", "board", "authority", "union", "party",
    "airline", "insurer", "lender", "chain", "operator", "developer", "provider", "council", "police",
}
# Capitalized words that open titles ("Attorney General Merrick Garland") or sentences, not names.
TITLE_WORDS = {
    "mr", "mrs", "ms", "dr", "prof", "sir", "dame", "lord", "lady", "president", "vice", "prime", "minister",
    "secretary", "attorney", "general", "senator", "sen", "rep", "representative", "governor", "gov",
    "mayor", "judge", "justice", "chief", "executive", "officer", "ceo", "cfo", "cto", "coo", "chairman",
    "chairwoman", "chair", "director", "commissioner", "coach", "manager", "captain", "promoter",
    "commentator", "pundit", "analyst", "economist", "professor", "treasury", "state", "defense",
    "defence", "foreign", "home", "finance", "health", "interior", "commerce", "labor", "labour",
    "deputy", "acting", "former", "founder", "co-founder", "king", "queen", "prince", "princess", "pope",
    "chancellor", "ambassador", "spokesperson", "spokesman", "spokeswoman", "head", "lead", "senior",
    "u.s.", "us", "uk", "eu", "un", "nfl", "nba", "fifa", "uefa", "star", "striker", "boss", "dictator",
    "general", "admiral", "colonel", "sergeant", "lieutenant", "detective", "inspector", "officer",
}
FUNCTION_WORDS = {
    "the", "a", "an", "and", "but", "or", "so", "yet", "in", "on", "at", "for", "to", "of", "from", "by",
    "with", "after", "before", "during", "while", "when", "where", "as", "if", "then", "than", "that",
    "this", "these", "those", "there", "here", "it", "its", "he", "she", "they", "we", "i", "you", "his",
    "her", "their", "our", "my", "your", "what", "who", "why", "how", "which", "yes", "no", "not",
    "however", "meanwhile", "also", "still", "although", "though", "because", "since", "until", "about",
    "according", "asked", "speaking", "last", "next", "earlier", "later", "now", "today", "read",
    "instead", "indeed", "overall", "mandatory", "photograph", "photo", "image", "credit", "advertisement",
    "january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
    "november", "december", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
    "let", "let’s", "let's", "all", "every", "each", "both", "some", "many", "most", "one", "two",
}
# Words that make a capitalized run an organisation or a place rather than a person.
ORG_WORDS = {
    "fc", "afc", "inc", "corp", "corporation", "ltd", "llc", "plc", "group", "university", "league", "club",
    "company", "co", "association", "party", "council", "committee", "department", "ministry", "bank",
    "news", "times", "post", "journal", "media", "network", "capital", "partners", "ventures", "labs",
    "technologies", "motors", "airlines", "united", "city", "county", "foundation", "institute", "agency",
    "office", "court", "commission", "government", "police", "service", "services", "analytics", "house",
    "street", "stadium", "arena", "park", "cup", "championship", "series", "awards", "festival", "show",
    "museum", "hospital", "school", "college", "board", "authority", "federation", "union", "army", "forces",
    "republic", "kingdom", "states", "state", "island", "islands", "river", "valley", "bay", "tv", "radio",
    "magazine", "review", "herald", "guardian", "telegraph", "reuters", "press", "sportsbook", "ai",
    "sun", "banner", "tribune", "chronicle", "gazette", "observer", "independent", "mail", "express",
    "daily", "weekly", "today", "wire", "insider", "verge", "techcrunch", "wired", "bloomberg",
    "dynamics", "robotics", "systems", "energy", "pharma", "games", "studios", "entertainment", "records",
    "music", "sports", "airways", "communications", "holdings", "industries", "solutions", "software",
    "data", "security", "digital", "mobile", "online", "tech", "technology", "bikeshare", "trucks",
    "motor", "cars", "watch", "tour", "awards", "academy", "world", "global", "international", "national",
}
PRONOUNS = {"he": "m", "she": "f", "him": "m", "her": "f", "his": "m", "they": "p"}

_UPPER = "A-ZÀ-ÖØ-ÞŁŚŽČŠŘĆ"
_WORD = rf"[{_UPPER}][\w’'\-\.]*"
_PARTICLE = r"(?:de|da|das|do|dos|del|della|van|von|der|den|ten|ter|le|la|bin|al|di|du|st\.)"
# A possessive ends a run: "Inter’s Simone Inzaghi" names two things.
_RUN_WORD = rf"[{_UPPER}](?:[\w\-\.]|[’'](?!s\b))*(?:[’']s\b)?"
NAME_RUN = re.compile(rf"{_RUN_WORD}(?:(?<![’']s)\s+(?:{_PARTICLE}\s+)?{_RUN_WORD})*")
_POSSESSIVE = re.compile(r"[’']s$")
_DETERMINER = re.compile(rf"\b(?:(?i:the|this|that|a|an)|[{_UPPER}][\w\-]*[’']s)\s+")
_WORDS = re.compile(r"[\w’'\-\.]+")
_PRONOUN = re.compile(r"\b(he|she|they)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Mention:
    kind: str  # "name" | "pronoun" | "nominal"
    text: str  # the name (titles stripped), the pronoun, or the role noun phrase
    start: int  # offset in the text it was found in
    end: int
    head: str = ""  # the role noun of a nominal; lower-case pronoun

    @property
    def tokens(self) -> list[str]:
        return self.text.split()


def clean_name(run: str) -> str:
    """A capitalized run without titles, possessives and sentence-opening words."""
    tokens = [_tidy(t) for t in run.replace(",", " ").split()]
    # Drop everything up to the last title word: "U.S. Attorney General Merrick Garland".
    titles = TITLE_WORDS | ROLE_NOUNS  # "Engineer Tom Reed", "Attorney General Merrick Garland"
    last_title = max((i for i, t in enumerate(tokens[:-1]) if t.lower().rstrip(".") in titles), default=-1)
    tokens = tokens[last_title + 1:]
    while tokens and tokens[0].lower() in FUNCTION_WORDS:
        tokens = tokens[1:]
    while tokens and tokens[-1].lower() in FUNCTION_WORDS:
        tokens = tokens[:-1]
    if len(tokens) > 4:
        tokens = tokens[-2:]
    return " ".join(tokens)


def _tidy(token: str) -> str:
    token = _POSSESSIVE.sub("", token).rstrip("’'")
    if token.endswith(".") and token.count(".") == 1 and len(token) > 2:
        token = token[:-1]
    return token


def name_runs(text: str) -> list[Mention]:
    """Capitalized runs that may be names (titles stripped), with their offsets in ``text``."""
    out = []
    for match in NAME_RUN.finditer(text):
        run = match.group(0)
        name = clean_name(run)
        if not name or name.lower() in FUNCTION_WORDS or len(name) < 2:
            continue
        if all(t.lower() in FUNCTION_WORDS or t.lower().rstrip(".") in TITLE_WORDS for t in name.split()):
            continue
        out.append(Mention("name", name, match.start(), match.end()))
    return out


def nominal(text: str) -> Mention | None:
    """The first "the <modifiers> <role noun>" in ``text`` ("the international affairs expert")."""
    for match in _DETERMINER.finditer(text):
        words = []
        for word in _WORDS.finditer(text, match.end()):
            if word.start() > (words[-1].end() + 1 if words else match.end()) or len(words) == 6:
                break  # punctuation or too long: the phrase has ended
            if word.group(0).lower() in SPEECH_VERBS:
                break
            words.append(word)
        roles = [i for i, w in enumerate(words) if w.group(0).lower().strip(".") in ROLE_NOUNS | ORG_HEADS]
        if roles:
            last = words[roles[-1]]
            phrase = text[match.start():last.end()]
            return Mention("nominal", phrase[0].lower() + phrase[1:], match.start(), last.end(),
                           head=last.group(0).lower().strip("."))
    return None


def pronoun(text: str) -> Mention | None:
    match = _PRONOUN.search(text)
    if not match:
        return None
    return Mention("pronoun", match.group(1), match.start(), match.end(), head=match.group(1).lower())


def subject_mention(text: str, last: bool = True) -> Mention | None:
    """Who ``text`` names first (or last): a name, a role ("the Bayern coach") or a pronoun.

    A name inside a role phrase ("the King Richard star") is part of the role, not the subject.
    """
    role, said = nominal(text), pronoun(text)
    found = [m for m in name_runs(text) if not (role and role.start <= m.start < role.end)]
    found += [m for m in (role, said) if m]
    if not found:
        return None
    return max(found, key=lambda m: m.start) if last else min(found, key=lambda m: m.start)


_VERB = re.compile(r"\b(" + "|".join(sorted(SPEECH_VERBS, key=len, reverse=True)) + r")\b")


def speech_verbs(text: str) -> list[re.Match]:
    return list(_VERB.finditer(text))


def looks_like_person(name: str) -> bool:
    """Two or three capitalized words of letters, none of them an organisation or place word."""
    tokens = name.split()
    return (2 <= len(tokens) <= 4 and not any(t.lower() in ORG_WORDS for t in tokens)
            and all(re.fullmatch(r"[^\W\d_](?:[^\W\d_]|[’'\-\.])*", t) for t in tokens))


def is_bridge(word: str) -> bool:
    return word in _BRIDGE  # lower-case only: "Will" is a name, "will" is not
