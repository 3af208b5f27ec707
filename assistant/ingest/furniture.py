"""Page furniture taken out of an article's text at ingest: what a news page prints around the story.

A news page's text, however it was extracted, carries lines that are not the story: photo captions
and credits ("(AFP via Getty Images)", "… Photograph: Name/Agency", "4 United were … Credit: AFP"),
"MORE:" / "Read more" / "Related:" links, social-media embeds ("pic.twitter.com/…", "— Los Angeles
Dodgers (@Dodgers) October 3, 2023", "A post shared by …"), bylines, newsletter and app prompts
("Sign up for our newsletter", "CLICK HERE TO GET THE APP") and navigation ("Advertisement").
Indexed, they crowd retrieval and end up quoted as answers. :func:`strip_furniture` removes them:

- a whole line (a paragraph of the extracted text) when the line *is* furniture;
- a piece at the end of a line when only that piece is: a tweet's ``pic.twitter.com`` link and
  "— Name (@handle) date" signature (the tweet's own words stay, they are what the outlet quotes),
  a trailing "Credit: …" after a paragraph of several sentences.

Furniture inside a paragraph of story text is left alone: cutting it out would change the story's
sentences. What is removed is returned (:class:`Stripped`), so the index can say what it dropped.
A body with nothing to remove comes back unchanged, character for character (its content hash, and
so the indexer's "unchanged" decision, stays as before); one with furniture gets a new body, a new
hash, and is indexed again when it is next ingested.

Bounded in time: each line is looked at once, every pattern has bounded repetitions, and patterns
that read a line's start or end look only at its first or last :data:`_EDGE` characters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.models import Article

_EDGE = 400  # characters of a line's start or end that the anchored patterns read
_MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
# Photo agencies and picture libraries named in credits.
_AGENCIES = (r"Getty(?: Images)?|AFP|AP(?: Photo)?|Reuters|EPA(?:-EFE)?|PA(?: Wire| Media| Images)?|Shutterstock|"
             r"Alamy|iStock(?:photo)?|NurPhoto|Sipa(?: USA)?|Invision|Rex(?: Features)?|ANP|dpa|Xinhua|"
             r"Anadolu(?: Agency)?|Bloomberg|USA TODAY Sports|Imagn")

_CREDIT_LABEL = r"(?:Mandatory )?(?:Photo ?[Cc]redit|Credit|Photograph|Photographs|Photo|Photos|Picture|Pictures|Image|Images|Illustration)"
# "… Photograph: Darren Staples/AFP/Getty Images", "… Credit: Getty" at the end of a line.
_TRAILING_CREDIT = re.compile(r"\s*\b%s\s?:\s*[^.!?:]{0,100}?\s*\Z" % _CREDIT_LABEL)
# "Will and Jada in 2000 (Getty)", "(AFP via Getty Images)", "(Photo: Name/Reuters)": a closing bracket
# naming an agency, whose other words are names or credit words ("(Bloomberg data showed)" is not one).
_PAREN_CREDIT = re.compile(r"\(([^()]{1,90})\)\s*\Z")
_AGENCY = re.compile(r"\b(?:%s)\b" % _AGENCIES)
_CREDIT_WORDS = frozenset("via for and by of from with courtesy credit image images photo photos picture pictures handout "
                          "file made adapted graphic illustration video still pool staff contributor permission".split())
# "Watchara Phomicinda | MediaNews Group | … via Getty Images", "… Jim Dedmon-USA TODAY Sports".
_AGENCY_TAIL = re.compile(r"(?:\bvia |/\s?|\|\s?|-)(?:%s)\)?\s*\Z" % _AGENCIES)
_PHOTO_BY = re.compile(r"(?:Photo|Image|Picture|Illustration|Video)s? (?:by|courtesy of|credit:?) \S", re.IGNORECASE)

# Links to other stories: "MORE: …", "Read more: …", "RELATED: …", "WATCH: …", "More from X: …".
_LINK_LINE = re.compile(
    r"(?:MORE|More|READ MORE|Read [Mm]ore|READ ALSO|Read [Aa]lso|ALSO READ|Also [Rr]ead|RELATED|Related|"
    r"SEE ALSO|See [Aa]lso|WATCH|Watch|LISTEN|Listen|RECOMMENDED|Recommended|LATEST|Latest|TRENDING|Trending)"
    r"(?: [A-Za-z'’]+){0,5}\s?(?::|\||»|›|–|—| -)")
_NEWSLETTER = re.compile(r"\bnews ?letters?\b", re.IGNORECASE)
_SIGN_UP = re.compile(r"\bsign(?:ing)? (?:me )?up\b|\bsubscribe\b|\binbox\b|\bemail address\b", re.IGNORECASE)
_PROMPT = re.compile(r"\bclick here\b|\btap here\b|\bapp users\b|\bdownload (?:the|our) app\b|\bget the \w+(?: \w+)? app\b",
                     re.IGNORECASE)
_FOLLOW = re.compile(r"\bfollow (?:us|@\w{1,30})\b", re.IGNORECASE)
_BYLINE = re.compile(
    r"(?:By|BY|Written by|Words by|Reporting by|Additional reporting by|Editing by|Compiled by)\s+"
    r"[A-Z][\w.'’-]*(?:(?:,|;|&| and| by| in| \|)?\s+[A-Z][\w.'’-]*|\s+(?:Editing|Reporting|Writing) by){0,14}")
# Navigation and widgets printed as text: the whole line (case and trailing punctuation aside).
_NAVIGATION_PHRASES = (
    "advertisement", "advert", "skip advert", "skip advertisement", "ad feature", "sponsored", "story continues below",
    "story continues below advertisement", "continue reading", "continue reading below", "share", "share this article",
    "share this story", "share this", "share on facebook", "share on twitter", "share on x", "share on whatsapp",
    "share via email", "print", "email", "comments", "view comments", "listen to this article", "sign in", "log in",
    "subscribe", "subscribe now", "back to top", "scroll to continue", "loading", "loading...", "open image in gallery",
    "enlarge this image", "toggle caption", "hide caption", "view this post on instagram", "view this post on tiktok",
    "watch on youtube", "sign me up",
)
_NAVIGATION_SET = frozenset(_NAVIGATION_PHRASES)
_IMAGE_COUNTER = re.compile(r"(?:image|photo|picture|slide)?\s*\d{1,3} (?:of|/) \d{1,3}", re.IGNORECASE)

# Social-media embeds. A tweet's signature: "— Name (@handle) October 3, 2023" ending the line.
_TWEET_SIGNATURE = re.compile(r"\s*[—–]\s?[^—–()\n]{1,100}\(@\w{1,30}\)\s+(?:%s) \d{1,2}, \d{4}\s*\Z" % _MONTHS)
_TWEET_LINK = re.compile(r"(?:\bpic\.twitter\.com|\bhttps?://t\.co)/\w{1,30}")
_INSTAGRAM = re.compile(r"\s*\bA post shared by\b[^\n]{0,120}\Z")
_SPACES = re.compile(r"[ \t]{2,}")
_WORD = re.compile(r"[^\W\d_]{2,}")

_BLANKS = re.compile(r"(\r?\n(?:[ \t]*\r?\n)*)")


@dataclass
class Stripped:
    """The text without its furniture, and what was taken out (whole lines or end pieces, in order)."""

    text: str
    dropped: list[str] = field(default_factory=list)


def strip_furniture(text: str) -> Stripped:
    """``text`` without page furniture (see the module's doc); unchanged when it has none."""
    parts = _BLANKS.split(text)
    lines, separators = parts[0::2], parts[1::2]
    out: list[str] = []
    dropped: list[str] = []
    gap: str | None = None  # the widest separator since the last kept line
    for n, line in enumerate(lines):
        if n:
            gap = separators[n - 1] if gap is None else max(gap, separators[n - 1], key=lambda s: s.count("\n"))
        cleaned, removed = _clean_line(line)
        dropped += removed
        if cleaned is None:
            continue
        out.append((gap or "") + cleaned if out else cleaned)
        gap = None
    if not dropped:
        return Stripped(text)
    return Stripped("".join(out), dropped)


def clean_article(article: Article) -> Article:
    """``article`` with its body stripped of furniture (:func:`strip_furniture`) and what was taken
    out added to its ``furniture``; the same object when there was nothing to take out. A body that
    would be left empty is kept as it is (the article is not all furniture, the rules are wrong)."""
    stripped = strip_furniture(article.body)
    if not stripped.dropped or not stripped.text.strip():
        return article
    return article.model_copy(update={"body": stripped.text, "furniture": [*article.furniture, *stripped.dropped]})


def _clean_line(line: str) -> tuple[str | None, list[str]]:
    """(The line without furniture, or None when all of it is; the pieces taken out)."""
    text = line.strip()
    if not text:
        return line, []
    if _is_furniture_line(text):
        return None, [text]
    removed: list[str] = []
    head, tail = line[:-_EDGE] if len(line) > _EDGE else "", line[-_EDGE:]
    # Social embeds: the tweet's signature and its links go, its words stay.
    social = "(@" in tail or "t.co/" in tail or "twitter.com/" in tail or "post shared" in tail
    signature = _TWEET_SIGNATURE.search(tail) if "(@" in tail else None
    if signature:
        removed.append(signature.group().strip())
        tail = tail[:signature.start()]
    post = _INSTAGRAM.search(tail) if social else None
    if post:
        removed.append(post.group().strip())
        tail = tail[:post.start()]
    links = [m.group() for m in _TWEET_LINK.finditer(tail)] if social else []
    if links and (signature or post or _TWEET_LINK.search(tail[-60:])):
        removed += links
        tail = _SPACES.sub(" ", _TWEET_LINK.sub("", tail))
    if not removed:
        # A credit ending a paragraph of story text: only the credit goes.
        credit = _TRAILING_CREDIT.search(tail) if ":" in tail[-120:] else None
        if credit and _sentences(text) >= 3:
            removed.append(credit.group().strip())
            tail = tail[:credit.start()]
    if not removed:
        return line, []
    rest = head + tail.rstrip()
    if len(_WORD.findall(rest)) < 3 or _is_furniture_line(rest.strip()):  # emoji, hashtags, a handle: all of it
        return None, [text]
    return rest, removed


def _is_furniture_line(text: str) -> bool:
    words = len(text.split())
    start, end = text[:_EDGE], text[-_EDGE:]
    folded = text.lower().rstrip(" :.!…|»›").strip()
    if folded in _NAVIGATION_SET or (words <= 6 and _IMAGE_COUNTER.fullmatch(text)):
        return True
    if words <= 40 and _LINK_LINE.match(start):
        return True
    if words <= 30 and _PROMPT.search(text):
        return True
    if words <= 80 and _NEWSLETTER.search(text) and _SIGN_UP.search(text):
        return True
    if words <= 12 and text[:4].lower() in ("sign", "subs") and _SIGN_UP.match(text):
        return True
    if words <= 40 and _FOLLOW.search(text) and ("twitter" in text.lower() or "@" in text or "follow us" in text.lower()):
        return True
    if words <= 16 and _BYLINE.fullmatch(text.rstrip(".")):
        return True
    if words <= 60 and _captioned(end) and _sentences(text) <= 2:
        return True  # a caption with its credit
    if words <= 15 and _PHOTO_BY.match(start):
        return True
    if _INSTAGRAM.match(text) or _TWEET_LINK.fullmatch(text):
        return True
    return False


def _captioned(end: str) -> bool:
    """Whether a line ending in ``end`` ends with a photo credit."""
    tail = end[-160:]
    return bool((":" in tail and _TRAILING_CREDIT.search(end))
                or (tail.rstrip().endswith(")") and _paren_credit(tail))
                or _AGENCY_TAIL.search(tail))


def _paren_credit(tail: str) -> bool:
    bracket = _PAREN_CREDIT.search(tail)
    if not bracket or not _AGENCY.search(bracket.group(1)):
        return False
    lower = [w for w in re.findall(r"[^\W\d_]+", bracket.group(1)) if w[0].islower()]
    return all(w.lower() in _CREDIT_WORDS for w in lower)


_SENTENCE_END = re.compile(r"[.!?][\"'”’)\]]*\s+[\"'“‘(\[]*[A-Z0-9]")


def _sentences(text: str) -> int:
    """About how many sentences ``text`` holds (sentence ends followed by a capital, plus one)."""
    return len(_SENTENCE_END.findall(text)) + 1
